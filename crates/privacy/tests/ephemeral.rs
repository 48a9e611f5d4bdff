//! Ephemeral salts (bulk import of past days) never touch the disk.
//!
//! This is its own test binary because it changes the working directory,
//! which is shared by every test in a process.

use chrono::{TimeZone, Utc};
use glasshouse_model::{Clock, ManualClock, Site};
use glasshouse_privacy::{Anonymiser, RawEvent, Salts};
use std::sync::Arc;

#[test]
fn ephemeral_salts_write_nothing_and_cover_any_day() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let salts = Salts::ephemeral(clock);
    assert!(!salts.is_persistent());
    let a = Anonymiser::new(salts, None);
    let site = Site {
        host: "www.gov.uk".into(),
        organisation: "gds".into(),
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
    };
    let mut ids = Vec::new();
    // A year-old import, across a midnight.
    for (d, h) in [(1, 23), (2, 0), (2, 1)] {
        let raw = RawEvent {
            ip: "81.2.69.142".parse().unwrap(),
            user_agent:
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
                    .into(),
            name: "pageview".into(),
            url: "https://www.gov.uk/".into(),
            referrer: None,
            title: None,
            props: vec![],
            interactive: true,
            revenue: None,
            engagement: None,
            timestamp: Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap(),
        };
        let e = a.anonymise(raw, &site, "www.gov.uk").unwrap();
        ids.push((e.visitor_id(), e.previous_visitor_id()));
    }
    assert_ne!(ids[0].0, ids[1].0, "a new day, a new id");
    assert_eq!(ids[1].0, ids[2].0);
    assert_eq!(
        ids[1].1,
        Some(ids[0].0),
        "sessions continue across midnight in imports too"
    );
    assert_eq!(
        a.salts().days().len(),
        3,
        "28 Feb, 1 and 2 March 2025, in memory"
    );
    a.check_rotation().unwrap();
    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(written.is_empty(), "ephemeral salts wrote {written:?}");
}
