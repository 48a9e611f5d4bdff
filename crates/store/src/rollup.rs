//! The second retention tier: daily aggregates without any visitor id.
//!
//! Hashing is pseudonymisation, not anonymisation, so raw events (which
//! carry daily visitor ids) are kept only for a site's `raw_retention_days`.
//! Before they are deleted, each day is rolled up into counts per value of
//! the dashboard's properties — the day's totals, pages, entry and exit
//! pages, sources, referrers, UTM tags, browsers, systems, devices,
//! countries, event names and transitions between pages (the page viewed
//! before and the page: `prev_site US prev_page US page`, US being
//! `sql::TRANSITION_SEPARATOR`) — with no id of any kind, and those are kept
//! for `aggregate_retention_days` and still answer the dashboard for old
//! periods.
//!
//! Visitor ids live one day, so a period's visitors are the sum of its
//! days' visitors: the rolled-up figures add up exactly as the raw ones do.
//! Bounce rate and visit duration are kept as sums (bounced visits, seconds)
//! so that they can be combined over days.
//!
//! The roll-up is computed through the `Store` trait's own queries, so both
//! back ends produce the same rows; each back end only stores and reads them.
//!
//! The same roll-ups also serve while the raw events are still kept: once a
//! day is closed, [`refresh`] rolls it up early and marks it fresh, and the
//! overview's unfiltered questions over a month read thirty days of
//! roll-ups and today's raw events instead of grouping millions of raw
//! events. A late event for a fresh day takes the mark away
//! (`duck/fresh.rs`).

use crate::beside::beside;
use crate::{Store, StoreError, Totals};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use glasshouse_model::query::{day_of, day_start, Dimension, Filter, FilterOp, Metric, Query, Tz};

/// One day's figures for one value of one property on one site.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    /// Host of the site.
    pub site: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// The property (`total` for the day's totals, else a result key such as `page`).
    pub dim: String,
    /// The value (empty for `total`).
    pub value: String,
    /// Distinct visitors of the day.
    pub visitors: u64,
    /// Visits.
    pub visits: u64,
    /// Page views.
    pub pageviews: u64,
    /// Events, page views included.
    pub events: u64,
    /// Visits that bounced.
    pub bounces: u64,
    /// Seconds of visit duration, summed over visits.
    pub duration_sum: f64,
    /// Visitor–page pairs with engagement reported (`engagement.rs`).
    pub engaged: u64,
    /// Deepest scroll, in percent, summed over those pairs.
    pub scroll_sum: f64,
    /// Engaged seconds, summed over those pairs.
    pub engaged_seconds: f64,
}

impl RollupRow {
    /// A row of zeros.
    pub fn zero(site: &str, day: NaiveDate, dim: &str, value: &str) -> RollupRow {
        RollupRow {
            site: site.to_string(),
            day,
            dim: dim.to_string(),
            value: value.to_string(),
            visitors: 0,
            visits: 0,
            pageviews: 0,
            events: 0,
            bounces: 0,
            duration_sum: 0.0,
            engaged: 0,
            scroll_sum: 0.0,
            engaged_seconds: 0.0,
        }
    }

    /// Figures of rows added together (of different days, or of raw and
    /// rolled-up parts of a period).
    pub fn add(&mut self, t: &Totals) {
        self.visitors += t.visitors;
        self.visits += t.visits;
        self.pageviews += t.pageviews;
        self.events += t.events;
        self.bounces += (t.bounce_rate * t.visits as f64 / 100.0).round() as u64;
        self.duration_sum += t.visit_duration * t.visits as f64;
        self.engaged += t.engaged;
        self.scroll_sum += t.scroll_depth.unwrap_or(0.0) * t.engaged as f64;
        self.engaged_seconds += t.time_on_page.unwrap_or(0.0) * t.engaged as f64;
    }

    /// Figures of another row added (of another day, for the same value).
    pub fn merge(&mut self, r: &RollupRow) {
        self.visitors += r.visitors;
        self.visits += r.visits;
        self.pageviews += r.pageviews;
        self.events += r.events;
        self.bounces += r.bounces;
        self.duration_sum += r.duration_sum;
        self.engaged += r.engaged;
        self.scroll_sum += r.scroll_sum;
        self.engaged_seconds += r.engaged_seconds;
    }

