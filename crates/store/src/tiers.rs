//! Answers that span both retention tiers: raw events for the site's last
//! `raw_retention_days`, daily roll-ups (no visitor ids) before that.
//!
//! A period is split at the first day that still has raw events; each part
//! is answered by its tier and the figures are added up (visitor ids live one
//! day, so a period's visitors are the sum of its days'). Roll-ups keep no
//! visit-level detail beyond the properties they list, so a period reaching
//! into them cannot be filtered, broken down by hour, or by another property;
//! such a request gets a 400 that says from which day it can.
//!
//! Closed days whose raw events are still kept may have a *fresh* roll-up
//! (`rollup::refresh`): one that still covers every raw
//! event of the day. A question that a roll-up can answer — no filters,
//! days not hours, a kept property — reads those days' roll-ups instead of
//! their raw events, which is what keeps a month's overview fast. Any other
//! question reads the raw events of those days, as before; the figures are
//! the same either way (a test holds them equal).

use crate::beside::beside;
use crate::rollup::{self, RollupRow};
use crate::{Store, StoreError, Totals};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use glasshouse_model::query::{Dimension, Interval, Metric, OrderKey, Ordered, Query};
use std::collections::HashMap;

/// How a query divides between the tiers.
pub struct Split {
    /// The part still answered from raw events.
    pub raw: Option<Query>,
    /// Days `[from, until)` answered from roll-ups.
    pub rolled: Option<(NaiveDate, NaiveDate)>,
    /// The first day with raw events (roll-ups answer the days before it).
    pub cutoff: NaiveDate,
    /// Whether some of the rolled days still have raw events (fresh roll-ups
    /// read in their stead).
    pub fresh: bool,
    /// Whether the midnight between fresh roll-ups and the raw part is
    /// corrected from the raw events (`Boundary::Live`).
    pub live: bool,
}

/// Where a split puts the last fresh day before the raw part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// With the raw part: its roll-up carries the correction for the
    /// midnight before it, and the next day's, which would carry the one
    /// after it, does not exist yet.
    Raw,
    /// With the rolled days: the midnight after it is corrected from the
    /// raw events of the visits over it (three statements, side by side).
    /// Worth it where a day's raw events cost more than that, as for a
    /// breakdown by page, which reads every page of the raw days for the
    /// roll-ups' sums.
    Live,
}

/// Whether a question can be answered from roll-ups at all.
pub fn rollup_answers(query: &Query, interval: Option<Interval>, by: Option<&Dimension>) -> bool {
    !query.is_filtered()
        && (!crate::engagement::asked(query) || by == Some(&Dimension::Page))
        && interval != Some(Interval::Hour)
        && by.is_none_or(|d| rollup::kept(d).is_some())
}

/// Moves the closed days at the start of the raw part whose roll-ups are
/// fresh into the rolled part.
fn take_fresh(
    store: &dyn Store,
    query: &Query,
    mut s: Split,
    boundary: Boundary,
) -> Result<Split, StoreError> {
    let Some(raw) = &s.raw else {
        return Ok(s);
    };
    let first = query.day_of(raw.from);
    if raw.from != query.day_start(first) {
        return Ok(s);
    }
    let last = query.day_of(raw.until);
    let fresh = store.fresh_rollup_days(&query.site, first, last)?;
    let run = fresh
        .iter()
        .enumerate()
        .take_while(|(i, d)| **d == first + Duration::days(*i as i64))
        .count();
    let covered = query.day_start(first + Duration::days(run as i64)) >= raw.until;
    let live = boundary == Boundary::Live && !covered;
    let until = match (covered || live, run) {
        (_, 0) | (false, 1) => return Ok(s),
        (true, _) => first + Duration::days(run as i64),
        (false, _) => first + Duration::days(run as i64 - 1),
    };
    let boundary = query.day_start(until);
    s.rolled = Some((s.rolled.map(|r| r.0).unwrap_or(first), until));
    s.raw = (raw.until > boundary).then(|| Query {
        from: boundary,
        ..raw.clone()
    });
    s.fresh = true;
    s.live = live;
    Ok(s)
}

