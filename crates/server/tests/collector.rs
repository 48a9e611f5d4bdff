//! The collector's refusals and drops: bad input gets a 4xx with a JSON
//! reason and stores nothing; deliberate drops answer 202 and store nothing.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::json;
use support::{TestServer, CHROME, HOST};

async fn raw_post(
    server: &TestServer,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, serde_json::Value) {
    let ua = headers
        .iter()
        .find(|(k, _)| *k == "user-agent")
        .map_or(CHROME, |(_, v)| *v);
    let mut req = server
        .http
        .post(format!("{}/api/event", server.url))
        .header("user-agent", ua)
        .body(body);
    for (k, v) in headers.iter().filter(|(k, _)| *k != "user-agent") {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let dropped = r
        .headers()
        .get("x-glasshouse-dropped")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    (
        status,
        dropped,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

fn good() -> serde_json::Value {
    json!({"name": "pageview", "url": "https://test.example/vat-rates", "domain": HOST})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_reason_and_stores_nothing() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let mut huge_props = serde_json::Map::new();
    for i in 0..40 {
        huge_props.insert(format!("k{i}"), json!("v"));
    }
    let with = |k: &str, v: serde_json::Value| {
        let mut b = good();
        b[k] = v;
        serde_json::to_vec(&b).unwrap()
    };
    let without = |k: &str| {
        let mut b = good();
        b.as_object_mut().unwrap().remove(k);
        serde_json::to_vec(&b).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", b"{\"name\": \"pageview\", ".to_vec(), 400, "not a valid event"),
        ("not an object", b"[1,2,3]".to_vec(), 400, "not a valid event"),
        ("missing name", without("name"), 400, "name: required"),
        ("missing url", without("url"), 400, "url: required"),
        ("missing domain", without("domain"), 400, "domain: required"),
        ("unknown site", with("domain", json!("nobody.example")), 400, "unknown site"),
        ("invalid URL", with("url", json!("not a url")), 400, "url"),
        ("non-http URL", with("url", json!("javascript:alert(1)")), 400, "url"),
        ("non-UTF-8", b"{\"name\": \"page\xff\xfeview\", \"url\": \"https://test.example/\", \"domain\": \"test.example\"}".to_vec(), 400, "UTF-8"),
        ("oversized body", with("props", json!({"a": "x".repeat(9000)})), 413, "larger than 8192"),
        ("too many props", with("props", serde_json::Value::Object(huge_props)), 400, "more than 30"),
        ("props not an object", with("props", json!([1, 2])), 400, "props"),
        ("nested prop value", with("props", json!({"a": {"b": 1}})), 400, "props"),
        ("long prop value", with("props", json!({"a": "x".repeat(2001)})), 400, "longer than 2000"),
        ("long name", with("name", json!("n".repeat(121))), 400, "name"),
        ("bad revenue", with("revenue", json!({"amount": "lots", "currency": "GBP"})), 400, "revenue"),
        ("bad currency", with("revenue", json!({"amount": 1, "currency": "pounds"})), 400, "currency"),
        ("file URL", with("url", json!("file:///etc/passwd")), 400, "url"),
        ("engagement without figures", with("name", json!("engagement")), 400, "sd"),
        ("figures on a page view", with("sd", json!(50)), 400, "only engagement events"),
    ];
    for (what, body, status, reason) in cases {
        let (got, _, answer) = raw_post(&server, body, &[("content-type", "text/plain")]).await;
        assert_eq!(got, status, "{what}: {answer}");
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no JSON reason in {answer}"));
        assert!(
            error.contains(reason),
            "{what}: {error:?} should mention {reason:?}"
        );
    }
    assert_eq!(server.store.count().unwrap(), 0, "nothing stored");

    // And a good event still goes in; so does an app's screen, as
    // Plausible counts them, and an engagement report in its short keys.
    let (got, dropped, _) = raw_post(&server, serde_json::to_vec(&good()).unwrap(), &[]).await;
    assert_eq!((got, dropped), (202, None));
    assert_eq!(server.store.count().unwrap(), 1);
    let (got, _, answer) = raw_post(
        &server,
        with("url", json!("app://localhost/screen/settings")),
        &[],
    )
    .await;
    assert_eq!(got, 202, "{answer}");
    let mut engaged = good();
    engaged["name"] = json!("engagement");
    engaged["sd"] = json!(140);
    engaged["e"] = json!(4200.4);
    let (got, _, answer) = raw_post(&server, serde_json::to_vec(&engaged).unwrap(), &[]).await;
    assert_eq!(got, 202, "{answer}");
    assert_eq!(server.store.count().unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliberate_drops_answer_202_and_store_nothing() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let body = serde_json::to_vec(&good()).unwrap();
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.0.0 Safari/537.36";
    // (what, extra request headers, the drop reason answered)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("Do Not Track", vec![("dnt", "1")], "do-not-track"),
        (
            "Global Privacy Control",
            vec![("sec-gpc", "1")],
            "do-not-track",
        ),
        (
            "opted out",
            vec![("cookie", "other=1; glasshouse_optout=1")],
            "opted-out",
        ),
        ("crawler", vec![("user-agent", bot)], "bot"),
        ("headless browser", vec![("user-agent", headless)], "bot"),
    ];
    for (what, headers, reason) in cases {
        let (status, dropped, _) = raw_post(&server, body.clone(), &headers).await;
        assert_eq!((status, dropped.as_deref()), (202, Some(reason)), "{what}");
    }
    assert_eq!(server.store.count().unwrap(), 0, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_api_accepts_plausible_bodies_and_cors() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    // The tracker's short keys, props as an object.
    let short = json!({"n": "Form submitted", "u": "https://test.example/apply?q=visa&email=a@b.com", "d": HOST, "r": null, "p": {"form": "visa"}});
    let r = server
        .http
        .post(format!("{}/api/event", server.url))
        .header("user-agent", CHROME)
        .header("origin", "https://test.example")
        .body(short.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://test.example"
    );
    // Plausible's long names, props as a JSON string, revenue.
    let long = json!({"name": "Purchase", "url": "https://test.example/pay", "domain": HOST, "props": "{\"plan\":\"annual\"}", "revenue": {"amount": "12.50", "currency": "gbp"}});
    assert_eq!(
        server
            .post_event("198.51.100.9", CHROME, &long)
            .await
            .status()
            .as_u16(),
        202
    );
    let (_, body) = server.stats("/api/v1/stats/breakdown?site_id=test.example&period=day&property=event:props:form&metrics=events&filters=event:name==Form%20submitted").await;
    assert_eq!(body["results"][0]["form"], "visa");
    let (_, body) = server.stats("/api/v1/stats/breakdown?site_id=test.example&period=day&property=event:props:plan&metrics=events&filters=event:name==Purchase").await;
    assert_eq!(body["results"][0]["plan"], "annual");
    // Only allowed query parameters are kept: q is, email is not.
    let (_, body) = server.stats("/api/v1/stats/breakdown?site_id=test.example&period=day&property=event:page&metrics=events").await;
    let pages: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["page"].as_str().unwrap())
        .collect();
    assert!(
        pages.contains(&"/apply") && pages.contains(&"/pay"),
        "{pages:?}"
    );
}

/// A browser on a government site asks first (preflight) whether it may
/// post its JSON from that origin; only POST is an event, and each answer
/// carries an id a person can quote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_answers_preflight_and_refuses_other_methods() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let url = format!("{}/api/event", server.url);
    let r = server
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://test.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://test.example");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(h["access-control-allow-headers"], "content-type");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h.contains_key("x-request-id"));
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = server
            .http
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method}");
    }
    let r = server
        .http
        .post(&url)
        .header("x-request-id", "edge-7")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-request-id"], "edge-7");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "edge-7", "{body}");
    // Nothing of the above was an event.
    let (_, body) = server
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=events")
        .await;
    assert_eq!(body["results"]["events"]["value"], 0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_api_needs_a_token_of_the_right_organisation() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let path = "/api/v1/stats/aggregate?site_id=test.example&period=day";
    let r = server
        .http
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.json::<serde_json::Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("token"));
    assert_eq!(server.stats_as("wrong", path).await.0, 401);
    assert_eq!(server.stats_as(support::OTHER_TOKEN, path).await.0, 403);
    assert_eq!(
        server
            .stats_as(
                support::OTHER_TOKEN,
                "/api/v1/stats/aggregate?site_id=other.example&period=day"
            )
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .stats("/api/v1/stats/aggregate?site_id=nowhere.example&period=day")
            .await
            .0,
        404
    );
    for (q, reason) in [
        ("period=fortnight", "period"),
        ("period=custom&date=2026-01-01", "date"),
        ("metrics=visitors,clicks", "metrics"),
        ("filters=visit:shoe==9", "filters"),
        ("compare=last_year", "compare"),
    ] {
        let (status, body) = server
            .stats(&format!("/api/v1/stats/aggregate?site_id=test.example&{q}"))
            .await;
        assert_eq!(status, 400, "{q}");
        assert!(
            body["error"].as_str().unwrap().starts_with(reason),
            "{q}: {body}"
        );
    }
    let (status, body) = server
        .stats("/api/v1/stats/breakdown?site_id=test.example&property=visit:nothing")
        .await;
    assert_eq!(
        (
            status,
            body["error"].as_str().unwrap().starts_with("property")
        ),
        (400, true)
    );
    let (status, _) = server
        .stats("/api/v1/stats/breakdown?site_id=test.example&property=event:page&limit=0")
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .stats("/api/v1/stats/timeseries?site_id=test.example&period=12mo&interval=hour")
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let server = TestServer::start(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()).await;
    let doc: serde_json::Value = server
        .http
        .get(format!("{}/api/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/event",
        "/api/v1/stats/aggregate",
        "/api/v1/stats/timeseries",
        "/api/v1/stats/breakdown",
        "/api/v1/stats/realtime/visitors",
        "/api/v1/stats/next-pages",
        "/api/v1/stats/previous-pages",
        "/api/v1/stats/paths",
        "/api/v1/stats/funnel",
        "/api/v1/funnels",
        "/api/v1/admin/reload",
        "/transparency",
        "/transparency.json",
        "/transparency/dpia",
        "/transparency/log/checkpoint",
        "/transparency/log/entries",
        "/js/glasshouse.js",
        "/js/plausible-objection.js",
        "/optout",
        "/health",
        "/api/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
        let r = server
            .http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status().as_u16(), 404, "{path} is served");
    }
    let optout = server
        .http
        .get(format!("{}/optout", server.url))
        .send()
        .await
        .unwrap();
    assert!(optout.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
}
