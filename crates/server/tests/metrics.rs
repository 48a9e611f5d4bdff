//! `/metrics`: the operator's view, counting what the collector answered and
//! how long queries took; operator token only.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::json;
use support::*;

#[tokio::test]
async fn metrics_count_what_happened_and_need_an_operator_token() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let page = json!({"name": "pageview", "url": "https://test.example/", "domain": HOST});
    assert_eq!(
        s.post_event("198.51.100.9", CHROME, &page).await.status(),
        202
    );
    let bot = s
        .post_event(
            "198.51.100.9",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            &page,
        )
        .await;
    assert_eq!(bot.headers()["x-glasshouse-dropped"], "bot");
    let bad = s
        .post_event("198.51.100.9", CHROME, &json!({"name": "pageview"}))
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        s.stats("/api/v1/stats/aggregate?site_id=test.example&period=day")
            .await
            .0,
        200
    );

    let get = |token: &'static str| {
        let s = &s;
        async move {
            let r = s
                .http
                .get(format!("{}/metrics", s.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get(TOKEN).await.0, 403);
    let (status, text) = get(OPERATOR_TOKEN).await;
    assert_eq!(status, 200);
    for line in [
        "glasshouse_events_accepted_total 1",
        "glasshouse_events_dropped_total{reason=\"bot\"} 1",
        "glasshouse_events_rejected_total{reason=\"bad-request\"} 1",
        "glasshouse_query_duration_seconds_count{endpoint=\"/api/v1/stats/aggregate\"} 1",
        "glasshouse_ingest_queue_depth 0",
        "glasshouse_salts_kept ",
        "glasshouse_audit_log_entries 1",
        "glasshouse_store_inserts_total ",
        "glasshouse_store_insert_failures_total 0",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(!text.contains("198.51.100.9"));
}