/// The days whose roll-ups carry the correction for visits over their
/// midnight (`rollup::over_midnight`) that a split must apply: every
/// midnight inside the rolled days, and the one between them and the raw
/// part when the raw part's first day has a fresh roll-up (`Boundary::Raw`).
fn corrected_days(s: &Split) -> Option<(NaiveDate, NaiveDate)> {
    let (first, until) = s.rolled?;
    let end = if s.raw.is_some() && s.fresh && !s.live {
        until + Duration::days(1)
    } else {
        until
    };
    let start = first + Duration::days(1);
    (start < end).then_some((start, end))
}

/// The day starting at the midnight between fresh roll-ups and the raw
/// part after them, with the end of the raw part: no roll-up carries that
/// midnight's correction yet, so it is read from the raw events. (Roll-ups
/// whose raw events are gone have no such correction at all.)
fn live_midnight(s: &Split) -> Option<(NaiveDate, DateTime<Utc>)> {
    let raw = s.raw.as_ref().filter(|_| s.live)?;
    let (_, until) = s.rolled?;
    Some((until, raw.until))
}

/// The correction rows for a split (`rollup::WHOLE` visits whole,
/// `rollup::HALVES` as halves, and for the totals `rollup::BEFORE` the half
/// before midnight).
#[derive(Default)]
struct Corrections {
    whole: Vec<RollupRow>,
    halves: Vec<RollupRow>,
    before: Vec<RollupRow>,
}

/// The corrections of `dim` for a split, per day (`summed` false) or summed
/// per value: those kept with the roll-ups, and the live one, read beside
/// them on a thread of its own.
fn corrections(
    store: &dyn Store,
    query: &Query,
    s: &Split,
    dim: &str,
    summed: bool,
) -> Result<Corrections, StoreError> {
    let live = live_midnight(s).map(|m| move || live_correction(store, query, m, dim));
    let (live, mut c) = beside(live, || stored_corrections(store, query, s, dim, summed))?;
    for r in live.unwrap_or_default() {
        match r.dim.strip_suffix(dim) {
            Some(rollup::WHOLE) => c.whole.push(r),
            Some(rollup::HALVES) => c.halves.push(r),
            Some(rollup::BEFORE) => c.before.push(r),
            _ => {}
        }
    }
    Ok(c)
}

/// The corrections kept with the roll-ups of the split's corrected days.
fn stored_corrections(
    store: &dyn Store,
    query: &Query,
    s: &Split,
    dim: &str,
    summed: bool,
) -> Result<Corrections, StoreError> {
    let mut c = Corrections::default();
    if let Some(days) = corrected_days(s) {
        let read = |d: String| read_rows(store, &query.site, days, &d, summed);
        c.whole = read(format!("{}{dim}", rollup::WHOLE))?;
        c.halves = read(format!("{}{dim}", rollup::HALVES))?;
        if dim == "total" && !summed {
            c.before = read(format!("{}{dim}", rollup::BEFORE))?;
        }
    }
    Ok(c)
}

/// The correction for the midnight at the start of `day`, from the raw
/// events up to `raw_until` ([`live_midnight`]).
fn live_correction(
    store: &dyn Store,
    query: &Query,
    (day, raw_until): (NaiveDate, DateTime<Utc>),
    dim: &str,
) -> Result<Vec<RollupRow>, StoreError> {
    let end = raw_until.min(query.day_start(day + Duration::days(1)));
    let dims: Vec<_> = rollup::dimensions()
        .into_iter()
        .filter(|(k, _)| *k == dim)
        .collect();
    rollup::midnight_rows(
        store,
        &query.site,
        query.tz,
        (day, end),
        &dims,
        dim == "total",
    )
}

/// What an answer over a split reads: the rolled days' rows of one
/// property, the raw part's answer, and the corrections between them.
struct Parts<A> {
    rolled: Vec<RollupRow>,
    raw: Option<A>,
    c: Corrections,
}

