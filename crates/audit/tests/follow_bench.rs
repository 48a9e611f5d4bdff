//! How long the public register's "verified" costs as the log grows: the
//! whole log checked (`verify_dir`, as on every change before) against only
//! what was appended (`Follower`). A benchmark, run by hand
//! (docs/benchmarks.md); the log is built in /dev/shm where there is one, so
//! the appends' fsyncs do not dominate.

mod common;

use common::{entry, log_with};
use glasshouse_audit::key::Verifier;
use glasshouse_audit::{verify_dir, Follower};
use std::time::Instant;

#[test]
#[ignore = "a benchmark: cargo test --release -p glasshouse-audit --test follow_bench -- --ignored --nocapture"]
fn verifying_the_new_part_costs_what_was_appended() {
    let n: u64 = std::env::var("GLASSHOUSE_AUDIT_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let started = Instant::now();
    let log = log_with(dir.path(), n);
    println!(
        "{n} entries appended in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let key = Verifier::from_key_string(&log.verifier_key()).unwrap();
    let mut follower = Follower::new(dir.path(), key);
    let started = Instant::now();
    assert_eq!(follower.advance(), Ok(n));
    println!(
        "follower, first (whole log): {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let mut whole = Vec::new();
    let mut tail = Vec::new();
    for i in 0..20 {
        log.append(&entry(n + i)).unwrap();
        let started = Instant::now();
        assert_eq!(follower.advance(), Ok(n + i + 1));
        tail.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        assert_eq!(verify_dir(dir.path(), None).unwrap().size, n + i + 1);
        whole.push(started.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "after one append: verify_dir {:.3} s, follower {:.6} s (medians of 20, alternating)",
        median(&mut whole),
        median(&mut tail)
    );
}
