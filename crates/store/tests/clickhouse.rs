//! The conformance suites on a real ClickHouse server, started here on
//! 127.0.0.1 with free ports and a temporary data directory, and stopped
//! when the test ends.
//!
//! The server is Debian's `clickhouse-server` (18.16) where `.ci/run`
//! installs it; a newer `clickhouse` binary works too. If none can be
//! started the tests fail, saying why — unless `GLASSHOUSE_SKIP_CLICKHOUSE=1`
//! is set, for machines that deliberately run DuckDB only.
//!
//! `GLASSHOUSE_CLICKHOUSE_PORT=8123` runs them against a server already
//! listening on that HTTP port of 127.0.0.1 instead (another version, or to
//! look at the tables afterwards); each test drops and recreates its
//! database there.

mod suite;

const HOST: &str = "test.example";

use chrono::Utc;
use glasshouse_model::query::{Dimension, Filter, FilterOp};
use glasshouse_store::{ClickHouseConfig, ClickHouseStore, Store};
use glasshouse_testkit::clickhouse::{execute, start, Server};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A store on a new, empty database.
fn fresh(server: &Server, database: &str) -> ClickHouseStore {
    drop_database(server.http_port, database);
    open(server, database)
}

fn open(server: &Server, database: &str) -> ClickHouseStore {
    let url = format!("clickhouse://127.0.0.1:{}/{database}", server.http_port);
    ClickHouseStore::open(ClickHouseConfig::from_url(&url).unwrap()).expect("store opens")
}

fn drop_database(port: u16, database: &str) {
    execute(port, &format!("DROP DATABASE IF EXISTS {database}"));
}

#[test]
fn clickhouse_passes_the_conformance_suite() {
    let Some(server) = start() else { return };
    let store = fresh(&server, "conformance");
    eprintln!("ClickHouse {}", store.server_version().unwrap());
    suite::aggregates::conformance(Arc::new(store));
}

#[test]
fn clickhouse_passes_the_rollup_suite() {
    let Some(server) = start() else { return };
    suite::rollup::rollup_conformance(Arc::new(fresh(&server, "rollup")));
}

#[test]
fn clickhouse_marks_fresh_roll_ups_and_a_late_event_unmarks_them() {
    let Some(server) = start() else { return };
    suite::rollup::fresh_conformance(Arc::new(fresh(&server, "fresh")));
}

#[test]
fn clickhouse_loads_in_bulk() {
    let Some(server) = start() else { return };
    suite::rollup::bulk_conformance(Arc::new(fresh(&server, "bulk")));
}

#[test]
fn clickhouse_rolls_up_a_long_tail_of_pages_into_other() {
    let Some(server) = start() else { return };
    suite::rollup::long_tail_conformance(Arc::new(fresh(&server, "tail")));
}

#[test]
fn clickhouse_counts_local_days_across_the_clock_changes() {
    let Some(server) = start() else { return };
    suite::local_time::local_time_conformance(Arc::new(fresh(&server, "local_time")));
}

#[test]
fn clickhouse_passes_the_tiers_suite() {
    let Some(server) = start() else { return };
    suite::tiers::tiers_conformance(Arc::new(fresh(&server, "tiers")));
}

