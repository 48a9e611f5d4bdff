//! The questions both back ends answer the same way: the statement is
//! built once from the query model (`sql.rs`, `journeys.rs`) in the back
//! end's dialect, run through its [`Execute`], and its rows decoded here,
//! once, from [`Cell`]s. A back end only says how to run a statement and
//! how its values become cells.

use crate::beside::beside;
use crate::engagement;
use crate::journeys::{self, FunnelRow, PathLink, PathNode, Paths};
use crate::sessions::{Acquisition, JourneyState, SessionState};
use crate::sql::{self, Dialect, Group, Param, Sql};
use crate::{StoreError, Totals};
use chrono::{DateTime, Utc};
use glasshouse_model::journey::{FunnelQuery, PathQuery};
use glasshouse_model::query::{Dimension, Interval, Query};
use std::sync::Arc;

/// One value of an answer, as either back end hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A whole number (timestamps as microseconds since the epoch).
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text; ClickHouse also sends 64-bit integers as text.
    Text(String),
}

impl Cell {
    /// A count: never negative, 0 for NULL.
    pub fn count(&self) -> u64 {
        self.int().max(0) as u64
    }

    /// A whole number, 0 for NULL.
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            Cell::Float(f) => *f as i64,
            Cell::Text(s) => s
                .parse::<i64>()
                .or_else(|_| s.parse::<u64>().map(|u| u as i64))
                .unwrap_or(0),
            Cell::Null => 0,
        }
    }

    /// A number, or `None` for NULL.
    pub fn float(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            Cell::Text(s) => s.parse().ok(),
            Cell::Null => None,
        }
    }

    /// Text, `''` for NULL.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
        }
    }
}

/// How a back end runs a statement of the shared questions.
pub trait Execute {
    /// The back end's SQL dialect.
    fn dialect(&self) -> &dyn Dialect;
    /// Runs `sql` and hands back its rows.
    fn cells(&self, sql: &Sql) -> Result<Vec<Vec<Cell>>, StoreError>;
}

fn at(row: &[Cell], i: usize) -> &Cell {
    row.get(i).unwrap_or(&Cell::Null)
}

/// Rows of a grouped statement: the group's key (NULL without one) and its totals.
fn grouped(x: &impl Execute, sql: Sql) -> Result<Vec<(Cell, Totals)>, StoreError> {
    Ok(x.cells(&sql)?
        .into_iter()
        .map(|r| {
            let o = usize::from(r.len() == 7);
            let totals = Totals {
                visitors: at(&r, o).count(),
                visits: at(&r, o + 1).count(),
                pageviews: at(&r, o + 2).count(),
                events: at(&r, o + 3).count(),
                bounce_rate: at(&r, o + 4).float().unwrap_or(0.0),
                visit_duration: at(&r, o + 5).float().unwrap_or(0.0),
                ..Totals::default()
            };
            let key = if o == 1 { r[0].clone() } else { Cell::Null };
            (key, totals)
        })
        .collect())
}

/// See [`crate::Store::aggregate`].
pub fn aggregate(x: &impl Execute, q: &Query) -> Result<Totals, StoreError> {
    let rows = grouped(x, sql::grouped(x.dialect(), q, &Group::Total, 1, 0))?;
    let mut t = rows.into_iter().next().map(|(_, t)| t).unwrap_or_default();
    if engagement::asked(q) {
        engagement::add_to_total(x, q, &mut t)?;
    }
    if crate::revenue::asked(q) {
        crate::revenue::add_to_total(x, q, &mut t)?;
    }
    Ok(t)
}

/// See [`crate::Store::timeseries`].
pub fn timeseries(
    x: &impl Execute,
    q: &Query,
    interval: Interval,
) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
    let group = Group::Bucket(interval);
    let mut out: Vec<(DateTime<Utc>, Totals)> =
        grouped(x, sql::grouped(x.dialect(), q, &group, 0, 0))?
            .into_iter()
            .filter(|(k, _)| *k != Cell::Null)
            // Buckets are of local time: back to the instant each begins.
            .filter_map(|(k, t)| DateTime::from_timestamp_micros(k.int()).map(|d| (d, t)))
            .map(|(local, t)| {
                (
                    glasshouse_model::query::local_instant(local.naive_utc(), q.tz),
                    t,
                )
            })
            .collect();
    out.sort_by_key(|(d, _)| *d);
    Ok(out)
}

/// See [`crate::Store::breakdown`].
pub fn breakdown(
    x: &(impl Execute + Sync),
    q: &Query,
    by: &Dimension,
    limit: usize,
    offset: usize,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let sql = sql::grouped(x.dialect(), q, &Group::By(by), limit, offset);
    let engaged = engagement::asked(q) && *by == Dimension::Page;
    // A page of answers too long to name its pages in the engagement
    // statement reads every page's engagement anyway: that need not wait
    // for the counts, so it runs beside them.
    let every = (engaged && limit > engagement::MAX_LISTED)
        .then_some(|| engagement::per_page(x, q, engagement::Pages::Every));
    let (found, rows) = beside(every, || grouped(x, sql))?;
    let mut rows: Vec<(String, Totals)> = rows.into_iter().map(|(k, t)| (k.text(), t)).collect();
    if engaged {
        let found = match found {
            Some(found) => found,
            None => {
                let pages: Vec<String> = rows.iter().map(|(p, _)| p.clone()).collect();
                engagement::per_page(x, q, engagement::Pages::Listed(&pages))?
            }
        };
        engagement::add_to_pages(q, &mut rows, &found);
    }
    Ok(rows)
}

