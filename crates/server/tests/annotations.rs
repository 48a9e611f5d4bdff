//! Annotations by API: made, listed, changed and deleted by the site's own
//! organisation, refused to another, checked field by field, kept across a
//! restart of the list, and in the audit log by id, never by text; on
//! DuckDB and on ClickHouse alike (they live in the data directory).

mod support;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use support::{Backend, TestServer, HOST, OTHER_TOKEN, TOKEN};

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = server
        .http
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn annotations_are_kept_and_audited_by_id(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, now, |c| c).await else {
        return;
    };
    use reqwest::Method;
    let list = format!("/api/v1/annotations?site_id={HOST}");
    let secret = "Budget statement: outage of the payments service";
    let (status, made) = call(
        &server,
        Method::POST,
        &list,
        TOKEN,
        Some(json!({"date": "2026-03-01", "text": secret})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["date"], "2026-03-01");
    call(
        &server,
        Method::POST,
        &list,
        TOKEN,
        Some(json!({"date": "2026-02-10", "text": "New guidance published"})),
    )
    .await;

    let (status, body) = call(&server, Method::GET, &list, TOKEN, None).await;
    assert_eq!(status, 200, "{body}");
    let dates: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-02-10", "2026-03-01"], "by date: {body}");

    let one = format!("/api/v1/annotations/{id}?site_id={HOST}");
    let (status, changed) = call(
        &server,
        Method::PUT,
        &one,
        TOKEN,
        Some(json!({"date": "2026-03-02", "text": "Budget statement"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["text"], "Budget statement");

    // Another organisation neither reads nor writes them.
    for method in [Method::GET, Method::POST] {
        let body = (method == Method::POST).then(|| json!({"date": "2026-03-01", "text": "x"}));
        let (status, answer) = call(&server, method, &list, OTHER_TOKEN, body).await;
        assert_eq!(status, 403, "{answer}");
    }
    // Bad fields are named.
    for (body, field) in [
        (json!({"date": "2026-13-01", "text": "x"}), "date"),
        (json!({"date": "1999-12-31", "text": "x"}), "date"),
        (json!({"date": "2026-03-01", "text": " "}), "text"),
        (
            json!({"date": "2026-03-01", "text": "x".repeat(501)}),
            "text",
        ),
        (json!({"date": "2026-03-01", "text": "two\nlines"}), "text"),
        (
            json!({"date": "2026-03-01", "text": "x", "colour": "red"}),
            "body",
        ),
    ] {
        let (status, answer) = call(&server, Method::POST, &list, TOKEN, Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(field),
            "{answer}"
        );
    }

    // The audit log names each change by id, never by its text.
    let log = &server.app.audit.log;
    let lines: Vec<String> = log
        .entries(0, log.size())
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.query)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("annotations make site={HOST} id={id}")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("annotations change site={HOST} id={id}")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("Budget")), "{lines:?}");

    // Kept in the data directory: a list opened afresh has them.
    let reopened = glasshouse_store::annotations::Annotations::open(server.dir.path()).unwrap();
    let all = reopened.of_site(HOST, chrono::NaiveDate::MIN, chrono::NaiveDate::MAX);
    assert_eq!(all.len(), 2);

    let (status, _) = call(&server, Method::DELETE, &one, TOKEN, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&server, Method::DELETE, &one, TOKEN, None).await;
    assert_eq!(status, 404);
    let (_, body) = call(&server, Method::GET, &list, TOKEN, None).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test]
async fn annotations_on_duckdb() {
    annotations_are_kept_and_audited_by_id(Backend::DuckDb).await;
}

#[tokio::test]
async fn annotations_on_clickhouse() {
    annotations_are_kept_and_audited_by_id(Backend::ClickHouse).await;
}