/// Reads a split's parts: `raw` over the raw part [`beside`] the roll-ups
/// of `dim` and their corrections, per day (`summed` false) or summed per
/// value.
fn parts<A: Send>(
    store: &dyn Store,
    query: &Query,
    s: &Split,
    dim: &str,
    summed: bool,
    raw: impl FnOnce(&Query) -> Result<A, StoreError> + Send,
) -> Result<Parts<A>, StoreError> {
    let days = s.rolled.unwrap_or_default();
    let aside = s.raw.as_ref().map(|q| move || raw(q));
    let (raw, (rolled, c)) = beside(aside, || {
        let rolled = read_rows(store, &query.site, days, dim, summed)?;
        Ok((rolled, corrections(store, query, s, dim, summed)?))
    })?;
    Ok(Parts { rolled, raw, c })
}

/// Roll-up rows of `dim` on days `[from, until)`, per day or summed per value.
fn read_rows(
    store: &dyn Store,
    site: &str,
    (from, until): (NaiveDate, NaiveDate),
    dim: &str,
    summed: bool,
) -> Result<Vec<RollupRow>, StoreError> {
    if summed {
        store.read_rollup_summed(site, from, until, dim)
    } else {
        store.read_rollup(site, from, until, dim)
    }
}

/// [`split`], then, for a question roll-ups can answer (`answers`), fresh
/// roll-ups of closed days in place of their raw events.
pub fn split_fresh(
    store: &dyn Store,
    query: &Query,
    raw_from: NaiveDate,
    answers: Option<Boundary>,
) -> Result<Split, StoreError> {
    let s = split(store, query, raw_from)?;
    match answers {
        // Roll-ups hold whole days: times of day are read raw.
        Some(boundary) if query.whole_days() => take_fresh(store, query, s, boundary),
        _ => Ok(s),
    }
}

/// Splits `query` at the first day that still has raw events: days before
/// it come from roll-ups (when there are any), days from it from raw events.
/// Raw events are deleted only after their days are rolled up, so no day is
/// counted twice or missed while retention runs.
///
/// `raw_from` is the first day retention cannot have rolled up yet (today
/// less the site's raw retention): a period from it on is raw without
/// asking the store, which keeps the dashboard's usual questions at one
/// statement each.
pub fn split(store: &dyn Store, query: &Query, raw_from: NaiveDate) -> Result<Split, StoreError> {
    let first = query.day_of(query.from);
    if first >= raw_from {
        return Ok(Split {
            raw: Some(query.clone()),
            rolled: None,
            cutoff: raw_from,
            fresh: false,
            live: false,
        });
    }
    let end = query.day_of(query.until - Duration::microseconds(1)) + Duration::days(1);
    let cutoff = store
        .oldest_event(&query.site)?
        .map(|t| query.day_of(t))
        .unwrap_or(end)
        .max(first);
    if first >= cutoff {
        return Ok(Split {
            raw: Some(query.clone()),
            rolled: None,
            cutoff,
            fresh: false,
            live: false,
        });
    }
    let rolled_until = end.min(cutoff);
    if store
        .read_rollup(&query.site, first, rolled_until, "total")?
        .is_empty()
    {
        // Nothing was ever rolled up there: the raw tier answers (with nothing).
        return Ok(Split {
            raw: Some(query.clone()),
            rolled: None,
            cutoff,
            fresh: false,
            live: false,
        });
    }
    if !query.whole_days() {
        return Err(StoreError::Unanswerable(format!(
            "date_range: times of day are answered from raw events, kept from {cutoff}; give dates to read the daily roll-ups before"
        )));
    }
    let boundary = query.day_start(cutoff);
    let raw = (query.until > boundary).then(|| Query {
        from: query.from.max(boundary),
        ..query.clone()
    });
    Ok(Split {
        raw,
        rolled: Some((first, rolled_until)),
        cutoff,
        fresh: false,
        live: false,
    })
}

/// Refuses filters over rolled-up days: roll-ups keep no visit to filter.
pub fn refuse_filters(query: &Query, s: &Split) -> Result<(), StoreError> {
    if s.rolled.is_some() && query.is_filtered() {
        return Err(StoreError::Unanswerable(format!(
            "filters: days before {} are kept only as daily totals without visitor ids, which cannot be filtered; choose a period from {} on",
            s.cutoff, s.cutoff
        )));
    }
    Ok(())
}

