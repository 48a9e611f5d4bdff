//! The journeys conformance suite (`suite/journeys.rs`) on DuckDB.

mod suite;

use glasshouse_store::{DuckStore, Store};
use std::sync::Arc;
use suite::journeys::journeys_conformance;

#[test]
fn duckdb_passes_the_journeys_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(DuckStore::open(dir.path()).unwrap());
    journeys_conformance(store);
}
