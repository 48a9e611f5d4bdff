//! Path and funnel questions as SQL, for each dialect, and their answers.
//!
//! Both stand on the journey columns written at ingest (`sessions.rs`):
//! every page view carries its journey's id and its number in the journey,
//! so "the page after" is `seq + 1` of the same journey — a hash join on a
//! small set of journeys, never a window over the whole range.
//!
//! Definitions (docs/api.md repeats them):
//! - A path question follows each journey from its *first* view of the page
//!   in the period, `depth` page views either way, on the sites the caller
//!   may see. Visits count journeys, visitors count distinct daily visitor ids.
//! - A journey counts at funnel step k if it has events matching steps 1..k
//!   in that order, each strictly later than the one before; the earliest
//!   match of each step is used, which is the most any journey can reach.
//!   The median time between steps uses those earliest matches.

use crate::sql::{wildcard_regex, Builder, Dialect, Param, Sql, COUNTED};
use chrono::Duration;
use glasshouse_model::journey::{FunnelQuery, FunnelStep, PathQuery};

/// A page at a position relative to the explored page (0), with its traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathNode {
    /// Steps after (positive) or before (negative) the explored page.
    pub position: i32,
    /// Host of the page.
    pub site: String,
    /// Path of the page.
    pub page: String,
    /// Journeys with this page at this position.
    pub visits: u64,
    /// Distinct visitors among them.
    pub visitors: u64,
    /// Journeys that started here (no page view before it).
    pub entrances: u64,
    /// Journeys that ended here (no page view after it, on a site the caller may see).
    pub exits: u64,
}

/// Journeys that went from one page to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathLink {
    /// Position of the page they came from; the next page is at `position + 1`.
    pub position: i32,
    /// Host of the page they came from.
    pub from_site: String,
    /// Path of the page they came from.
    pub from_page: String,
    /// Host of the page they went to.
    pub to_site: String,
    /// Path of the page they went to.
    pub to_page: String,
    /// Journeys that took this step.
    pub visits: u64,
    /// Distinct visitors among them.
    pub visitors: u64,
}

/// Everything around one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paths {
    /// Pages by position, most visits first within a position.
    pub nodes: Vec<PathNode>,
    /// Steps between pages of neighbouring positions, most visits first.
    pub links: Vec<PathLink>,
}

/// One funnel step's result.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRow {
    /// 1 for the first step.
    pub step: u32,
    /// Journeys that reached this step (and all before it, in order).
    pub visits: u64,
    /// Distinct visitors among them.
    pub visitors: u64,
    /// Median seconds from the previous step; none for the first step or when no journey got here.
    pub median_seconds: Option<f64>,
}

/// The shared start of both path statements: the journeys through the page
/// (`a`) and their page views around it (`st`).
/// `st` reaches one step beyond `depth`, so an exit at the edge is known;
/// the third value is the placeholder of `depth`.
fn path_steps<'d>(d: &'d dyn Dialect, q: &PathQuery) -> (Builder<'d>, String, String) {
    let mut b = Builder::new(d);
    let site = b.bind(Param::Text(q.query.site.clone()));
    let from = b.bind(Param::Time(q.query.from));
    let until = b.bind(Param::Time(q.query.until));
    let page = b.bind(Param::Text(q.page.clone()));
    let base = format!("site = {site} AND ts >= {from} AND ts < {until} AND {COUNTED}");
    let filters = b.row_filters(&q.query, &base);
    // A journey runs at most a day either side of the period's edges.
    let wide_from = b.bind(Param::Time(q.query.from - Duration::days(1)));
    let wide_until = b.bind(Param::Time(q.query.until + Duration::days(1)));
    let sites: Vec<String> = q
        .sites
        .iter()
        .map(|s| b.bind(Param::Text(s.clone())))
        .collect();
    let depth = b.bind(Param::Int(i64::from(q.depth)));
    let cte = format!(
        "a AS (SELECT journey_id, min(seq) AS s, {any_v} AS v FROM events \
           WHERE {base} AND name = 'pageview' AND pathname = {page} AND journey_id IS NOT NULL AND {filters} \
           GROUP BY journey_id), \
         st AS (SELECT e.journey_id AS j, CAST(e.seq AS BIGINT) - CAST(a.s AS BIGINT) AS pos, CAST(e.seq AS BIGINT) AS seq, \
           e.site AS site, e.pathname AS page, a.v AS v \
           FROM (SELECT journey_id, seq, site, pathname FROM events \
             WHERE name = 'pageview' AND site IN ({sites}) AND ts >= {wide_from} AND ts < {wide_until}) e \
           JOIN a ON e.journey_id = a.journey_id \
           WHERE CAST(e.seq AS BIGINT) >= CAST(a.s AS BIGINT) - {depth} AND CAST(e.seq AS BIGINT) <= CAST(a.s AS BIGINT) + {depth} + 1)",
        any_v = d.any("visitor_id"),
        sites = sites.join(", "),
    );
    (b, cte, depth)
}

