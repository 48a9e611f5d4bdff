//! The in-memory visit table stays bounded under a flood of distinct
//! visitors: the visitor seen least recently is forgotten and counted,
//! while a visitor still active keeps its visit.

use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::{ManualClock, Site};
use glasshouse_privacy::{Anonymiser, RawEvent, Salts};
use glasshouse_store::Sessionizer;
use std::sync::Arc;

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn site() -> Site {
    Site {
        host: "test.example".into(),
        organisation: "test".into(),
        query_params: vec![],
        props: None,
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

#[test]
fn a_flood_of_visitors_is_bounded_and_the_active_visitor_keeps_its_visit() {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(ManualClock::new(start))), None);
    let event = |n: u32, seconds: i64| {
        let raw = RawEvent {
            ip: std::net::Ipv4Addr::from(0x0A00_0000 + n).into(),
            user_agent: AGENT.into(),
            name: "pageview".into(),
            url: "https://test.example/a".into(),
            referrer: None,
            title: None,
            props: vec![],
            interactive: true,
            revenue: None,
            engagement: None,
            timestamp: start + Duration::seconds(seconds),
        };
        anonymiser.anonymise(raw, &site(), "test.example").unwrap()
    };
    let mut sessions = Sessionizer::bounded(512);
    let first = sessions.assign(event(0, 0));
    for n in 1..5_000 {
        sessions.assign(event(n, i64::from(n) / 10));
    }
    assert!(sessions.visitors() <= 512, "{}", sessions.visitors());
    assert!(sessions.evicted() >= 5_000 - 512, "{}", sessions.evicted());
    // The latest visitor is still known: its next page view is the same visit.
    let last = sessions.assign(event(4_999, 600));
    let again = sessions.assign(event(4_999, 620));
    assert_eq!(last.session_id, again.session_id);
    // The first visitor was forgotten: within 30 minutes, it still starts a
    // new visit (without the bound it would continue the old one).
    assert_ne!(sessions.assign(event(0, 640)).session_id, first.session_id);
}
