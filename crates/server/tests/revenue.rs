//! Revenue goals, as Plausible reports them: `total_revenue` and
//! `average_revenue` of a goal's completions in its currency (amounts in
//! other currencies are not summed: glasshouse holds no exchange rates),
//! written as Plausible writes money, in v1 and v2, on DuckDB and
//! ClickHouse; refused without a revenue goal, and never shareable.

mod support;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use support::{Backend, TestServer, CHROME, HOST};

/// The test configuration with a revenue goal in pounds.
fn with_revenue_goal(config: String) -> String {
    config.replacen(
        "name = \"Visa form\"\n",
        "name = \"Visa form\"\n\n[[sites.goals]]\nevent = \"Purchase\"\ncurrency = \"GBP\"\n",
        1,
    )
}

async fn purchase(server: &TestServer, ip: &str, revenue: Option<(&str, &str)>) {
    let mut event = json!({"n": "Purchase", "u": format!("https://{HOST}/shop"), "d": HOST});
    if let Some((amount, currency)) = revenue {
        event["revenue"] = json!({"amount": amount, "currency": currency});
    }
    let r = server.post_event(ip, CHROME, &event).await;
    assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
}

async fn revenue_is_summed_in_the_goals_currency(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, now, with_revenue_goal).await else {
        return;
    };
    purchase(&server, "81.2.69.142", Some(("10", "GBP"))).await;
    purchase(&server, "81.2.69.142", Some(("20.5", "GBP"))).await;
    purchase(&server, "81.2.69.160", Some(("30.00", "GBP"))).await;
    purchase(&server, "81.2.69.160", Some(("99", "EUR"))).await;
    purchase(&server, "81.2.69.170", None).await;
    let today = "period=day&date=2026-05-04";

    let (status, body) = server
        .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{today}&metrics=visitors,events,total_revenue,average_revenue&filters=event:goal==Purchase"))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"];
    assert_eq!(r["visitors"]["value"], 3, "{body}");
    assert_eq!(r["events"]["value"], 5, "{body}");
    assert_eq!(
        r["total_revenue"]["value"],
        json!({"value": 60.5, "currency": "GBP", "long": "£60.50", "short": "£60.50"}),
        "only the pounds: {body}"
    );
    assert_eq!(r["average_revenue"]["value"]["value"], 20.17, "{body}");

    // By goal: the revenue goal's row has it; the others have none.
    let (status, body) = server
        .stats(&format!("/api/v1/stats/breakdown?site_id={HOST}&{today}&metrics=visitors,total_revenue&property=event:goal"))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["results"].as_array().unwrap();
    let row = |goal: &str| rows.iter().find(|r| r["goal"] == goal).cloned();
    assert_eq!(
        row("Purchase").unwrap()["total_revenue"]["value"],
        60.5,
        "{body}"
    );

    // v2: the same, as Plausible's v2 writes it.
    let v2 = server
        .http
        .post(format!("{}/api/v2/query", server.url))
        .bearer_auth(support::TOKEN)
        .json(&json!({"site_id": HOST, "metrics": ["total_revenue", "average_revenue"], "date_range": ["2026-05-04", "2026-05-04"], "filters": [["is", "event:goal", ["Purchase"]]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status().as_u16(), 200);
    let body: Value = v2.json().await.unwrap();
    assert_eq!(body["results"][0]["metrics"][0]["long"], "£60.50", "{body}");
    assert_eq!(
        body["results"][0]["metrics"][1]["currency"], "GBP",
        "{body}"
    );

    // Refused: no goal, a goal without a currency, a time series.
    for (path, why) in [
        (format!("aggregate?site_id={HOST}&{today}&metrics=total_revenue"), "total_revenue needs"),
        (format!("aggregate?site_id={HOST}&{today}&metrics=average_revenue&filters=event:goal==Visa%20form"), "average_revenue needs"),
        (format!("timeseries?site_id={HOST}&{today}&metrics=total_revenue&filters=event:goal==Purchase"), "total_revenue needs"),
    ] {
        let (status, body) = server.stats(&format!("/api/v1/stats/{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{path}: {body}");
    }
}

#[tokio::test]
async fn revenue_on_duckdb() {
    revenue_is_summed_in_the_goals_currency(Backend::DuckDb).await;
}

#[tokio::test]
async fn revenue_on_clickhouse() {
    revenue_is_summed_in_the_goals_currency(Backend::ClickHouse).await;
}

#[test]
fn revenue_is_never_shared_by_an_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let text = support::config_text(dir.path()).replace(
        "metrics = [\"visitors\", \"visits\"]",
        "metrics = [\"visitors\", \"total_revenue\"]",
    );
    let err = glasshouse_model::Config::parse(&text, "glasshouse.toml").unwrap_err();
    assert!(
        err.to_string().contains("total_revenue is never shared"),
        "{err}"
    );
}