    /// Figures of another row taken away (a correction; never below zero).
    pub fn subtract(&mut self, r: &RollupRow) {
        self.visitors = self.visitors.saturating_sub(r.visitors);
        self.visits = self.visits.saturating_sub(r.visits);
        self.pageviews = self.pageviews.saturating_sub(r.pageviews);
        self.events = self.events.saturating_sub(r.events);
        self.bounces = self.bounces.saturating_sub(r.bounces);
        self.duration_sum = (self.duration_sum - r.duration_sum).max(0.0);
        self.engaged = self.engaged.saturating_sub(r.engaged);
        self.scroll_sum = (self.scroll_sum - r.scroll_sum).max(0.0);
        self.engaged_seconds = (self.engaged_seconds - r.engaged_seconds).max(0.0);
    }

    /// As the totals the API reports.
    pub fn totals(&self) -> Totals {
        let visits = self.visits.max(1) as f64;
        Totals {
            visitors: self.visitors,
            visits: self.visits,
            pageviews: self.pageviews,
            events: self.events,
            bounce_rate: if self.visits == 0 {
                0.0
            } else {
                (self.bounces as f64 * 100.0 / visits).round()
            },
            visit_duration: if self.visits == 0 {
                0.0
            } else {
                (self.duration_sum / visits).round()
            },
            engaged: self.engaged,
            scroll_depth: (self.engaged > 0).then(|| self.scroll_sum / self.engaged as f64),
            time_on_page: (self.engaged > 0).then(|| self.engaged_seconds / self.engaged as f64),
            ..Totals::default()
        }
    }
}

/// The properties kept per day, as result keys with their dimensions.
pub fn dimensions() -> Vec<(&'static str, Dimension)> {
    vec![
        ("page", Dimension::Page),
        ("entry_page", Dimension::EntryPage),
        ("exit_page", Dimension::ExitPage),
        ("source", Dimension::Source),
        ("referrer", Dimension::Referrer),
        ("utm_source", Dimension::UtmSource),
        ("utm_medium", Dimension::UtmMedium),
        ("utm_campaign", Dimension::UtmCampaign),
        ("browser", Dimension::Browser),
        ("os", Dimension::Os),
        ("device", Dimension::Device),
        ("country", Dimension::Country),
        ("region", Dimension::Region),
        ("name", Dimension::EventName),
        ("transition", Dimension::Transition),
    ]
}

/// The rolled-up property of a dimension, if it is kept.
pub fn kept(dim: &Dimension) -> Option<&'static str> {
    dimensions()
        .into_iter()
        .find(|(_, d)| d == dim)
        .map(|(k, _)| k)
}

/// Days `[from, until)` wide enough for any stored day and narrow enough
/// for both back ends' date types (ClickHouse's `Date` runs from 1970,
/// and to 2105 on older releases): what "every day" means when reading
/// roll-ups.
pub fn all_days() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date"),
        NaiveDate::from_ymd_opt(2100, 1, 1).expect("a date"),
    )
}

/// Most values kept per property per day; the long tail beyond is summed
/// into `(other)` so that totals still add up.
pub const MAX_VALUES: usize = 50_000;

/// Computes one day's roll-up of `site` from its raw events.
pub fn compute(
    store: &dyn Store,
    site: &str,
    tz: Tz,
    day: NaiveDate,
) -> Result<Vec<RollupRow>, StoreError> {
    let query = Query {
        conditions: Vec::new(),
        order: Vec::new(),
        site: site.to_string(),
        from: day_start(day, tz),
        until: day_start(day + Duration::days(1), tz),
        tz,
        metrics: Metric::COUNTS.to_vec(),
        filters: vec![],
    };
    let row = |dim: &str, value: String, t: &Totals| {
        let mut r = RollupRow {
            site: site.to_string(),
            day,
            dim: dim.to_string(),
            value,
            visitors: 0,
            visits: 0,
            pageviews: 0,
            events: 0,
            bounces: 0,
            duration_sum: 0.0,
            engaged: 0,
            scroll_sum: 0.0,
            engaged_seconds: 0.0,
        };
        r.add(t);
        r
    };
    let total = store.aggregate(&query)?;
    if total.events == 0 {
        return Ok(Vec::new());
    }
    let mut out = vec![row("total", String::new(), &total)];
    out.extend(over_midnight(store, site, tz, day)?);
    // Transitions are between page views only.
    let pageviews = Query {
        filters: glasshouse_model::query::Filter::parse_list(Some("event:name==pageview"))
            .expect("a valid filter"),
        ..query.clone()
    };
    for (key, dim) in dimensions() {
        // Pages keep how they were read too.
        let with_engagement = Query {
            metrics: [
                &Metric::COUNTS[..],
                &[Metric::ScrollDepth, Metric::TimeOnPage],
            ]
            .concat(),
            ..query.clone()
        };
        let query = match dim {
            Dimension::Transition => &pageviews,
            Dimension::Page => &with_engagement,
            _ => &query,
        };
        let rows = store.breakdown(query, &dim, MAX_VALUES + 1, 0)?;
        for (value, t) in rows.iter().take(MAX_VALUES) {
            out.push(row(key, value.clone(), t));
        }
        if rows.len() > MAX_VALUES {
            // Only page-level properties can have this many values in a day.
            let rest = store.breakdown(query, &dim, usize::MAX, MAX_VALUES)?;
            let mut other = row(key, "(other)".into(), &Totals::default());
            for (_, t) in &rest {
                other.add(t);
            }
            out.push(other);
        }
    }
    Ok(out)
}

