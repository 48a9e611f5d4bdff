//! Retention is enforced in two tiers: raw events older than the site's
//! `raw_retention_days` are rolled up into daily aggregates without visitor
//! ids and deleted; the aggregates still answer the same figures for old
//! periods, and go after `aggregate_retention_days`. Other sites untouched.

mod support;

use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::Config;
use serde_json::{json, Value};
use support::{Backend, TestServer, CHROME, HOST};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

const PERIOD: &str = "site_id=test.example&period=custom&date=2026-01-01,2026-02-15";

async fn answers(server: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    for q in [
        format!("/api/v1/stats/aggregate?{PERIOD}&metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration"),
        format!("/api/v1/stats/timeseries?{PERIOD}&metrics=visitors,visits,pageviews&interval=day"),
        format!("/api/v1/stats/timeseries?{PERIOD}&metrics=visitors,pageviews&interval=week"),
        format!("/api/v1/stats/breakdown?{PERIOD}&property=event:page&metrics=visitors,visits,pageviews,bounce_rate&limit=1000"),
        format!("/api/v1/stats/breakdown?{PERIOD}&property=visit:source&metrics=visitors,visits&limit=1000"),
        format!("/api/v1/stats/breakdown?{PERIOD}&property=visit:entry_page&metrics=visitors&limit=1000"),
        format!("/api/v1/stats/next-pages?{PERIOD}&page=/day-5"),
        format!("/api/v1/stats/previous-pages?{PERIOD}&page=/common"),
    ] {
        let (status, body) = server.stats(&q).await;
        assert_eq!(status, 200, "{q}: {body}");
        out.push(body);
    }
    out
}

async fn funnel_status(server: &TestServer, steps: &Value) -> (u16, Value) {
    let r = server
        .http
        .post(format!("{}/api/v1/stats/funnel", server.url))
        .bearer_auth(support::TOKEN)
        .json(&json!({"site_id": HOST, "period": "custom", "date": "2026-01-01,2026-02-15", "steps": steps}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn funnel(server: &TestServer, steps: &Value) -> Value {
    let (status, body) = funnel_status(server, steps).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn counts(v: &Value) -> Vec<(u64, u64)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["visits"].as_u64().unwrap(),
                r["visitors"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_events_are_rolled_up_then_deleted_and_old_periods_still_answer() {
    two_tiers(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_events_are_rolled_up_then_deleted_and_old_periods_still_answer_on_clickhouse() {
    two_tiers(Backend::ClickHouse).await;
}

/// Runs the retention job as the server does: off the async threads (the
/// ClickHouse store blocks on HTTP).
async fn enforce(config: &Config, server: &TestServer) -> u64 {
    let (config, store, clock) = (config.clone(), server.store.clone(), server.clock.clone());
    let funnels = server.app.funnels.clone();
    tokio::task::spawn_blocking(move || {
        glasshouse_store::retention::enforce(&config, store.as_ref(), &funnels, &clock).unwrap()
    })
    .await
    .unwrap()
}

async fn two_tiers(backend: Backend) {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, start, |c| c).await else {
        return;
    };
    // For 40 days: one visitor reads /day-N then /common (from a search
    // engine on even days); another reads /common only.
    for day in 0..40 {
        server.clock.set(start + Duration::days(day));
        let referrer = if day % 2 == 0 {
            Some("https://www.google.com/")
        } else {
            None
        };
        for (ua, path) in [
            (CHROME, format!("/day-{day}")),
            (CHROME, "/common".to_string()),
            (FIREFOX, "/common".to_string()),
        ] {
            let r = server
                .post_event(
                    "198.51.100.4",
                    ua,
                    &json!({"n": "pageview", "u": format!("https://{HOST}{path}"), "d": HOST, "r": referrer}),
                )
                .await;
            assert_eq!(r.status().as_u16(), 202);
            server.clock.advance(Duration::seconds(50));
        }
    }
    assert_eq!(server.store.count().unwrap(), 120);
    let before = answers(&server).await;
    // A saved funnel keeps its daily counts in the aggregate tier.
    let steps = json!([{"page": "/day-*"}, {"page": "/common"}]);
    let r = server
        .http
        .post(format!("{}/api/v1/funnels", server.url))
        .bearer_auth(support::TOKEN)
        .json(&json!({"site_id": HOST, "name": "Day to common", "steps": steps}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let funnel_before = funnel(&server, &steps).await;
    assert_eq!(
        counts(&funnel_before),
        vec![(40, 40), (40, 40)],
        "{funnel_before}"
    );

    let config = Config::parse(&support::config_text(server.dir.path()), "test.toml").unwrap();
    // On day 39 (9 February) the job rolls up and deletes what is from before
    // midnight 30 days earlier (10 January): days 0–8, 27 events.
    let deleted = enforce(&config, &server).await;
    assert_eq!(deleted, 27);
    assert_eq!(server.store.count().unwrap(), 93);
    // The same figures, now partly from the aggregates.
    let after = answers(&server).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "an answer changed when its old days were rolled up");
    }
    let funnel_after = funnel(&server, &steps).await;
    assert_eq!(
        counts(&funnel_after),
        counts(&funnel_before),
        "{funnel_after}"
    );
    // Steps nobody saved have no daily counts: refused, saying why.
    let (status, body) =
        funnel_status(&server, &json!([{"page": "/common"}, {"page": "/day-*"}])).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("saved as a funnel"),
        "{body}"
    );
    // Running it again changes nothing.
    assert_eq!(enforce(&config, &server).await, 0);
    assert_eq!(answers(&server).await, after);

    // What the aggregates cannot answer is refused, saying from when it can be.
    for q in [
        format!("/api/v1/stats/aggregate?{PERIOD}&filters=visit:source%3D%3DGoogle"),
        "/api/v1/stats/timeseries?site_id=test.example&period=custom&date=2026-01-02,2026-01-03&interval=hour".to_string(),
        format!("/api/v1/stats/breakdown?{PERIOD}&property=visit:os_version"),
    ] {
        let (status, body) = server.stats(&q).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body["error"].as_str().unwrap().contains("2026-01-10"), "{body}");
    }
    // Several-step journeys need raw events.
    let (status, body) = server
        .stats(&format!("/api/v1/stats/paths?{PERIOD}&page=/common"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("2026-01-10"),
        "{body}"
    );
    // Recent days can still be filtered.
    let (status, _) = server
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=custom&date=2026-01-20,2026-02-09&filters=visit:source%3D%3DGoogle")
        .await;
    assert_eq!(status, 200);

    // After the aggregate retention (761 days) the old days go too.
    server.clock.set(start + Duration::days(39 + 761 - 8));
    enforce(&config, &server).await;
    let (_, old) = server
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=custom&date=2026-01-01,2026-01-09&metrics=pageviews")
        .await;
    assert_eq!(old["results"]["pageviews"]["value"], 0, "{old}");
}
