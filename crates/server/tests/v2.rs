//! `POST /api/v2/query` answers in Plausible's v2 shape with the figures v1
//! gives for the same question, and with what the oracle computes from the
//! events sent; what the query model cannot say is refused by field, and
//! another organisation's site is refused by the gate.

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use glasshouse_testkit::traffic::{self, Person, Sent};
use glasshouse_testkit::truth::{self, Visit};
use serde_json::{json, Value};
use support::{TestServer, HOST, OTHER_TOKEN, PARTNER_TOKEN, TOKEN};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 4).unwrap()
}

async fn v2(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(format!("{}/api/v2/query", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn loaded() -> (TestServer, Vec<Person>, Vec<Sent>) {
    let (people, sent) = traffic::generate(11, day(), 2, 60);
    let server =
        TestServer::start(Utc.from_utc_datetime(&day().and_hms_opt(0, 0, 0).unwrap())).await;
    for s in &sent {
        server.clock.set(s.ts);
        let r = server
            .post_event(
                &people[s.person].ip.to_string(),
                people[s.person].user_agent(),
                &s.body(HOST),
            )
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
    (server, people, sent)
}

const RANGE: [&str; 2] = ["2026-05-04", "2026-05-05"];
const V1_RANGE: &str = "period=custom&date=2026-05-04,2026-05-05";

#[tokio::test]
async fn v2_answers_as_v1_and_the_oracle_do() {
    let (server, _, sent) = loaded().await;
    let visits = truth::visits(&sent);

    // Totals: the same figures as v1, in the metrics' order.
    let metrics = [
        "visitors",
        "visits",
        "pageviews",
        "bounce_rate",
        "visit_duration",
        "events",
    ];
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": metrics, "date_range": RANGE}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, v1) = server
        .stats(&format!(
            "/api/v1/stats/aggregate?site_id={HOST}&{V1_RANGE}&metrics={}",
            metrics.join(",")
        ))
        .await;
    let row = &body["results"][0];
    assert_eq!(row["dimensions"], json!([]));
    for (i, m) in metrics.iter().enumerate() {
        assert_eq!(row["metrics"][i], v1["results"][m]["value"], "{m}");
    }
    assert_eq!(
        body["query"]["date_range"],
        json!(["2026-05-04T00:00:00+00:00", "2026-05-05T23:59:59+00:00"])
    );

    // As many rows as Plausible gives at once, and by default.
    for pagination in [json!({"limit": 10_000}), json!({})] {
        let (status, body) = v2(
            &server,
            TOKEN,
            json!({"site_id": HOST, "metrics": ["visitors"],
            "date_range": RANGE, "dimensions": ["event:page"], "pagination": pagination}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["query"]["pagination"]["limit"], 10_000);
    }

    // A breakdown by page, paged, ordered by page views.
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors", "pageviews"], "date_range": RANGE,
        "dimensions": ["event:page"], "order_by": [["pageviews", "desc"]],
        "pagination": {"limit": 2, "offset": 2}, "include": {"total_rows": true}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, v1) = server
        .stats(&format!("/api/v1/stats/breakdown?site_id={HOST}&{V1_RANGE}&property=event:page&metrics=pageviews,visitors&limit=2&page=2"))
        .await;
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, old) in rows.iter().zip(v1["results"].as_array().unwrap()) {
        assert_eq!(row["dimensions"][0], old["page"]);
        assert_eq!(row["metrics"], json!([old["visitors"], old["pageviews"]]));
    }
    let pages = truth::by_event(&visits, |e| Some(e.path.clone()));
    assert_eq!(body["meta"]["total_rows"], pages.len());

    // A filter tree: and, not, or on one property, matches.
    let keep = |e: &Sent| e.path.starts_with("/universal-credit") || e.path == "/apply";
    let (status, body) = v2(&server, TOKEN, json!({"site_id": HOST, "metrics": ["visitors", "events"], "date_range": RANGE,
        "filters": [["and", [
            ["or", [["matches", "event:page", ["^/universal-credit"]], ["matches", "event:page", ["^/apply$"]]]],
            ["not", ["is", "event:name", ["Scrolled"]]],
        ]]]})).await;
    assert_eq!(status, 200, "{body}");
    let e = truth::totals(&visits, |_| true, |s| keep(s) && s.name != "Scrolled");
    assert_eq!(body["results"][0]["metrics"], json!([e.visitors, e.events]));

    // By day, with every label, compared with the days before (empty).
    let (status, body) = v2(&server, TOKEN, json!({"site_id": HOST, "metrics": ["visitors"], "date_range": RANGE,
        "dimensions": ["time:day"], "include": {"time_labels": true, "comparisons": {"mode": "previous_period"}}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["time_labels"], json!(RANGE));
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (i, d) in RANGE.iter().enumerate() {
        let on: Vec<Visit> = visits
            .iter()
            .filter(|v| v.visitor.1.to_string() == *d)
            .cloned()
            .collect();
        assert_eq!(rows[i]["dimensions"], json!([d]));
        assert_eq!(
            rows[i]["metrics"],
            json!([truth::totals(&on, |_| true, |_| true).visitors])
        );
        assert_eq!(rows[i]["comparison"]["metrics"], json!([0]));
        assert_eq!(rows[i]["comparison"]["change"], json!([100]));
    }
    assert_eq!(
        body["query"]["comparison_date_range"][0],
        "2026-05-02T00:00:00+00:00"
    );

    // Goals and percentages.
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors", "conversion_rate"], "date_range": RANGE,
        "dimensions": ["event:goal"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["dimensions"] == json!(["Visit /apply"])),
        "{body}"
    );
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["percentage"], "date_range": RANGE,
        "dimensions": ["visit:browser"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sum: f64 = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metrics"][0].as_f64().unwrap())
        .sum();
    assert!((sum - 100.0).abs() < 0.5, "{body}");
}

/// The figures of `metrics` over `RANGE` under one filter (the answer
/// itself when refused).
async fn filtered(server: &TestServer, metrics: Value, filter: Value) -> (u16, Value) {
    let (status, body) = v2(
        server,
        TOKEN,
        json!({"site_id": HOST, "metrics": metrics, "date_range": RANGE, "filters": [filter]}),
    )
    .await;
    match status {
        200 => (status, body["results"][0]["metrics"].clone()),
        _ => (status, body),
    }
}

/// `visit:country_name` and `visit:region_name`: rows grouped by the stored
/// codes and named as the dashboard names them; filters by name pick the
/// codes. Cities are refused, by design.
#[tokio::test]
async fn places_by_name() {
    let (server, people, sent) = loaded().await;
    let visits = truth::visits(&sent);
    let named = |dimension: &str| {
        let server = &server;
        let dimension = dimension.to_string();
        async move {
            let (status, body) = v2(
                server,
                TOKEN,
                json!({"site_id": HOST, "metrics": ["visitors"],
                "date_range": RANGE, "dimensions": [dimension]}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["dimensions"][0].as_str().unwrap().to_string(),
                        r["metrics"][0].as_u64().unwrap(),
                    )
                })
                .collect::<std::collections::BTreeMap<String, u64>>()
        }
    };
    let count = |keep: &dyn Fn(&Visit) -> bool| truth::totals(&visits, keep, |_| true).visitors;
    let countries = named("visit:country_name").await;
    assert_eq!(
        countries["United Kingdom"],
        count(&|v| v.country(&people) == "GB")
    );
    assert_eq!(countries["Ireland"], count(&|v| v.country(&people) == "IE"));
    assert_eq!(countries["France"], count(&|v| v.country(&people) == "FR"));
    let regions = named("visit:region_name").await;
    assert_eq!(
        regions["Scotland"],
        count(&|v| v.region(&people) == "GB-SCT")
    );
    assert_eq!(regions["Wales"], count(&|v| v.region(&people) == "GB-WLS"));
    assert!(!regions.contains_key("GB-SCT"), "{regions:?}");

    let visitors = |keep: &dyn Fn(&Visit) -> bool| json!([count(keep)]);
    let by = |filter: Value| filtered(&server, json!(["visitors"]), filter);
    assert_eq!(
        by(json!(["is", "visit:country_name", ["United Kingdom"]])).await,
        (200, visitors(&|v| v.country(&people) == "GB"))
    );
    assert_eq!(
        by(json!(["is_not", "visit:country_name", ["united kingdom", "France"], {"case_sensitive": false}])).await,
        (200, visitors(&|v| v.country(&people) == "IE"))
    );
    assert_eq!(
        by(json!(["contains", "visit:region_name", ["WAL"], {"case_sensitive": false}])).await,
        (200, visitors(&|v| v.region(&people) == "GB-WLS"))
    );
    assert_eq!(
        by(json!([
            "matches",
            "visit:region_name",
            ["^(Scot|Eng)land$"]
        ]))
        .await,
        (
            200,
            visitors(&|v| matches!(v.region(&people), "GB-SCT" | "GB-ENG"))
        )
    );
    assert_eq!(
        by(json!(["is", "visit:country_name", ["Atlantis"]])).await,
        (200, json!([0]))
    );
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors"],
        "date_range": RANGE, "dimensions": ["visit:city_name"]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("by design"),
        "{body}"
    );
}

/// Several dimensions at once, as v2 connectors ask: a row per
/// combination that occurs, each part shown as it is alone (places by
/// name, days as dates), with the oracle's figures; pages of them count.
#[tokio::test]
async fn several_dimensions_at_once() {
    use glasshouse_model::places::Place;
    use glasshouse_model::query::{Dimension, Tz};
    use std::collections::BTreeMap;
    let (server, people, sent) = loaded().await;
    let visits = truth::visits(&sent);
    let ask = |dimensions: Value, extra: Value| {
        let server = &server;
        async move {
            let mut body = json!({"site_id": HOST, "metrics": ["visitors", "pageviews"],
                "date_range": RANGE, "dimensions": dimensions});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, body) = v2(server, TOKEN, body).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let rows = |body: &Value| -> BTreeMap<Vec<String>, (u64, u64)> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let dims: Vec<String> = serde_json::from_value(r["dimensions"].clone()).unwrap();
                let m = &r["metrics"];
                (dims, (m[0].as_u64().unwrap(), m[1].as_u64().unwrap()))
            })
            .collect()
    };
    let expected = |key: &dyn Fn(&Visit, &Sent) -> Option<Vec<String>>| {
        truth::by_visit_and_event(&visits, |v, e| key(v, e).map(|k| Dimension::join_key(&k)))
            .into_iter()
            .map(|(k, t)| {
                let parts: Vec<String> = k.split('\u{1e}').map(str::to_string).collect();
                (parts, (t.visitors, t.pageviews))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let source = |v: &Visit| match v.source() {
        "" => "Direct / None".to_string(),
        s => s.to_string(),
    };

    let body = ask(json!(["visit:source", "event:page"]), json!({})).await;
    let want = expected(&|v, e| Some(vec![source(v), e.path.clone()]));
    assert!(want.len() > 10, "enough combinations: {}", want.len());
    assert_eq!(rows(&body), want, "by source and page");

    let london = |e: &Sent| {
        e.ts.with_timezone(&Tz::Europe__London)
            .date_naive()
            .to_string()
    };
    let body = ask(json!(["time:day", "visit:country_name"]), json!({})).await;
    let want = expected(&|v, e| {
        let name = Place::Country.name(v.country(&people)).unwrap_or("?");
        Some(vec![london(e), name.to_string()])
    });
    assert_eq!(rows(&body), want, "by day and country, by name");
    assert!(want.keys().any(|k| k[1] == "United Kingdom"), "{want:?}");

    // The exit page beside a visit property and beside an event property;
    // the hosts of entry and exit (one host here) beside the source.
    let exit = |v: &Visit| v.exit_page().map(str::to_string);
    let body = ask(json!(["visit:exit_page", "visit:source"]), json!({})).await;
    let want = expected(&|v, _| Some(vec![exit(v)?, source(v)]));
    assert!(want.len() > 5, "enough combinations: {}", want.len());
    assert_eq!(rows(&body), want, "by exit page and source");
    let body = ask(json!(["event:page", "visit:exit_page"]), json!({})).await;
    let want = expected(&|v, e| Some(vec![e.path.clone(), exit(v)?]));
    assert_eq!(rows(&body), want, "by page and exit page");
    let body = ask(
        json!([
            "visit:entry_page_hostname",
            "visit:source",
            "visit:exit_page_hostname"
        ]),
        json!({"filters": [["is", "visit:exit_page_hostname", [HOST]]]}),
    )
    .await;
    let want = expected(&|v, _| Some(vec![HOST.to_string(), source(v), HOST.to_string()]));
    assert_eq!(rows(&body), want, "by the hosts of entry and exit");

    // Channels, as Plausible names them, with a filter on one.
    let channel = |v: &Visit| glasshouse_model::channel::of(v.source(), "", "", "").to_string();
    let body = ask(json!(["visit:channel", "visit:source"]), json!({})).await;
    let want = expected(&|v, _| Some(vec![channel(v), source(v)]));
    assert!(want.keys().any(|k| k[0] == "Organic Search"), "{want:?}");
    assert_eq!(rows(&body), want, "by channel and source");
    let body = ask(
        json!(["visit:channel"]),
        json!({"filters": [["is", "visit:channel", ["Referral", "Direct"]]]}),
    )
    .await;
    let want = expected(&|v, _| {
        let c = channel(v);
        matches!(c.as_str(), "Referral" | "Direct").then(|| vec![c])
    });
    assert_eq!(rows(&body), want, "channels filtered");

    // Compared, with time beside a property: each row with the compared
    // period's bucket at the same position and the same source.
    let body = ask(
        json!(["time:day", "visit:source"]),
        json!({"date_range": ["2026-05-05", "2026-05-05"],
               "include": {"comparisons": {"mode": "custom", "date_range": ["2026-05-04", "2026-05-04"]}}}),
    )
    .await;
    let on = |day: &'static str| {
        move |v: &Visit, e: &Sent| (london(e) == day).then(|| vec![london(e), source(v)])
    };
    let now = expected(&on("2026-05-05"));
    let before = expected(&on("2026-05-04"));
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), now.len(), "{body}");
    for r in results {
        let dims: Vec<String> = serde_json::from_value(r["dimensions"].clone()).unwrap();
        assert_eq!(dims[0], "2026-05-05");
        let c = &r["comparison"];
        let other = vec!["2026-05-04".to_string(), dims[1].clone()];
        assert_eq!(c["dimensions"], json!(other), "{r}");
        let (visitors, pageviews) = before.get(&other).copied().unwrap_or_default();
        assert_eq!(c["metrics"], json!([visitors, pageviews]), "{r}");
        assert_eq!(
            (
                r["metrics"][0].as_u64().unwrap(),
                r["metrics"][1].as_u64().unwrap()
            ),
            now[&dims],
        );
    }
    assert!(
        results
            .iter()
            .any(|r| r["comparison"]["metrics"][0].as_u64() > Some(0)),
        "some sources came on both days"
    );

    // Goals beside a property: per goal, the visits completing it.
    let body = ask(json!(["event:goal", "visit:source"]), json!({})).await;
    let want = expected(&|v, e| {
        (e.name == "pageview" && e.path == "/apply")
            .then(|| vec!["Visit /apply".to_string(), source(v)])
    });
    let got: BTreeMap<_, _> = rows(&body)
        .into_iter()
        .filter(|(k, _)| k[0] == "Visit /apply")
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want, "by goal and source");
    // Their conversion rate, as Plausible's: the row's visitors over all
    // visitors; revenue and the group rate stay with event:goal alone.
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors", "conversion_rate"], "date_range": RANGE,
               "dimensions": ["event:goal", "visit:source"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let everyone = truth::totals(&visits, |_| true, |_| true).visitors as f64;
    let mut checked = 0;
    for r in body["results"].as_array().unwrap() {
        let dims: Vec<String> = serde_json::from_value(r["dimensions"].clone()).unwrap();
        if let Some((visitors, _)) = want.get(&dims) {
            assert_eq!(r["metrics"][0], json!(visitors), "{r}");
            let rate = ((*visitors as f64 / everyone * 100.0) * 10.0).round() / 10.0;
            assert_eq!(r["metrics"][1].as_f64(), Some(rate), "{r}");
            checked += 1;
        }
    }
    assert_eq!(checked, want.len(), "{body}");
    for metric in ["group_conversion_rate", "total_revenue"] {
        let (status, body) = v2(
            &server,
            TOKEN,
            json!({"site_id": HOST, "metrics": [metric], "date_range": RANGE,
                   "dimensions": ["event:goal", "visit:source"]}),
        )
        .await;
        assert_eq!(status, 400, "{metric}: {body}");
    }

    // Pages: five rows, and the count of all of them.
    let body = ask(
        json!(["visit:source", "event:page"]),
        json!({"pagination": {"limit": 5, "offset": 3}, "include": {"total_rows": true}}),
    )
    .await;
    let all = expected(&|v, e| Some(vec![source(v), e.path.clone()]));
    assert_eq!(body["results"].as_array().unwrap().len(), 5, "{body}");
    assert_eq!(body["meta"]["total_rows"], json!(all.len()), "{body}");
    assert_eq!(
        body["query"]["dimensions"],
        json!(["visit:source", "event:page"])
    );
}

/// Times of day in `date_range`: instants, read from raw events, labelled
/// by hour, logged with their seconds; comparisons stay with whole days.
#[tokio::test]
async fn times_of_day() {
    use chrono::Duration;
    let (server, _, sent) = loaded().await;
    let visits = truth::visits(&sent);
    // 09:00 to 12:59:59 in London's summer time, asked of a site that
    // keeps UTC: 08:00 to 11:59:59 there.
    let from = Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap();
    let until = from + Duration::hours(4);
    let inside = |e: &Sent| e.ts >= from && e.ts < until;
    let range = json!(["2026-05-04T09:00:00+01:00", "2026-05-04T12:59:59+01:00"]);
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors", "pageviews"],
        "date_range": range}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let e = truth::totals(&visits, |_| true, inside);
    assert!(e.pageviews > 0 && e.pageviews < truth::totals(&visits, |_| true, |_| true).pageviews);
    assert_eq!(
        body["results"][0]["metrics"],
        json!([e.visitors, e.pageviews]),
        "{body}"
    );
    assert_eq!(
        body["query"]["date_range"],
        json!(["2026-05-04T08:00:00+00:00", "2026-05-04T11:59:59+00:00"]),
        "echoed in the site's time zone"
    );

    // By hour: the four hours, each as the oracle counts it.
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["pageviews"],
        "date_range": range, "dimensions": ["time"], "include": {"time_labels": true}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let labels: Vec<String> = (8..12)
        .map(|h| format!("2026-05-04 {h:02}:00:00"))
        .collect();
    assert_eq!(body["meta"]["time_labels"], json!(labels), "{body}");
    for r in body["results"].as_array().unwrap() {
        let label = r["dimensions"][0].as_str().unwrap().to_string();
        let hour = |e: &Sent| e.ts.format("%Y-%m-%d %H:00:00").to_string();
        let want = truth::totals(&visits, |_| true, |e| inside(e) && hour(e) == label);
        assert_eq!(r["metrics"], json!([want.pageviews]), "{label}");
    }

    // Compared with the four hours just before, in totals and hour by
    // hour (paired by position), and with the same hours a year earlier.
    let earlier = |e: &Sent| e.ts >= from - Duration::hours(4) && e.ts < from;
    let compared = |mode: &str, dimensions: Value| {
        let server = &server;
        let body = json!({"site_id": HOST, "metrics": ["visitors", "pageviews"],
            "date_range": range, "dimensions": dimensions,
            "include": {"comparisons": {"mode": mode}}});
        async move { v2(server, TOKEN, body).await }
    };
    let (status, body) = compared("previous_period", json!([])).await;
    assert_eq!(status, 200, "{body}");
    let b = truth::totals(&visits, |_| true, earlier);
    assert!(b.pageviews > 0, "events in the hours before");
    assert_eq!(
        body["results"][0]["comparison"]["metrics"],
        json!([b.visitors, b.pageviews]),
        "{body}"
    );
    assert_eq!(
        body["query"]["comparison_date_range"],
        json!(["2026-05-04T04:00:00+00:00", "2026-05-04T07:59:59+00:00"])
    );
    let (status, body) = compared("previous_period", json!(["time:hour"])).await;
    assert_eq!(status, 200, "{body}");
    for r in body["results"].as_array().unwrap() {
        let label = r["dimensions"][0].as_str().unwrap();
        let at = chrono::NaiveDateTime::parse_from_str(label, "%Y-%m-%d %H:%M:%S").unwrap();
        let then = at - Duration::hours(4);
        let hour =
            |e: &Sent| e.ts.naive_utc() >= then && e.ts.naive_utc() < then + Duration::hours(1);
        let want = truth::totals(&visits, |_| true, hour);
        assert_eq!(
            r["comparison"]["dimensions"],
            json!([then.format("%Y-%m-%d %H:%M:%S").to_string()]),
            "{label}"
        );
        assert_eq!(
            r["comparison"]["metrics"],
            json!([want.visitors, want.pageviews]),
            "{label}"
        );
    }
    let (status, body) = compared("year_over_year", json!([])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["comparison"]["metrics"], json!([0, 0]));
    assert_eq!(
        body["query"]["comparison_date_range"],
        json!(["2025-05-04T08:00:00+00:00", "2025-05-04T11:59:59+00:00"])
    );
    // Whole days cannot be moved to match weekdays here.
    let (status, body) = v2(
        &server,
        TOKEN,
        json!({"site_id": HOST, "metrics": ["visitors"], "date_range": range,
        "include": {"comparisons": {"mode": "previous_period", "match_day_of_week": true}}}),
    )
    .await;
    assert_eq!(
        (
            status,
            body["error"].as_str().map(|e| e.starts_with("include"))
        ),
        (400, Some(true)),
        "{body}"
    );

    // Logged with its instants.
    let log = server.audit_queries();
    assert!(
        log.iter()
            .any(|l| l.contains("period=2026-05-04T08:00:00Z..2026-05-04T11:59:59Z")),
        "{log:?}"
    );
}

