//! A site's local days across the clock changes (Europe/London, 29 March
//! and 25 October 2026), against any back end: days begin at local
//! midnight, a visitor is one visitor of a local day, hours are local (23
//! in spring, 25 in autumn with 01:00 twice in one bucket), roll-ups are of
//! local days and answer as the raw events do, and retention cuts at local
//! midnight. The oracle works from the instants sent, with chrono-tz.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use glasshouse_model::query::{day_of, day_start, DateRange, Interval, Metric, Query, Tz};
use glasshouse_model::{ManualClock, Site};
use glasshouse_privacy::{Anonymiser, RawEvent, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{rollup, tiers, Ingestor, Sessionizer, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const HOST: &str = "local.example";

fn london() -> Tz {
    "Europe/London".parse().unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn site() -> Site {
    Site {
        host: HOST.into(),
        timezone: london(),
        reports: vec![],
        alerts: None,
        ..super::aggregates::site()
    }
}

/// One page view per person at each of these UTC times, on each day:
/// every gap over 30 minutes, also over midnight, so each is its own visit
/// (a visit running over midnight would keep yesterday's visitor id).
const TIMES: [(u32, u32); 9] = [
    (0, 40),
    (1, 25),
    (2, 10),
    (3, 0),
    (8, 0),
    (21, 40),
    (22, 25),
    (23, 10),
    (23, 55),
];

/// (person, instant) of every page view sent.
fn sent() -> Vec<(usize, DateTime<Utc>)> {
    let mut out = Vec::new();
    for first in [d(2026, 3, 27), d(2026, 10, 23)] {
        for day in 0..5 {
            let date = first + Duration::days(day);
            for (i, (h, m)) in TIMES.iter().enumerate() {
                for person in 0..4 {
                    // Not everyone at every time, so days differ.
                    if !(i + person + day as usize).is_multiple_of(3) {
                        let t = Utc.from_utc_datetime(&date.and_hms_opt(*h, *m, 0).unwrap());
                        out.push((person, t));
                    }
                }
            }
        }
    }
    out.sort_by_key(|(_, t)| *t);
    out
}

fn load(store: Arc<dyn Store>, events: &[(usize, DateTime<Utc>)]) {
    store.set_zones(&[(HOST.to_string(), london())]);
    let clock = ManualClock::new(events[0].1);
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(clock)), None);
    let ingestor = Ingestor::start(store, Sessionizer::default(), IngestOptions::default());
    let stored = events
        .iter()
        .map(|(person, at)| {
            let raw = RawEvent {
                ip: format!("198.51.100.{}", person + 1).parse().unwrap(),
                user_agent: glasshouse_testkit::traffic::AGENTS[0].0.into(),
                name: "pageview".into(),
                url: format!("https://{HOST}/p{person}"),
                referrer: None,
                title: None,
                props: vec![],
                interactive: true,
                revenue: None,
                engagement: None,
                timestamp: *at,
            };
            anonymiser
                .anonymise(raw, &site(), HOST)
                .expect("anonymised")
        })
        .collect();
    ingestor.ingest_blocking(stored).expect("stored");
    ingestor.shutdown();
}

/// (visitors, page views) per key, from the events `keep` picks.
fn oracle(
    events: &[(usize, DateTime<Utc>)],
    key: impl Fn(DateTime<Utc>) -> Option<String>,
) -> BTreeMap<String, (u64, u64)> {
    let mut people: BTreeMap<String, BTreeSet<(usize, NaiveDate)>> = BTreeMap::new();
    let mut views: BTreeMap<String, u64> = BTreeMap::new();
    for (p, t) in events {
        if let Some(k) = key(*t) {
            people
                .entry(k.clone())
                .or_default()
                .insert((*p, day_of(*t, london())));
            *views.entry(k).or_default() += 1;
        }
    }
    views
        .into_iter()
        .map(|(k, v)| (k.clone(), (people[&k].len() as u64, v)))
        .collect()
}

fn days(first: NaiveDate, last: NaiveDate) -> Query {
    Query::for_range_in(
        HOST,
        DateRange { first, last },
        london(),
        vec![Metric::Visitors, Metric::Pageviews, Metric::Visits],
        vec![],
    )
}

fn series(
    store: &dyn Store,
    q: &Query,
    interval: Interval,
    raw_from: NaiveDate,
) -> BTreeMap<String, (u64, u64)> {
    tiers::timeseries(store, q, interval, raw_from)
        .unwrap()
        .into_iter()
        .filter(|(_, t)| t.pageviews > 0)
        .map(|(at, t)| (interval.label(at, q.tz), (t.visitors, t.pageviews)))
        .collect()
}

fn zones_apply(s: &dyn Store, dir: &std::path::Path, zones: &[(String, Tz)]) -> Vec<String> {
    glasshouse_store::zones::apply(s, dir, zones).unwrap()
}

pub fn local_time_conformance(store: Arc<dyn Store>) {
    let events = sent();
    load(store.clone(), &events);
    let s = store.as_ref();
    let tz = london();
    let in_days = |first: NaiveDate, last: NaiveDate| {
        move |t: DateTime<Utc>| {
            let local = day_of(t, tz);
            (local >= first && local <= last).then(|| local.to_string())
        }
    };
    let raw_from = d(2020, 1, 1);
    for (first, last, change) in [
        (d(2026, 3, 28), d(2026, 3, 30), d(2026, 3, 29)),
        (d(2026, 10, 24), d(2026, 10, 26), d(2026, 10, 25)),
    ] {
        // Days from local midnight, each person a visitor once a day.
        let q = days(first, last);
        assert_eq!(q.from, day_start(first, tz));
        let want = oracle(&events, in_days(first, last));
        assert_eq!(
            series(s, &q, Interval::Day, raw_from),
            want,
            "days around {change}"
        );
        let total = s.aggregate(&q).unwrap();
        let visitors: u64 = want.values().map(|v| v.0).sum();
        assert_eq!(
            total.visitors, visitors,
            "a visitor per local day, {change}"
        );
        assert_eq!(
            total.visits, total.pageviews,
            "every page view its own visit"
        );
        // Hours of the day of the change, local: 23 or 25 of them.
        let one = days(change, change);
        let hours = oracle(&events, |t| {
            (day_of(t, tz) == change)
                .then(|| t.with_timezone(&tz).format("%Y-%m-%d %H:00:00").to_string())
        });
        assert_eq!(
            series(s, &one, Interval::Hour, raw_from),
            hours,
            "hours of {change}"
        );
        let span = one.until - one.from;
        let expected = if change.month() == 3 { 23 } else { 25 };
        assert_eq!(span, Duration::hours(expected));
    }
    // The repeated hour of 25 October is one bucket holding both.
    let autumn = days(d(2026, 10, 25), d(2026, 10, 25));
    let one_am = series(s, &autumn, Interval::Hour, raw_from)["2026-10-25 01:00:00"];
    let both = events
        .iter()
        .filter(|(_, t)| t.with_timezone(&tz).format("%Y-%m-%d %H").to_string() == "2026-10-25 01")
        .count() as u64;
    assert_eq!(one_am.1, both);
    let hours: BTreeSet<String> = events
        .iter()
        .filter(|(_, t)| t.with_timezone(&tz).format("%Y-%m-%d %H").to_string() == "2026-10-25 01")
        .map(|(_, t)| t.format("%H:%M UTC").to_string())
        .collect();
    assert_eq!(hours.len(), 2, "01:40 BST and 01:25 GMT: {hours:?}");

    // Roll-ups of local days answer as the raw events do.
    let spring = days(d(2026, 3, 27), d(2026, 3, 31));
    let raw = series(s, &spring, Interval::Day, raw_from);
    let raw_total = s.aggregate(&spring).unwrap();
    assert!(rollup::refresh(s, HOST, tz, d(2026, 3, 27), d(2026, 4, 1)).unwrap() >= 4);
    assert_eq!(
        series(s, &spring, Interval::Day, raw_from),
        raw,
        "from roll-ups"
    );
    let served = tiers::aggregate(s, &spring, raw_from).unwrap();
    assert_eq!(
        (served.visitors, served.pageviews),
        (raw_total.visitors, raw_total.pageviews),
        "visitors add up over local days"
    );

    // A site whose zone changes forgets its fresh roll-ups, so that its
    // closed days are rolled up again for the new zone's days.
    let dir = tempfile::tempdir().unwrap();
    let zones = |tz: Tz| vec![(HOST.to_string(), tz)];
    assert!(
        zones_apply(s, dir.path(), &zones(tz)).is_empty(),
        "first seen"
    );
    assert!(!s
        .fresh_rollup_days(HOST, d(2026, 3, 27), d(2026, 4, 1))
        .unwrap()
        .is_empty());
    assert_eq!(
        zones_apply(s, dir.path(), &zones(Tz::UTC)),
        vec![HOST.to_string()]
    );
    assert!(s
        .fresh_rollup_days(HOST, d(2026, 3, 27), d(2026, 4, 1))
        .unwrap()
        .is_empty());
    assert_eq!(
        zones_apply(s, dir.path(), &zones(tz)),
        vec![HOST.to_string()]
    );
    assert!(rollup::refresh(s, HOST, tz, d(2026, 3, 27), d(2026, 4, 1)).unwrap() >= 4);
    assert_eq!(
        series(s, &spring, Interval::Day, raw_from),
        raw,
        "rolled up again"
    );

    // Retention cuts at local midnight: 30 March begins at 23:00 UTC on the 29th.
    let cutoff = d(2026, 3, 30);
    let (_, deleted) = rollup::roll_up_and_delete(s, HOST, tz, cutoff, &|_| Ok(vec![])).unwrap();
    let before = events
        .iter()
        .filter(|(_, t)| *t < day_start(cutoff, tz))
        .count() as u64;
    assert_eq!(deleted, before);
    assert_eq!(s.count().unwrap(), events.len() as u64 - before);
    // Days now rolled up and deleted still answer the same.
    assert_eq!(
        series(s, &spring, Interval::Day, cutoff),
        raw,
        "after retention"
    );
}
