//! Every route is registered as gated, signed or public, and behaves so:
//! the API description and the pages are held against the registrar's
//! table, and every path is probed over HTTP without credentials and with
//! the token of an organisation that has no agreement with the site asked.

mod support;

use chrono::{TimeZone, Utc};
use glasshouse_server::routes::Access;
use support::*;

/// A concrete path for a registered one.
fn concrete(path: &str) -> String {
    path.replace("{host}", HOST)
        .replace("{id}", "0123456789abcdef")
        .replace("{*path}", "app.js")
}

#[tokio::test]
async fn every_route_is_registered_with_its_access_and_behaves_so() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let table = glasshouse_server::route_table(&s.app);
    let access = |p: &str| table.iter().find(|(q, _)| *q == p).map(|(_, a)| *a);

    // The API description names only registered paths, and every gated
    // path is described.
    let doc: serde_json::Value = s
        .http
        .get(format!("{}/api/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let described: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in &described {
        assert!(access(p).is_some(), "{p} is described but not registered");
    }
    for (p, a) in &table {
        if *a == Access::Gated {
            assert!(
                described.iter().any(|d| d == p),
                "gated {p} is not described"
            );
        }
    }
    // Every page a person opens is registered.
    for page in ["/", "/login", "/sites/{host}", "/transparency", "/optout"] {
        assert!(access(page).is_some(), "{page}");
    }

    let body = serde_json::json!({"site_id": HOST, "period": "day",
        "steps": [{"page": "/a"}, {"page": "/b"}]});
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut gated = 0;
    for (path, a) in &table {
        // `page` is a path for journeys and a page number for breakdowns.
        let page = if path.ends_with("pages") || path.ends_with("paths") {
            "/a"
        } else {
            "1"
        };
        let url = format!(
            "{}{}?site_id={HOST}&period=day&page={page}&property=event:page&username=ana",
            s.url,
            concrete(path)
        );
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let send = |token: Option<&str>| {
                let mut r = http
                    .request(method.clone(), &url)
                    .header("content-type", "application/json")
                    .body(body.to_string());
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r.send()
            };
            let anonymous = send(None).await.unwrap().status().as_u16();
            if anonymous == 405 {
                continue;
            }
            match a {
                Access::Gated => {
                    gated += 1;
                    assert_eq!(anonymous, 401, "{method} {path} without credentials");
                    let r = send(Some(OTHER_TOKEN)).await.unwrap();
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap();
                    // Never an answer; a question about the site is refused
                    // by the gate (a malformed one may fail parsing first).
                    assert!(
                        matches!(status, 400 | 403 | 404) && (method != reqwest::Method::GET || status == 403),
                        "{method} {path} with a token of an organisation without an agreement: {status} {text}"
                    );
                }
                Access::Signed => {
                    assert!(
                        matches!(anonymous, 401 | 303),
                        "{method} {path} without credentials: {anonymous}"
                    );
                }
                Access::Node => {
                    // Not a node: nothing to say; a node refuses an unsigned body.
                    assert!(
                        matches!(anonymous, 400 | 404),
                        "{method} {path}: {anonymous}"
                    );
                }
                Access::Public => {
                    assert!(
                        !matches!(anonymous, 401 | 403) && anonymous < 500,
                        "{method} {path} is public: {anonymous}"
                    );
                }
            }
        }
    }
    assert!(gated >= 12, "{gated} gated methods probed");
}
