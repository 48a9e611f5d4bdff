//! Closed days are rolled up early and the overview reads those roll-ups
//! instead of the days' raw events: every answer stays the same, questions
//! a roll-up cannot answer still read raw events, and a late event for a
//! rolled-up day takes its roll-up out of use until it is rolled up again.

mod support;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use glasshouse_model::Config;
use glasshouse_store::RollupRow;
use serde_json::{json, Value};
use support::{Backend, TestServer, CHROME, HOST};

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Ten closed days and today (11 January).
const PERIOD: &str = "site_id=test.example&period=custom&date=2026-01-01,2026-01-11";

fn questions() -> Vec<String> {
    [
        "/api/v1/stats/aggregate?{P}&metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events",
        "/api/v1/stats/timeseries?{P}&metrics=visitors,visits,pageviews,bounce_rate,visit_duration&interval=day",
        "/api/v1/stats/timeseries?{P}&metrics=visitors,pageviews&interval=week",
        "/api/v1/stats/timeseries?{P}&metrics=visitors&interval=month",
        "/api/v1/stats/breakdown?{P}&property=event:page&metrics=visitors,visits,pageviews,bounce_rate,visit_duration&limit=1000",
        "/api/v1/stats/breakdown?{P}&property=visit:source&metrics=visitors,visits&limit=1000",
        "/api/v1/stats/breakdown?{P}&property=visit:entry_page&metrics=visitors,visits&limit=1000",
        "/api/v1/stats/breakdown?{P}&property=visit:exit_page&metrics=visitors&limit=1000",
        "/api/v1/stats/breakdown?{P}&property=visit:browser&metrics=visitors,pageviews&limit=3",
        "/api/v1/stats/breakdown?{P}&property=event:name&metrics=visitors,events",
        "/api/v1/stats/breakdown?{P}&property=visit:device&metrics=visitors,visits,bounce_rate,visit_duration",
        // Periods wholly of closed days, and starting after a midnight visit.
        "/api/v1/stats/aggregate?site_id=test.example&period=custom&date=2026-01-02,2026-01-08&metrics=visitors,visits,pageviews,bounce_rate,visit_duration",
        "/api/v1/stats/breakdown?site_id=test.example&period=custom&date=2026-01-04,2026-01-09&property=visit:exit_page&metrics=visitors,visits,bounce_rate,visit_duration",
        // Not answerable from roll-ups: raw events of every day.
        "/api/v1/stats/aggregate?{P}&metrics=visitors,pageviews&filters=visit:source%3D%3DGoogle",
        "/api/v1/stats/timeseries?{P}&metrics=visitors&interval=hour",
        "/api/v1/stats/breakdown?{P}&property=visit:os_version&metrics=visitors",
        "/api/v1/stats/breakdown?{P}&property=event:page&metrics=visitors&filters=event:page%3D%3D/common",
    ]
    .iter()
    .map(|q| q.replace("{P}", PERIOD))
    .collect()
}

async fn answers(server: &TestServer) -> Vec<Value> {
    let mut out = Vec::new();
    for q in questions() {
        let (status, body) = server.stats(&q).await;
        assert_eq!(status, 200, "{q}: {body}");
        out.push(body);
    }
    out
}

async fn refresh(server: &TestServer) -> u64 {
    let config = Config::parse(&support::config_text(server.dir.path()), "test.toml").unwrap();
    let (store, clock) = (server.store.clone(), server.clock.clone());
    tokio::task::spawn_blocking(move || {
        glasshouse_store::retention::refresh_rollups(&config, store.as_ref(), &clock).unwrap()
    })
    .await
    .unwrap()
}

async fn visit(server: &TestServer, ua: &str, path: &str, referrer: Option<&str>) {
    visit_from(server, "198.51.100.4", ua, path, referrer).await;
}