/// Prefix of the correction rows: the visits that run over the midnight
/// starting a day, counted whole (`+`) and as their two halves (`-`).
pub const WHOLE: &str = "+";
/// See [`WHOLE`].
pub const HALVES: &str = "-";
/// The half before midnight alone, kept for the day's totals only: a time
/// series whose buckets split at that midnight counts the visit in both,
/// each with the whole visit's bounce and duration, as the raw events do.
pub const BEFORE: &str = "<";

/// The correction for the visits that run over the midnight that starts
/// `day`. Each day's roll-up counts such a visit as its own visit (and its
/// visitor, who keeps yesterday's id, as its own visitor), with the bounce,
/// duration and exit page of its half; the raw events count it once, whole.
/// So with each day's roll-up go, per kept property, those visits' figures
/// over both days (`+dim`) and the sum of their two halves (`-dim`): a
/// period adds the first and takes away the second for every midnight
/// inside it, and answers as the raw events do. (A visit over two
/// midnights — a day of activity without a 30-minute pause — is not
/// corrected.) Transitions get none: one page view is on one side only.
pub fn over_midnight(
    store: &dyn Store,
    site: &str,
    tz: Tz,
    day: NaiveDate,
) -> Result<Vec<RollupRow>, StoreError> {
    let dims = dimensions();
    let end = day_start(day + Duration::days(1), tz);
    midnight_rows(store, site, tz, (day, end), &dims, true)
}

