//! The public register and the DPIA say what the configuration says: a
//! changed configuration changes them.

mod support;

use chrono::{TimeZone, Utc};
use support::*;

async fn get(s: &TestServer, path: &str) -> (u16, String) {
    let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_register_follows_the_configuration() {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start(at).await;
    let (status, page) = get(&s, "/transparency").await;
    assert_eq!(status, 200);
    assert!(page.contains("Journeys between the test and partner sites"));
    assert!(page.contains("k = 2"), "k is stated");
    let (_, json) = get(&s, "/transparency.json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["agreements"][0]["k"], 2);
    let (status, dpia) = get(&s, "/transparency/dpia?format=md").await;
    assert_eq!(status, 200);
    assert!(dpia.contains("## 7"), "{dpia}");
    assert_eq!(get(&s, "/transparency?site=nowhere.example").await.0, 404);

    // The same installation with k raised and a shorter retention.
    let edited = TestServer::start_edited(at, |c| {
        c.replace("k = 2", "k = 7").replace(
            "query_params = [\"q\"]",
            "query_params = [\"q\"]\nraw_retention_days = 14",
        )
    })
    .await;
    let (_, page) = get(&edited, "/transparency").await;
    assert!(
        page.contains("k = 7") && !page.contains("k = 2"),
        "k changed on the page"
    );
    let (_, json) = get(&edited, "/transparency.json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["agreements"][0]["k"], 7);
    let site = json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == HOST)
        .unwrap()
        .clone();
    assert_eq!(site["raw_retention_days"], 14, "{site}");
    let (_, dpia) = get(&edited, "/transparency/dpia?format=md").await;
    assert!(dpia.contains("14 days"), "the DPIA states the retention");
}
