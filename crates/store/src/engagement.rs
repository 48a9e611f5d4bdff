//! Scroll depth and time on page, read from engagement events.
//!
//! Plausible's tracker reports a page view's engagement several times (when
//! the page is hidden, loses focus, or is left for another in a
//! single-page app), each report carrying the deepest scroll so far and the
//! engaged time since the previous report, and none naming its page view.
//! So the rows are only ever appended, and a visitor's reading of a page is
//! gathered at query time: the largest scroll depth and the sum of engaged
//! time per visitor and page. The metrics average those over the
//! visitor–page pairs (visitor ids live a day, so a pair is one visitor's
//! day on a page).
//!
//! Both metrics are per page, as in Plausible: asked for with a breakdown
//! by page, or with a filter on the page (checked when the question is
//! parsed, `Question::check_engagement`).

use crate::questions::{Cell, Execute};
use crate::sql::{Builder, Param, Sql, COUNTED};
use crate::{StoreError, Totals};
use glasshouse_model::query::{Metric, Query};
use glasshouse_privacy::ENGAGEMENT;
use std::collections::HashMap;

/// Most pages named in the statement; beyond, all pages are read.
pub const MAX_LISTED: usize = 1000;

/// Which pages the engagement statement reads.
#[derive(Clone, Copy)]
pub enum Pages<'a> {
    /// All pages together, as one figure.
    Total,
    /// These pages, each on its own (every page when the list is long).
    Listed(&'a [String]),
    /// Every page, each on its own.
    Every,
}

/// Whether `q` asks for an engagement metric.
pub fn asked(q: &Query) -> bool {
    q.metrics.iter().any(|m| m.is_engagement())
}

/// The statement giving, per page (or for all of them together), the mean
/// deepest scroll and the mean engaged seconds.
///
/// Columns: page (absent for `Pages::Total`), scroll depth, seconds, pairs.
pub fn sql(d: &dyn crate::sql::Dialect, q: &Query, pages: Pages) -> Sql {
    let mut b = Builder::new(d);
    let site = b.bind(Param::Text(q.site.clone()));
    let from = b.bind(Param::Time(q.from));
    let until = b.bind(Param::Time(q.until));
    let span = format!("site = {site} AND ts >= {from} AND ts < {until}");
    // An exit-page filter finds visits by their counted events.
    let filters = b.row_filters(q, &format!("{span} AND {COUNTED}"));
    let name = b.bind(Param::Text(ENGAGEMENT.into()));
    let mut only = String::new();
    // A long list is cheaper read whole than spelled out (and ClickHouse
    // caps a statement's size): every page is grouped, the rest ignored.
    if let Pages::Listed(listed) = pages {
        if listed.len() <= MAX_LISTED {
            let list: Vec<String> = listed
                .iter()
                .map(|p| b.bind(Param::Text(p.clone())))
                .collect();
            only = format!(" AND pathname IN ({})", list.join(", "));
        }
    }
    let pairs = format!(
        "SELECT pathname AS page, visitor_id, max(scroll_depth) AS sd, sum(engagement_time) AS ms \
         FROM events WHERE {span} AND name = {name} AND {filters}{only} GROUP BY pathname, visitor_id"
    );
    let (select, group) = match pages {
        Pages::Total => ("", ""),
        Pages::Listed(_) | Pages::Every => ("page, ", " GROUP BY page"),
    };
    Sql {
        text: format!(
            "SELECT {select}avg(sd) AS scroll_depth, avg(ms) / 1000.0 AS time_on_page, count(*) AS pairs FROM ({pairs}) p{group}"
        ),
        params: b.params,
    }
}

fn set(t: &mut Totals, q: &Query, sd: &Cell, seconds: &Cell, pairs: &Cell) {
    t.engaged = pairs.count();
    if q.metrics.contains(&Metric::ScrollDepth) {
        t.scroll_depth = sd.float();
    }
    if q.metrics.contains(&Metric::TimeOnPage) {
        t.time_on_page = seconds.float();
    }
}

/// Adds the engagement metrics `q` asks for to its totals.
pub fn add_to_total(x: &impl Execute, q: &Query, t: &mut Totals) -> Result<(), StoreError> {
    let rows = x.cells(&sql(x.dialect(), q, Pages::Total))?;
    if let Some(r) = rows.first() {
        set(t, q, &r[0], &r[1], &r[2]);
    }
    Ok(())
}

/// The engagement of `pages`, per page: scroll depth, seconds and pairs.
pub type PerPage = HashMap<String, Vec<Cell>>;

/// Reads the engagement of `pages` ([`PerPage`]).
pub fn per_page(x: &impl Execute, q: &Query, pages: Pages) -> Result<PerPage, StoreError> {
    if matches!(pages, Pages::Listed(p) if p.is_empty()) {
        return Ok(PerPage::new());
    }
    Ok(x.cells(&sql(x.dialect(), q, pages))?
        .into_iter()
        .map(|mut r| (r.remove(0).text(), r))
        .collect())
}

/// Adds the engagement metrics `q` asks for to each page of a breakdown
/// by page, from `found` ([`per_page`]).
pub fn add_to_pages(q: &Query, rows: &mut [(String, Totals)], found: &PerPage) {
    for (page, t) in rows.iter_mut() {
        if let Some(r) = found.get(page.as_str()) {
            set(t, q, &r[0], &r[1], &r[2]);
        }
    }
}
