//! Imported history: the daily aggregates of another product's export
//! (Plausible's CSV files, read by `glasshouse import-history`), kept in the
//! roll-up tier and added to an answer only when it asks for them
//! (`with_imported` in v1, `include.imports` in v2), as Plausible does.
//!
//! Imported rows are [`RollupRow`]s stored under the site's imported key
//! ([`key`]: the host and [`MARK`]), so that they are marked as imported in
//! the store itself, never mistaken for the site's own roll-ups, replaced
//! or deleted whole, and removed by the same aggregate retention. An import
//! covers only days before the site's own data starts (the importer cuts
//! it there), so a day is never counted from both.
//!
//! Imported days are daily totals per property, like any roll-up: an answer
//! includes them only when no filter, no hourly bucket and no property the
//! export lacks is involved; otherwise it says why they were left out
//! ([`Skip`], Plausible's `imports_skip_reason`).

use crate::rollup::{self, RollupRow};
use crate::{goals, Store, StoreError, Totals};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use glasshouse_model::query::{Dimension, Interval, Metric, Query};
use std::collections::HashMap;

/// What follows a host in the key its imported rows are stored under; no
/// host can contain it.
pub const MARK: &str = "#imported";

/// The key `site`'s imported rows are stored under.
pub fn key(site: &str) -> String {
    format!("{site}{MARK}")
}

/// The roll-up properties an import can fill (result keys of
/// [`rollup::dimensions`]; transitions between pages are not exported).
pub const PROPERTIES: [&str; 14] = [
    "page",
    "entry_page",
    "exit_page",
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "browser",
    "os",
    "device",
    "country",
    "region",
    "name",
];

/// Whether imported days can answer `m`: the counts every roll-up keeps,
/// and the engagement of pages.
fn answers(m: &Metric) -> bool {
    Metric::COUNTS.contains(m) || m.is_engagement()
}

/// Why imported days were left out of an answer that asked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The site has no imported history.
    NoImportedData,
    /// The period holds no imported day.
    OutOfRange,
    /// A filter, a metric or a property the imported days do not keep.
    UnsupportedQuery,
    /// Hourly buckets: imported days are daily.
    UnsupportedInterval,
}

impl Skip {
    /// Plausible's name for it (`meta.imports_skip_reason`).
    pub fn name(self) -> &'static str {
        match self {
            Skip::NoImportedData => "no_imported_data",
            Skip::OutOfRange => "out_of_range",
            Skip::UnsupportedQuery => "unsupported_query",
            Skip::UnsupportedInterval => "unsupported_interval",
        }
    }
}

/// Whether, and over which days, one question reads imported days.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Imported days `[from, until)` added to the answer, if any.
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// Why they were not, when they were asked for.
    pub skip: Option<Skip>,
}

impl Plan {
    /// Imported days not asked for.
    pub const NONE: Plan = Plan {
        days: None,
        skip: None,
    };

    /// Whether imported days are in the answer.
    pub fn included(&self) -> bool {
        self.days.is_some()
    }
}

/// The first and last day of `site`'s imported history, if it has one.
pub fn range(store: &dyn Store, site: &str) -> Result<Option<(NaiveDate, NaiveDate)>, StoreError> {
    let (from, until) = rollup::all_days();
    let rows = store.read_rollup(&key(site), from, until, "total")?;
    Ok(rows.first().zip(rows.last()).map(|(a, b)| (a.day, b.day)))
}

/// Decides whether `query` (bucketed by `interval`, or broken down `by`)
/// reads imported days; `asked` is whether the caller asked for them.
pub fn plan(
    store: &dyn Store,
    query: &Query,
    interval: Option<Interval>,
    by: Option<&Dimension>,
    asked: bool,
) -> Result<Plan, StoreError> {
    if !asked {
        return Ok(Plan::NONE);
    }
    let skip = |why| {
        Ok(Plan {
            days: None,
            skip: Some(why),
        })
    };
    let Some((first, last)) = range(store, &query.site)? else {
        return skip(Skip::NoImportedData);
    };
    let from = query.day_of(query.from).max(first);
    let until = (query.day_of(query.until - Duration::microseconds(1)) + Duration::days(1))
        .min(last + Duration::days(1));
    if from >= until {
        return skip(Skip::OutOfRange);
    }
    if interval == Some(Interval::Hour) {
        return skip(Skip::UnsupportedInterval);
    }
    if !query.whole_days() {
        // Imported days are whole days.
        return skip(Skip::UnsupportedQuery);
    }
    let kept = by.is_none_or(|d| rollup::kept(d).is_some_and(|k| PROPERTIES.contains(&k)));
    if query.is_filtered() || !kept || !query.metrics.iter().all(answers) {
        return skip(Skip::UnsupportedQuery);
    }
    Ok(Plan {
        days: Some((from, until)),
        skip: None,
    })
}

