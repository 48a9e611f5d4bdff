//! A site in Europe/London answers in its own days: a page view at 23:30
//! UTC on 1 July is on 2 July, the visitor who comes back that morning is
//! one visitor of the day (the salts follow local midnight), and hours are
//! labelled in local time, in v1 and v2 alike.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use support::{TestServer, CHROME, OTHER_TOKEN};

const SITE: &str = "other.example";

async fn view(server: &mut TestServer, at: chrono::DateTime<Utc>, path: &str) {
    server.clock.set(at);
    let event = json!({"n": "pageview", "u": format!("https://{SITE}{path}"), "d": SITE});
    let r = server.post_event("81.2.69.142", CHROME, &event).await;
    assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
}

#[tokio::test]
async fn a_london_site_counts_its_own_days_and_hours() {
    let start = Utc.with_ymd_and_hms(2026, 7, 1, 21, 0, 0).unwrap();
    let mut server = TestServer::start(start).await;
    view(
        &mut server,
        Utc.with_ymd_and_hms(2026, 7, 1, 21, 30, 0).unwrap(),
        "/a",
    )
    .await; // 22:30 BST, 1 July
    view(
        &mut server,
        Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap(),
        "/b",
    )
    .await; // 00:30 BST, 2 July
    view(
        &mut server,
        Utc.with_ymd_and_hms(2026, 7, 2, 9, 0, 0).unwrap(),
        "/c",
    )
    .await; // 10:00 BST
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 7, 2, 12, 0, 0).unwrap());

    let get = |path: String| {
        let s = &server;
        async move { s.stats_as(OTHER_TOKEN, &path).await }
    };
    // Today (2 July, local): two page views, one visitor.
    let (status, body) = get(format!(
        "/api/v1/stats/aggregate?site_id={SITE}&period=day&metrics=visitors,visits,pageviews"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"]["pageviews"]["value"], 2, "{body}");
    assert_eq!(
        body["results"]["visitors"]["value"], 1,
        "one person, one local day: {body}"
    );
    // By hour, in local time.
    let (_, body) = get(format!(
        "/api/v1/stats/timeseries?site_id={SITE}&period=day&interval=hour&metrics=pageviews"
    ))
    .await;
    let hours: Vec<(String, i64)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pageviews"].as_i64() != Some(0))
        .map(|r| {
            (
                r["date"].as_str().unwrap().to_string(),
                r["pageviews"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hours,
        vec![
            ("2026-07-02 00:00:00".to_string(), 1),
            ("2026-07-02 10:00:00".to_string(), 1)
        ]
    );
    assert_eq!(body["results"].as_array().unwrap().len(), 24);
    // By day over two days: 1 July has the 22:30 page view only.
    let (_, body) = get(format!("/api/v1/stats/timeseries?site_id={SITE}&period=custom&date=2026-07-01,2026-07-02&metrics=pageviews")).await;
    assert_eq!(
        body["results"],
        json!([{"date": "2026-07-01", "pageviews": 1}, {"date": "2026-07-02", "pageviews": 2}])
    );
    // v2 alike, with the period echoed in local instants' days.
    let r = server
        .http
        .post(format!("{}/api/v2/query", server.url))
        .bearer_auth(OTHER_TOKEN)
        .json(&json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day", "dimensions": ["time:hour"]}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["results"],
        json!([{"metrics": [1], "dimensions": ["2026-07-02 00:00:00"]}, {"metrics": [1], "dimensions": ["2026-07-02 10:00:00"]}]),
        "{body}"
    );
}
