//! The privacy boundary end to end, through the public API only.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use glasshouse_model::{Clock, ManualClock, Site};
use glasshouse_privacy::{Anonymiser, AnonymousEvent, RawEvent, Rejection, Revenue, Salts};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

fn site() -> Site {
    Site {
        host: "www.gov.uk".into(),
        organisation: "gds".into(),
        query_params: vec!["keywords".into(), "token".into()],
        props: Some(vec!["step".into(), "email".into()]),
        raw_retention_days: 30,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    }
}

fn raw(ip: &str, ua: &str, url: &str, timestamp: DateTime<Utc>) -> RawEvent {
    RawEvent {
        ip: ip.parse().unwrap(),
        user_agent: ua.to_string(),
        name: "pageview".into(),
        url: url.to_string(),
        referrer: None,
        title: None,
        props: Vec::new(),
        interactive: true,
        revenue: None,
        engagement: None,
        timestamp,
    }
}

fn anonymiser_at(dir: &Path, clock: &ManualClock) -> Anonymiser {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    Anonymiser::new(Salts::open(dir, clock).unwrap(), None)
}

fn pageview(
    a: &Anonymiser,
    ip: &str,
    ua: &str,
    t: DateTime<Utc>,
) -> Result<AnonymousEvent, Rejection> {
    a.anonymise(raw(ip, ua, "https://www.gov.uk/", t), &site(), "www.gov.uk")
}

#[test]
fn anonymiser_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Anonymiser>();
    assert_send_sync::<AnonymousEvent>();
}

#[test]
fn visitor_ids_change_at_utc_midnight_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 23, 59, 58));
    let a = anonymiser_at(dir.path(), &clock);
    let ip = "81.2.69.142";

    let before = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 1, 23, 59, 59)).unwrap();
    let again = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 1, 23, 59, 59)).unwrap();
    assert_eq!(
        before.visitor_id(),
        again.visitor_id(),
        "stable within a day"
    );
    assert_eq!(
        before.previous_visitor_id(),
        None,
        "no salt existed for 28 February"
    );

    clock.set(at(2026, 3, 2, 0, 0, 1));
    let after = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 2, 0, 0, 1)).unwrap();
    assert_ne!(
        after.visitor_id(),
        before.visitor_id(),
        "a new day, a new id"
    );
    assert_eq!(
        after.previous_visitor_id(),
        Some(before.visitor_id()),
        "the session can continue"
    );
    // An event stamped just before midnight but anonymised just after still
    // gets yesterday's id.
    let late = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 1, 23, 59, 59)).unwrap();
    assert_eq!(late.visitor_id(), before.visitor_id());

    // Restart on the same day: same salts, same ids.
    drop(a);
    let a = anonymiser_at(dir.path(), &clock);
    let restarted = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 2, 0, 0, 2)).unwrap();
    assert_eq!(restarted.visitor_id(), after.visitor_id());
    assert_eq!(restarted.previous_visitor_id(), Some(before.visitor_id()));

    // Two days later the first salt is gone: events of 1 March get no id.
    clock.set(at(2026, 3, 3, 0, 0, 1));
    a.check_rotation().unwrap();
    let date = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    assert_eq!(a.salts().days(), vec![date(2), date(3)]);
    match pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 1, 23, 59, 59)) {
        Err(Rejection::NoSalt(day)) => assert_eq!(day, date(1)),
        other => panic!("expected NoSalt, got {other:?}"),
    }
    let third = pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 3, 0, 0, 2)).unwrap();
    assert_eq!(third.previous_visitor_id(), Some(after.visitor_id()));
    assert_ne!(third.visitor_id(), after.visitor_id());
    assert_ne!(third.visitor_id(), before.visitor_id());

    // Events from the future are refused too.
    assert!(matches!(
        pageview(&a, ip, CHROME_WINDOWS, at(2026, 3, 4, 0, 0, 0)),
        Err(Rejection::NoSalt(_))
    ));
}

#[test]
fn scope_decides_who_can_be_linked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let t = at(2026, 3, 1, 12, 0, 0);
    let event = |url: &str, scope: &str| {
        a.anonymise(
            raw("2a00:1450:4009::1", CHROME_WINDOWS, url, t),
            &site(),
            scope,
        )
        .unwrap()
        .visitor_id()
    };
    let gov_uk = event("https://www.gov.uk/", "agreement-1");
    let wales = event("https://www.gov.wales/", "agreement-1");
    assert_eq!(gov_uk, wales, "one agreement, one id across its sites");
    assert_ne!(
        event("https://www.gov.uk/", "www.gov.uk"),
        event("https://www.gov.wales/", "www.gov.wales")
    );
    // Someone else on the same network and browser is someone else.
    let other = a
        .anonymise(
            raw(
                "2a00:1450:4009::2",
                CHROME_WINDOWS,
                "https://www.gov.uk/",
                t,
            ),
            &site(),
            "agreement-1",
        )
        .unwrap();
    assert_ne!(other.visitor_id(), gov_uk);
}

