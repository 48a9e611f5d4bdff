//! `/ready` names each check, and answers 503 naming the one that fails.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use support::TestServer;

async fn ready(s: &TestServer) -> (u16, Value) {
    let r = s.http.get(format!("{}/ready", s.url)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_checks_the_store_the_log_the_audit_log_and_the_salts() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 23, 59, 0).unwrap();
    let s = TestServer::start(start).await;
    let (status, body) = ready(&s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    for check in ["store", "wal", "audit", "salts"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }

    // Past midnight the check makes the new day's salt rather than fail.
    s.clock.set(start + chrono::Duration::minutes(2));
    assert_eq!(ready(&s).await.0, 200);

    // A checkpoint signed by someone else is appended to the audit log.
    let forged = "glasshouse.example/audit\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— forger AAAAAAAAAAAA\n\n";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.dir.path().join("audit/checkpoints"))
        .unwrap();
    std::io::Write::write_all(&mut f, forged.as_bytes()).unwrap();
    let (status, body) = ready(&s).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("audit: "),
        "{body}"
    );
    assert_eq!(body["checks"]["store"]["ok"], true);
    assert_eq!(body["checks"]["audit"]["ok"], false);
}
