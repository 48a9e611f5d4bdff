//! ClickHouse's spelling of the SQL the query model needs.
//!
//! Written to the SQL of ClickHouse 18.16 (Debian's package), which current
//! versions still accept. Timestamps are `Int64` microseconds since the epoch
//! (18.16 has no `DateTime64`), so time functions are integer arithmetic in
//! UTC, which is exactly what DuckDB's `date_trunc` on UTC timestamps gives.

use crate::sql::Dialect;
use glasshouse_model::query::Interval;

/// Microseconds in a second, an hour and a day.
const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// ClickHouse SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClickHouseDialect;

impl Dialect for ClickHouseDialect {
    fn count_if(&self, cond: &str) -> String {
        format!("countIf({cond})")
    }
    fn count_distinct(&self, expr: &str) -> String {
        // `uniq` is approximate; the suite, and the people reading the
        // numbers, expect exact counts.
        format!("uniqExact({expr})")
    }
    fn any(&self, expr: &str) -> String {
        format!("any({expr})")
    }
    fn arg_max_if(&self, value: &str, by: &str, cond: &str) -> String {
        // Gives '' rather than NULL when no row matches; every use treats
        // both as "none".
        format!("argMaxIf({value}, {by}, {cond})")
    }
    fn arg_min_if(&self, value: &str, by: &str, cond: &str) -> String {
        // '' where no row matches, as `arg_max_if`.
        format!("argMinIf({value}, {by}, {cond})")
    }
    fn seconds_between(&self, earlier: &str, later: &str) -> String {
        // Whole-second boundaries crossed, as DuckDB's date_diff counts them.
        format!("(intDiv({later}, {SECOND}) - intDiv({earlier}, {SECOND}))")
    }
    fn prop_value(&self, key: &str) -> String {
        // indexOf gives 0 for a missing key, and element 0 is ''.
        format!("prop_values[indexOf(prop_keys, {key})]")
    }
    fn contains_ci(&self, hay: &str, needle: &str) -> String {
        format!("(positionCaseInsensitiveUTF8({hay}, {needle}) > 0)")
    }
    fn regex_search(&self, hay: &str, pattern: &str) -> String {
        format!("match({hay}, {pattern})")
    }
    fn bucket_micros(&self, interval: Interval, shift: &str) -> String {
        let ts = format!("(ts + {shift})");
        match interval {
            Interval::Hour => format!("(intDiv({ts}, {HOUR}) * {HOUR})"),
            Interval::Day => format!("(intDiv({ts}, {DAY}) * {DAY})"),
            // The epoch was a Thursday: Monday is three days earlier.
            Interval::Week => {
                format!("((intDiv({ts}, {DAY}) - ((intDiv({ts}, {DAY}) + 3) % 7)) * {DAY})")
            }
            Interval::Month => format!(
                "(toInt64(toUInt16(toStartOfMonth(toDateTime(intDiv({ts}, {SECOND}), 'UTC')))) * {DAY})"
            ),
        }
    }
    fn median(&self, expr: &str) -> String {
        // `median` samples and `quantileExact` takes the upper middle value;
        // DuckDB averages the two middle values of an even count, so do that.
        let sorted = format!("arraySort(groupArray({expr}))");
        let n = format!("length(groupArray({expr}))");
        format!(
            "if({n} = 0, NULL, ({sorted}[intDiv({n} + 1, 2)] + {sorted}[intDiv({n}, 2) + 1]) / 2)"
        )
    }
    fn decimal_text(&self, expr: &str) -> String {
        format!("toString({expr})")
    }
    fn without(&self, expr: &str, c: char) -> String {
        format!("replaceAll({expr}, '{c}', '')")
    }
    fn key_part(&self, key: &str, sep: char, i: usize, integer: bool) -> String {
        let part = format!("splitByChar('{sep}', assumeNotNull({key}))[{}]", i + 1);
        if integer {
            format!("toInt64({part})")
        } else {
            part
        }
    }
    fn epoch_micros(&self, ts: &str) -> String {
        // `ts` is already an Int64 of microseconds.
        ts.to_string()
    }
    fn true_literal(&self) -> &'static str {
        "1"
    }
    fn nullable_double(&self, expr: &str) -> String {
        format!("CAST({expr} AS Nullable(Float64))")
    }
}