/// The value a roll-up sums a day's long tail into.
const OTHER: &str = "(other)";

fn empty(site: &str) -> RollupRow {
    RollupRow::zero(site, NaiveDate::default(), "", "")
}

/// The first day retention cannot have rolled up yet for `site`.
pub fn raw_from(config: &glasshouse_model::Config, site: &str, today: NaiveDate) -> NaiveDate {
    let days = config.site(site).map(|s| s.raw_retention_days).unwrap_or(0);
    today - Duration::days(i64::from(days))
}

/// Totals over the whole period.
pub fn aggregate(
    store: &dyn Store,
    query: &Query,
    raw_from: NaiveDate,
) -> Result<Totals, StoreError> {
    let answers = rollup_answers(query, None, None).then_some(Boundary::Raw);
    let s = split_fresh(store, query, raw_from, answers)?;
    if s.rolled.is_none() {
        return store.aggregate(query);
    }
    refuse_filters(query, &s)?;
    let Parts { rolled, raw, c } =
        parts(store, query, &s, "total", true, |raw| store.aggregate(raw))?;
    let mut sum = empty(&query.site);
    for r in rolled.iter().chain(&c.whole) {
        sum.merge(r);
    }
    if let Some(raw) = &raw {
        sum.add(raw);
    }
    for r in &c.halves {
        sum.subtract(r);
    }
    Ok(sum.totals())
}

/// Totals per bucket; buckets without traffic are absent.
pub fn timeseries(
    store: &dyn Store,
    query: &Query,
    interval: Interval,
    raw_from: NaiveDate,
) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
    let answers = rollup_answers(query, Some(interval), None).then_some(Boundary::Raw);
    let s = split_fresh(store, query, raw_from, answers)?;
    if s.rolled.is_none() {
        return store.timeseries(query, interval);
    }
    refuse_filters(query, &s)?;
    if interval == Interval::Hour {
        return Err(StoreError::Unanswerable(format!(
            "interval: days before {} are kept only as daily totals; use day, week or month",
            s.cutoff
        )));
    }
    let mut buckets: Vec<(DateTime<Utc>, RollupRow)> = Vec::new();
    let mut put = |at: DateTime<Utc>, f: &dyn Fn(&mut RollupRow)| match buckets
        .iter_mut()
        .find(|(b, _)| *b == at)
    {
        Some((_, row)) => f(row),
        None => {
            let mut row = empty(&query.site);
            f(&mut row);
            buckets.push((at, row));
        }
    };
    let Parts { rolled, raw, c } = parts(store, query, &s, "total", false, |raw| {
        store.timeseries(raw, interval)
    })?;
    for r in rolled {
        put(
            interval.bucket_start(query.day_start(r.day), query.tz),
            &|row| row.merge(&r),
        );
    }
    for (at, t) in raw.unwrap_or_default() {
        put(at, &|row| row.add(&t));
    }
    // A visit over a midnight is one visit of a bucket holding both sides;
    // buckets split there each count it, with the whole visit's bounce and
    // duration (as the raw events do).
    let on = |rows: &[RollupRow], day| rows.iter().find(|r| r.day == day).cloned();
    for w in &c.whole {
        let (Some(h), Some(b)) = (on(&c.halves, w.day), on(&c.before, w.day)) else {
            continue;
        };
        let at = interval.bucket_start(query.day_start(w.day), query.tz);
        let was = interval.bucket_start(query.day_start(w.day - Duration::days(1)), query.tz);
        if at == was {
            put(at, &|row| {
                row.merge(w);
                row.subtract(&h);
            });
        } else {
            let mut after = h.clone();
            after.subtract(&b);
            for (bucket, half) in [(was, &b), (at, &after)] {
                put(bucket, &|row| {
                    row.bounces = (row.bounces + w.bounces).saturating_sub(half.bounces);
                    row.duration_sum =
                        (row.duration_sum + w.duration_sum - half.duration_sum).max(0.0);
                });
            }
        }
    }
    buckets.sort_by_key(|(at, _)| *at);
    Ok(buckets
        .into_iter()
        .map(|(at, r)| (at, r.totals()))
        .collect())
}

