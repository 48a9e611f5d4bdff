//! The conformance suites, written once and run against every back end:
//! `tests/conformance.rs` and `tests/journeys.rs` run them on DuckDB,
//! `tests/clickhouse.rs` on a real ClickHouse server.

// Each test binary runs only the suites it needs.
#![allow(dead_code)]

pub mod aggregates;
pub mod conditions;
pub mod journeys;
pub mod local_time;
pub mod rollup;
pub mod tiers;
pub mod whole_visit;
