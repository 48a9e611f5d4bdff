//! Configuration reloads: applied while serving, refused whole when the file
//! is wrong (the previous rules stay), and recorded in the audit log.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use support::*;

async fn reload(s: &TestServer, token: &str) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}/api/v1/admin/reload", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_reload_applies_the_file_and_is_audited() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let q = "/api/v1/stats/breakdown?site_id=test.example&period=day&property=event:page&metrics=visitors";
    assert_eq!(s.stats_as(PARTNER_TOKEN, q).await.0, 200);

    // Only an operator may reload.
    assert_eq!(reload(&s, TOKEN).await.0, 403);

    // The agreement stops sharing page breakdowns.
    let path = s.dir.path().join("glasshouse.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("breakdowns = [\"event:page\"]", "breakdowns = []"),
    )
    .unwrap();
    let (status, body) = reload(&s, OPERATOR_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["changes"],
        serde_json::json!(["agreement test-partner changed"])
    );
    assert_eq!(
        s.stats_as(PARTNER_TOKEN, q).await.0,
        403,
        "the new rules apply at once"
    );

    // A wrong file is refused whole; the rules in force stay.
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, good.replace("k = 2", "k = 1")).unwrap();
    let (status, body) = reload(&s, OPERATOR_TOKEN).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("glasshouse.toml:") && error.contains("agreements[0].k"),
        "{error}"
    );
    assert_eq!(s.stats_as(PARTNER_TOKEN, q).await.0, 403);
    assert_eq!(s.stats(q).await.0, 200);

    // Both reloads are in the transparency log, with who and what.
    let log = std::fs::read_to_string(s.dir.path().join("audit/entries.jsonl")).unwrap();
    let config: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "config")
        .collect();
    assert_eq!(config.len(), 2, "{log}");
    assert_eq!(config[0]["decision"], "allowed");
    assert!(config[0]["query"]
        .as_str()
        .unwrap()
        .contains("agreement test-partner changed"));
    assert_eq!(config[0]["role"], "operator-token");
    assert_eq!(config[1]["decision"], "refused");
    assert!(config[1]["reason"]
        .as_str()
        .unwrap()
        .contains("agreements[0].k"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_under_the_reloaded_configuration() {
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start(start).await;
    let event = serde_json::json!({"n": "pageview", "u": format!("https://{HOST}/old"), "d": HOST});
    assert_eq!(
        s.post_event("198.51.100.3", CHROME, &event).await.status(),
        202
    );
    s.clock.set(start + chrono::Duration::days(10));
    // What the hourly job reads each time: the reloader's configuration.
    let reloader = s.app.reload.get().unwrap().upgrade().unwrap();
    let run = |config: std::sync::Arc<glasshouse_model::Config>| {
        let (store, funnels, clock) = (s.store.clone(), s.app.funnels.clone(), s.clock.clone());
        tokio::task::spawn_blocking(move || {
            glasshouse_store::retention::enforce(&config, store.as_ref(), &funnels, &clock).unwrap()
        })
    };
    assert_eq!(run(reloader.config()).await.unwrap(), 0, "kept 30 days");

    let path = s.dir.path().join("glasshouse.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "query_params = [\"q\"]",
            "query_params = [\"q\"]\nraw_retention_days = 7",
        ),
    )
    .unwrap();
    let (status, body) = reload(&s, OPERATOR_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        run(reloader.config()).await.unwrap(),
        1,
        "the new retention applies"
    );
    assert_eq!(s.store.count().unwrap(), 0);
}
