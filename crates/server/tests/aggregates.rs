//! Events sent over HTTP, then read back through the Stats API: the answers
//! must equal what the test computes itself from what it sent.

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use glasshouse_testkit::traffic;
use glasshouse_testkit::traffic::Sent;
use glasshouse_testkit::truth::{self, Expected, Visit};
use serde_json::Value;
use support::{TestServer, HOST};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 4).unwrap()
}

fn check(row: &Value, e: &Expected, what: &str) {
    let int = |k: &str| {
        row[k]
            .as_i64()
            .unwrap_or_else(|| panic!("{what}: {k} missing in {row}"))
    };
    assert_eq!(int("visitors"), e.visitors as i64, "{what}: visitors");
    assert_eq!(int("visits"), e.visits as i64, "{what}: visits");
    assert_eq!(int("pageviews"), e.pageviews as i64, "{what}: pageviews");
    assert_eq!(int("events"), e.events as i64, "{what}: events");
    assert_eq!(
        int("bounce_rate"),
        e.bounce_rate.round() as i64,
        "{what}: bounce_rate"
    );
    assert_eq!(
        int("visit_duration"),
        e.visit_duration.round() as i64,
        "{what}: visit_duration"
    );
    let vpv = if e.visits == 0 {
        0.0
    } else {
        (e.pageviews as f64 / e.visits as f64 * 100.0).round() / 100.0
    };
    assert!(
        (row["views_per_visit"].as_f64().unwrap() - vpv).abs() < 1e-9,
        "{what}: views_per_visit"
    );
}