/// `order_by` on breakdowns, as Plausible's: listed dimensions and counts
/// either way; none given, time first where it is listed, then the first
/// metric, largest first. Ties go by the row's values.
#[tokio::test]
async fn breakdowns_in_the_order_asked() {
    let (server, _, _) = loaded().await;
    let ask = |dimensions: Value, order_by: Value| {
        let server = &server;
        async move {
            let (status, body) = v2(
                server,
                TOKEN,
                json!({"site_id": HOST, "metrics": ["visitors", "pageviews"],
                "date_range": RANGE, "dimensions": dimensions, "order_by": order_by}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let dims: Vec<String> =
                        serde_json::from_value(r["dimensions"].clone()).unwrap();
                    (
                        dims,
                        r["metrics"][0].as_u64().unwrap(),
                        r["metrics"][1].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    type Row = (Vec<String>, u64, u64);
    let sorted = |rows: &[Row], cmp: &dyn Fn(&Row, &Row) -> std::cmp::Ordering| {
        let mut want = rows.to_vec();
        want.sort_by(|a, b| cmp(a, b));
        want
    };

    let rows = ask(json!(["time:day", "visit:source"]), json!([])).await;
    assert!(rows.len() > 4, "{rows:?}");
    let want = sorted(&rows, &|a, b| {
        a.0[0].cmp(&b.0[0]).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0))
    });
    assert_eq!(rows, want, "days oldest first, then most visitors");

    let rows = ask(json!(["event:page"]), json!([["event:page", "asc"]])).await;
    let want = sorted(&rows, &|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, want, "pages in byte order");

    let rows = ask(
        json!(["visit:source", "event:page"]),
        json!([["pageviews", "asc"], ["visit:source", "desc"]]),
    )
    .await;
    let want = sorted(&rows, &|a, b| {
        a.2.cmp(&b.2).then(b.0[0].cmp(&a.0[0])).then(a.0.cmp(&b.0))
    });
    assert_eq!(rows, want, "fewest page views, then sources backwards");

    for (order_by, why) in [
        (
            json!([["visit:country", "asc"]]),
            "neither a listed dimension",
        ),
        (json!([["event:page", "up"]]), "neither asc nor desc"),
        (json!([["views_per_visit", "desc"]]), "not among"),
    ] {
        let (status, body) = v2(
            &server,
            TOKEN,
            json!({"site_id": HOST, "metrics": ["visitors"], "date_range": RANGE,
                   "dimensions": ["event:page"], "order_by": order_by}),
        )
        .await;
        assert_eq!(status, 400, "{order_by}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.starts_with("order_by") && error.contains(why),
            "{order_by}: {body}"
        );
    }
}

/// v2's case rules, as Plausible's: `is` and `contains` heed case unless
/// `case_sensitive` is false (v1's `~` never does); the modifier works on
/// pages, sources' labels, patterns and goals.
#[tokio::test]
async fn filters_heed_case_unless_told_not_to() {
    let (server, _, sent) = loaded().await;
    let visits = truth::visits(&sent);
    let ask = |filter: Value| {
        let server = &server;
        async move {
            let (status, figures) = filtered(server, json!(["visitors", "events"]), filter).await;
            assert_eq!(status, 200, "{figures}");
            figures
        }
    };
    let expect = |keep: &dyn Fn(&Sent) -> bool| {
        let e = truth::totals(&visits, |_| true, keep);
        assert!(e.visitors > 0);
        json!([e.visitors, e.events])
    };
    let none = json!([0, 0]);
    let insensitive = json!({"case_sensitive": false});

    // contains: case-sensitive by default, unlike v1's `~`.
    let part = |e: &Sent| e.path.contains("universal");
    assert_eq!(
        ask(json!(["contains", "event:page", ["Universal"]])).await,
        none
    );
    assert_eq!(
        ask(json!([
            "contains",
            "event:page",
            ["Universal"],
            insensitive
        ]))
        .await,
        expect(&part)
    );
    assert_eq!(
        ask(json!(["contains", "event:page", ["universal"]])).await,
        expect(&part)
    );
    let (_, v1) = server
        .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{V1_RANGE}&metrics=visitors&filters=event:page~Universal"))
        .await;
    assert_eq!(v1["results"]["visitors"]["value"], expect(&part)[0]);
    assert_eq!(
        ask(json!([
            "contains_not",
            "event:page",
            ["Universal"],
            insensitive
        ]))
        .await,
        expect(&|e| !part(e))
    );

    // is, is_not and matches, without regard to case.
    let apply = |e: &Sent| e.path == "/apply";
    assert_eq!(ask(json!(["is", "event:page", ["/APPLY"]])).await, none);
    assert_eq!(
        ask(json!(["is", "event:page", ["/APPLY"], insensitive])).await,
        expect(&apply)
    );
    assert_eq!(
        ask(json!(["is_not", "event:page", ["/APPLY"], insensitive])).await,
        expect(&|e| !apply(e))
    );
    assert_eq!(
        ask(json!([
            "is",
            "event:page",
            ["/UNIVERSAL-CREDIT/**"],
            insensitive
        ]))
        .await,
        expect(&|e| e.path.starts_with("/universal-credit/"))
    );
    assert_eq!(
        ask(json!(["matches", "event:page", ["^/APP"], insensitive])).await,
        expect(&|e| e.path.starts_with("/app"))
    );
    let (_, v1) = server
        .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{V1_RANGE}&metrics=visitors,events&filters=visit:source%3D%3DDirect%20%2F%20None"))
        .await;
    assert_eq!(
        ask(json!([
            "is",
            "visit:source",
            ["direct / none"],
            insensitive
        ]))
        .await,
        json!([
            v1["results"]["visitors"]["value"],
            v1["results"]["events"]["value"]
        ])
    );

    // Goals by name: exact, or without regard to case, or in part.
    let goal = |filter: Value| filtered(&server, json!(["visitors"]), filter);
    let (status, exact) = goal(json!(["is", "event:goal", ["Visit /apply"]])).await;
    assert_eq!(status, 200);
    assert_ne!(exact, json!([0]));
    assert_eq!(
        goal(json!(["is", "event:goal", ["visit /APPLY"], insensitive])).await,
        (200, exact.clone())
    );
    assert_eq!(
        goal(json!(["contains", "event:goal", ["APPLY"], insensitive])).await,
        (200, exact.clone())
    );
    assert_eq!(
        goal(json!(["contains", "event:goal", ["APPLY"]])).await,
        (200, json!([0]))
    );
    assert_eq!(
        goal(json!(["is", "event:goal", ["visit /APPLY"]])).await.0,
        400
    );
}

#[tokio::test]
async fn what_v2_cannot_say_here_is_refused_by_field_and_others_sites_by_the_gate() {
    let server =
        TestServer::start(Utc.from_utc_datetime(&day().and_hms_opt(12, 0, 0).unwrap())).await;
    let base = json!({"site_id": HOST, "metrics": ["visitors"], "date_range": "7d"});
    for (extra, field) in [
        (
            json!({"dimensions": ["visit:source", "time:day", "time:week"]}),
            "dimensions",
        ),
        (
            json!({"filters": [["or", [["is", "event:page", ["/a"]], "visit:source"]]]}),
            "filters",
        ),
        (
            json!({"filters": [["has_done", ["is", "visit:source", ["Bing"]]]]}),
            "filters",
        ),
        (
            json!({"filters": [["matches", "event:page", ["(unclosed"]]]}),
            "filters",
        ),
        (
            json!({"date_range": ["2026-05-01T00:00:00Z", "2026-05-02"]}),
            "date_range",
        ),
        (json!({"order_by": [["visitors", "asc"]]}), "order_by"),
        (
            json!({"dimensions": ["event:page"], "order_by": [["time_on_page", "desc"]], "metrics": ["visitors", "time_on_page"]}),
            "order_by",
        ),
        (json!({"pagination": {"limit": 10_001}}), "pagination"),
        (json!({"metrics": ["percentage"]}), "metrics"),
        (
            json!({"include": {"comparisons": {"mode": "last_week"}}}),
            "include",
        ),
        (json!({"unknown": 1}), "body"),
        (
            json!({"filters": [["is", "event:page", ["/a"], {"case_sensitive": "no"}]]}),
            "filters",
        ),
        (
            json!({"filters": [["is", "event:page", ["/a"], {"shout": true}]]}),
            "filters",
        ),
    ] {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = v2(&server, TOKEN, body).await;
        assert_eq!(status, 400, "{extra}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(field),
            "{extra}: {answer}"
        );
    }
    let (status, answer) = v2(&server, OTHER_TOKEN, base).await;
    assert_eq!(status, 403, "{answer}");
}

/// An `or` across properties, and goals (which the store's own suite,
/// `suite/conditions.rs`, cannot name) inside an `or` and inside
/// `has_done`: each read on every event with its visit, as the oracle
/// reads them; the audit line names the condition; the gate judges every
/// property in it; "goal is not" is `has_not_done`; a saved segment
/// holds a tree and applies it in v1, v2 and journeys.
#[tokio::test]
async fn conditions_across_properties() {
    let (server, _, sent) = loaded().await;
    let visits = truth::visits(&sent);
    type Picks<'a> = Box<dyn Fn(&Visit, &Sent) -> bool + 'a>;
    let cases: Vec<(Value, Picks)> = vec![
        (
            json!([
                "or",
                [
                    ["is", "event:page", ["/contact"]],
                    ["is", "visit:source", ["Google"]]
                ]
            ]),
            Box::new(|v, e| e.path == "/contact" || v.source() == "Google"),
        ),
        (
            json!([
                "or",
                [
                    ["is", "event:goal", ["Visit /apply"]],
                    ["is", "visit:source", ["Bing"]]
                ]
            ]),
            Box::new(|v, e| (e.name == "pageview" && e.path == "/apply") || v.source() == "Bing"),
        ),
        (
            json!(["has_done", ["is", "event:goal", ["Visit /apply"]]]),
            Box::new(|v, _| {
                v.events
                    .iter()
                    .any(|e| e.name == "pageview" && e.path == "/apply")
            }),
        ),
    ];
    let metrics = json!(["visitors", "visits", "pageviews", "events", "bounce_rate"]);
    for (tree, picks) in &cases {
        let (status, got) = filtered(&server, metrics.clone(), tree.clone()).await;
        assert_eq!(status, 200, "{tree}: {got}");
        let e = truth::totals_where(&visits, picks);
        assert_eq!(
            got,
            json!([
                e.visitors,
                e.visits,
                e.pageviews,
                e.events,
                e.bounce_rate.round() as u64
            ]),
            "{tree}"
        );
        // By source: each visit under its source, with its picked events.
        let (status, body) = v2(
            &server,
            TOKEN,
            json!({"site_id": HOST, "metrics": ["visitors", "events"],
            "date_range": RANGE, "dimensions": ["visit:source"], "filters": [tree]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let rows: std::collections::BTreeMap<String, Value> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["dimensions"][0].as_str().unwrap().to_string(),
                    r["metrics"].clone(),
                )
            })
            .collect();
        let expected: std::collections::BTreeMap<String, Value> =
            truth::by_visit_and_event(&visits, |v, e| {
                picks(v, e).then(|| match v.source() {
                    "" => "Direct / None".to_string(),
                    s => s.to_string(),
                })
            })
            .into_iter()
            .map(|(k, t)| (k, json!([t.visitors, t.events])))
            .collect();
        assert_eq!(rows, expected, "{tree} by source");
    }
    let log = server.audit_queries();
    assert!(
        log.iter()
            .any(|l| l.contains(" filter=(event:page==/contact or visit:source==Google)")),
        "{log:?}"
    );

    // The partner's agreement shares pages only: an `or` that reads the
    // source is refused, one over pages alone is answered.
    let partner = |tree: Value| {
        v2(
            &server,
            PARTNER_TOKEN,
            json!({"site_id": HOST, "metrics": ["visitors"],
            "date_range": RANGE, "purpose": "service-improvement", "filters": [tree]}),
        )
    };
    let (status, body) = partner(json!([
        "or",
        [
            ["is", "event:page", ["/apply"]],
            ["is", "visit:source", ["Google"]]
        ]
    ]))
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("visit:source"),
        "{body}"
    );
    let (status, body) = partner(json!([
        "or",
        [
            ["is", "event:page", ["/apply"]],
            ["is_not", "event:page", ["/"]]
        ]
    ]))
    .await;
    assert_eq!(status, 200, "{body}");

    // "Goal is not" reads as has_not_done, as Plausible's dashboard sends it.
    let missed = |v: &Visit, _: &Sent| {
        !v.events
            .iter()
            .any(|e| e.name == "pageview" && e.path == "/apply")
    };
    let e = truth::totals_where(&visits, missed);
    let expected = json!([e.visitors, e.visits, e.pageviews, e.events]);
    let counts = json!(["visitors", "visits", "pageviews", "events"]);
    for tree in [
        json!(["is_not", "event:goal", ["Visit /apply"]]),
        json!(["has_not_done", ["is", "event:goal", ["Visit /apply"]]]),
    ] {
        let (status, got) = filtered(&server, counts.clone(), tree.clone()).await;
        assert_eq!((status, &got), (200, &expected), "{tree}");
    }

    // Saved segments hold trees too, and apply them in v1, v2 and journeys.
    for (tree, picks) in [
        (cases[0].0.clone(), &cases[0].1),
        (
            json!(["is_not", "event:goal", ["Visit /apply"]]),
            &(Box::new(missed) as Picks),
        ),
        (
            json!([
                "or",
                [
                    ["is", "event:page", ["/"]],
                    ["is_not", "event:page", ["/contact"]]
                ]
            ]),
            &(Box::new(|_: &Visit, e: &Sent| e.path == "/" || e.path != "/contact") as Picks),
        ),
    ] {
        let r = server
            .http
            .post(format!("{}/api/v1/segments?site_id={HOST}", server.url))
            .bearer_auth(TOKEN)
            .json(&json!({"name": "A tree", "filters": [tree]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{tree}");
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let e = truth::totals_where(&visits, picks);
        let expected = json!([e.visitors, e.visits, e.pageviews, e.events]);
        let (status, got) = filtered(&server, counts.clone(), json!(["is", "segment", [id]])).await;
        assert_eq!((status, &got), (200, &expected), "{tree} in v2");
        let (status, body) = server
            .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{V1_RANGE}&metrics=visitors,visits,pageviews,events&segment={id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let r = &body["results"];
        let got = json!([
            r["visitors"]["value"],
            r["visits"]["value"],
            r["pageviews"]["value"],
            r["events"]["value"]
        ]);
        assert_eq!(got, expected, "{tree} in v1");
        let (status, body) = server
            .stats(&format!(
                "/api/v1/stats/next-pages?site_id={HOST}&{V1_RANGE}&page=/&segment={id}"
            ))
            .await;
        // Journeys here reach the partner's site, whose agreement shares
        // pages but not sources: the gate judges the segment's tree too.
        match ["visit:source", "event:goal"]
            .into_iter()
            .find(|p| tree.to_string().contains(p))
        {
            Some(p) => {
                assert_eq!(status, 403, "{tree} in journeys: {body}");
                assert!(body["error"].as_str().unwrap().contains(p), "{body}");
            }
            None => {
                assert_eq!(status, 200, "{tree} in journeys: {body}");
                assert!(!body["results"].as_array().unwrap().is_empty(), "{body}");
            }
        }
    }
    let log = server.audit_queries();
    assert!(
        log.iter()
            .any(|l| l.contains("has_not_done(event:goal==Visit /apply)")),
        "{log:?}"
    );
}
