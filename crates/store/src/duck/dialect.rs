//! DuckDB's spelling of the SQL the query model needs.

use crate::sql::Dialect;
use glasshouse_model::query::Interval;

/// DuckDB SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDialect;

impl Dialect for DuckDialect {
    fn count_if(&self, cond: &str) -> String {
        format!("count(*) FILTER (WHERE {cond})")
    }
    fn count_distinct(&self, expr: &str) -> String {
        format!("count(DISTINCT {expr})")
    }
    fn any(&self, expr: &str) -> String {
        format!("any_value({expr})")
    }
    fn arg_max_if(&self, value: &str, by: &str, cond: &str) -> String {
        format!("arg_max({value}, {by}) FILTER (WHERE {cond})")
    }
    fn arg_min_if(&self, value: &str, by: &str, cond: &str) -> String {
        format!("arg_min({value}, {by}) FILTER (WHERE {cond})")
    }
    fn seconds_between(&self, earlier: &str, later: &str) -> String {
        format!("date_diff('second', {earlier}, {later})")
    }
    fn prop_value(&self, key: &str) -> String {
        format!("prop_values[list_position(prop_keys, {key})]")
    }
    fn contains_ci(&self, hay: &str, needle: &str) -> String {
        format!("contains(lower({hay}), lower({needle}))")
    }
    fn regex_search(&self, hay: &str, pattern: &str) -> String {
        format!("regexp_matches({hay}, {pattern})")
    }
    fn bucket_micros(&self, interval: Interval, shift: &str) -> String {
        let unit = match interval {
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        };
        format!("epoch_us(date_trunc('{unit}', ts + to_microseconds(CAST({shift} AS BIGINT))))")
    }
    fn median(&self, expr: &str) -> String {
        format!("median({expr})")
    }
    fn decimal_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS VARCHAR)")
    }
    fn without(&self, expr: &str, c: char) -> String {
        format!("replace({expr}, '{c}', '')")
    }
    fn key_part(&self, key: &str, sep: char, i: usize, integer: bool) -> String {
        let part = format!("split_part({key}, '{sep}', {})", i + 1);
        if integer {
            format!("CAST({part} AS BIGINT)")
        } else {
            part
        }
    }
    fn epoch_micros(&self, ts: &str) -> String {
        format!("epoch_us({ts})")
    }
}