const METRICS: &str = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_api_answers_equal_the_truth() {
    let (people, sent) = traffic::generate(11, day(), 2, 60);
    let mut server =
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
        assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
    }
    let visits = truth::visits(&sent);
    let range = "period=custom&date=2026-05-04,2026-05-05";

    let (status, body) = server
        .stats(&format!(
            "/api/v1/stats/aggregate?site_id={HOST}&{range}&metrics={METRICS}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let flat: serde_json::Map<String, Value> = body["results"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect();
    check(
        &Value::Object(flat),
        &truth::totals(&visits, |_| true, |_| true),
        "aggregate",
    );

    // A filter, URL-encoded as clients send it.
    let (_, body) = server.stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{range}&metrics={METRICS}&filters=event%3Apage%3D%3D%2Fapply")).await;
    let flat: serde_json::Map<String, Value> = body["results"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect();
    check(
        &Value::Object(flat),
        &truth::totals(&visits, |_| true, |e| e.path == "/apply"),
        "aggregate, page filter",
    );

    let (_, body) = server
        .stats(&format!(
            "/api/v1/stats/breakdown?site_id={HOST}&{range}&metrics={METRICS}&property=event:page"
        ))
        .await;
    let expected = truth::by_event(&visits, |e| Some(e.path.clone()));
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), expected.len());
    for row in rows {
        let page = row["page"].as_str().unwrap();
        check(row, &expected[page], page);
    }

    // Engagement, sent as Plausible's tracker sends it, read per page.
    let (status, body) = server
        .stats(&format!(
            "/api/v1/stats/breakdown?site_id={HOST}&{range}&metrics=visitors,scroll_depth,time_on_page&property=event:page"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let expected = truth::engagement_by_page(&sent, |_| true);
    for row in body["results"].as_array().unwrap() {
        let page = row["page"].as_str().unwrap();
        match expected.get(page) {
            Some((sd, secs)) => {
                assert_eq!(
                    row["scroll_depth"].as_i64(),
                    Some(sd.round() as i64),
                    "{page}"
                );
                assert_eq!(
                    row["time_on_page"].as_i64(),
                    Some(secs.round() as i64),
                    "{page}"
                );
            }
            None => assert!(row["scroll_depth"].is_null(), "{page}: {row}"),
        }
    }
    // Per page only, as in Plausible: a clear refusal otherwise.
    for bad in [
        "aggregate?metrics=scroll_depth",
        "breakdown?metrics=time_on_page&property=visit:source",
        "timeseries?metrics=scroll_depth&filters=event%3Apage%3D%3D%2Fapply",
        "aggregate?metrics=scroll_depth&filters=event%3Apage%3D%3D%2Fapply%3Bevent%3Aname%3D%3DX",
    ] {
        let (status, body) = server
            .stats(&format!("/api/v1/stats/{bad}&site_id={HOST}&{range}"))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("scroll_depth"),
            "{body}"
        );
    }

    let (_, body) = server
        .stats(&format!(
            "/api/v1/stats/breakdown?site_id={HOST}&{range}&metrics=visitors&property=visit:source"
        ))
        .await;
    let expected = truth::by_visit(&visits, |v| {
        Some(if v.source().is_empty() {
            "Direct / None".into()
        } else {
            v.source().to_string()
        })
    });
    for row in body["results"].as_array().unwrap() {
        let s = row["source"].as_str().unwrap();
        assert_eq!(
            row["visitors"].as_u64().unwrap(),
            expected[s].visitors,
            "source {s}"
        );
    }

    let (_, body) = server
        .stats(&format!(
            "/api/v1/stats/timeseries?site_id={HOST}&{range}&metrics={METRICS}&interval=day"
        ))
        .await;
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (i, row) in rows.iter().enumerate() {
        let d = day() + chrono::Duration::days(i as i64);
        assert_eq!(row["date"], d.format("%Y-%m-%d").to_string());
        let on_day: Vec<_> = visits
            .iter()
            .filter(|v| v.visitor.1 == d)
            .cloned()
            .collect();
        check(
            row,
            &truth::totals(&on_day, |_| true, |_| true),
            &format!("day {d}"),
        );
    }

    // Compared with the previous period (which had no traffic).
    let (_, body) = server.stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&period=day&date=2026-05-05&metrics=visitors&compare=previous_period")).await;
    let expected = truth::totals(
        &visits
            .iter()
            .filter(|v| v.visitor.1 == day().succ_opt().unwrap())
            .cloned()
            .collect::<Vec<_>>(),
        |_| true,
        |_| true,
    );
    let before = truth::totals(
        &visits
            .iter()
            .filter(|v| v.visitor.1 == day())
            .cloned()
            .collect::<Vec<_>>(),
        |_| true,
        |_| true,
    );
    assert_eq!(
        body["results"]["visitors"]["value"].as_u64().unwrap(),
        expected.visitors
    );
    let change = ((expected.visitors as f64 - before.visitors as f64) / before.visitors as f64
        * 100.0)
        .round() as i64;
    assert_eq!(
        body["results"]["visitors"]["change"].as_i64().unwrap(),
        change
    );

    // The same day a year earlier had no traffic: every change is 100 %.
    let (status, body) = server.stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&period=day&date=2026-05-05&metrics=visitors&compare=year_over_year")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"]["visitors"]["value"], expected.visitors);
    assert_eq!(body["results"]["visitors"]["change"], 100);
    let (status, body) = server
        .stats(&format!(
            "/api/v1/stats/aggregate?site_id={HOST}&period=day&compare=last_week"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("year_over_year"),
        "{body}"
    );

    goals_answer_as_the_oracle_says(&server, &people, &visits).await;

    // Realtime: visitors in the last five minutes of the (test) clock.
    let last = sent.last().unwrap().ts;
    let recent: std::collections::BTreeSet<_> = sent
        .iter()
        .filter(|s| s.ts >= last - chrono::Duration::minutes(5))
        .map(|s| s.person)
        .collect();
    let (_, body) = server
        .stats(&format!("/api/v1/stats/realtime/visitors?site_id={HOST}"))
        .await;
    assert_eq!(body.as_u64().unwrap(), recent.len() as u64);
    server.stop().await;
}