/// See [`crate::Store::current_visitors`].
pub fn current_visitors(
    x: &impl Execute,
    site: &str,
    since: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let sql = Sql {
        text: format!(
            "SELECT {} FROM events WHERE site = $1 AND ts >= $2 AND {}",
            x.dialect().count_distinct("visitor_id"),
            sql::COUNTED
        ),
        params: vec![Param::Text(site.into()), Param::Time(since)],
    };
    Ok(x.cells(&sql)?
        .first()
        .map(|r| at(r, 0).count())
        .unwrap_or(0))
}

/// See [`crate::Store::recent_sessions`].
pub fn recent_sessions(
    x: &impl Execute,
    since: DateTime<Utc>,
) -> Result<Vec<SessionState>, StoreError> {
    let d = x.dialect();
    let any = |c: &str| d.any(c);
    let sql = Sql {
        text: format!(
            "SELECT session_id, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} \
             FROM events WHERE ts >= $1 AND {} GROUP BY session_id",
            any("visitor_id"),
            any("site"),
            d.epoch_micros("max(ts)"),
            any("entry_page"),
            any("source"),
            any("referrer"),
            any("utm_source"),
            any("utm_medium"),
            any("utm_campaign"),
            any("utm_content"),
            any("utm_term"),
            sql::COUNTED,
        ),
        params: vec![Param::Time(since)],
    };
    Ok(x.cells(&sql)?
        .iter()
        .map(|r| {
            let t = |i| at(r, i).text();
            SessionState {
                session_id: at(r, 0).count(),
                visitor_id: at(r, 1).count(),
                site: t(2),
                last_seen: at(r, 3).int(),
                acquisition: Arc::new(Acquisition {
                    entry_page: t(4),
                    source: t(5),
                    referrer: t(6),
                    utm: [t(7), t(8), t(9), t(10), t(11)],
                }),
            }
        })
        .collect())
}

/// See [`crate::Store::recent_journeys`].
pub fn recent_journeys(
    x: &impl Execute,
    since: DateTime<Utc>,
) -> Result<Vec<JourneyState>, StoreError> {
    let d = x.dialect();
    let last = |c: &str| {
        format!(
            "coalesce({}, '')",
            d.arg_max_if(c, "seq", "name = 'pageview'")
        )
    };
    let sql = Sql {
        text: format!(
            "SELECT journey_id, {}, {}, coalesce(max(seq), 0), {}, {} \
             FROM events WHERE ts >= $1 AND journey_id IS NOT NULL AND {} GROUP BY journey_id",
            d.any("visitor_id"),
            d.epoch_micros("max(ts)"),
            last("site"),
            last("pathname"),
            sql::COUNTED,
        ),
        params: vec![Param::Time(since)],
    };
    Ok(x.cells(&sql)?
        .iter()
        .map(|r| JourneyState {
            journey_id: at(r, 0).count(),
            visitor_id: at(r, 1).count(),
            last_seen: at(r, 2).int(),
            seq: at(r, 3).count() as u32,
            last_site: at(r, 4).text(),
            last_page: at(r, 5).text(),
        })
        .collect())
}

/// See [`crate::Store::paths`].
pub fn paths(x: &impl Execute, q: &PathQuery) -> Result<Paths, StoreError> {
    let nodes = x
        .cells(&journeys::path_nodes_sql(x.dialect(), q))?
        .iter()
        .map(|r| PathNode {
            position: at(r, 0).int() as i32,
            site: at(r, 1).text(),
            page: at(r, 2).text(),
            visits: at(r, 3).count(),
            visitors: at(r, 4).count(),
            entrances: at(r, 5).count(),
            exits: at(r, 6).count(),
        })
        .collect();
    let links = x
        .cells(&journeys::path_links_sql(x.dialect(), q))?
        .iter()
        .map(|r| PathLink {
            position: at(r, 0).int() as i32,
            from_site: at(r, 1).text(),
            from_page: at(r, 2).text(),
            to_site: at(r, 3).text(),
            to_page: at(r, 4).text(),
            visits: at(r, 5).count(),
            visitors: at(r, 6).count(),
        })
        .collect();
    Ok(Paths { nodes, links })
}

/// See [`crate::Store::funnel`].
pub fn funnel(x: &impl Execute, q: &FunnelQuery) -> Result<Vec<FunnelRow>, StoreError> {
    let mut rows: Vec<FunnelRow> = x
        .cells(&journeys::funnel_sql(x.dialect(), q))?
        .iter()
        .map(|r| FunnelRow {
            step: at(r, 0).count() as u32,
            visits: at(r, 1).count(),
            visitors: at(r, 2).count(),
            median_seconds: at(r, 3).float(),
        })
        .collect();
    rows.sort_by_key(|r| r.step);
    Ok(rows)
}
