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
    // One installation linking journeys says plainly who holds the ids.
    assert!(
        page.contains("the organisation that operates it holds pseudonymous ids"),
        "the register says the operator holds the linked ids"
    );
    assert_eq!(json["agreements"][0]["linked_ids_held_by_operator"], true);
    assert!(json["agreements"][0]["federation"].is_null());
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

/// Every stored column is declared on the transparency page: a new field in
/// the store's table fails here until the page says what it holds.
#[test]
fn every_stored_field_is_declared_to_the_public() {
    use glasshouse_governance::collected::COLLECTED;
    fn declared_as(field: &str) -> &str {
        match field {
            "ts" => "time",
            "session_id" => "visit_id",
            "journey_id" | "seq" => "journey",
            "prev_site" | "prev_page" => "previous_page",
            "utm_source" | "utm_medium" | "utm_campaign" | "utm_content" | "utm_term" => "utm",
            "browser_version" => "browser",
            "os_version" => "os",
            "scroll_depth" | "engagement_time" => "engagement",
            // Always empty: neither the collector nor the import accepts
            // titles, as the page says under what is not collected.
            "title" => "page_title",
            other => other,
        }
    }
    let undeclared: Vec<&str> = glasshouse_store::row::FIELDS
        .iter()
        .map(|f| f.name)
        .filter(|name| {
            let as_ = declared_as(name);
            !COLLECTED.iter().any(|c| c.name == as_)
                && !glasshouse_governance::collected::NOT_COLLECTED
                    .iter()
                    .any(|c| c.name == as_)
        })
        .collect();
    assert!(
        undeclared.is_empty(),
        "stored but not declared: {undeclared:?}"
    );
}
