//! The choice between raw events and daily roll-ups (`glasshouse_store::
//! tiers`), against any back end: the same answers from raw events, from
//! fresh roll-ups of closed days, and once retention has deleted the raw
//! events of the first days; a question roll-ups cannot answer refused with
//! a reason, never answered wrong.

use super::aggregates::{first_day, load, HOST};
use chrono::{Duration, NaiveDate};
use glasshouse_model::query::{DateRange, Dimension, Filter, Interval, Metric, Query};
use glasshouse_store::{rollup, tiers, Store, StoreError, Totals};
use glasshouse_testkit::truth;
use std::sync::Arc;

fn day(i: i64) -> NaiveDate {
    first_day() + Duration::days(i)
}

fn period(first: i64, last: i64, filters: &str) -> Query {
    Query::for_range(
        HOST,
        DateRange {
            first: day(first),
            last: day(last),
        },
        Metric::COUNTS.to_vec(),
        Filter::parse_list(Some(filters)).expect("valid filters"),
    )
}

/// Every question the overview asks of the three days, answered through
/// the tiers with raw events kept from `raw_from`.
#[derive(Debug)]
struct Answers {
    total: Totals,
    series: Vec<Vec<(String, Totals)>>,
    rows: Vec<Vec<(String, Totals)>>,
    /// Pages with how they were read (scroll depth, time on page).
    read: Vec<(String, Totals)>,
}

const BY: [Dimension; 8] = [
    Dimension::Page,
    Dimension::EntryPage,
    Dimension::ExitPage,
    Dimension::Source,
    Dimension::Browser,
    Dimension::Device,
    Dimension::Region,
    Dimension::EventName,
];

fn answers(store: &dyn Store, raw_from: NaiveDate) -> Answers {
    let q = period(0, 2, "");
    let series = [Interval::Day, Interval::Week, Interval::Month]
        .into_iter()
        .map(|i| {
            tiers::timeseries(store, &q, i, raw_from)
                .expect("timeseries")
                .into_iter()
                .map(|(at, t)| (at.to_rfc3339(), t))
                .collect()
        })
        .collect();
    let rows = BY
        .iter()
        .map(|by| tiers::breakdown(store, &q, by, 1000, 0, raw_from).expect("breakdown"))
        .collect();
    let read = Query {
        metrics: Metric::ALL.to_vec(),
        ..q.clone()
    };
    Answers {
        total: tiers::aggregate(store, &q, raw_from).expect("aggregate"),
        series,
        rows,
        read: tiers::breakdown(store, &read, &Dimension::Page, 1000, 0, raw_from)
            .expect("pages read"),
    }
}

/// Every roll-up row of `day`: each property's, with its corrections.
fn every_row(store: &dyn Store, day: NaiveDate) -> Vec<rollup::RollupRow> {
    let keys = rollup::dimensions().into_iter().map(|(k, _)| k);
    let prefixes = ["", rollup::WHOLE, rollup::HALVES, rollup::BEFORE];
    std::iter::once("total")
        .chain(keys)
        .flat_map(|k| prefixes.map(|p| format!("{p}{k}")))
        .flat_map(|dim| {
            let next = day + Duration::days(1);
            store.read_rollup(HOST, day, next, &dim).unwrap()
        })
        .collect()
}

/// The same figures as the API reports them (rates and durations rounded,
/// as roll-ups keep them).
#[track_caller]
fn close(a: &Totals, b: &Totals, what: &str) {
    let reported = |t: &Totals| {
        (
            t.visitors,
            t.visits,
            t.pageviews,
            t.events,
            t.get(Metric::BounceRate) as u64,
            t.get(Metric::VisitDuration) as u64,
        )
    };
    assert_eq!(reported(a), reported(b), "{what}");
}

#[track_caller]
fn same_rows(a: &[(String, Totals)], b: &[(String, Totals)], what: &str) {
    let keys = |r: &[(String, Totals)]| {
        let mut k: Vec<String> = r.iter().map(|(k, _)| k.clone()).collect();
        k.sort();
        k
    };
    assert_eq!(keys(a), keys(b), "{what}: rows");
    for (k, t) in a {
        let other = &b.iter().find(|(o, _)| o == k).expect("same keys").1;
        close(t, other, &format!("{what} [{k}]"));
    }
}