#[test]
fn clickhouse_records_its_schema_version_and_refuses_a_newer() {
    let Some(server) = start() else { return };
    drop(fresh(&server, "versioned"));
    let answer = execute(
        server.http_port,
        "SELECT max(version) FROM versioned.schema_version",
    );
    assert_eq!(answer.trim(), glasshouse_store::SCHEMA_VERSION.to_string());
    drop(open(&server, "versioned"));

    // Tables of version 1, without the engagement columns: version 2 adds them.
    for statement in [
        "ALTER TABLE versioned.events DROP COLUMN scroll_depth",
        "ALTER TABLE versioned.events DROP COLUMN engagement_time",
        "ALTER TABLE versioned.rollup DROP COLUMN engaged",
        "ALTER TABLE versioned.rollup DROP COLUMN scroll_sum",
        "ALTER TABLE versioned.rollup DROP COLUMN engaged_seconds",
        "TRUNCATE TABLE versioned.schema_version",
        // A store of version 1 has never seen the steps after it claimed.
        "DROP TABLE versioned.migrating_to_2",
        "DROP TABLE versioned.migrating_to_3",
        "INSERT INTO versioned.schema_version (version) VALUES (1)",
    ] {
        execute(server.http_port, statement);
    }
    let store = open(&server, "versioned");
    store.append(&suite::aggregates::stored_batch(3)).unwrap();
    assert_eq!(store.count().unwrap(), 3);
    drop(store);
    let columns = execute(
        server.http_port,
        "SELECT count() FROM system.columns WHERE database = 'versioned' AND table = 'events' AND name IN ('scroll_depth', 'engagement_time')",
    );
    assert_eq!(columns.trim(), "2");
    let columns = execute(
        server.http_port,
        "SELECT count() FROM system.columns WHERE database = 'versioned' AND table = 'rollup' AND name IN ('engaged', 'scroll_sum', 'engaged_seconds')",
    );
    assert_eq!(columns.trim(), "3");
    let answer = execute(
        server.http_port,
        "SELECT max(version) FROM versioned.schema_version",
    );
    assert_eq!(answer.trim(), glasshouse_store::SCHEMA_VERSION.to_string());

    execute(
        server.http_port,
        "INSERT INTO versioned.schema_version (version) VALUES (99)",
    );
    let url = format!("clickhouse://127.0.0.1:{}/versioned", server.http_port);
    match ClickHouseStore::open(ClickHouseConfig::from_url(&url).unwrap()) {
        Err(glasshouse_store::StoreError::Newer { found: 99, .. }) => {}
        Err(e) => panic!("expected Newer, got {e}"),
        Ok(_) => panic!("opened a store of a newer schema"),
    }
}

#[test]
fn clickhouse_passes_the_journeys_suite() {
    let Some(server) = start() else { return };
    suite::journeys::journeys_conformance(Arc::new(fresh(&server, "journeys")));
}

#[test]
fn clickhouse_keeps_data_across_reopen_and_counts_a_retried_batch_once() {
    let Some(server) = start() else { return };
    let store: Arc<dyn Store> = Arc::new(fresh(&server, "retries"));
    let (_, sent) = suite::aggregates::load(store.clone());
    let n = sent.len() as u64;
    assert_eq!(store.count().unwrap(), n);

    // A second store on the same database (a restart) sees the same rows.
    let again = open(&server, "retries");
    assert_eq!(again.count().unwrap(), n);

    // The same batch sent twice — a retry after a lost answer — is stored once.
    let batch = suite::aggregates::stored_batch(20);
    again.append(&batch).unwrap();
    again.append(&batch).unwrap();
    store.append(&batch).unwrap();
    assert_eq!(again.count().unwrap(), n + 20);
    // A batch that is cut short is completed by its retry, not doubled.
    let longer = suite::aggregates::stored_batch(30);
    again.append(&longer[..10]).unwrap();
    again.append(&longer).unwrap();
    again.append(&longer).unwrap();
    assert_eq!(again.count().unwrap(), n + 20 + 10 + 30);
}