/// The rows of [`over_midnight`] for the visits over the midnight starting
/// `day`, their second half read until `end` (the end of the day, or
/// earlier while it is still under way): for the properties `dims` and,
/// with `totals`, the totals.
pub fn midnight_rows(
    store: &dyn Store,
    site: &str,
    tz: Tz,
    (day, end): (NaiveDate, DateTime<Utc>),
    dims: &[(&'static str, Dimension)],
    totals: bool,
) -> Result<Vec<RollupRow>, StoreError> {
    let at = day_start(day, tz);
    let before = day_start(day - Duration::days(1), tz);
    let query = |from, until| Query {
        conditions: Vec::new(),
        order: Vec::new(),
        site: site.to_string(),
        from,
        until,
        tz,
        metrics: Metric::COUNTS.to_vec(),
        filters: vec![Filter {
            dimension: Dimension::OverMidnight,
            op: FilterOp::Is,
            values: vec![at.timestamp_micros().to_string()],
        }],
    };
    let whole = query(before, end);
    let halves = [query(before, at), query(at, end)];
    let row = |dim: String, value: &str| RollupRow::zero(site, day, &dim, value);
    let mut out = Vec::new();
    let asked = [&whole, &halves[0], &halves[1]];
    if totals {
        let (total, first, second) = whole_and_halves(asked, |q| store.aggregate(q))?;
        if total.visits == 0 {
            return Ok(Vec::new());
        }
        let mut plus = row(format!("{WHOLE}total"), "");
        plus.add(&total);
        let mut minus = row(format!("{HALVES}total"), "");
        let mut before = row(format!("{BEFORE}total"), "");
        before.add(&first);
        minus.merge(&before);
        minus.add(&second);
        out.extend([plus, minus, before]);
    }
    for (key, dim) in dims {
        if *dim == Dimension::Transition {
            continue;
        }
        let all = |q: &Query| store.breakdown(q, dim, usize::MAX / 2, 0);
        let (wholly, before, after) = whole_and_halves(asked, all)?;
        for (value, t) in wholly {
            let mut r = row(format!("{WHOLE}{key}"), &value);
            r.add(&t);
            out.push(r);
        }
        let mut halved: std::collections::BTreeMap<String, RollupRow> = Default::default();
        for half in [before, after] {
            for (value, t) in half {
                halved
                    .entry(value.clone())
                    .or_insert_with(|| row(format!("{HALVES}{key}"), &value))
                    .add(&t);
            }
        }
        out.extend(halved.into_values());
    }
    Ok(out)
}

/// `ask` of the whole visits over a midnight and of each half: three
/// independent statements, each on a thread of its own (`beside`).
fn whole_and_halves<T: Send + Default>(
    [whole, first, second]: [&Query; 3],
    ask: impl Fn(&Query) -> Result<T, StoreError> + Sync,
) -> Result<(T, T, T), StoreError> {
    let ask = &ask;
    let (wholly, (before, after)) = beside(Some(|| ask(whole)), || {
        beside(Some(|| ask(first)), || ask(second))
    })?;
    // `beside` hands back what it was given to run aside.
    Ok((
        wholly.unwrap_or_default(),
        before.unwrap_or_default(),
        after,
    ))
}

/// Rolls up every day of `site` before `cutoff` that still has raw events,
/// then deletes those raw events. Idempotent: a day rolled up twice is
/// replaced, not doubled. `extra` adds rows the caller keeps for a day (the
/// server keeps saved funnels' steps). Returns (days rolled up, raw events
/// deleted).
pub fn roll_up_and_delete(
    store: &dyn Store,
    site: &str,
    tz: Tz,
    cutoff: NaiveDate,
    extra: &dyn Fn(NaiveDate) -> Result<Vec<RollupRow>, StoreError>,
) -> Result<(u64, u64), StoreError> {
    let mut days = 0;
    if let Some(mut day) = store.oldest_event(site)?.map(|t| day_of(t, tz)) {
        while day < cutoff {
            let mut rows = compute(store, site, tz, day)?;
            if !rows.is_empty() {
                rows.extend(extra(day)?);
            }
            if !rows.is_empty() {
                store.replace_rollup(site, day, &rows)?;
                days += 1;
            }
            day += Duration::days(1);
        }
    }
    let deleted = store.delete_before(site, day_start(cutoff, tz))?;
    Ok((days, deleted))
}

/// Computes the roll-ups of `site`'s closed days in `[from, today)` that are
/// not fresh yet and marks them fresh, so unfiltered questions over those
/// days read them instead of the raw events (see [`Store::replace_fresh_rollup`]).
/// A day that gets a late event meanwhile is left for the next run.
/// Returns how many days it marked.
pub fn refresh(
    store: &dyn Store,
    site: &str,
    tz: Tz,
    from: NaiveDate,
    today: NaiveDate,
) -> Result<u64, StoreError> {
    let Some(closed) = store.closed_before()? else {
        return Ok(0);
    };
    let Some(oldest) = store.oldest_event(site)?.map(|t| day_of(t, tz)) else {
        return Ok(0);
    };
    // A local day is closed once it has ended before the UTC day that
    // closes days (`fresh.rs`) began.
    let closed_at = day_start(closed, Tz::UTC);
    let mut last_closed = closed + Duration::days(1);
    while day_start(last_closed, tz) > closed_at {
        last_closed -= Duration::days(1);
    }
    let (from, until) = (from.max(oldest), last_closed.min(today));
    if from >= until {
        return Ok(0);
    }
    let fresh: std::collections::HashSet<NaiveDate> = store
        .fresh_rollup_days(site, from, until)?
        .into_iter()
        .collect();
    let mut marked = 0;
    let mut day = from;
    while day < until {
        if !fresh.contains(&day) {
            let seen = store.late_writes();
            let rows = compute(store, site, tz, day)?;
            if store.replace_fresh_rollup(site, day, &rows, seen)? {
                marked += 1;
            }
        }
        day += Duration::days(1);
    }
    Ok(marked)
}
