//! Reports and alerts, sent to a real SMTP server on 127.0.0.1 (aiosmtpd,
//! STARTTLS with a test certificate authority, sign-in, and a first answer
//! of 451): the right figures to the right recipients, sent once, retried
//! and counted in `/metrics`, audited as a count of recipients, stopped by
//! the unsubscribe link; a drop alert for a simulated outage. On DuckDB
//! and on ClickHouse.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use glasshouse_model::mail::Every;
use glasshouse_server::mail::{report, schedule};
use serde_json::json;
use support::{Backend, TestServer, CHROME, HOST, OPERATOR_TOKEN};

const TEAM: [&str; 2] = ["team@test.example", "lead@test.example"];
const ONCALL: &str = "oncall@test.example";

fn with_mail(smtp: &str) -> impl FnOnce(String) -> String + '_ {
    move |c: String| {
        let mail = format!(
            "[[sites.reports]]\nevery = \"week\"\nto = [\"{}\", \"{}\"]\n\n[sites.alerts]\nto = [\"{ONCALL}\"]\nmin_visitors = 5\n\n[[sites.goals]]\npage = \"/apply\"\n",
            TEAM[0], TEAM[1]
        );
        format!(
            "{}\n{smtp}",
            c.replacen("[[sites.goals]]\npage = \"/apply\"\n", &mail, 1)
        )
    }
}

/// `n` page views from different people at `at`.
async fn visits(server: &TestServer, at: DateTime<Utc>, n: u8, page: &str) {
    server.clock.set(at);
    for i in 0..n {
        let event = json!({"n": "pageview", "u": format!("https://{HOST}{page}"), "d": HOST});
        let r = server
            .post_event(&format!("81.2.69.{}", 10 + i), CHROME, &event)
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }
}

/// A message's text with quoted-printable soft line breaks joined.
fn plain(message: &str) -> String {
    message.replace("=\r\n", "").replace("=\n", "")
}

async fn reports_and_alerts(backend: Backend) {
    let smtp = glasshouse_testkit::smtp::start();
    let start = Utc.with_ymd_and_hms(2026, 5, 19, 14, 0, 0).unwrap();
    let Some(server) = TestServer::start_on(backend, start, with_mail(&smtp.config())).await else {
        return;
    };
    // Three Tuesdays with visitors from 14:00; the week before the report
    // lightly, the report's week (1 to 7 June) more.
    for week in 0..3 {
        visits(&server, start + Duration::weeks(week), 8, "/apply").await;
    }
    for d in 0..7 {
        visits(
            &server,
            Utc.with_ymd_and_hms(2026, 5, 25, 10, 0, 0).unwrap() + Duration::days(d),
            1,
            "/a",
        )
        .await;
        visits(
            &server,
            Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap() + Duration::days(d),
            3,
            "/b",
        )
        .await;
    }

    // Monday 8 June, 07:00: last week's report is due (06:00).
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 6, 8, 7, 0, 0).unwrap());
    schedule::tick(&server.app).await;
    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        2,
        "one per recipient, after the relay's 451"
    );
    let (_, expected) = server
        .stats(&format!("/api/v1/stats/aggregate?site_id={HOST}&period=custom&date=2026-06-01,2026-06-07&metrics=visitors,pageviews"))
        .await;
    let visitors = expected["results"]["visitors"]["value"].as_u64().unwrap();
    assert!(visitors > 0);
    for (m, to) in messages.iter().zip(TEAM) {
        let m = plain(m);
        assert!(m.starts_with(&format!("X-Envelope-To: {to}\r\n")), "{m}");
        assert!(
            m.contains("weekly report, 1 June 2026 to 7 June 2026"),
            "{m}"
        );
        assert!(m.contains(&format!("Unique visitors: {visitors} (")), "{m}");
        assert!(m.contains("- /b: "), "the top page: {m}");
        assert!(
            m.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{m}"
        );
        assert!(m.contains("Content-Type: text/html"), "an HTML part: {m}");
    }
    // Sent once: the next minute sends nothing.
    schedule::tick(&server.app).await;
    assert_eq!(smtp.messages().len(), 2);

    // Retried and counted; audited as a count of recipients, never who.
    let metrics = server
        .http
        .get(format!("{}/metrics", server.url))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("glasshouse_mail_sent_total{reason=\"week\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("glasshouse_mail_failures_total{reason=\"week\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("glasshouse_mail_pending 0"), "{metrics}");
    let log = server.audit_queries();
    assert!(
        log.iter()
            .any(|q| q == &format!("mail week site={HOST} period=2026-06-01 recipients=2")),
        "{log:?}"
    );
    assert!(
        log.iter().all(|q| !q.contains("@")),
        "no address in the log: {log:?}"
    );

    // The unsubscribe link asks first, then stops that recipient only.
    let first = plain(&messages[0]);
    let at = first.find("/unsubscribe/").unwrap();
    let link: String = first[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();
    let url = format!("{}{link}", server.url);
    let page = server
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Stop these e-mails?"), "{page}");
    let done = server
        .http
        .post(&url)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    let period = report::last_period(
        Every::Week,
        chrono::NaiveDate::from_ymd_opt(2026, 6, 8).unwrap(),
    );
    let site = server.app.config.site(HOST).unwrap().clone();
    let again = schedule::send_report(&server.app, &site, Every::Week, period, true).await;
    assert_eq!(again, Ok(1), "only the recipient still subscribed");
    assert!(smtp.messages()[2].starts_with(&format!("X-Envelope-To: {}", TEAM[1])));

    // Kept in the data directory: a restarted server knows what it sent.
    let reopened = glasshouse_store::mail::SentLog::open(server.dir.path()).unwrap();
    let token = schedule::token(&server.app, HOST, "week", TEAM[1]);
    assert!(reopened.was_sent(HOST, "week", "2026-06-01", &token));

    // Tuesday 9 June, 14:00 to 17:00: nobody, where three Tuesdays had
    // visitors at those hours. A drop alert, once.
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 6, 9, 17, 5, 0).unwrap());
    schedule::tick(&server.app).await;
    let all = smtp.messages();
    assert_eq!(all.len(), 4, "one alert");
    let alert = plain(&all[3]);
    assert!(
        alert.starts_with(&format!("X-Envelope-To: {ONCALL}")),
        "{alert}"
    );
    assert!(alert.contains("traffic has dropped"), "{alert}");
    assert!(alert.contains("0 unique visitors"), "{alert}");
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 6, 9, 18, 5, 0).unwrap());
    schedule::tick(&server.app).await;
    assert_eq!(smtp.messages().len(), 4, "not again within a day");
}

#[tokio::test]
async fn mail_on_duckdb() {
    reports_and_alerts(Backend::DuckDb).await;
}

#[tokio::test]
async fn mail_on_clickhouse() {
    reports_and_alerts(Backend::ClickHouse).await;
}
