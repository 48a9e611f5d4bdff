//! The sharing promise on every route: each defect found by trying the
//! routes as a hostile partner would, reproduced over HTTP, on DuckDB and
//! on ClickHouse where the store answers.
//!
//! The test configuration: the test organisation (test.example) and the
//! partner (partner.example) signed one agreement that links journeys,
//! shares visitors and visits and page breakdowns above k = 2, for service
//! improvement, from 2020-01-01; other.example belongs to a third
//! organisation in no agreement.

mod support;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn send(s: &TestServer, ip: &str, ua: &str, host: &str, name: &str, path: &str) {
    let r = s
        .post_event(
            ip,
            ua,
            &json!({"name": name, "url": format!("https://{host}{path}"), "domain": host}),
        )
        .await;
    assert_eq!(r.status(), 202);
    s.clock.advance(Duration::seconds(30));
}

async fn funnel_as(s: &TestServer, token: &str, uri: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}{uri}", s.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

fn audit_entries(s: &TestServer) -> Vec<Value> {
    std::fs::read_to_string(s.dir.path().join("audit/entries.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Three visitors view the test site's /guide; one of them then signs a
/// form on the partner's site (a custom event that happens only there).
async fn one_partner_event(s: &TestServer) {
    for (ip, ua) in [
        ("198.51.100.7", CHROME),
        ("198.51.100.8", FIREFOX),
        ("198.51.100.9", CHROME),
    ] {
        send(s, ip, ua, HOST, "pageview", "/guide").await;
    }
    send(s, "198.51.100.7", CHROME, PARTNER, "pageview", "/apply").await;
    send(s, "198.51.100.7", CHROME, PARTNER, "Signed", "/apply").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funnel_event_step_reveals_no_partner_event_under_k() {
    event_step(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funnel_event_step_reveals_no_partner_event_under_k_on_clickhouse() {
    event_step(Backend::ClickHouse).await;
}

async fn event_step(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let Some(s) = TestServer::start_on(backend, at, |c| c).await else {
        return;
    };
    one_partner_event(&s).await;
    let steps = json!([{"page": "/guide"}, {"event": "Signed"}]);
    let body = json!({"site_id": HOST, "period": "day", "steps": steps});
    // The agreement does not share event names: the step is refused.
    let (status, e) = funnel_as(&s, TOKEN, "/api/v1/stats/funnel", body.clone()).await;
    assert_eq!(status, 403, "{e}");
    assert!(error(&e).starts_with("steps:"), "{e}");
    assert!(error(&e).contains("event:name"), "{e}");

    // Where it does, the one visitor's event is withheld under k = 2.
    drop(s);
    let Some(s) = TestServer::start_on(backend, at, |c| {
        c.replace(
            "breakdowns = [\"event:page\"]",
            "breakdowns = [\"event:page\", \"event:name\"]",
        )
    })
    .await
    else {
        return;
    };
    one_partner_event(&s).await;
    let (status, f) = funnel_as(&s, TOKEN, "/api/v1/stats/funnel", body).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["results"][0]["visits"], 3, "own first step: {f}");
    assert_eq!(f["results"][1]["visits"], Value::Null, "{f}");
    assert_eq!(f["results"][1]["suppressed"], true, "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_before_an_agreement_began_stay_on_the_own_site() {
    before_the_agreement(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_before_an_agreement_began_stay_on_the_own_site_on_clickhouse() {
    before_the_agreement(Backend::ClickHouse).await;
}

/// The agreement starts on 2026-05-04; traffic on 2026-05-01 and 05-02 was
/// never linked or shared.
async fn before_the_agreement(backend: Backend) {
    let before = Utc.with_ymd_and_hms(2026, 5, 2, 10, 0, 0).unwrap();
    let Some(s) = TestServer::start_on(backend, before, |c| {
        c.replace("start = \"2020-01-01\"", "start = \"2026-05-04\"")
    })
    .await
    else {
        return;
    };
    for (ip, ua) in [
        ("198.51.100.7", CHROME),
        ("198.51.100.8", FIREFOX),
        ("198.51.100.9", CHROME),
    ] {
        send(&s, ip, ua, HOST, "pageview", "/guide").await;
        send(&s, ip, ua, PARTNER, "pageview", "/apply").await;
        send(&s, ip, ua, PARTNER, "Signed", "/apply").await;
    }
    s.clock.advance(Duration::days(3));
    let period = "period=custom&date=2026-05-01,2026-05-04";

    // The partner's next pages, funnels and breakdowns over those days.
    let (status, e) = s
        .stats_as(
            PARTNER_TOKEN,
            &format!("/api/v1/stats/breakdown?site_id={HOST}&{period}&property=event:page"),
        )
        .await;
    assert_eq!(status, 403, "{e}");
    assert!(error(&e).starts_with("period:"), "{e}");
    let (status, next) = s
        .stats(&format!(
            "/api/v1/stats/next-pages?site_id={HOST}&{period}&page=/guide"
        ))
        .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["sites"], json!([HOST]), "{next}");
    assert_eq!(next["results"], json!([]), "{next}");
    let steps = json!([{"page": "/guide"}, {"page": "/apply", "site": PARTNER}]);
    let (status, e) = funnel_as(
        &s,
        TOKEN,
        "/api/v1/stats/funnel",
        json!({"site_id": HOST, "period": "custom", "date": "2026-05-01,2026-05-04", "steps": steps}),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(error(&e).contains("whole period"), "{e}");
    // An event step counts only the own site's events then.
    let (status, f) = funnel_as(
        &s,
        TOKEN,
        "/api/v1/stats/funnel",
        json!({"site_id": HOST, "period": "custom", "date": "2026-05-01,2026-05-04",
               "steps": [{"page": "/guide"}, {"event": "Signed"}]}),
    )
    .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["results"][1]["visits"], 0, "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purpose_picks_the_one_agreement_whose_limits_apply() {
    purpose_picks(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purpose_picks_the_one_agreement_whose_limits_apply_on_clickhouse() {
    purpose_picks(Backend::ClickHouse).await;
}

async fn purpose_picks(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    // A second agreement over the same sites, for statistics, sharing
    // visits too but only above k = 50.
    let Some(s) = TestServer::start_on(backend, at, |c| {
        c.replacen(
            "[[api_tokens]]",
            "[[purposes]]\nid = \"service-improvement\"\ndescription = \"Improving the service\"\nlawful_basis = \"Public task\"\ncategory = \"service-improvement\"\n\n[[purposes]]\nid = \"statistics\"\ndescription = \"Official statistics\"\nlawful_basis = \"Public task\"\ncategory = \"statistics\"\n\n[[agreements]]\nid = \"statistics\"\ntitle = \"Statistics\"\nparties = [\"test-org\", \"partner-org\"]\nsites = [\"test.example\", \"partner.example\"]\npurposes = [\"statistics\"]\nmetrics = [\"visitors\", \"visits\"]\nk = 50\nstart = \"2020-01-01\"\nsignatories = [\"a\", \"b\"]\n\n[[api_tokens]]",
            1,
        )
        .replace(
            "metrics = [\"visitors\", \"visits\"]\nbreakdowns = [\"event:page\"]",
            "metrics = [\"visitors\"]\nbreakdowns = [\"event:page\"]",
        )
    })
    .await
    else {
        return;
    };
    one_partner_event(&s).await;
    let q = "/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visits";
    // For service improvement, the journeys agreement does not share visits.
    let (status, e) = s
        .stats_as(PARTNER_TOKEN, &format!("{q}&purpose=service-improvement"))
        .await;
    assert_eq!(status, 403, "{e}");
    assert!(error(&e).contains("does not share visits"), "{e}");
    // For statistics, the statistics agreement's k = 50 applies, not k = 2.
    let (status, agg) = s
        .stats_as(PARTNER_TOKEN, &format!("{q}&purpose=statistics"))
        .await;
    assert_eq!(status, 200, "{agg}");
    assert_eq!(agg["results"]["visits"]["value"], Value::Null, "{agg}");
    let last = audit_entries(&s).pop().unwrap();
    assert_eq!(last["purpose"], "statistics", "{last}");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("agreement statistics (k=50)"),
        "{last}"
    );
}

#[tokio::test]
async fn the_log_records_the_question_that_ran() {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start(at).await;
    one_partner_event(&s).await;
    // site_id in the query string and another in the body: refused.
    let steps = json!([{"page": "/guide"}, {"page": "/done"}]);
    let (status, e) = funnel_as(
        &s,
        TOKEN,
        "/api/v1/stats/funnel?site_id=other.example",
        json!({"site_id": HOST, "period": "day", "steps": steps}),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(error(&e).starts_with("site_id:"), "{e}");
    // A parameter named twice with different values: refused.
    let (status, e) = s
        .stats("/api/v1/stats/aggregate?site_id=test.example&site_id=other.example&period=day")
        .await;
    assert_eq!(status, 400, "{e}");
    // The log holds the parsed question: its site, scrubbed values, bounded.
    let long = "x".repeat(1_900);
    let (status, _) = s
        .stats(&format!(
            "/api/v1/stats/aggregate?site_id=test.example&period=day&filters=event:page==/contact/ana.lewis@example.com|/{long}"
        ))
        .await;
    assert_eq!(status, 200);
    let log = audit_entries(&s);
    let last = log.last().unwrap();
    let text = last.to_string();
    assert!(
        last["query"]
            .as_str()
            .unwrap()
            .starts_with("aggregate site=test.example period=2026-05-04..2026-05-04"),
        "{last}"
    );
    assert!(!text.contains("ana.lewis"), "{text}");
    assert!(text.len() < 1000, "{}", text.len());
    for e in &log[..2] {
        assert_eq!(e["decision"], "refused", "{e}");
        assert!(!e.to_string().contains("other.example"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_other_organisations_only_by_agreement() {
    operator(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_other_organisations_only_by_agreement_on_clickhouse() {
    operator(Backend::ClickHouse).await;
}

async fn operator(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let Some(s) = TestServer::start_on(backend, at, |c| c).await else {
        return;
    };
    send(
        &s,
        "198.51.100.7",
        CHROME,
        "other.example",
        "pageview",
        "/x",
    )
    .await;
    let (status, e) = s
        .stats_as(
            OPERATOR_TOKEN,
            "/api/v1/stats/aggregate?site_id=other.example&period=day",
        )
        .await;
    assert_eq!(status, 403, "{e}");
    assert!(error(&e).contains("no agreement"), "{e}");
    // Its own organisation's site, as any member reads it.
    let (status, _) = s
        .stats_as(
            OPERATOR_TOKEN,
            "/api/v1/stats/aggregate?site_id=test.example&period=day",
        )
        .await;
    assert_eq!(status, 200);
}

/// Signs in as the test configuration's analyst; the session cookie's value.
async fn sign_in(s: &TestServer) -> String {
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.split(';')
                    .next()?
                    .strip_prefix(&format!("{name}="))
                    .map(String::from)
            })
            .unwrap()
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(format!("{}/login", s.url)).send().await.unwrap();
    let login_cookie = cookie(&r, "glasshouse_login_csrf");
    let html = r.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = html[at..at + 64].to_string();
    let r = http
        .post(format!("{}/login", s.url))
        .header("cookie", format!("glasshouse_login_csrf={login_cookie}"))
        .form(&[("username", "ana"), ("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    cookie(&r, "glasshouse_session")
}

#[tokio::test]
async fn roles_decide_who_saves_and_sessions_follow_the_live_configuration() {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let s = TestServer::start_edited(at, |c| {
        c.replacen(
            "name = \"tests\"\norganisation = \"test-org\"\nrole = \"analyst\"",
            "name = \"tests\"\norganisation = \"test-org\"\nrole = \"viewer\"",
            1,
        )
        .replace("all_sites = true", "all_sites = true\nrole = \"admin\"")
    })
    .await;
    let body = json!({"site_id": HOST, "name": "Apply", "steps": [{"page": "/a"}, {"page": "/b"}]});
    let (status, e) = funnel_as(&s, TOKEN, "/api/v1/funnels", body.clone()).await;
    assert_eq!(status, 403, "{e}");
    assert!(error(&e).starts_with("role:"), "{e}");
    assert_eq!(
        s.stats("/api/v1/stats/aggregate?site_id=test.example&period=day")
            .await
            .0,
        200
    );

    // A signed-in analyst saves; once the account is demoted and the
    // configuration reloaded, its session is gone.
    let session = sign_in(&s).await;
    let as_session = |path: &str| {
        s.http
            .get(format!("{}{path}", s.url))
            .header("cookie", format!("glasshouse_session={session}"))
            .send()
    };
    let q = "/api/v1/stats/aggregate?site_id=test.example&period=day";
    assert_eq!(as_session(q).await.unwrap().status(), 200);

    // An admin of the organisation ends the account's sessions; a viewer may not.
    let revoke = |token: &'static str| {
        s.http
            .delete(format!("{}/api/v1/admin/sessions?username=ana", s.url))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(revoke(TOKEN).await.unwrap().status(), 403);
    let r = revoke(OPERATOR_TOKEN).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], 1);
    assert_eq!(as_session(q).await.unwrap().status(), 401);

    let session = sign_in(&s).await;
    let as_session = |path: &str| {
        s.http
            .get(format!("{}{path}", s.url))
            .header("cookie", format!("glasshouse_session={session}"))
            .send()
    };
    assert_eq!(as_session(q).await.unwrap().status(), 200);
    let path = s.dir.path().join("glasshouse.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "role = \"analyst\"\npassword_hash",
            "role = \"viewer\"\npassword_hash",
        ),
    )
    .unwrap();
    let r = s
        .http
        .post(format!("{}/api/v1/admin/reload", s.url))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me = as_session(q).await.unwrap();
    assert_eq!(me.status(), 401, "the demoted account signs in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_refuses_what_would_overflow_or_repeat() {
    edge(Backend::DuckDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_refuses_what_would_overflow_or_repeat_on_clickhouse() {
    edge(Backend::ClickHouse).await;
}

async fn edge(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap();
    let Some(s) = TestServer::start_on(backend, at, |c| c).await else {
        return;
    };
    for (q, field) in [
        ("aggregate?site_id=test.example&period=day&date=%2B262142-12-31", "date"),
        ("timeseries?site_id=test.example&period=month&date=-262143-01-01", "date"),
        ("breakdown?site_id=test.example&period=year&date=9999-06-01&property=event:page", "date"),
        ("breakdown?site_id=test.example&period=day&property=event:page&page=4611686018427387904", "page"),
    ] {
        let (status, e) = s.stats(&format!("/api/v1/stats/{q}")).await;
        assert_eq!(status, 400, "{q}: {e}");
        assert!(error(&e).starts_with(&format!("{field}:")), "{q}: {e}");
    }
    // One event naming the site fifty times is one page view.
    let domain = vec![HOST; 50].join(",");
    let r = s
        .post_event(
            "198.51.100.7",
            CHROME,
            &json!({"name": "pageview", "url": "https://test.example/once", "domain": domain}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let (_, agg) = s
        .stats("/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=pageviews")
        .await;
    assert_eq!(agg["results"]["pageviews"]["value"], 1, "{agg}");
}
