//! The aggregates and roll-up conformance suites (`suite/`) on DuckDB.

mod suite;

use glasshouse_store::{DuckStore, Store};
use std::sync::Arc;
use suite::aggregates::{conformance, load};
use suite::rollup::rollup_conformance;

#[test]
fn duckdb_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(DuckStore::open(dir.path()).unwrap());
    conformance(store);
}

#[test]
fn duckdb_passes_the_rollup_suite() {
    let dir = tempfile::tempdir().unwrap();
    rollup_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
}

#[test]
fn duckdb_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let n = {
        let store: Arc<dyn Store> = Arc::new(DuckStore::open(dir.path()).unwrap());
        let (_, sent) = load(store.clone());
        sent.len() as u64
    };
    let store = DuckStore::open(dir.path()).unwrap();
    assert_eq!(store.count().unwrap(), n);
}

#[test]
fn duckdb_behind_the_log_commits_its_position_with_the_rows() {
    use glasshouse_store::row::{AsRow, Row, RowBatch};
    use glasshouse_store::wal::{Wal, WalOptions};
    let dir = tempfile::tempdir().unwrap();
    let store = DuckStore::open(dir.path()).unwrap();
    assert_eq!(store.logged_through().unwrap(), 0);
    let wal_dir = dir.path().join("wal");
    let mut wal = Wal::open(&wal_dir, WalOptions::default()).unwrap();
    let batches: Vec<Vec<Row>> = (0..3)
        .map(|_| {
            suite::aggregates::stored_batch(4)
                .iter()
                .map(|e| Row::from(e.row()))
                .collect()
        })
        .collect();
    for (i, rows) in batches.iter().enumerate() {
        assert_eq!(wal.append(i as u64, rows).unwrap(), i as u64 + 1);
    }
    // The first two reach DuckDB; the process dies before the log's own
    // mark is written.
    let shipped: Vec<RowBatch> = batches[..2]
        .iter()
        .enumerate()
        .map(|(i, rows)| RowBatch {
            id: i as u64,
            rows: rows.clone(),
        })
        .collect();
    store.append_logged(&shipped, 2).unwrap();
    drop((wal, store));
    let store = DuckStore::open(dir.path()).unwrap();
    assert_eq!(store.count().unwrap(), 8);
    assert_eq!(store.logged_through().unwrap(), 2);
    let options = WalOptions {
        store_has_through: store.logged_through().unwrap(),
        ..WalOptions::default()
    };
    let wal = Wal::open(&wal_dir, options).unwrap();
    let again = wal.reader().read(usize::MAX, u64::MAX).unwrap();
    assert_eq!(again.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![3]);
    let last: Vec<RowBatch> = again.into_iter().map(|l| l.batch).collect();
    store.append_logged(&last, 3).unwrap();
    assert_eq!(store.count().unwrap(), 12, "each event once");
    assert_eq!(store.logged_through().unwrap(), 3);
}

#[test]
fn a_query_after_the_acknowledgement_sees_the_event() {
    use glasshouse_store::ingest::IngestOptions;
    use glasshouse_store::wal::{Wal, WalOptions};
    use glasshouse_store::{Ingestor, Sessionizer};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(DuckStore::open(dir.path()).unwrap());
    let wal = Wal::open(&dir.path().join("wal"), WalOptions::default()).unwrap();
    let ingestor = Ingestor::start_logged(
        store.clone(),
        Sessionizer::default(),
        IngestOptions::default(),
        wal,
    );
    let mut sent = 0;
    for _ in 0..20 {
        let events: Vec<_> = suite::aggregates::stored_batch(5)
            .into_iter()
            .map(|e| e.event)
            .collect();
        sent += events.len() as u64;
        ingestor.ingest_blocking(events).unwrap();
        // Right after the 202: settled, and counted.
        assert!(ingestor.settle(std::time::Duration::from_secs(5)));
        assert!(!ingestor.unsettled());
        assert_eq!(store.count().unwrap(), sent);
    }
    ingestor.shutdown();
}

#[test]
fn a_roll_up_computed_while_a_late_event_arrives_is_not_marked_fresh() {
    use glasshouse_store::rollup;
    use glasshouse_store::row::{AsRow, Row, RowBatch};
    use suite::aggregates::{first_day, stored_batch, HOST};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(DuckStore::open(dir.path()).unwrap());
    load(store.clone());
    // Three days of traffic, then a batch five days on: five closed days.
    store.append(&stored_batch(3)).unwrap();
    let first = first_day();
    let day = |n: i64| first + chrono::Duration::days(n);
    assert_eq!(store.closed_before().unwrap(), Some(day(5)));
    assert_eq!(
        rollup::refresh(store.as_ref(), HOST, first, day(60)).unwrap(),
        5
    );
    assert_eq!(
        store.fresh_rollup_days(HOST, first, day(60)).unwrap(),
        (0..5).map(day).collect::<Vec<_>>()
    );
    // A late row for the second day, arriving while its roll-up is being
    // computed again.
    let seen = store.late_writes();
    let rows = rollup::compute(store.as_ref(), HOST, day(1)).unwrap();
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
        rollup::refresh(store.as_ref(), HOST, first, day(60)).unwrap(),
        2
    );
    let total = store.read_rollup(HOST, day(1), day(2), "total").unwrap();
    assert_eq!(total[0].pageviews, rows[0].pageviews + 1);
}
