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
fn duckdb_counts_local_days_across_the_clock_changes() {
    let dir = tempfile::tempdir().unwrap();
    suite::local_time::local_time_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
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
fn duckdb_rolls_up_a_long_tail_of_pages_into_other() {
    let dir = tempfile::tempdir().unwrap();
    suite::rollup::long_tail_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
}

#[test]
fn duckdb_marks_fresh_roll_ups_and_a_late_event_unmarks_them() {
    let dir = tempfile::tempdir().unwrap();
    suite::rollup::fresh_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
}

#[test]
fn duckdb_loads_in_bulk_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    suite::rollup::bulk_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
}

#[test]
fn duckdb_passes_the_tiers_suite() {
    let dir = tempfile::tempdir().unwrap();
    suite::tiers::tiers_conformance(Arc::new(DuckStore::open(dir.path()).unwrap()));
}

#[test]
fn duckdb_records_its_schema_version_migrates_an_older_file_and_refuses_a_newer() {
    use glasshouse_store::{StoreError, SCHEMA_VERSION};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(glasshouse_store::duck::DATABASE_FILE);
    let version = |file: &std::path::Path| -> Option<u32> {
        let c = duckdb::Connection::open(file).unwrap();
        c.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .unwrap()
    };
    drop(DuckStore::open(dir.path()).unwrap());
    assert_eq!(version(&file), Some(SCHEMA_VERSION));

    // A file from before versions were recorded, and before journeys were
    // stored: migrated once, on open.
    {
        let c = duckdb::Connection::open(&file).unwrap();
        c.execute_batch(
            "DROP TABLE schema_version; ALTER TABLE events DROP COLUMN prev_page; \
             ALTER TABLE events DROP COLUMN scroll_depth; ALTER TABLE events DROP COLUMN engagement_time; \
             DROP TABLE rollup_pages; \
             INSERT INTO rollup VALUES ('a.example', DATE '2026-01-05', 'page', '/x', 3, 3, 4, 4, 1, 9.0, 0, 0, 0), \
                 ('a.example', DATE '2026-01-05', 'total', '', 5, 5, 6, 6, 2, 9.0, 0, 0, 0);",
        )
        .unwrap();
    }
    let store = DuckStore::open(dir.path()).unwrap();
    // Page-level roll-ups written into the one table of version 2 moved
    // to their own, and read back from there.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let read = |dim: &str| {
        store
            .read_rollup("a.example", day, day.succ_opt().unwrap(), dim)
            .unwrap()
    };
    assert_eq!(
        read("page")
            .iter()
            .map(|r| (&*r.value, r.visitors))
            .collect::<Vec<_>>(),
        [("/x", 3)]
    );
    assert_eq!(
        read("total").iter().map(|r| r.visitors).collect::<Vec<_>>(),
        [5]
    );
    // Written into a file whose columns are in another order than a new one's.
    store.append(&suite::aggregates::stored_pages(3)).unwrap();
    store.bulk_load().unwrap().commit().unwrap();
    assert_eq!(store.count().unwrap(), 3);
    drop(store);
    assert_eq!(version(&file), Some(SCHEMA_VERSION));
    let c = duckdb::Connection::open(&file).unwrap();
    let engagement: i64 = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('events') WHERE name IN ('scroll_depth', 'engagement_time')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(engagement, 2);
    let pages_left: i64 = c
        .query_row("SELECT count(*) FROM rollup WHERE dim = 'page'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        pages_left, 0,
        "page roll-ups left in the table of the other properties"
    );
    drop(c);

    {
        let c = duckdb::Connection::open(&file).unwrap();
        c.execute_batch("UPDATE schema_version SET version = 99")
            .unwrap();
    }
    match DuckStore::open(dir.path()) {
        Err(StoreError::Newer { found: 99, known }) => assert_eq!(known, SCHEMA_VERSION),
        Err(e) => panic!("expected Newer, got {e}"),
        Ok(_) => panic!("opened a store of a newer schema"),
    }
}