/// A native answer's totals as a row that imported rows can be added to.
fn as_row(site: &str, t: &Totals) -> RollupRow {
    let mut r = RollupRow::zero(site, NaiveDate::default(), "", "");
    r.add(t);
    r
}

/// Totals over the period, imported days added where the plan says so.
pub fn aggregate(
    store: &dyn Store,
    query: &Query,
    raw_from: NaiveDate,
    plan: &Plan,
) -> Result<Totals, StoreError> {
    let native = goals::aggregate(store, query, raw_from)?;
    let Some((from, until)) = plan.days else {
        return Ok(native);
    };
    let mut sum = as_row(&query.site, &native);
    for r in store.read_rollup(&key(&query.site), from, until, "total")? {
        sum.merge(&r);
    }
    Ok(sum.totals())
}

/// Totals per bucket, imported days added where the plan says so.
pub fn timeseries(
    store: &dyn Store,
    query: &Query,
    interval: Interval,
    raw_from: NaiveDate,
    plan: &Plan,
) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
    let native = goals::timeseries(store, query, interval, raw_from)?;
    let Some((from, until)) = plan.days else {
        return Ok(native);
    };
    let mut buckets: Vec<(DateTime<Utc>, RollupRow)> = native
        .iter()
        .map(|(at, t)| (*at, as_row(&query.site, t)))
        .collect();
    let mut touched = std::collections::HashSet::new();
    for r in store.read_rollup(&key(&query.site), from, until, "total")? {
        let at = interval.bucket_start(query.day_start(r.day), query.tz);
        touched.insert(at);
        match buckets.iter_mut().find(|(b, _)| *b == at) {
            Some((_, row)) => row.merge(&r),
            None => buckets.push((at, r)),
        }
    }
    buckets.sort_by_key(|(at, _)| *at);
    // Buckets without imported days keep the native figures as they were.
    let native: HashMap<_, _> = native.into_iter().collect();
    Ok(buckets
        .into_iter()
        .map(|(at, r)| match (touched.contains(&at), native.get(&at)) {
            (false, Some(t)) => (at, *t),
            _ => (at, r.totals()),
        })
        .collect())
}

/// Totals per value of `by`, largest first by the query's first metric,
/// imported days added where the plan says so (then the native rows are
/// read whole, up to a roll-up's [`rollup::MAX_VALUES`], and paged after
/// the sum).
pub fn breakdown(
    store: &dyn Store,
    query: &Query,
    by: &Dimension,
    (limit, offset): (usize, usize),
    raw_from: NaiveDate,
    plan: &Plan,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let (Some((from, until)), Some(dim)) = (plan.days, rollup::kept(by)) else {
        return goals::breakdown(store, query, by, limit, offset, raw_from);
    };
    let mut by_value: HashMap<String, RollupRow> = HashMap::new();
    for (value, t) in goals::breakdown(store, query, by, rollup::MAX_VALUES, 0, raw_from)? {
        by_value.insert(value, as_row(&query.site, &t));
    }
    for r in store.read_rollup_summed(&key(&query.site), from, until, dim)? {
        by_value
            .entry(r.value.clone())
            .or_insert_with(|| RollupRow::zero(&query.site, from, dim, &r.value))
            .merge(&r);
    }
    let rows = by_value.into_iter().map(|(v, r)| (v, r.totals())).collect();
    Ok(crate::tiers::page_of_largest(
        query, by, rows, limit, offset,
    ))
}

/// Stores an imported history of `site` for the days `[from, until)`,
/// replacing whatever was imported for them before (so importing the same
/// files twice counts them once). `rows` carry the site's own host and are
/// sorted by day.
pub fn replace(
    store: &dyn Store,
    site: &str,
    (from, until): (NaiveDate, NaiveDate),
    rows: &mut [RollupRow],
) -> Result<(), StoreError> {
    let key = key(site);
    for r in rows.iter_mut() {
        r.site.clone_from(&key);
    }
    store.replace_rollup_days(&key, from, until, rows)
}

/// Deletes `site`'s imported history; returns the days it held.
pub fn delete(store: &dyn Store, site: &str) -> Result<u64, StoreError> {
    let Some((first, last)) = range(store, site)? else {
        return Ok(0);
    };
    let days = store
        .read_rollup(&key(site), first, last + Duration::days(1), "total")?
        .len() as u64;
    store.replace_rollup_days(&key(site), first, last + Duration::days(1), &[])?;
    Ok(days)
}
