//! The gate over HTTP: another organisation's data is seen only through an
//! agreement, only its metrics and properties, never rows under k, with
//! differential-privacy noise and a monthly ε budget that runs out.

mod support;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Three visitors see /popular; one of them also sees /rare.
async fn traffic(s: &TestServer) {
    for (i, ip) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let ua = if i == 1 { FIREFOX } else { CHROME };
        let ua = if i == 2 {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
        } else {
            ua
        };
        let r = s
            .post_event(
                ip,
                ua,
                &json!({"name": "pageview", "url": "https://test.example/popular", "domain": HOST}),
            )
            .await;
        assert_eq!(r.status(), 202);
        s.clock.advance(Duration::seconds(30));
    }
    let r = s
        .post_event(
            "198.51.100.1",
            CHROME,
            &json!({"name": "pageview", "url": "https://test.example/rare", "domain": HOST}),
        )
        .await;
    assert_eq!(r.status(), 202);
}

fn pages(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["page"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_shares_exactly_its_metrics_and_properties_above_k() {
    shares_exactly(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_shares_exactly_its_metrics_and_properties_above_k_on_clickhouse() {
    shares_exactly(Backend::ClickHouse).await;
}

async fn shares_exactly(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let Some(s) = TestServer::start_on(backend, at, |c| c).await else {
        return;
    };
    traffic(&s).await;
    let q = "/api/v1/stats/breakdown?site_id=test.example&period=day&property=event:page&metrics=visitors";

    // The owner sees every row.
    let (status, own) = s.stats(q).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(pages(&own), vec!["/popular", "/rare"]);

    // The partner sees only rows with at least k = 2 visitors.
    let (status, shared) = s.stats_as(PARTNER_TOKEN, q).await;
    assert_eq!(status, 200, "{shared}");
    assert_eq!(pages(&shared), vec!["/popular"]);
    let (status, agg) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visitors,visits",
        )
        .await;
    assert_eq!(status, 200, "{agg}");
    assert_eq!(agg["results"]["visitors"]["value"], 3);

    // Only what the agreement lists.
    for (path, why) in [
        ("/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=pageviews", "does not share pageviews"),
        ("/api/v1/stats/breakdown?site_id=test.example&period=day&property=visit:source", "does not share visit:source"),
        ("/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visitors&filters=visit:source%3D%3DGoogle", "cannot be filtered on"),
        ("/api/v1/stats/realtime/visitors?site_id=test.example", "never shared"),
    ] {
        let (status, e) = s.stats_as(PARTNER_TOKEN, path).await;
        assert_eq!(status, 403, "{path}: {e}");
        assert!(e["error"].as_str().unwrap().contains(why), "{path}: {e}");
    }
    // An organisation without an agreement sees nothing.
    let (status, e) = s.stats_as(OTHER_TOKEN, q).await;
    assert_eq!(status, 403, "{e}");
    assert!(e["error"].as_str().unwrap().contains("no agreement"), "{e}");

    // A total under k is withheld too.
    drop(s);
    let edited = TestServer::start_on(backend, at, |c| c.replace("k = 2", "k = 5"))
        .await
        .expect("started before");
    traffic(&edited).await;
    let (status, agg) = edited
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visitors",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(agg["results"]["visitors"]["value"], Value::Null, "{agg}");
    let (_, ts) = edited
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/timeseries?site_id=test.example&period=day&metrics=visitors",
        )
        .await;
    assert!(
        ts["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["visitors"].is_null()),
        "{ts}"
    );
}

#[tokio::test]
async fn an_epsilon_budget_adds_noise_and_runs_out() {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start_edited(at, |c| {
        c.replace("k = 2", "k = 2\nepsilon_per_month = 1.0")
            .replace(
                "metrics = [\"visitors\", \"visits\"]",
                "metrics = [\"visitors\"]",
            )
    })
    .await;
    traffic(&s).await;
    let (status, e) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visits",
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("does not share visits"),
        "{e}"
    );

    let q =
        "/api/v1/stats/timeseries?site_id=test.example&period=day&interval=hour&metrics=visitors";
    let (_, exact) = s.stats(q).await;
    let (status, noisy) = s.stats_as(PARTNER_TOKEN, q).await;
    assert_eq!(status, 200, "{noisy}");
    assert_ne!(noisy, exact, "noise changes the figures");
    // The same question the same day gets the same answer, and spends nothing.
    let (_, again) = s.stats_as(PARTNER_TOKEN, q).await;
    assert_eq!(again, noisy, "a released noisy answer is served again");
    // Other questions spend the rest of the month's budget (20 shares).
    for day in 1..20 {
        let other = format!(
            "/api/v1/stats/timeseries?site_id=test.example&period=day&date=2026-04-{day:02}&interval=hour&metrics=visitors"
        );
        let (status, e) = s.stats_as(PARTNER_TOKEN, &other).await;
        assert_eq!(status, 200, "question {day}: {e}");
    }
    let (status, e) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/timeseries?site_id=test.example&period=day&date=2026-04-25&interval=hour&metrics=visitors",
        )
        .await;
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("privacy budget"),
        "{e}"
    );
    // What was released before is still served.
    assert_eq!(s.stats_as(PARTNER_TOKEN, q).await.1, noisy);
    // The owner is not limited, and the spend is on disk.
    assert_eq!(s.stats(q).await.0, 200);
    let ledger = std::fs::read_to_string(s.dir.path().join("privacy-budget.json")).unwrap();
    assert!(
        ledger.contains("test-partner|partner-org|2026-05"),
        "{ledger}"
    );
}