#[test]
fn clickhouse_binds_hostile_values_as_plain_text() {
    let Some(server) = start() else { return };
    let store = fresh(&server, "hostile");
    let hostile = [
        "'; DROP TABLE events; --",
        "\\",
        "\\'",
        "a\nb\tc\0d",
        "Ünïcödé ✓ 漢字",
        "$1",
        "/x' OR '1'='1",
    ];
    // Stored values come back as they went in, and match themselves only.
    let mut stored = 0;
    for (i, value) in hostile.iter().enumerate() {
        let batch =
            suite::aggregates::stored_batch_at(i + 1, &format!("https://{HOST}/p{i}"), value);
        store.append(&batch).unwrap();
        stored += i as u64 + 1;
    }
    let rows = store
        .breakdown(
            &suite::aggregates::batch_day_query(vec![]),
            &Dimension::EventProp("form".into()),
            100,
            0,
        )
        .unwrap();
    let by_value: BTreeMap<String, u64> = rows.into_iter().map(|(k, t)| (k, t.events)).collect();
    for (i, value) in hostile.iter().enumerate() {
        let scrubbed = by_value
            .iter()
            .find(|(_, n)| **n == i as u64 + 1)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| panic!("{value:?} stored: {by_value:?}"));
        let only = |op, v: &str| Filter {
            dimension: Dimension::EventProp("form".into()),
            op,
            values: vec![v.to_string()],
        };
        let q = suite::aggregates::batch_day_query(vec![only(FilterOp::Is, &scrubbed)]);
        assert_eq!(
            store.aggregate(&q).unwrap().events,
            i as u64 + 1,
            "{value:?}"
        );
    }
    // As query values they match nothing and break nothing.
    for value in hostile {
        let filters = [
            (Dimension::Page, FilterOp::Is, value.to_string()),
            (Dimension::Page, FilterOp::Is, format!("{value}*")),
            (Dimension::Page, FilterOp::Contains, value.to_string()),
            (
                Dimension::EventProp(value.into()),
                FilterOp::Is,
                value.to_string(),
            ),
        ];
        for (dimension, op, v) in filters {
            let f = Filter {
                dimension,
                op,
                values: vec![v],
            };
            let q = suite::aggregates::batch_day_query(vec![f]);
            assert_eq!(store.aggregate(&q).unwrap().events, 0, "{value:?}");
        }
        assert_eq!(store.current_visitors(value, Utc::now()).unwrap(), 0);
        assert_eq!(store.delete_before(value, Utc::now()).unwrap(), 0);
    }
    assert_eq!(store.count().unwrap(), stored, "the table is intact");
}

#[test]
fn logged_batches_are_stored_once_however_a_replay_groups_them() {
    use glasshouse_store::{AsRow, Row, RowBatch};
    let Some(server) = start() else { return };
    let store = fresh(&server, "replay");
    let rows: Vec<Row> = suite::aggregates::stored_batch(40)
        .iter()
        .map(|e| Row::from(e.row()))
        .collect();
    let batch = |id: u64, r: &[Row]| RowBatch {
        id,
        rows: r.to_vec(),
    };
    let (a, b, c) = (
        batch(101, &rows[..10]),
        batch(102, &rows[10..25]),
        batch(103, &rows[25..]),
    );
    // Shipped as one insert, answer lost; then again grouped differently
    // (a restart reads the log in other chunks), then all at once.
    store
        .append_rows(&[a.clone(), b.clone()])
        .expect("first attempt");
    store.append_rows(std::slice::from_ref(&a)).unwrap();
    store.append_rows(&[b.clone(), c.clone()]).unwrap();
    store.append_rows(&[a, b, c.clone()]).unwrap();
    assert_eq!(store.count().unwrap(), 40);
    // The same rows under a new id are a new batch.
    store.append_rows(&[batch(104, &c.rows)]).unwrap();
    assert_eq!(store.count().unwrap(), 55);
    // And they read back as the stored events they came from.
    let day = store
        .aggregate(&suite::aggregates::batch_day_query(vec![]))
        .unwrap();
    assert_eq!(day.pageviews, 55);
}

#[test]
fn clickhouse_drops_raw_events_past_the_ttl_backstop_where_the_server_has_ttls() {
    use glasshouse_store::row::{AsRow, Row, RowBatch};
    let Some(server) = start() else { return };
    let store = fresh(&server, "ttl");
    let version = store.server_version().unwrap();
    let set = store.set_retention_backstop(37).unwrap();
    if !glasshouse_store::clickhouse::schema::has_ttl(&version) {
        // 18.16 has no TTL: the retention task alone deletes (tested there).
        assert!(!set, "no TTL claimed on {version}");
        return;
    }
    assert!(set, "a TTL set on {version}");
    // Rows 60 days old and rows of now; a merge applies the TTL.
    let now = chrono::Utc::now().timestamp_micros();
    let row = |ts: i64| {
        let mut r = Row::from(suite::aggregates::stored_batch(1)[0].row());
        r.ts = ts;
        r
    };
    store
        .append_rows(&[RowBatch {
            id: 1,
            rows: vec![row(now - 60 * 86_400_000_000), row(now), row(now - 1)],
        }])
        .unwrap();
    execute(server.http_port, "OPTIMIZE TABLE ttl.events FINAL");
    assert_eq!(
        store.count().unwrap(),
        2,
        "the 60-day-old row is gone on {version}"
    );
}