/// Totals per value of `by`, largest first by the query's first metric.
pub fn breakdown(
    store: &dyn Store,
    query: &Query,
    by: &Dimension,
    limit: usize,
    offset: usize,
    raw_from: NaiveDate,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let boundary = match by {
        Dimension::Page => Boundary::Live,
        _ => Boundary::Raw,
    };
    let answers = rollup_answers(query, None, Some(by)).then_some(boundary);
    let mut s = split_fresh(store, query, raw_from, answers)?;
    if s.rolled.is_none() {
        return store.breakdown(query, by, limit, offset);
    }
    refuse_filters(query, &s)?;
    let Some(dim) = rollup::kept(by) else {
        return Err(StoreError::Unanswerable(format!(
            "property: days before {} are kept as daily totals of pages, entry and exit pages, sources, referrers, UTM source, medium and campaign, browsers, systems, devices, countries and event names only",
            s.cutoff
        )));
    };
    let raw = |raw: &Query| store.breakdown(raw, by, rollup::MAX_VALUES, 0);
    let mut read = parts(store, query, &s, dim, true, raw)?;
    if s.fresh && read.rolled.iter().any(|r| r.value == OTHER) {
        // A day had more values than a roll-up keeps: days whose raw events
        // are still there answer from them.
        s = split(store, query, raw_from)?;
        if s.rolled.is_none() {
            return store.breakdown(query, by, limit, offset);
        }
        read = parts(store, query, &s, dim, true, raw)?;
    }
    let Parts { rolled, raw, c } = read;
    // Rows move into the map (a month of pages is thousands of them): the
    // value becomes the key, the row keeps the figures.
    let mut by_value: HashMap<String, RollupRow> = HashMap::with_capacity(rolled.len());
    for mut r in rolled.into_iter().chain(c.whole) {
        match by_value.get_mut(&r.value) {
            Some(row) => row.merge(&r),
            None => {
                by_value.insert(std::mem::take(&mut r.value), r);
            }
        }
    }
    for (value, t) in raw.unwrap_or_default() {
        match by_value.get_mut(&value) {
            Some(row) => row.add(&t),
            None => {
                let mut row = empty(&query.site);
                row.add(&t);
                by_value.insert(value, row);
            }
        }
    }
    for r in &c.halves {
        if let Some(row) = by_value.get_mut(&r.value) {
            row.subtract(r);
        }
    }
    // A value held only by visits over midnight, once both halves are
    // taken away, has nothing left.
    by_value.retain(|_, r| r.events > 0 || r.visits > 0);
    let rows = by_value.into_iter().map(|(v, r)| (v, r.totals())).collect();
    Ok(page_of_largest(query, by, rows, limit, offset))
}

/// Rows summed outside the database, sorted as the store sorts them (by
/// the query's order keys, then by key) and paged.
pub fn page_of_largest(
    query: &Query,
    by: &Dimension,
    mut rows: Vec<(String, Totals)>,
    limit: usize,
    offset: usize,
) -> Vec<(String, Totals)> {
    let first = query.metrics.first().copied().unwrap_or(Metric::Visitors);
    let keys = match query.order.as_slice() {
        [] => vec![OrderKey {
            on: Ordered::Metric(first),
            descending: true,
        }],
        keys => keys.to_vec(),
    };
    let part = |key: &str, i: usize| by.split_key(key).swap_remove(i.min(by.parts().len() - 1));
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|k| {
                let o = match k.on {
                    Ordered::Metric(m) => a.1.get(m).total_cmp(&b.1.get(m)),
                    Ordered::Part(i) => part(&a.0, i).cmp(&part(&b.0, i)),
                };
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.0.cmp(&b.0))
    });
    rows.into_iter().skip(offset).take(limit).collect()
}

/// Neighbouring pages, (site, path) → (visits, visitors).
pub type Neighbours = HashMap<(String, String), (u64, u64)>;