#[test]
fn every_field_is_reduced_and_scrubbed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let mut r = raw(
        "81.2.69.142",
        CHROME_WINDOWS,
        "https://WWW.GOV.UK/search/all/jo.bloggs%40example.com?keywords=SW1A+2AA&utm_source=Newsletter&utm_medium=email&utm_campaign=QQ123456C&secret=1&token=abc&page=2#results",
        at(2026, 3, 1, 12, 0, 0),
    );
    r.name = " Form submitted ".into();
    r.referrer = Some("https://www.google.co.uk/search?q=jo.bloggs%40example.com".into());
    r.title = Some("Search results for 07700 900123 - GOV.UK".into());
    r.props = vec![
        ("step".into(), "2".into()),
        ("email".into(), "jo.bloggs@example.com".into()),
        ("not_allowed".into(), "x".into()),
    ];
    r.interactive = false;
    r.revenue = Some(Revenue {
        amount: 82.5,
        currency: "gbp".into(),
    });
    let e = a.anonymise(r, &site(), "www.gov.uk").unwrap();
    assert_eq!(e.site(), "www.gov.uk");
    assert_eq!(e.timestamp(), at(2026, 3, 1, 12, 0, 0));
    assert_eq!(e.name(), "Form submitted");
    assert_eq!(e.hostname(), "www.gov.uk");
    assert_eq!(e.pathname(), "/search/all/[email]");
    assert_eq!(
        e.query(),
        "keywords=[postcode]&utm_source=Newsletter&utm_medium=email&utm_campaign=[nino]&token=[redacted]"
    );
    assert_eq!(e.utm_source(), "Newsletter");
    assert_eq!(e.utm_medium(), "email");
    assert_eq!(e.utm_campaign(), "[nino]");
    assert_eq!(e.utm_content(), "");
    assert_eq!(e.utm_term(), "");
    assert_eq!(e.referrer(), "www.google.co.uk/search");
    assert_eq!(e.source(), "Google");
    assert_eq!(e.title(), "Search results for [phone] - GOV.UK");
    assert_eq!(
        e.props(),
        &[
            ("step".to_string(), "2".to_string()),
            ("email".to_string(), "[email]".to_string())
        ]
    );
    assert!(!e.interactive());
    assert_eq!(
        e.revenue(),
        Some(&Revenue {
            amount: 82.5,
            currency: "GBP".into()
        })
    );
    assert_eq!(e.country(), "", "no country database configured");
}

#[test]
fn campaign_tags_are_the_source_when_there_is_no_referrer() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let t = at(2026, 3, 1, 12, 0, 0);
    let source = |url: &str, referrer: Option<&str>| {
        let mut r = raw("81.2.69.142", CHROME_WINDOWS, url, t);
        r.referrer = referrer.map(str::to_string);
        a.anonymise(r, &site(), "www.gov.uk")
            .unwrap()
            .source()
            .to_string()
    };
    assert_eq!(
        source("https://www.gov.uk/?utm_source=newsletter", None),
        "newsletter"
    );
    assert_eq!(
        source("https://www.gov.uk/?ref=hackernews", None),
        "hackernews"
    );
    assert_eq!(source("https://www.gov.uk/", None), "");
    assert_eq!(
        source("https://www.gov.uk/", Some("https://www.gov.uk/browse")),
        ""
    );
    assert_eq!(
        source("https://www.gov.uk/", Some("https://t.co/abc")),
        "Twitter"
    );
    assert_eq!(
        source("https://www.gov.wales/", Some("https://www.gov.uk/browse")),
        "GOV.UK"
    );
}

#[test]
fn the_event_holds_neither_the_address_nor_the_user_agent() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let ua =
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 UniqueMarker/9.9";
    for ip in ["81.2.69.142", "2a00:1450:4009:81a::200e"] {
        let mut r = raw(
            ip,
            ua,
            "https://www.gov.uk/contact/jo@example.com?keywords=SW1A%202AA",
            at(2026, 3, 1, 12, 0, 0),
        );
        r.referrer = Some(format!("https://example.org/from/{ip}"));
        r.title = Some(format!("Your IP is {ip}"));
        r.props = vec![("step".into(), ip.to_string())];
        let e = a.anonymise(r, &site(), "www.gov.uk").unwrap();
        let fields = [
            e.site(),
            e.name(),
            e.hostname(),
            e.pathname(),
            e.query(),
            e.title(),
            e.referrer(),
            e.source(),
            e.utm_source(),
            e.utm_medium(),
            e.utm_campaign(),
            e.utm_content(),
            e.utm_term(),
            e.browser(),
            e.browser_version(),
            e.os(),
            e.os_version(),
            e.device(),
            e.country(),
        ];
        let debug = format!("{e:?}");
        for text in fields.iter().copied().chain([debug.as_str()]) {
            for secret in [ip, ua, "UniqueMarker", "jo@example.com", "SW1A"] {
                assert!(!text.contains(secret), "{secret:?} found in {text:?}");
            }
        }
        for (k, v) in e.props() {
            assert!(!k.contains(ip) && !v.contains(ip), "{k}={v}");
        }
        assert_eq!(e.browser(), "Firefox");
    }
}

