//! The aggregate tier of retention, against any back end: a day rolled up
//! holds the figures the raw events gave, replacing a day replaces it, and
//! old roll-ups are deleted exactly.

use super::aggregates::{first_day, load, on_days, HOST};
use chrono::Duration;
use glasshouse_model::query::midnight;
use glasshouse_store::rollup;
use glasshouse_store::Store;
use glasshouse_testkit::truth;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rolls up the first two days of the traffic and checks what was kept.
pub fn rollup_conformance(store: Arc<dyn Store>) {
    let (_, sent) = load(store.clone());
    let all = truth::visits(&sent);
    let day = |i: u32| first_day() + Duration::days(i64::from(i));
    assert_eq!(
        store.oldest_event(HOST).unwrap().map(|t| t.date_naive()),
        Some(day(0))
    );
    assert_eq!(
        store
            .oldest_event("other.example")
            .unwrap()
            .map(|t| t.date_naive()),
        None
    );

    let older = sent.iter().filter(|s| s.ts < midnight(day(2))).count() as u64;
    assert_eq!(
        rollup::roll_up_and_delete(
            store.as_ref(),
            HOST,
            glasshouse_model::query::Tz::UTC,
            day(2),
            &|_| Ok(vec![])
        )
        .unwrap(),
        (2, older),
        "two days rolled up, their raw events deleted"
    );
    assert_eq!(
        store.oldest_event(HOST).unwrap().map(|t| t.date_naive()),
        Some(day(2))
    );

    // Each day's totals are the raw figures, bounces and durations as sums.
    let totals = store.read_rollup(HOST, day(0), day(3), "total").unwrap();
    assert_eq!(totals.len(), 2, "only rolled-up days");
    for (i, r) in (0u32..).zip(&totals) {
        let e = truth::totals(&on_days(&all, (i, i)), |_| true, |_| true);
        assert_eq!(r.day, day(i));
        assert_eq!(
            (r.visitors, r.visits, r.pageviews, r.events),
            (e.visitors, e.visits, e.pageviews, e.events),
            "day {i}"
        );
        assert_eq!(
            r.bounces,
            (e.bounce_rate * e.visits as f64 / 100.0).round() as u64
        );
        assert!((r.duration_sum - e.visit_duration * e.visits as f64).abs() < 1e-6);
    }

    // Per page, one day.
    let pages = store.read_rollup(HOST, day(0), day(1), "page").unwrap();
    let actual: BTreeMap<String, (u64, u64, u64)> = pages
        .iter()
        .map(|r| (r.value.clone(), (r.visitors, r.visits, r.pageviews)))
        .collect();
    let expected: BTreeMap<String, (u64, u64, u64)> =
        truth::by_event(&on_days(&all, (0, 0)), |e| Some(e.path.clone()))
            .into_iter()
            .map(|(k, e)| (k, (e.visitors, e.visits, e.pageviews)))
            .collect();
    assert_eq!(actual, expected, "pages of day 0");

    // Replacing a day replaces all of it, and is not added to it.
    store.replace_rollup(HOST, day(0), &pages).unwrap();
    assert_eq!(
        store.read_rollup(HOST, day(0), day(1), "page").unwrap(),
        pages
    );
    assert!(store
        .read_rollup(HOST, day(0), day(1), "total")
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .read_rollup(HOST, day(1), day(2), "total")
            .unwrap()
            .len(),
        1
    );

    // Deleting before day 1 deletes day 0's rows only.
    assert_eq!(
        store.delete_rollup_before(HOST, day(1)).unwrap(),
        pages.len() as u64
    );
    assert!(store
        .read_rollup(HOST, day(0), day(1), "page")
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .read_rollup(HOST, day(1), day(2), "total")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.delete_rollup_before("other.example", day(9)).unwrap(),
        0
    );

    // The same read after each kind of change sees the change (DuckDB
    // keeps what it read of the roll-ups until they change).
    let summed = |store: &dyn Store| {
        store
            .read_rollup_summed(HOST, day(0), day(2), "page")
            .unwrap()
            .into_iter()
            .map(|r| (r.value, r.pageviews))
            .collect::<BTreeMap<_, _>>()
    };
    let was = summed(store.as_ref());
    assert!(!was.is_empty());
    let mut more = store.read_rollup(HOST, day(1), day(2), "page").unwrap();
    for r in &mut more {
        r.pageviews += 1;
    }
    store.replace_rollup(HOST, day(1), &more).unwrap();
    let plus_one: BTreeMap<_, _> = was.iter().map(|(k, v)| (k.clone(), v + 1)).collect();
    assert_eq!(summed(store.as_ref()), plus_one, "after a day is replaced");
    store
        .replace_rollup_days(HOST, day(1), day(2), &[])
        .unwrap();
    assert!(summed(store.as_ref()).is_empty(), "after days are replaced");
    store
        .replace_rollup_days(HOST, day(1), day(2), &more)
        .unwrap();
    assert_eq!(summed(store.as_ref()), plus_one, "after days are written");
    store.delete_rollup_before(HOST, day(2)).unwrap();
    assert!(summed(store.as_ref()).is_empty(), "after retention");
}