/// One step from a page over the rolled-up days `[from, until)`: the daily
/// transitions kept for each of `sites`, summed per neighbouring page. Visits
/// there are the visits holding the transition on the page's own site.
pub fn rolled_neighbours(
    store: &dyn Store,
    sites: &[String],
    site: &str,
    page: &str,
    (from, until): (NaiveDate, NaiveDate),
    next: bool,
) -> Result<Neighbours, StoreError> {
    let sep = crate::sql::TRANSITION_SEPARATOR;
    let mut out: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for on in sites {
        if !next && on != site {
            continue;
        }
        for r in store.read_rollup(on, from, until, "transition")? {
            let mut parts = r.value.splitn(3, sep);
            let (Some(prev_site), Some(prev_page), Some(to)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let key = if next {
                (prev_site == site && prev_page == page).then(|| (on.clone(), to.to_string()))
            } else {
                (to == page && !prev_site.is_empty() && sites.iter().any(|s| s == prev_site))
                    .then(|| (prev_site.to_string(), prev_page.to_string()))
            };
            if let Some(key) = key {
                let e = out.entry(key).or_insert((0, 0));
                e.0 += r.visits;
                e.1 += r.visitors;
            }
        }
    }
    Ok(out)
}

/// Refuses several-step questions (paths, funnels) over rolled-up days:
/// only single transitions are kept once raw events are gone.
pub fn raw_only(
    store: &dyn Store,
    query: &Query,
    raw_from: NaiveDate,
    what: &str,
) -> Result<(), StoreError> {
    let s = split(store, query, raw_from)?;
    if s.rolled.is_some() {
        return Err(StoreError::Unanswerable(format!(
            "period: {what} need the raw events, kept from {} on; before that only daily totals and single transitions between pages are kept (next-pages and previous-pages answer for them)",
            s.cutoff
        )));
    }
    Ok(())
}

/// A funnel over a period that may reach into rolled-up days: those days
/// are answered from the daily counts kept for saved funnels with exactly
/// these steps (medians are not kept, so the answer has none); a step list
/// nobody had saved when the days were rolled up is refused.
pub fn funnel(
    store: &dyn Store,
    q: &glasshouse_model::journey::FunnelQuery,
    raw_from: NaiveDate,
) -> Result<Vec<crate::FunnelRow>, StoreError> {
    let s = split(store, &q.query, raw_from)?;
    let Some((from, until)) = s.rolled else {
        return store.funnel(q);
    };
    refuse_filters(&q.query, &s)?;
    let key = crate::saved::daily_key(&q.steps);
    let kept = store.read_rollup(&q.query.site, from, until, &key)?;
    let counted: std::collections::HashSet<NaiveDate> = kept
        .iter()
        .filter(|r| r.value == "0")
        .map(|r| r.day)
        .collect();
    let days_with_data = store.read_rollup(&q.query.site, from, until, "total")?;
    if let Some(missing) = days_with_data.iter().find(|t| !counted.contains(&t.day)) {
        return Err(StoreError::Unanswerable(format!(
            "period: raw events start on {}; for earlier days a funnel is answered only if the same steps were saved as a funnel when those days were rolled up, and these were not on {}",
            s.cutoff, missing.day
        )));
    }
    let mut rows: Vec<crate::FunnelRow> = (1..=q.steps.len() as u32)
        .map(|step| crate::FunnelRow {
            step,
            visits: 0,
            visitors: 0,
            median_seconds: None,
        })
        .collect();
    for r in &kept {
        if let Ok(step) = r.value.parse::<usize>() {
            if let Some(row) = rows.get_mut(step.wrapping_sub(1)) {
                row.visits += r.visits;
                row.visitors += r.visitors;
            }
        }
    }
    if let Some(raw) = s.raw {
        let raw = glasshouse_model::journey::FunnelQuery {
            query: raw,
            ..q.clone()
        };
        for (row, r) in rows.iter_mut().zip(store.funnel(&raw)?) {
            row.visits += r.visits;
            row.visitors += r.visitors;
        }
    }
    Ok(rows)
}