#[test]
fn bots_are_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let bots = [
        "",
        "   ",
        "Mozilla/5.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Chrome-Lighthouse",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Lighthouse",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Playwright/1.40",
        "curl/8.4.0",
        "python-requests/2.31.0",
        "Python-urllib/3.11",
        "Wget/1.21.4",
        "Go-http-client/2.0",
        "Java/17.0.9",
        "axios/1.6.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "PostmanRuntime/7.36.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    ];
    let mut counted = Vec::new();
    for ua in bots {
        match pageview(&a, "81.2.69.142", ua, at(2026, 3, 1, 12, 0, 0)) {
            Err(Rejection::Bot) => {}
            other => counted.push(format!("{ua:?} → {other:?}")),
        }
    }
    assert!(counted.is_empty(), "bots counted:\n{}", counted.join("\n"));
}

#[test]
fn real_browsers_are_counted_and_classified() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    // (User-Agent, browser, browser version, OS, OS version, device)
    let browsers = [
        (CHROME_WINDOWS, "Chrome", "120.0", "Windows", "10", "Desktop"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
            "Edge", "120.0", "Windows", "10", "Desktop",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox", "121.0", "Windows", "10", "Desktop",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox", "121.0", "Ubuntu", "", "Desktop",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
            "Safari", "17.1", "macOS", "10.15", "Desktop",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Chrome", "120.0", "Chrome OS", "14541.0", "Desktop",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
            "Safari", "17.1", "iOS", "17.1", "Mobile",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
            "Chrome", "120.0", "iOS", "17.2", "Mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
            "Chrome", "120.0", "Android", "10", "Mobile",
        ),
        (
            "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
            "Firefox", "121.0", "Android", "14", "Mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
            "Samsung Internet", "23.0", "Android", "13", "Mobile",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Safari", "17.1", "iOS", "17.1", "Tablet",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Chrome", "120.0", "Android", "13", "Tablet",
        ),
        (
            "Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
            "Firefox", "121.0", "Android", "14", "Tablet",
        ),
    ];
    let mut wrong = Vec::new();
    for (ua, browser, version, os, os_version, device) in browsers {
        match pageview(&a, "81.2.69.142", ua, at(2026, 3, 1, 12, 0, 0)) {
            Ok(e) => {
                let got = (
                    e.browser(),
                    e.browser_version(),
                    e.os(),
                    e.os_version(),
                    e.device(),
                );
                if got != (browser, version, os, os_version, device) {
                    wrong.push(format!("{ua}\n    got {got:?}"));
                }
            }
            Err(e) => wrong.push(format!("{ua}\n    refused: {e}")),
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

#[test]
fn bad_events_get_clear_refusals_that_quote_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    let t = at(2026, 3, 1, 12, 0, 0);
    for url in [
        "not a url jo@example.com",
        "ftp://www.gov.uk/jo@example.com",
        "/relative/jo@example.com",
        "javascript:alert('jo@example.com')",
    ] {
        let e = a
            .anonymise(
                raw("81.2.69.142", CHROME_WINDOWS, url, t),
                &site(),
                "www.gov.uk",
            )
            .unwrap_err();
        assert!(matches!(e, Rejection::InvalidUrl(_)), "{url}: {e:?}");
        let message = e.to_string();
        assert!(
            message.starts_with("invalid page URL") && !message.contains("jo@"),
            "{message}"
        );
        assert!(e.is_bad_input());
    }
    let mut r = raw("81.2.69.142", CHROME_WINDOWS, "https://www.gov.uk/", t);
    r.name = "  ".into();
    assert!(matches!(
        a.anonymise(r, &site(), "www.gov.uk"),
        Err(Rejection::InvalidEvent(_))
    ));
    for revenue in [
        Revenue {
            amount: f64::NAN,
            currency: "GBP".into(),
        },
        Revenue {
            amount: 1.0,
            currency: "pounds".into(),
        },
    ] {
        let mut r = raw("81.2.69.142", CHROME_WINDOWS, "https://www.gov.uk/", t);
        r.revenue = Some(revenue);
        let e = a.anonymise(r, &site(), "www.gov.uk").unwrap_err();
        assert!(matches!(e, Rejection::InvalidEvent(_)), "{e:?}");
    }
    let bot = pageview(&a, "81.2.69.142", "curl/8.4.0", t).unwrap_err();
    assert!(!bot.to_string().contains("curl"), "{bot}");
}

#[test]
fn private_addresses_and_no_database_give_no_country() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
    let a = anonymiser_at(dir.path(), &clock);
    assert!(!a.has_geo());
    let e = pageview(&a, "192.168.1.10", CHROME_WINDOWS, at(2026, 3, 1, 12, 0, 0)).unwrap();
    assert_eq!(e.country(), "");
    let _: IpAddr = "::1".parse().unwrap();
}
