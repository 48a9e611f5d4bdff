//! The private set intersection of two nodes, timed: both sides run here,
//! one after the other as the protocol's messages order them, on the
//! low-priority pool the nodes use (docs/benchmarks.md, "Federation").

use glasshouse_federation::psi::{self, Blinder, POINT_BYTES};
use std::time::Instant;

/// Elements as a node makes them: a 32-byte link id and an hour.
fn elements(n: usize, offset: usize) -> Vec<Vec<u8>> {
    (offset..offset + n)
        .map(|i| {
            let mut e = [0u8; 33].to_vec();
            e[..8].copy_from_slice(&(i as u64).to_be_bytes());
            e[32] = 9;
            e
        })
        .collect()
}

/// Runs an intersection of `a` and `b` elements sharing a tenth of `a`.
pub fn run(a: usize, b: usize) -> anyhow::Result<()> {
    let common = a / 10;
    let x = elements(a, 0);
    let y = elements(b, a - common);
    let threads = psi::pool().current_num_threads();
    let started = Instant::now();
    let (alice, bob) = (Blinder::fresh(), Blinder::fresh());
    let t = Instant::now();
    let sent = psi::encode(&alice.blind(b"bench", &x));
    let blind_a = t.elapsed();
    let t = Instant::now();
    let doubled = bob.reblind(&sent)?;
    let reblind_b = t.elapsed();
    let t = Instant::now();
    let theirs = psi::encode(&bob.blind(b"bench", &y));
    let blind_b = t.elapsed();
    let t = Instant::now();
    let mine = alice.reblind(&theirs)?;
    let count = psi::count_common(&mine, &doubled);
    let reblind_a = t.elapsed();
    let wall = started.elapsed();
    anyhow::ensure!(count == common as u64, "counted {count}, not {common}");
    let per = |d: std::time::Duration, n: usize| d.as_secs_f64() * 1e6 * threads as f64 / n as f64;
    let bytes = sent.len() + doubled.len() * POINT_BYTES + theirs.len();
    println!(
        "psi {a} x {b}: {:.1} s wall on {threads} threads; intersection {count}",
        wall.as_secs_f64()
    );
    println!(
        "  hash to group + multiply, per element per core: A {:.1} µs, B {:.1} µs",
        per(blind_a, a),
        per(blind_b, b)
    );
    println!(
        "  multiply again, per element per core: B {:.1} µs, A {:.1} µs (with the count)",
        per(reblind_b, a),
        per(reblind_a, b)
    );
    println!(
        "  exchanged {:.1} MB: {:.1} bytes per element of either set",
        bytes as f64 / 1e6,
        bytes as f64 / (a + b) as f64
    );
    Ok(())
}
