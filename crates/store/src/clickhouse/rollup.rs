//! The aggregate tier on ClickHouse: daily roll-ups without any visitor id
//! (see `crate::rollup`), with replacement and no transactions.
//!
//! DuckDB replaces a day's rows in one transaction. ClickHouse has none, so
//! each write of a day carries a new `version` and readers take only the
//! latest version of each day: a day is seen whole before or whole after a
//! replacement, never half of each. A single insert of one day is one part
//! (one monthly partition), so it appears all at once. Older versions are
//! then deleted by a mutation in the background.

use super::schema::Layout;
use crate::sql::{Param, Sql};
use crate::RollupRow;
use chrono::NaiveDate;

/// Columns in insert order, with their types.
const COLUMNS: [(&str, &str); 14] = [
    ("site", "String"),
    ("day", "Date"),
    ("dim", "String"),
    ("value", "String"),
    ("visitors", "UInt64"),
    ("visits", "UInt64"),
    ("pageviews", "UInt64"),
    ("events", "UInt64"),
    ("bounces", "UInt64"),
    ("duration_sum", "Float64"),
    ("version", "UInt64"),
    ("engaged", "UInt64"),
    ("scroll_sum", "Float64"),
    ("engaged_seconds", "Float64"),
];

/// Columns version 2 added (after `version`, where `ADD COLUMN` puts them).
pub const ADDED_IN_2: [(&str, &str); 3] = [
    ("engaged", "UInt64"),
    ("scroll_sum", "Float64"),
    ("engaged_seconds", "Float64"),
];

/// Statements creating the table; idempotent.
pub fn create(database: &str, layout: &Layout) -> Vec<String> {
    let columns = COLUMNS
        .iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ");
    let order = "PARTITION BY toYYYYMM(day) ORDER BY (site, dim, day, value)";
    super::schema::aggregate_table(database, layout, "rollup", &columns, order)
}

/// The condition keeping only the latest version of each day of `site`
/// (placeholder `site`) among days matching `days`.
pub(super) fn latest(site: &str, days: &str) -> String {
    format!(
        "(day, version) GLOBAL IN (SELECT day, max(version) FROM rollup WHERE site = {site} AND {days} GROUP BY day)"
    )
}

/// Rows of `site` for `dim` on days in `[from, until)`, latest versions.
pub fn read_sql(site: &str, from: NaiveDate, until: NaiveDate, dim: &str) -> Sql {
    let days = "day >= toDate($2) AND day < toDate($3)";
    Sql {
        text: format!(
            "SELECT site, toString(day), dim, value, visitors, visits, pageviews, events, bounces, duration_sum, \
             engaged, scroll_sum, engaged_seconds \
             FROM rollup WHERE site = $1 AND {days} AND dim = $4 AND {} ORDER BY day, value",
            latest("$1", days)
        ),
        params: vec![
            Param::Text(site.into()),
            Param::Text(from.to_string()),
            Param::Text(until.to_string()),
            Param::Text(dim.into()),
        ],
    }
}

/// Number of current rows of `site` before `day`.
pub fn count_before_sql(site: &str, day: NaiveDate) -> Sql {
    let days = "day < toDate($2)";
    Sql {
        text: format!(
            "SELECT count() FROM rollup WHERE site = $1 AND {days} AND {}",
            latest("$1", days)
        ),
        params: vec![Param::Text(site.into()), Param::Text(day.to_string())],
    }
}

/// Number of rows of `site` on `day` older than `version`.
pub fn count_older_sql(site: &str, day: NaiveDate, version: u64) -> Sql {
    Sql {
        text: format!(
            "SELECT count() FROM rollup WHERE site = $1 AND day = toDate($2) AND version < {version}"
        ),
        params: vec![Param::Text(site.into()), Param::Text(day.to_string())],
    }
}

/// The condition of rows of `site` on `day` older than `version`, for a deletion.
pub fn older(site: &str, day: NaiveDate, version: u64) -> (String, Vec<Param>) {
    (
        format!("site = $1 AND day = toDate($2) AND version < {version}"),
        vec![Param::Text(site.into()), Param::Text(day.to_string())],
    )
}

/// The condition of rows of `site` on days in `[from, until)` older than
/// `version`, for a deletion.
pub fn older_between(
    site: &str,
    from: NaiveDate,
    until: NaiveDate,
    version: u64,
) -> (String, Vec<Param>) {
    (
        format!("site = $1 AND day >= toDate($2) AND day < toDate($3) AND version < {version}"),
        vec![
            Param::Text(site.into()),
            Param::Text(from.to_string()),
            Param::Text(until.to_string()),
        ],
    )
}

/// The condition of rows of `site` before `day`, for a deletion.
pub fn before(site: &str, day: NaiveDate) -> (String, Vec<Param>) {
    (
        "site = $1 AND day < toDate($2)".into(),
        vec![Param::Text(site.into()), Param::Text(day.to_string())],
    )
}

/// The insert statement and its `JSONEachRow` body.
pub fn insert(rows: &[RollupRow], version: u64) -> (String, String) {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let mut body = String::new();
    for r in rows {
        let line = serde_json::json!({
            "site": r.site, "day": r.day.to_string(), "dim": r.dim, "value": r.value,
            "visitors": r.visitors, "visits": r.visits, "pageviews": r.pageviews,
            "events": r.events, "bounces": r.bounces, "duration_sum": r.duration_sum,
            "engaged": r.engaged, "scroll_sum": r.scroll_sum, "engaged_seconds": r.engaged_seconds,
            "version": version,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    (
        format!(
            "INSERT INTO rollup ({}) FORMAT JSONEachRow",
            names.join(", ")
        ),
        body,
    )
}
