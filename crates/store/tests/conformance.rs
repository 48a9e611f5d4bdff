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
