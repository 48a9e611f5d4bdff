//! Retention is enforced: raw events older than the site's
//! `raw_retention_days` are deleted, newer ones kept, other sites untouched.

mod support;

use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::Config;
use serde_json::json;
use support::{TestServer, CHROME, HOST};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_events_past_retention_are_deleted() {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    let server = TestServer::start(start).await;
    // One event a day for 40 days on the test site (30-day retention)…
    for day in 0..40 {
        server.clock.set(start + Duration::days(day));
        let r = server
            .post_event(
                "198.51.100.4",
                CHROME,
                &json!({"n": "pageview", "u": format!("https://{HOST}/day-{day}"), "d": HOST}),
            )
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
    assert_eq!(server.store.count().unwrap(), 40);
    let config = Config::parse(&support::config_text(server.dir.path()), "test.toml").unwrap();
    // …on day 39 (9 February) the job deletes what is from before midnight
    // 30 days earlier (10 January): days 0–8. Today and the 30 days before stay.
    let deleted =
        glasshouse_server::retention::enforce(&config, server.store.as_ref(), &server.clock)
            .unwrap();
    assert_eq!(deleted, 9);
    assert_eq!(server.store.count().unwrap(), 31);
    let (_, body) = server.stats("/api/v1/stats/breakdown?site_id=test.example&period=custom&date=2026-01-01,2026-02-15&property=event:page&limit=1000").await;
    let pages: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["page"].as_str().unwrap())
        .collect();
    assert!(
        !pages.contains(&"/day-8") && pages.contains(&"/day-9") && pages.contains(&"/day-39"),
        "{pages:?}"
    );
    // Running it again deletes nothing more.
    assert_eq!(
        glasshouse_server::retention::enforce(&config, server.store.as_ref(), &server.clock)
            .unwrap(),
        0
    );
}