/// The statement giving the nodes of a path question.
///
/// Columns: position, site, page, visits, visitors, entrances, exits.
pub fn path_nodes_sql(d: &dyn Dialect, q: &PathQuery) -> Sql {
    let (b, cte, depth) = path_steps(d, q);
    let text = format!(
        "WITH {cte}, \
         nx AS (SELECT x.j AS j, x.seq AS seq, 1 AS hit FROM st x JOIN st y ON x.j = y.j AND y.seq = x.seq + 1 GROUP BY x.j, x.seq) \
         SELECT st.pos, st.site, st.page, count(*) AS visits, {visitors} AS visitors, \
           {entrances} AS entrances, \
           {exits} AS exits \
         FROM st LEFT JOIN nx ON st.j = nx.j AND st.seq = nx.seq WHERE st.pos <= {depth} \
         GROUP BY st.pos, st.site, st.page ORDER BY st.pos, visits DESC, st.site, st.page",
        visitors = d.count_distinct("st.v"),
        entrances = d.count_if("st.seq = 1"),
        // A marker column rather than the join key: ClickHouse fills the
        // keys of a missing right row from the left one. (`nx` groups rather
        // than using DISTINCT, which is unreliable in ClickHouse 18.16.)
        exits = d.count_if("nx.hit IS NULL"),
    );
    Sql {
        text,
        params: b.params,
    }
}

/// The statement giving the links of a path question.
///
/// Columns: position, from site, from page, to site, to page, visits, visitors.
pub fn path_links_sql(d: &dyn Dialect, q: &PathQuery) -> Sql {
    let (b, cte, depth) = path_steps(d, q);
    let text = format!(
        "WITH {cte} \
         SELECT x.pos, x.site, x.page, y.site, y.page, count(*) AS visits, {visitors} AS visitors \
         FROM st x JOIN st y ON x.j = y.j AND y.seq = x.seq + 1 WHERE x.pos < {depth} \
         GROUP BY x.pos, x.site, x.page, y.site, y.page \
         ORDER BY x.pos, visits DESC, x.site, x.page, y.site, y.page",
        visitors = d.count_distinct("x.v"),
    );
    Sql {
        text,
        params: b.params,
    }
}

/// The statement answering a funnel question.
///
/// Columns: step, visits, visitors, median seconds from the previous step.
pub fn funnel_sql(d: &dyn Dialect, q: &FunnelQuery) -> Sql {
    let mut b = Builder::new(d);
    let from = b.bind(Param::Time(q.query.from));
    let until = b.bind(Param::Time(q.query.until));
    let sites: Vec<String> = q
        .sites
        .iter()
        .map(|s| b.bind(Param::Text(s.clone())))
        .collect();
    let base = format!(
        "site IN ({}) AND ts >= {from} AND ts < {until} AND {COUNTED}",
        sites.join(", ")
    );
    let filters = b.row_filters(&q.query, &base);
    let mut matches = Vec::new();
    for step in &q.steps {
        matches.push(match step {
            FunnelStep::Page { page, site } => {
                let host = b.bind(Param::Text(
                    site.clone().unwrap_or_else(|| q.query.site.clone()),
                ));
                let path = if page.contains('*') {
                    let p = b.bind(Param::Text(wildcard_regex(page)));
                    d.regex_search("pathname", &p)
                } else {
                    let p = b.bind(Param::Text(page.clone()));
                    format!("pathname = {p}")
                };
                format!("(name = 'pageview' AND site = {host} AND {path})")
            }
            FunnelStep::Event { event } => {
                let n = b.bind(Param::Text(event.clone()));
                format!("(name = {n})")
            }
        });
    }
    let columns: Vec<String> = matches
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{m} AS m{}", i + 1))
        .collect();
    let mut ctes = vec![format!(
        "e AS (SELECT journey_id AS j, visitor_id AS v, ts, {cols} FROM events \
           WHERE {base} AND journey_id IS NOT NULL AND ({any}) AND {filters})",
        cols = columns.join(", "),
        any = matches.join(" OR "),
    )];
    // Each step's columns carry its number (t2, v2…): an engine that lets a
    // select's aliases shadow the joined table's columns (ClickHouse) would
    // otherwise read `s1.t` as this step's `min(e.ts) AS t`.
    ctes.push(format!(
        "s1 AS (SELECT j, min(ts) AS t1, {any_v} AS v1 FROM e WHERE m1 GROUP BY j)",
        any_v = d.any("v")
    ));
    let mut selects = vec![format!(
        "SELECT 1 AS step, count(*) AS visits, {v} AS visitors, {null} AS med FROM s1",
        v = d.count_distinct("v1"),
        null = d.nullable_double("NULL"),
    )];
    for k in 2..=q.steps.len() {
        let p = k - 1;
        ctes.push(format!(
            "s{k} AS (SELECT e.j AS j, min(e.ts) AS t{k}, {any_v} AS v{k}, {any_t} AS pt{k} FROM e JOIN s{p} ON e.j = s{p}.j \
               WHERE e.m{k} AND e.ts > s{p}.t{p} GROUP BY e.j)",
            any_v = d.any(&format!("s{p}.v{p}")),
            any_t = d.any(&format!("s{p}.t{p}")),
        ));
        selects.push(format!(
            "SELECT {k} AS step, count(*) AS visits, {v} AS visitors, {med} AS med FROM s{k}",
            v = d.count_distinct(&format!("v{k}")),
            med = d.nullable_double(
                &d.median(&d.seconds_between(&format!("pt{k}"), &format!("t{k}")))
            ),
        ));
    }
    Sql {
        text: format!("WITH {} {}", ctes.join(", "), selects.join(" UNION ALL ")),
        params: b.params,
    }
}
