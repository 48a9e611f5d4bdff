//! Differential-privacy noise for figures one organisation shares with
//! another, and the monthly budget that bounds them (docs/architecture.md, promise 6).
//!
//! Noise comes from OpenDP's discrete Laplace mechanism (a vetted library;
//! nothing here draws floating-point noise by hand). The unit of privacy is
//! one daily visitor id: it changes each visitor count by at most one, so a
//! release of `n` visitor counts has L1 sensitivity `n`, and the mechanism's
//! own privacy map says how much ε the release spends. Only visitor counts
//! are released this way; other metrics have no such bound per visitor.

use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::L1Distance;

/// Why noise could not be added.
#[derive(Debug, thiserror::Error)]
#[error("differential privacy: {0}")]
pub struct DpError(String);

/// Counts with noise, and the ε the release spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Noised {
    /// The noisy counts, clamped at zero (post-processing costs nothing).
    pub counts: Vec<u64>,
    /// ε spent, as the mechanism's privacy map reports it.
    pub epsilon: f64,
}

/// Adds discrete Laplace noise to visitor counts so that the whole release
/// spends at most `epsilon`.
pub fn noisy_visitor_counts(counts: &[u64], epsilon: f64) -> Result<Noised, DpError> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(DpError(format!("ε must be above 0, not {epsilon}")));
    }
    let sensitivity = counts.len().max(1) as i64;
    let scale = sensitivity as f64 / epsilon;
    let measurement = make_laplace::<_, _, MaxDivergence>(
        VectorDomain::new(AtomDomain::<i64>::default()),
        L1Distance::<i64>::default(),
        scale,
        None,
    )
    .map_err(|e| DpError(e.to_string()))?;
    let spent = measurement
        .map(&sensitivity)
        .map_err(|e| DpError(e.to_string()))?;
    if spent > epsilon * (1.0 + 1e-9) {
        return Err(DpError(format!(
            "the release would spend ε = {spent}, above {epsilon}"
        )));
    }
    let input: Vec<i64> = counts
        .iter()
        .map(|&c| c.min(i64::MAX as u64) as i64)
        .collect();
    let noisy = measurement
        .invoke(&input)
        .map_err(|e| DpError(e.to_string()))?;
    Ok(Noised {
        counts: noisy.into_iter().map(|v| v.max(0) as u64).collect(),
        epsilon: spent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_added_and_the_spend_is_bounded() {
        let counts = vec![1000u64; 200];
        let out = noisy_visitor_counts(&counts, 1.0).unwrap();
        assert!(
            out.epsilon <= 1.0 + 1e-9 && out.epsilon > 0.5,
            "{}",
            out.epsilon
        );
        // Scale 200 (standard deviation 283): counts move, and the mean of
        // 200 stays near the truth (its standard deviation is 20; 6σ = 120,
        // so this fails about once in 10⁹ runs, but would at once if the
        // scale were ten times too large).
        assert!(out.counts.iter().any(|&c| c != 1000));
        let mean = out.counts.iter().sum::<u64>() as f64 / 200.0;
        assert!((mean - 1000.0).abs() < 120.0, "{mean}");
        let spread = out
            .counts
            .iter()
            .map(|&c| (c as f64 - 1000.0).abs())
            .sum::<f64>()
            / 200.0;
        assert!(
            (100.0..400.0).contains(&spread),
            "mean absolute noise {spread}, expected about 200"
        );
        assert!(noisy_visitor_counts(&counts, 0.0).is_err());
    }
}
