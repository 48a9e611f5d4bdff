//! Shared links and saved segments, end to end over HTTP, on DuckDB and
//! on ClickHouse: a link reads its own site only, under its purpose and
//! segment, and a partner's figures only where the agreement publishes
//! them; a password, an expiry and a withdrawal stop it; its views reach
//! the audit log as one entry per link and day; the register lists it
//! without its secret. Segments apply by v1 `segment=` and v2
//! `["is", "segment", [id]]` alike.

mod support;

use chrono::{Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use support::{Backend, TestServer, CHROME, HOST, OPERATOR_TOKEN, OTHER_TOKEN, PARTNER, TOKEN};

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = server
        .http
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A GET through a link, as the dashboard behind it asks.
async fn through(
    server: &TestServer,
    secret: &str,
    path: &str,
    cookie: Option<&str>,
) -> (u16, Value) {
    let mut req = server
        .http
        .get(format!("{}{path}", server.url))
        .header("x-glasshouse-link", secret);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn page_views(server: &TestServer) {
    for (ip, page) in [
        ("81.2.69.142", "/a"),
        ("81.2.69.143", "/a"),
        ("81.2.69.144", "/a"),
        ("81.2.69.145", "/b"),
        ("81.2.69.146", "/b"),
    ] {
        let event = json!({"n": "pageview", "u": format!("https://{HOST}{page}"), "d": HOST});
        let r = server.post_event(ip, CHROME, &event).await;
        assert_eq!(r.status().as_u16(), 202);
    }
}

fn secret_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

const VISITORS: &str = "/api/v1/stats/aggregate?metrics=visitors&period=day&site_id=";

async fn segments_apply_in_v1_and_v2(server: &TestServer) -> String {
    let path = format!("/api/v1/segments?site_id={HOST}");
    let filters = json!([["is", "event:page", ["/a"]]]);
    let (status, made) = call(
        server,
        Method::POST,
        &path,
        Some(json!({"name": "Page A", "filters": filters, "shared": true})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let (_, listed) = call(server, Method::GET, &path, None).await;
    assert_eq!(listed["results"][0]["name"], "Page A", "{listed}");

    let (_, all) = server.stats(&format!("{VISITORS}{HOST}")).await;
    let (_, seg) = server
        .stats(&format!("{VISITORS}{HOST}&segment={id}"))
        .await;
    let (_, filtered) = server
        .stats(&format!("{VISITORS}{HOST}&filters=event:page%3D%3D/a"))
        .await;
    assert_eq!(all["results"]["visitors"]["value"], 5, "{all}");
    assert_eq!(seg["results"]["visitors"]["value"], 3, "{seg}");
    assert_eq!(seg, filtered);

    let v2 = json!({"site_id": HOST, "metrics": ["visitors"], "date_range": "day", "filters": [["is", "segment", [id]]]});
    let (status, answer) = call(server, Method::POST, "/api/v2/query", Some(v2)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["metrics"][0], 3, "{answer}");

    // A personal segment is its owner's only, even within the organisation.
    let (status, mine) = call(
        server,
        Method::POST,
        &path,
        Some(json!({"name": "Mine", "filters": filters})),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    let (status, _) = server
        .stats_as(
            OPERATOR_TOKEN,
            &format!("{VISITORS}{HOST}&segment={}", mine["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        status, 400,
        "another account of the organisation does not see it"
    );
    let (status, _) = server
        .stats_as(OPERATOR_TOKEN, &format!("{VISITORS}{HOST}&segment={id}"))
        .await;
    assert_eq!(status, 200, "a shared one it does");

    // Another organisation cannot apply it, nor a made-up one be applied.
    let (status, _) = server
        .stats_as(OTHER_TOKEN, &format!("{VISITORS}{HOST}&segment={id}"))
        .await;
    assert_eq!(status, 403);
    let (status, body) = server
        .stats(&format!("{VISITORS}{HOST}&segment=ffff"))
        .await;
    assert_eq!(status, 400, "{body}");
    for bad in [
        json!({"name": "", "filters": filters}),
        json!({"name": "x", "filters": []}),
        json!({"name": "x", "filters": [["is", "visit:shoe", ["9"]]]}),
    ] {
        let (status, body) = call(server, Method::POST, &path, Some(bad)).await;
        assert_eq!(status, 400, "{body}");
    }
    id
}

async fn links_read_only_within_their_scope(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, now, |c| c).await else {
        return;
    };
    page_views(&server).await;
    let segment = segments_apply_in_v1_and_v2(&server).await;

    // Made by an analyst: 201 with an id and the address.
    let (status, made) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST, "purpose": "service-improvement"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (id, url) = (
        made["id"].as_str().unwrap().to_string(),
        made["url"].as_str().unwrap().to_string(),
    );
    assert!(url.starts_with(&server.url), "{url}");
    let secret = secret_of(&url);

    // The page: no sign-in, no referrer, no frame.
    let page = server.http.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("\"site\":\"{HOST}\"")) && html.contains("\"user\":null"),
        "{html}"
    );

    // Its figures are the organisation's own figures.
    let (_, own) = server.stats(&format!("{VISITORS}{HOST}")).await;
    let (status, shared) = through(&server, &secret, &format!("{VISITORS}{HOST}"), None).await;
    assert_eq!(status, 200, "{shared}");
    assert_eq!(shared, own);
    // Nothing else: another site of any organisation, another purpose is
    // replaced by its own, and no change.
    for other in ["other.example", PARTNER] {
        let (status, body) = through(&server, &secret, &format!("{VISITORS}{other}"), None).await;
        assert_eq!(status, 403, "{other}: {body}");
    }
    let partner_pages = format!("/api/v1/stats/next-pages?site_id={HOST}&period=day&page=/a");
    let (status, _) = server.stats(&partner_pages).await;
    assert_eq!(status, 200, "the organisation sees its partner's pages");
    let (status, body) = through(&server, &secret, &partner_pages, None).await;
    assert_eq!(status, 403, "the agreement does not publish them: {body}");
    assert!(
        body["error"].as_str().unwrap().contains("shared links"),
        "{body}"
    );
    let r = server
        .http
        .post(format!("{}/api/v1/annotations?site_id={HOST}", server.url))
        .header("x-glasshouse-link", &secret)
        .json(&json!({"date": "2026-06-01", "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // A link limited to a segment shows the segment only.
    let (status, seg_link) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST, "segment": segment})),
    )
    .await;
    assert_eq!(status, 201, "{seg_link}");
    let seg_secret = secret_of(seg_link["url"].as_str().unwrap());
    let (_, seg_answer) = through(&server, &seg_secret, &format!("{VISITORS}{HOST}"), None).await;
    assert_eq!(
        seg_answer["results"]["visitors"]["value"], 3,
        "{seg_answer}"
    );
    // Also segments that a list of filters cannot say: the visits that
    // never viewed /a, and "goal is not" (no visit here completes the test
    // site's goal "Visit /apply", so it keeps all five).
    for (tree, visitors) in [
        (json!([["has_not_done", ["is", "event:page", ["/a"]]]]), 2),
        (json!([["is_not", "event:goal", ["Visit /apply"]]]), 5),
    ] {
        let (status, made) = call(
            &server,
            Method::POST,
            &format!("/api/v1/segments?site_id={HOST}"),
            Some(json!({"name": "A tree", "filters": tree, "shared": true})),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        let (status, tree_link) = call(
            &server,
            Method::POST,
            "/api/v1/links",
            Some(json!({"site_id": HOST, "segment": made["id"]})),
        )
        .await;
        assert_eq!(status, 201, "{tree_link}");
        let tree_secret = secret_of(tree_link["url"].as_str().unwrap());
        let (_, answer) = through(&server, &tree_secret, &format!("{VISITORS}{HOST}"), None).await;
        assert_eq!(
            answer["results"]["visitors"]["value"], visitors,
            "{tree}: {answer}"
        );
    }

    // One audit entry per link and day, written once the day is over.
    let before = server.audit_queries();
    assert!(
        !before.iter().any(|q| q.starts_with("link views")),
        "{before:?}"
    );
    assert!(
        before
            .iter()
            .any(|q| q == &format!("links make site={HOST} id={id}")),
        "{before:?}"
    );
    server.clock.set(now + Duration::days(1));
    through(&server, &secret, &format!("{VISITORS}{HOST}"), None).await;
    let after = server.audit_queries();
    let views: Vec<&String> = after
        .iter()
        .filter(|q| q.starts_with(&format!("link views site={HOST} id={id} ")))
        .collect();
    assert_eq!(views.len(), 1, "{after:?}");
    // 1 own-site answer, 2 other sites, 1 partner's pages and 1 change refused.
    assert!(
        views[0].contains("day=2026-06-02 answered=1 refused=4"),
        "{views:?}"
    );
    assert!(
        after.iter().all(|q| !q.contains(&secret)),
        "the secret is never logged"
    );

    // The register lists it by site and purpose, never by its secret.
    let register = server
        .http
        .get(format!("{}/transparency", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        register.contains(&id) && !register.contains(&secret),
        "listed without its secret"
    );
    let (_, listed) = server.stats("/transparency.json").await;
    assert!(
        listed["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == id.as_str() && l["purpose"] == "service-improvement"),
        "{listed}"
    );

    // Withdrawn: 204, then the page and its API answer 404 and read nothing.
    let (status, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/links/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        server
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let (status, _) = through(&server, &secret, &format!("{VISITORS}{HOST}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        Method::DELETE,
        &format!("/api/v1/links/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

async fn passwords_expiry_and_frames(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, now, |c| c).await else {
        return;
    };
    let (status, made) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST, "password": "open sesame", "expires": "2026-06-03"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let url = made["url"].as_str().unwrap().to_string();
    let secret = secret_of(&url);
    let form = server
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Enter the password"), "{form}");
    let (status, _) = through(&server, &secret, &format!("{VISITORS}{HOST}"), None).await;
    assert_eq!(status, 403, "locked until the password is given");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let wrong = no_redirects
        .post(&url)
        .form(&[("password", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let right = no_redirects
        .post(&url)
        .form(&[("password", "open sesame")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status().as_u16(), 303);
    let cookie = right.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, body) = through(
        &server,
        &secret,
        &format!("{VISITORS}{HOST}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Past its last day (in the site's time zone), it is gone.
    server.clock.set(now + Duration::days(2));
    let (status, _) = through(
        &server,
        &secret,
        &format!("{VISITORS}{HOST}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        server
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    // Framed only by the sites listed for it; never with a password.
    let (status, framed) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST, "embed": ["https://www.gov.uk"]})),
    )
    .await;
    assert_eq!(status, 201, "{framed}");
    let page = server
        .http
        .get(format!("{}?embed=true", framed["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors https://www.gov.uk;"), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
    for bad in [
        json!({"site_id": HOST, "embed": ["https://www.gov.uk"], "password": "x"}),
        json!({"site_id": HOST, "embed": ["javascript:alert(1)"]}),
        json!({"site_id": HOST, "expires": "2026-01-01"}),
        json!({"site_id": HOST, "purpose": "campaigning"}),
        json!({"site_id": "other.example"}),
        json!({"site_id": HOST, "secret": "mine"}),
    ] {
        let (status, body) = call(&server, Method::POST, "/api/v1/links", Some(bad.clone())).await;
        assert!(
            status == 400 || status == 403 || status == 422,
            "{bad}: {status} {body}"
        );
    }
}

/// A link dies with its creator's access: here the token that made it is
/// made a viewer, and the link stops working at the reload.
async fn dies_with_its_creator(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, now, |c| c).await else {
        return;
    };
    let (_, made) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST})),
    )
    .await;
    let url = made["url"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let path = server.dir.path().join("glasshouse.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "organisation = \"test-org\"\nrole = \"analyst\"\nsha256",
            "organisation = \"test-org\"\nrole = \"viewer\"\nsha256",
            1,
        ),
    )
    .unwrap();
    let r = server
        .http
        .post(format!("{}/api/v1/admin/reload", server.url))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    assert_eq!(
        server
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let (status, _) = through(
        &server,
        &secret_of(&url),
        &format!("{VISITORS}{HOST}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

async fn published_partner_figures(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap();
    let publish =
        |c: String| c.replacen("journeys = true\n", "journeys = true\npublish = true\n", 1);
    let Some(server) = TestServer::start_on(backend, now, publish).await else {
        return;
    };
    let (_, made) = call(
        &server,
        Method::POST,
        "/api/v1/links",
        Some(json!({"site_id": HOST})),
    )
    .await;
    let secret = secret_of(made["url"].as_str().unwrap());
    let (status, body) = through(
        &server,
        &secret,
        &format!("/api/v1/stats/next-pages?site_id={HOST}&period=day&page=/a"),
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "an agreement that publishes lets the link show them: {body}"
    );
}

#[tokio::test]
async fn links_on_duckdb() {
    links_read_only_within_their_scope(Backend::DuckDb).await;
    passwords_expiry_and_frames(Backend::DuckDb).await;
    published_partner_figures(Backend::DuckDb).await;
    dies_with_its_creator(Backend::DuckDb).await;
}

#[tokio::test]
async fn links_on_clickhouse() {
    links_read_only_within_their_scope(Backend::ClickHouse).await;
}
