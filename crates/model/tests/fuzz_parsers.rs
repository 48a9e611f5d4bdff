//! Every Stats API parameter parser, fed random strings and random bytes:
//! never a panic, and every refusal names its field with a reason.
//!
//! `GLASSHOUSE_FUZZ_CASES` sets the number of cases (10^5 by default, as
//! the test command runs it; the benchmark command in docs/benchmarks.md
//! runs 10^6).

use chrono::NaiveDate;
use glasshouse_model::journey::{validate_steps, FunnelStep};
use glasshouse_model::query::{
    breakdown_offset, DateRange, Dimension, Filter, Interval, Metric, QueryError,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("GLASSHOUSE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn refused_well(e: &QueryError) -> bool {
    !e.field.is_empty() && !e.message.is_empty()
}

/// Strings near the grammar: pieces of real parameters, digits, signs and
/// separators, and arbitrary text.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("day".to_string()),
        Just("7d".to_string()),
        Just("custom".to_string()),
        Just("month".to_string()),
        Just("2026-05-04".to_string()),
        Just("+262142-12-31".to_string()),
        Just("-0001-01-01".to_string()),
        Just(",".to_string()),
        Just("event:page".to_string()),
        Just("visit:source".to_string()),
        Just("event:props:".to_string()),
        Just("==".to_string()),
        Just("!~".to_string()),
        Just("|".to_string()),
        Just("\\|".to_string()),
        Just(";".to_string()),
        Just("visitors".to_string()),
        "[0-9]{1,20}".prop_map(String::from),
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn stats_parameters_are_values_or_refusals(
        period in proptest::option::of(text()),
        date in proptest::option::of(text()),
        metrics in proptest::option::of(text()),
        filters in proptest::option::of(text()),
        property in text(),
        interval in text(),
        page in any::<usize>(),
        limit in any::<usize>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let today = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        match DateRange::parse(period.as_deref(), date.as_deref(), today) {
            Ok(r) => {
                prop_assert!(r.first <= r.last);
                // Everything derived from a range stays in range.
                let _ = (r.from(), r.until(), r.previous().from(), r.default_interval());
            }
            Err(e) => prop_assert!(refused_well(&e)),
        }
        if let Err(e) = Metric::parse_list(metrics.as_deref()) { prop_assert!(refused_well(&e)); }
        if let Err(e) = Filter::parse_list(filters.as_deref()) { prop_assert!(refused_well(&e)); }
        if let Err(e) = Dimension::parse(&property) { prop_assert!(refused_well(&e)); }
        if let Err(e) = Interval::parse(&interval) { prop_assert!(refused_well(&e)); }
        if let Err(e) = breakdown_offset(page, limit) { prop_assert!(refused_well(&e)); }
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = DateRange::parse(Some(&lossy), Some(&lossy), today);
        let _ = Filter::parse_list(Some(&lossy));
        if let Ok(steps) = serde_json::from_slice::<Vec<FunnelStep>>(&bytes) {
            let _ = validate_steps(&steps);
        }
    }
}
