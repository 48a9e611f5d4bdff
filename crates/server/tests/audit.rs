//! The gate's purpose check and the audit log, over HTTP: every query,
//! allowed or refused, is an entry of a log anyone can verify, and an
//! altered entry is caught.

mod support;

use chrono::{TimeZone, Utc};
use support::*;

fn entries(s: &TestServer) -> Vec<serde_json::Value> {
    std::fs::read_to_string(s.dir.path().join("audit/entries.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn every_query_is_logged_and_the_log_verifies() {
    let mut s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let (status, _) = s
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=day")
        .await;
    assert_eq!(status, 200);
    let (status, e) = s
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=day&purpose=marketing")
        .await;
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("not a declared purpose"),
        "{e}"
    );
    let (status, _) = s
        .stats_as(
            OTHER_TOKEN,
            "/api/v1/stats/aggregate?site_id=test.example&period=day",
        )
        .await;
    assert_eq!(status, 403);
    // No credentials: nothing read, nothing logged.
    let r = s
        .http
        .get(format!(
            "{}/api/v1/stats/aggregate?site_id=test.example",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let log = entries(&s);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["decision"], "allowed");
    assert_eq!(log[0]["purpose"], "service-improvement");
    assert_eq!(log[0]["organisation"], "test-org");
    assert!(log[0]["query"].as_str().unwrap().starts_with(
        "aggregate site=test.example period=2026-05-04..2026-05-04 purpose=service-improvement"
    ));
    assert!(log[0]["reason"]
        .as_str()
        .unwrap()
        .contains("own organisation test-org"));
    assert_eq!(log[0]["rows"], 1, "the aggregate's one row");
    assert_eq!(log[1]["rows"], 0, "a refusal returns nothing");
    assert!(log[0]["actor"].as_str().unwrap().starts_with("token:"));
    assert!(!log[0]["actor"].as_str().unwrap().contains(TOKEN));
    assert_eq!(log[1]["decision"], "refused");
    assert_eq!(log[2]["decision"], "refused");
    assert_eq!(log[2]["organisation"], "other-org");

    // Anyone can check it over HTTP, as `glasshouse audit verify --url` does.
    let url = s.url.clone();
    let report =
        tokio::task::spawn_blocking(move || glasshouse_audit::verify_remote(&url, None, None))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(report.size, 3);

    s.stop().await;
    let dir = s.dir.path().join("audit");
    assert_eq!(glasshouse_audit::verify_dir(&dir, None).unwrap().size, 3);
    // Altering one stored entry is caught, and the entry is named.
    let path = dir.join("entries.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"refused\"", "\"allowed\"", 1)).unwrap();
    let err = glasshouse_audit::verify_dir(&dir, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("entry 1"), "{err}");
}