#[track_caller]
fn same_answers(a: &Answers, b: &Answers, when: &str) {
    close(&a.total, &b.total, &format!("{when}: aggregate"));
    for (i, (x, y)) in a.series.iter().zip(&b.series).enumerate() {
        same_rows(x, y, &format!("{when}: timeseries {i}"));
    }
    for (by, (x, y)) in BY.iter().zip(a.rows.iter().zip(&b.rows)) {
        same_rows(x, y, &format!("{when}: breakdown by {by:?}"));
    }
    same_rows(&a.read, &b.read, &format!("{when}: pages read"));
    for (page, t) in &a.read {
        let o = &b
            .read
            .iter()
            .find(|(p, _)| p == page)
            .expect("same pages")
            .1;
        let near = |x: Option<f64>, y: Option<f64>| (x.unwrap() - y.unwrap()).abs() < 1e-6;
        assert!(
            near(t.scroll_depth, o.scroll_depth),
            "{when}: scroll depth of {page}: {t:?} / {o:?}"
        );
        assert!(
            near(t.time_on_page, o.time_on_page),
            "{when}: time on page of {page}"
        );
        assert_eq!(t.engaged, o.engaged, "{when}: engaged pairs of {page}");
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>, field: &str) {
    match r {
        Err(StoreError::Unanswerable(why)) => assert!(why.starts_with(field), "{why}"),
        other => panic!("expected a refusal naming {field}, got {other:?}"),
    }
}

/// The whole suite, against any back end.
pub fn tiers_conformance(store: Arc<dyn Store>) {
    let (_, sent) = load(store.clone());
    let s = store.as_ref();
    let all = truth::visits(&sent);
    let today = day(3);

    // Raw events only (nothing rolled up): the figures the events give.
    let raw = answers(s, day(0));
    let e = truth::totals(&all, |_| true, |_| true);
    assert_eq!(
        (raw.total.visitors, raw.total.visits, raw.total.pageviews),
        (e.visitors, e.visits, e.pageviews),
        "raw aggregate"
    );

    // The closed days (those before the newest day with events) rolled up
    // early: the same answers, read from the roll-ups and the last day's
    // raw events.
    assert_eq!(
        rollup::refresh(s, HOST, glasshouse_model::query::Tz::UTC, day(0), today).unwrap(),
        2
    );
    same_answers(&raw, &answers(s, day(0)), "fresh roll-ups");
    // Day 0's roll-up is read (day 1's stays with the raw part: it carries
    // the correction for visits over the midnight after it), except by a
    // breakdown by page, which reads day 1's roll-up too and corrects the
    // midnight after it from the raw events.
    let day1 = every_row(s, day(1));
    let mut doctored = day1.clone();
    let top = &raw.rows[0][0].0;
    doctored
        .iter_mut()
        .find(|r| r.dim == "page" && &r.value == top)
        .expect("the top page rolled up")
        .pageviews += 1000;
    s.replace_rollup(HOST, day(1), &doctored).unwrap();
    let q = period(0, 2, "");
    let pages = tiers::breakdown(s, &q, &Dimension::Page, 10, 0, day(0)).unwrap();
    assert_eq!(
        pages.iter().find(|(p, _)| p == top).unwrap().1.pageviews,
        raw.rows[0][0].1.pageviews + 1000,
        "a breakdown by page reads the last fresh day's roll-up"
    );
    assert_eq!(
        tiers::aggregate(s, &q, day(0)).unwrap().pageviews,
        raw.total.pageviews,
        "the totals read the last fresh day raw"
    );
    s.replace_rollup(HOST, day(1), &day1).unwrap();
    let kept = s.read_rollup(HOST, day(0), day(1), "total").unwrap();
    let mut doctored = kept.clone();
    doctored[0].pageviews += 1000;
    s.replace_rollup(HOST, day(0), &doctored).unwrap();
    assert_eq!(
        tiers::aggregate(s, &q, day(0)).unwrap().pageviews,
        raw.total.pageviews + 1000,
        "an unfiltered question reads the roll-ups"
    );
    // Times of day (v2's instants) are read from raw events, never from a
    // day's roll-up.
    let mut hours = q.clone();
    hours.from = q.from + Duration::hours(6);
    hours.until = q.until - Duration::hours(6);
    let read = tiers::aggregate(s, &hours, day(0)).unwrap();
    close(
        &read,
        &s.aggregate(&hours).unwrap(),
        "times of day read raw events",
    );
    assert!(read.pageviews > 0 && read.pageviews < raw.total.pageviews);
    same_rows(
        &tiers::breakdown(s, &hours, &Dimension::Page, 1000, 0, day(0)).unwrap(),
        &s.breakdown(&hours, &Dimension::Page, 1000, 0).unwrap(),
        "times of day by page",
    );
    let filtered = period(0, 2, "visit:device==Desktop");
    let by_raw = s.aggregate(&filtered).unwrap();
    close(
        &tiers::aggregate(s, &filtered, day(0)).unwrap(),
        &by_raw,
        "a filtered question reads raw events",
    );
    s.replace_rollup(HOST, day(0), &kept).unwrap();

    // Retention deletes the raw events of the first two days: unfiltered
    // questions answer the same from what is kept.
    let (days, _) =
        rollup::roll_up_and_delete(s, HOST, glasshouse_model::query::Tz::UTC, day(2), &|_| {
            Ok(vec![])
        })
        .unwrap();
    assert_eq!(days, 2);
    assert_eq!(
        s.oldest_event(HOST).unwrap().map(|t| t.date_naive()),
        Some(day(2))
    );
    same_answers(&raw, &answers(s, day(2)), "after retention");

    // What only raw events can answer is refused, naming the field.
    refused(tiers::aggregate(s, &filtered, day(2)), "filters");
    refused(tiers::timeseries(s, &q, Interval::Hour, day(2)), "interval");
    refused(
        tiers::breakdown(s, &q, &Dimension::OsVersion, 10, 0, day(2)),
        "property",
    );
    refused(tiers::raw_only(s, &q, day(2), "paths"), "period");
    refused(tiers::aggregate(s, &hours, day(2)), "date_range");
    // From the first raw day on, everything is answered as before.
    let last = period(2, 2, "visit:device==Desktop");
    close(
        &tiers::aggregate(s, &last, day(2)).unwrap(),
        &s.aggregate(&last).unwrap(),
        "filtered, raw days only",
    );
    let mut morning = last.clone();
    morning.filters.clear();
    morning.until = morning.from + Duration::hours(12);
    close(
        &tiers::aggregate(s, &morning, day(2)).unwrap(),
        &s.aggregate(&morning).unwrap(),
        "times of day, raw days only",
    );
}