/// Closed days' roll-ups are marked fresh; a late event unmarks its day and
/// the next, also when it arrives while a roll-up is being computed.
pub fn fresh_conformance(store: Arc<dyn Store>) {
    use super::aggregates::stored_batch;
    use glasshouse_store::row::{AsRow, Row, RowBatch};
    load(store.clone());
    // Three days of traffic, then a batch five days on: five closed days.
    store.append(&stored_batch(3)).unwrap();
    let first = first_day();
    let day = |n: i64| first + chrono::Duration::days(n);
    assert_eq!(store.closed_before().unwrap(), Some(day(5)));
    assert_eq!(
        rollup::refresh(
            store.as_ref(),
            HOST,
            glasshouse_model::query::Tz::UTC,
            first,
            day(60)
        )
        .unwrap(),
        5
    );
    assert_eq!(
        store.fresh_rollup_days(HOST, first, day(60)).unwrap(),
        (0..5).map(day).collect::<Vec<_>>()
    );
    // A late row for the second day, arriving while its roll-up is being
    // computed again.
    let seen = store.late_writes();
    let rows = rollup::compute(
        store.as_ref(),
        HOST,
        glasshouse_model::query::Tz::UTC,
        day(1),
    )
    .unwrap();
    let mut late = Row::from(stored_batch(1)[0].row());
    late.ts -= 4 * 86_400_000_000;
    store
        .append_rows(&[RowBatch {
            id: 1,
            rows: vec![late],
        }])
        .unwrap();
    assert!(!store
        .fresh_rollup_days(HOST, first, day(60))
        .unwrap()
        .contains(&day(1)));
    assert_ne!(store.late_writes(), seen);
    assert!(
        !store
            .replace_fresh_rollup(HOST, day(1), &rows, seen)
            .unwrap(),
        "a roll-up that misses the late row must not be marked fresh"
    );
    // Computed again, it is, with the next day (its correction for
    // visits over midnight depends on this one).
    assert_eq!(
        rollup::refresh(
            store.as_ref(),
            HOST,
            glasshouse_model::query::Tz::UTC,
            first,
            day(60)
        )
        .unwrap(),
        2
    );
    let total = store.read_rollup(HOST, day(1), day(2), "total").unwrap();
    assert_eq!(total[0].pageviews, rows[0].pageviews + 1);
}

/// A bulk load (`glasshouse import`): where the back end says it is
/// atomic, nothing of an abandoned load is stored; a committed load is
/// stored whole, and its rows on closed days take those days' roll-ups out
/// of use as a late row does.
pub fn bulk_conformance(store: Arc<dyn Store>) {
    use super::aggregates::{stored_batch, stored_batch_on};
    load(store.clone());
    store.append(&stored_batch(3)).unwrap();
    let first = first_day();
    let day = |n: i64| first + chrono::Duration::days(n);
    assert_eq!(
        rollup::refresh(
            store.as_ref(),
            HOST,
            glasshouse_model::query::Tz::UTC,
            first,
            day(60)
        )
        .unwrap(),
        5
    );
    let before = store.count().unwrap();

    let mut abandoned = store.bulk_load().unwrap();
    abandoned.append(stored_batch(7)).unwrap();
    abandoned.append(stored_batch(5)).unwrap();
    let atomic = abandoned.atomic();
    drop(abandoned);
    let after_abandon = store.count().unwrap();
    if atomic {
        assert_eq!(after_abandon, before);
    } else {
        // What was sent stays; what was still gathered is not sent.
        assert!((before..=before + 12).contains(&after_abandon));
    }
    // The store takes ordinary writes again once a load has ended.
    store.append(&stored_batch(1)).unwrap();

    let seen = store.late_writes();
    let mut bulk = store.bulk_load().unwrap();
    bulk.append(stored_batch_on(1, 4, &format!("https://{HOST}/late"), "x"))
        .unwrap();
    bulk.append(stored_batch(2)).unwrap();
    if atomic {
        assert!(
            store
                .fresh_rollup_days(HOST, first, day(60))
                .unwrap()
                .contains(&day(1)),
            "an uncommitted load changes nothing"
        );
    }
    bulk.commit().unwrap();
    assert_eq!(store.count().unwrap(), after_abandon + 1 + 6);
    let fresh = store.fresh_rollup_days(HOST, first, day(60)).unwrap();
    assert!(!fresh.contains(&day(1)) && !fresh.contains(&day(2)));
    assert!(fresh.contains(&day(0)) && fresh.contains(&day(3)));
    assert_ne!(store.late_writes(), seen);
    // Computed again, the day counts the loaded rows.
    rollup::refresh(
        store.as_ref(),
        HOST,
        glasshouse_model::query::Tz::UTC,
        first,
        day(60),
    )
    .unwrap();
    let late = store.read_rollup(HOST, day(1), day(2), "page").unwrap();
    assert_eq!(
        late.iter()
            .find(|r| r.value == "/late")
            .map(|r| r.pageviews),
        Some(4)
    );
}

/// A day with more pages than a roll-up keeps: the most viewed are kept,
/// the rest summed into `(other)`, and the day's page views all counted.
pub fn long_tail_conformance(store: Arc<dyn Store>) {
    let n = rollup::MAX_VALUES + 5;
    for chunk in super::aggregates::stored_pages(n).chunks(10_000) {
        store.append(chunk).unwrap();
    }
    let rows = rollup::compute(
        store.as_ref(),
        HOST,
        glasshouse_model::query::Tz::UTC,
        first_day() + Duration::days(5),
    )
    .unwrap();
    let pages: Vec<_> = rows.iter().filter(|r| r.dim == "page").collect();
    assert_eq!(pages.len(), rollup::MAX_VALUES + 1);
    let other = pages
        .iter()
        .find(|r| r.value == "(other)")
        .expect("(other)");
    assert_eq!(other.pageviews, 5);
    assert_eq!(pages.iter().map(|r| r.pageviews).sum::<u64>(), n as u64);
}
