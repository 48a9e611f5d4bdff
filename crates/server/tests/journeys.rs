//! Journeys over HTTP: next and previous pages, paths and funnels across the
//! sites of an agreement, what another organisation can and cannot see, and
//! saved funnels.

mod support;

use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::{Config, ManualClock};
use glasshouse_privacy::{Anonymiser, RawEvent, Salts};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn view(s: &TestServer, ip: &str, ua: &str, host: &str, path: &str) {
    let r = s
        .post_event(
            ip,
            ua,
            &json!({"name": "pageview", "url": format!("https://{host}{path}"), "domain": host}),
        )
        .await;
    assert_eq!(r.status(), 202);
    s.clock.advance(Duration::seconds(40));
}

fn pages(v: &Value) -> Vec<(String, String, u64, u64)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["site"].as_str().unwrap().to_string(),
                r["page"].as_str().unwrap().to_string(),
                r["visits"].as_u64().unwrap(),
                r["visitors"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Two people go from the test site's guide to the partner's form and back;
/// one of them also looks at a third, unlinked site and at a partner page
/// nobody else sees.
async fn traffic_on(backend: Backend) -> Option<TestServer> {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start_on(backend, at, |c| c).await?;
    for (ip, ua) in [("198.51.100.7", CHROME), ("198.51.100.8", FIREFOX)] {
        view(&s, ip, ua, HOST, "/guide").await;
        view(&s, ip, ua, PARTNER, "/apply").await;
        view(&s, ip, ua, HOST, "/done").await;
    }
    view(&s, "198.51.100.7", CHROME, "other.example", "/elsewhere").await;
    view(&s, "198.51.100.7", CHROME, PARTNER, "/rare").await;
    Some(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_cross_only_between_sites_of_an_agreement() {
    crosses_only_by_agreement(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_cross_only_between_sites_of_an_agreement_on_clickhouse() {
    crosses_only_by_agreement(Backend::ClickHouse).await;
}

async fn crosses_only_by_agreement(backend: Backend) {
    let Some(s) = traffic_on(backend).await else {
        return;
    };
    let (status, next) = s
        .stats("/api/v1/stats/next-pages?site_id=test.example&period=day&page=/guide")
        .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(pages(&next), vec![(PARTNER.into(), "/apply".into(), 2, 2)]);

    let (_, prev) = s
        .stats("/api/v1/stats/previous-pages?site_id=test.example&period=day&page=/done")
        .await;
    assert_eq!(pages(&prev), vec![(PARTNER.into(), "/apply".into(), 2, 2)]);

    // The partner sees the same journeys from its side.
    let (_, next) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/next-pages?site_id=partner.example&period=day&page=/apply",
        )
        .await;
    assert_eq!(pages(&next), vec![(HOST.into(), "/done".into(), 2, 2)]);

    // One visitor went on to /rare: under k = 2, so the test organisation never sees it.
    let (_, next) = s
        .stats("/api/v1/stats/next-pages?site_id=test.example&period=day&page=/done")
        .await;
    assert_eq!(pages(&next), vec![], "rows under k are withheld: {next}");
    // Symmetrically, the partner sees its own page, but not the one
    // visitor's page on the test site before it.
    let (_, prev) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/previous-pages?site_id=partner.example&period=day&page=/rare",
        )
        .await;
    assert_eq!(pages(&prev), vec![]);
    let (_, paths) = s
        .stats_as(
            PARTNER_TOKEN,
            "/api/v1/stats/paths?site_id=partner.example&period=day&page=/rare&depth=1",
        )
        .await;
    assert_eq!(paths["page"]["visits"], 1, "{paths}");
    assert!(!paths.to_string().contains("/done"), "{paths}");
    assert_eq!(
        paths["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["position"] == -1)
            .count(),
        0,
        "{paths}"
    );

    // The unlinked site's visit is a journey of its own.
    let (_, prev) = s
        .stats_as(
            OTHER_TOKEN,
            "/api/v1/stats/previous-pages?site_id=other.example&period=day&page=/elsewhere",
        )
        .await;
    assert_eq!(pages(&prev), vec![]);
    let (status, _) = s
        .stats_as(
            OTHER_TOKEN,
            "/api/v1/stats/next-pages?site_id=test.example&period=day&page=/guide",
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_and_funnels_span_the_agreement() {
    paths_and_funnels(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_and_funnels_span_the_agreement_on_clickhouse() {
    paths_and_funnels(Backend::ClickHouse).await;
}

async fn paths_and_funnels(backend: Backend) {
    let Some(s) = traffic_on(backend).await else {
        return;
    };
    let (status, paths) = s
        .stats("/api/v1/stats/paths?site_id=test.example&period=day&page=/guide&depth=2")
        .await;
    assert_eq!(status, 200, "{paths}");
    assert_eq!(paths["page"]["visits"], 2);
    let link = |from: &str, to: &str| {
        paths["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["source"] == from && l["target"] == to)
            .map(|l| l["visits"].as_u64().unwrap())
    };
    assert_eq!(
        link("0|test.example|/guide", "1|partner.example|/apply"),
        Some(2)
    );
    assert_eq!(
        link("1|partner.example|/apply", "2|test.example|/done"),
        Some(2)
    );
    assert_eq!(link("-1|entrance", "0|test.example|/guide"), Some(2));

    let funnel = |steps: Value| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(format!("{}/api/v1/stats/funnel", s.url))
                .bearer_auth(TOKEN)
                .json(&json!({"site_id": HOST, "period": "day", "steps": steps, "compare": "previous_period"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, f) =
        funnel(json!([{"page": "/guide"}, {"page": "/apply", "site": PARTNER}, {"page": "/d*"}]))
            .await;
    assert_eq!(status, 200, "{f}");
    let visits: Vec<u64> = f["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["visits"].as_u64().unwrap())
        .collect();
    assert_eq!(visits, vec![2, 2, 2]);
    assert_eq!(f["results"][1]["median_seconds"], 40.0);
    assert_eq!(f["results"][2]["conversion_rate"], 100.0);
    assert_eq!(f["comparison"]["results"][0]["visits"], 0);

    // Never reaching step 1 counts nowhere; out of order counts only step 1.
    // (Journeys linked across the partner's site make every later step a
    // figure about shared data, so its 0, under k = 2, is withheld.)
    let (_, f) = funnel(json!([{"page": "/done"}, {"page": "/guide"}])).await;
    let visits: Vec<Option<u64>> = f["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["visits"].as_u64())
        .collect();
    assert_eq!(visits, vec![Some(2), None]);

    for (steps, why) in [
        (json!([{"page": "/guide"}]), "2 to 8 steps"),
        (
            json!([{"page": "/guide"}, {"page": "/x", "site": "other.example"}]),
            "not linked",
        ),
        (json!([{"page": "guide"}, {"page": "/x"}]), "starts with /"),
        (json!([{"page": "/guide"}, {"nonsense": 1}]), "body"),
    ] {
        let (status, e) = funnel(steps).await;
        assert_eq!(status, 400, "{e}");
        assert!(e["error"].as_str().unwrap().contains(why), "{e}");
    }
}

#[tokio::test]
async fn saved_funnels_can_be_made_changed_and_deleted() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let url = |p: &str| format!("{}{p}", s.url);
    let r = s
        .http
        .post(url("/api/v1/funnels"))
        .bearer_auth(TOKEN)
        .json(&json!({"site_id": HOST, "name": "Apply", "steps": [{"page": "/guide"}, {"event": "Submitted"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["funnel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .http
        .put(url(&format!("/api/v1/funnels/{id}")))
        .bearer_auth(TOKEN)
        .json(&json!({"site_id": HOST, "name": "Apply online", "steps": [{"page": "/guide"}, {"page": "/apply", "site": PARTNER}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = s.stats("/api/v1/funnels?site_id=test.example").await;
    assert_eq!(list["funnels"][0]["name"], "Apply online");
    assert_eq!(list["funnels"][0]["steps"][1]["site"], PARTNER);
    // Kept on disk, and another organisation cannot see them.
    assert!(std::fs::read_to_string(s.dir.path().join("funnels.json"))
        .unwrap()
        .contains("Apply online"));
    let (status, _) = s
        .stats_as(OTHER_TOKEN, "/api/v1/funnels?site_id=test.example")
        .await;
    assert_eq!(status, 403);
    let r = s
        .http
        .delete(url(&format!("/api/v1/funnels/{id}?site_id=test.example")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, list) = s.stats("/api/v1/funnels?site_id=test.example").await;
    assert_eq!(list["funnels"], json!([]));
}

/// The visitor hash's scope: the same person has one id on two sites of a
/// journey agreement, and unrelated ids on a site outside it.
#[test]
fn only_an_agreement_links_a_visitor_across_sites() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(&config_text(dir.path()), "t.toml").unwrap();
    let now = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let a = Anonymiser::new(Salts::ephemeral(Arc::new(ManualClock::new(now))), None);
    let id = |host: &str| {
        let raw = RawEvent {
            ip: "198.51.100.7".parse().unwrap(),
            user_agent: CHROME.into(),
            name: "pageview".into(),
            url: format!("https://{host}/"),
            referrer: None,
            title: None,
            props: vec![],
            interactive: true,
            revenue: None,
            engagement: None,
            timestamp: now,
        };
        let site = config.site(host).unwrap();
        a.anonymise(raw, site, &config.visitor_scope(host, now.date_naive()))
            .unwrap()
            .visitor_id()
    };
    assert_eq!(id(HOST), id(PARTNER));
    assert_ne!(id(HOST), id("other.example"));
    assert_ne!(id(PARTNER), id("other.example"));
}

/// A goal in a journey's filters is one of the site's goals, read on the
/// page the journeys are asked about: "/guide" never completes "Visit
/// /apply", and every journey through it is kept by "goal is not" (the
/// goal is reached on the partner's site, not in the test site's visit).
/// Before, journeys did not look the site's goals up and matched nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_filtered_on_goals_read_the_sites_goals() {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let shares_goals = |c: String| {
        c.replace(
            r#"breakdowns = ["event:page"]"#,
            r#"breakdowns = ["event:page", "event:goal"]"#,
        )
    };
    let s = TestServer::start_on(Backend::DuckDb, at, shares_goals)
        .await
        .unwrap();
    for (ip, ua) in [("198.51.100.7", CHROME), ("198.51.100.8", FIREFOX)] {
        view(&s, ip, ua, HOST, "/guide").await;
        view(&s, ip, ua, PARTNER, "/apply").await;
    }
    let next = |filter: &'static str| {
        let s = &s;
        async move {
            let (status, body) = s
                .stats(&format!("/api/v1/stats/next-pages?site_id=test.example&period=day&page=/guide&filters={filter}"))
                .await;
            assert_eq!(status, 200, "{filter}: {body}");
            pages(&body)
        }
    };
    assert_eq!(next("event:goal==Visit%20/apply").await, vec![]);
    assert_eq!(
        next("event:goal!=Visit%20/apply").await,
        vec![(PARTNER.into(), "/apply".into(), 2, 2)]
    );
    let (status, body) = s
        .stats("/api/v1/stats/next-pages?site_id=test.example&period=day&page=/guide&filters=event:goal==Nope")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        s.audit_queries()
            .iter()
            .any(|l| l.contains("has_not_done(event:goal==Visit /apply)")),
        "{:?}",
        s.audit_queries()
    );
}