async fn visit_from(server: &TestServer, ip: &str, ua: &str, path: &str, referrer: Option<&str>) {
    let r = server
        .post_event(
            ip,
            ua,
            &json!({"n": "pageview", "u": format!("https://{HOST}{path}"), "d": HOST, "r": referrer}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_reads_fresh_roll_ups_of_closed_days_and_answers_the_same() {
    overview_from_fresh_roll_ups(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_clickhouse_the_overview_reads_fresh_roll_ups_and_answers_the_same() {
    overview_from_fresh_roll_ups(Backend::ClickHouse).await;
}

async fn overview_from_fresh_roll_ups(backend: Backend) {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, start, |c| c).await else {
        return;
    };
    for d in 0..11 {
        if d > 0 {
            // Someone reading on over midnight: one visit, one visitor.
            server
                .clock
                .set(start + Duration::days(d) - Duration::minutes(11 * 60 + 55));
            visit_from(&server, "198.51.100.77", PHONE, "/after-midnight", None).await;
        }
        server.clock.set(start + Duration::days(d));
        let referrer = (d % 2 == 0).then_some("https://www.google.com/");
        visit(&server, CHROME, &format!("/day-{d}"), referrer).await;
        server.clock.advance(Duration::seconds(40));
        visit(&server, CHROME, "/common", referrer).await;
        server.clock.advance(Duration::seconds(40));
        visit(&server, FIREFOX, "/common", None).await;
        if d < 10 {
            server
                .clock
                .set(start + Duration::days(d) + Duration::minutes(11 * 60 + 40));
            visit_from(
                &server,
                "198.51.100.77",
                PHONE,
                "/late-night",
                Some("https://www.bing.com/"),
            )
            .await;
            if d % 2 == 1 {
                server.clock.advance(Duration::minutes(9));
                visit_from(&server, "198.51.100.77", PHONE, "/late-night/more", None).await;
            }
        }
        if d % 3 == 0 {
            let r = server
                .post_event(
                    "198.51.100.9",
                    FIREFOX,
                    &json!({"n": "Form submitted", "u": format!("https://{HOST}/common"), "d": HOST, "p": {"form": "visa"}}),
                )
                .await;
            assert_eq!(r.status().as_u16(), 202);
        }
    }
    let raw = answers(&server).await;

    // The ten closed days are rolled up; today is not.
    assert_eq!(refresh(&server).await, 10);
    let fresh = server
        .store
        .fresh_rollup_days(HOST, day(0), day(30))
        .unwrap();
    assert_eq!(fresh, (0..10).map(day).collect::<Vec<_>>());
    assert_eq!(refresh(&server).await, 0, "nothing left to roll up");
    let rolled = answers(&server).await;
    for ((q, r), a) in questions().iter().zip(&raw).zip(&rolled) {
        assert_eq!(
            r, a,
            "{q}: the answer changed when its closed days were rolled up"
        );
    }

    // The overview really reads them: a roll-up changed behind the store's
    // back shows in the unfiltered answer, not in the filtered one.
    let mut doctored: Vec<RollupRow> = server
        .store
        .read_rollup(HOST, day(4), day(5), "total")
        .unwrap();
    doctored[0].pageviews += 1000;
    server
        .store
        .replace_rollup(HOST, day(4), &doctored)
        .unwrap();
    let (_, total) = server.stats(&questions()[0]).await;
    assert_eq!(
        total["results"]["pageviews"]["value"].as_u64().unwrap(),
        raw[0]["results"]["pageviews"]["value"].as_u64().unwrap() + 1000
    );
    let filtered = questions()
        .iter()
        .position(|q| q.contains("aggregate") && q.contains("filters="))
        .unwrap();
    let (_, answer) = server.stats(&questions()[filtered]).await;
    assert_eq!(answer, raw[filtered]);

    // A late event for 5 January (a late shipment, an import) takes that
    // day's roll-up out of use at once, and the next day's (whose
    // correction for visits over midnight it may change); the next run
    // rolls them up again.
    server
        .clock
        .set(start + Duration::days(4) + Duration::hours(3));
    visit(&server, FIREFOX, "/late", Some("https://www.bing.com/")).await;
    let fresh = server
        .store
        .fresh_rollup_days(HOST, day(0), day(30))
        .unwrap();
    assert!(
        !fresh.contains(&day(4)) && !fresh.contains(&day(5)),
        "{fresh:?}"
    );
    assert_eq!(fresh.len(), 8);
    let with_late = answers(&server).await;
    assert_eq!(
        with_late[0]["results"]["pageviews"]["value"]
            .as_u64()
            .unwrap(),
        raw[0]["results"]["pageviews"]["value"].as_u64().unwrap() + 1,
        "the late event is counted, the doctored roll-up is not read"
    );
    server
        .clock
        .set(start + Duration::days(10) + Duration::hours(2));
    assert_eq!(refresh(&server).await, 2);
    assert_eq!(answers(&server).await, with_late);
}
