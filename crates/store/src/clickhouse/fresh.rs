//! Fresh roll-ups on ClickHouse (see `crate::fresh`): which closed days'
//! roll-ups may stand in for their raw events.
//!
//! ClickHouse has no transaction to delete a day's mark together with a
//! late row, so marks are versioned instead, as the roll-ups are: each
//! write of a day's mark is a row `(site, day, fresh, version)` and the
//! latest version decides.
//!
//! - A roll-up is marked with the time just before its raw events were
//!   read ([`crate::Store::late_writes`] returns that time).
//! - A late row is followed, once inserted, by an unmark of its day and the
//!   next, versioned with the time after the insert. So a roll-up read
//!   before the row was stored loses to the unmark, whichever is written
//!   first, and a roll-up read after it sees the row. An unmark also goes
//!   before the insert, so a crash between the two leaves no stale mark.
//!
//! This holds across glasshouse processes writing to one database, as long
//! as their clocks agree to well under the time a roll-up takes.

use super::schema::Layout;
use crate::sql::{Param, Sql};
use chrono::NaiveDate;
use std::collections::BTreeSet;

/// Statements creating the table; idempotent.
pub fn create(database: &str, layout: &Layout) -> Vec<String> {
    super::schema::aggregate_table(
        database,
        layout,
        "rollup_fresh",
        "site String, day Date, fresh UInt8, version UInt64",
        "PARTITION BY toYYYYMM(day) ORDER BY (site, day, version)",
    )
}

/// The insert statement and its `JSONEachRow` body: `fresh` for each
/// `(site, day)`, all at `version`.
pub fn mark(days: &BTreeSet<(String, NaiveDate)>, fresh: bool, version: u64) -> (String, String) {
    let mut body = String::new();
    for (site, day) in days {
        let line = serde_json::json!({
            "site": site, "day": day.to_string(), "fresh": u8::from(fresh), "version": version,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    (
        "INSERT INTO rollup_fresh (site, day, fresh, version) FORMAT JSONEachRow".into(),
        body,
    )
}

/// The days of `site` in `[from, until)` whose latest mark is fresh.
pub fn days_sql(site: &str, from: NaiveDate, until: NaiveDate) -> Sql {
    Sql {
        text: "SELECT toString(day) FROM rollup_fresh \
               WHERE site = $1 AND day >= toDate($2) AND day < toDate($3) \
               GROUP BY day HAVING argMax(fresh, version) = 1 ORDER BY day"
            .into(),
        params: vec![
            Param::Text(site.into()),
            Param::Text(from.to_string()),
            Param::Text(until.to_string()),
        ],
    }
}

/// Whether `site`'s `day` is marked fresh now.
pub fn is_fresh_sql(site: &str, day: NaiveDate) -> Sql {
    Sql {
        text:
            "SELECT argMax(fresh, version) FROM rollup_fresh WHERE site = $1 AND day = toDate($2)"
                .into(),
        params: vec![Param::Text(site.into()), Param::Text(day.to_string())],
    }
}

/// The newest stored event's UTC day, as days since 1970-01-01 (whatever
/// the server's time zone), and whether there is any.
pub const NEWEST_DAY: &str = "SELECT count(), intDiv(max(ts), 86400000000) FROM events";

/// The summed roll-up rows of `site` for `dim` over `[from, until)`,
/// latest versions: one row per value, dated `from`, in the columns of
/// `rollup::read_sql`.
pub fn summed_sql(site: &str, from: NaiveDate, until: NaiveDate, dim: &str) -> Sql {
    let days = "day >= toDate($2) AND day < toDate($3)";
    Sql {
        text: format!(
            "SELECT $1, $2, $4, value, sum(visitors), sum(visits), sum(pageviews), sum(events), sum(bounces), sum(duration_sum), \
             sum(engaged), sum(scroll_sum), sum(engaged_seconds) \
             FROM rollup WHERE site = $1 AND {days} AND dim = $4 AND {} GROUP BY value ORDER BY value",
            super::rollup::latest("$1", days)
        ),
        params: vec![
            Param::Text(site.into()),
            Param::Text(from.to_string()),
            Param::Text(until.to_string()),
            Param::Text(dim.into()),
        ],
    }
}