/// The test site's goals (`support::config_text`): `/apply` page views, and
/// visa forms sent.
async fn goals_answer_as_the_oracle_says(
    server: &TestServer,
    people: &[traffic::Person],
    visits: &[Visit<'_>],
) {
    let range = "period=custom&date=2026-05-04,2026-05-05";
    let apply = |e: &Sent| e.name == "pageview" && e.path == "/apply";
    let visa = |e: &Sent| {
        e.name == "Form submitted" && e.props.iter().any(|(k, v)| k == "form" && v == "visa")
    };
    let everyone = truth::totals(visits, |_| true, |_| true).visitors as f64;
    let rate = |n: u64| (n as f64 * 100.0 / everyone * 10.0).round() / 10.0;

    let (status, body) = server
        .stats(&format!("/api/v1/stats/breakdown?site_id={HOST}&{range}&property=event:goal&metrics=visitors,events,conversion_rate"))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["results"].as_array().unwrap();
    for (name, completes) in [
        ("Visit /apply", &apply as &dyn Fn(&Sent) -> bool),
        ("Visa form", &visa),
    ] {
        let e = truth::totals(visits, |_| true, completes);
        let row = rows
            .iter()
            .find(|r| r["goal"] == name)
            .unwrap_or_else(|| panic!("{name}: {body}"));
        assert_eq!(row["visitors"], e.visitors, "{name}");
        assert_eq!(row["events"], e.events, "{name}");
        assert_eq!(
            row["conversion_rate"].as_f64().unwrap(),
            rate(e.visitors),
            "{name}"
        );
    }

    let (status, body) = server
        .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{range}&metrics=visitors,conversion_rate&filters=event:goal==Visa%20form"))
        .await;
    assert_eq!(status, 200, "{body}");
    let e = truth::totals(visits, |_| true, visa);
    assert_eq!(body["results"]["visitors"]["value"], e.visitors);
    assert_eq!(
        body["results"]["conversion_rate"]["value"]
            .as_f64()
            .unwrap(),
        rate(e.visitors)
    );

    // In a v1 breakdown by another property, each row's own rate.
    let (status, body) = server
        .stats(&format!("/api/v1/stats/breakdown?site_id={HOST}&{range}&property=visit:browser&metrics=visitors,conversion_rate&filters=event:goal==Visit%20/apply"))
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["results"].as_array().unwrap();
    assert!(!rows.is_empty(), "{body}");
    for row in rows {
        let browser = row["browser"].as_str().unwrap();
        let of = |v: &Visit| v.browser(people) == browser;
        let converted = truth::totals(visits, of, apply).visitors;
        let whole = truth::totals(visits, of, |_| true).visitors;
        assert_eq!(row["visitors"], converted, "{browser}");
        let own = (converted as f64 * 100.0 / whole as f64 * 10.0).round() / 10.0;
        assert_eq!(row["conversion_rate"].as_f64().unwrap(), own, "{browser}");
    }

    // "Goal is not", as Plausible's dashboard reads it: the visits that did
    // not complete the goal, every event of theirs; v2's has_not_done says
    // the same, and a negated goal inside has_done is refused.
    let missed = |v: &Visit| !v.events.iter().any(|e| visa(e));
    let e = truth::totals(visits, missed, |_| true);
    for (op, values) in [("!=", "Visa%20form"), ("!~", "isa%20fo")] {
        let (status, body) = server
            .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&{range}&metrics=visitors,visits,events&filters=event:goal{op}{values}"))
            .await;
        assert_eq!(status, 200, "{op}: {body}");
        assert_eq!(body["results"]["visitors"]["value"], e.visitors, "{op}");
        assert_eq!(body["results"]["visits"]["value"], e.visits, "{op}");
        assert_eq!(body["results"]["events"]["value"], e.events, "{op}");
    }
    assert!(e.visits > 0 && e.visits < visits.len() as u64);

    for (query, field) in [
        ("metrics=conversion_rate", "conversion_rate needs a filter"),
        ("filters=event:goal==Nope", "not a goal of the site"),
    ] {
        let (status, body) = server
            .stats(&format!(
                "/api/v1/stats/aggregate?site_id={HOST}&{range}&{query}"
            ))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
}
