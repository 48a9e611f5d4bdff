//! Test support shared by the store's conformance suite and the server's
//! end-to-end tests.
//!
//! - `traffic`: reproducible traffic with known people, pages, sources and
//!   timing, including visits split by 30-minute gaps and returning visitors.
//! - `truth`: the aggregates that traffic must produce, computed here by
//!   plain loops over what was sent — never by SQL — so a test compares the
//!   store against an independent answer.
//! - `files`: every file under a directory, for the tests that prove no
//!   stored byte holds personal data.
//! - `process`: ports for servers under test, and a guard that stops them.

pub mod clickhouse;
pub mod cluster;
pub mod files;
pub mod journeys;
pub mod process;
pub mod signing;
pub mod smtp;
pub mod traffic;
pub mod truth;
