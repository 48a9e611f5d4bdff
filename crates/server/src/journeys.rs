//! The journeys API: where visitors went before and after a page, and how
//! far they got through a funnel.
//!
//! - `GET /api/v1/stats/next-pages` and `/previous-pages`: one step from a page.
//! - `GET /api/v1/stats/paths`: several steps both ways, as nodes and links
//!   for a Sankey diagram, with small branches grouped as "(other pages)".
//! - `POST /api/v1/stats/funnel`: visits reaching each step, in order.
//!
//! A journey question covers the queried site and the sites its journeys
//! are linked with on every day it reads (`ask::journey_question`); the
//! gate decides whether the caller may see them all, under one agreement.
//! Where the answer involves another organisation's site, every node, link,
//! entrance, exit and step goes through the grant's release, which withholds
//! those describing fewer than the agreement's `k` visitors.

use crate::ask::{self, Answer, Decided, Params};
use crate::auth::{self, Caller};
use crate::routes::Registrar;
use crate::{blocking, ApiError, App};
use axum::extract::State;
use axum::http::Uri;
use axum::routing::{get, post};
use axum::Json;
use glasshouse_model::journey::{
    validate_steps, FunnelQuery, FunnelStep, PathQuery, MAX_PATH_DEPTH,
};
use glasshouse_model::query::Comparison;
use glasshouse_model::query::Filter;
use glasshouse_model::{Question, Shape};
use glasshouse_store::tiers;
use glasshouse_store::{FunnelRow, Paths};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/stats/next-pages", get(next_pages))
        .gated("/api/v1/stats/previous-pages", get(previous_pages))
        .gated("/api/v1/stats/paths", get(paths))
        .gated("/api/v1/stats/funnel", post(funnel));
}

/// Which figures of a journey answer may be shown: all of them on the
/// caller's own ground; under an agreement, those the grant releases.
struct Shown(Vec<Option<u64>>);

impl Shown {
    /// Releases `counts` (visitors of nodes, links or steps) under `d`'s
    /// grant. A figure for which `partner(i)` is false describes only the
    /// caller's own data (the explored page of its own site, or a funnel's
    /// first page step there) and is shown as it is; every other figure of a
    /// journey that may cross into a partner's site goes through the release.
    fn of(
        app: &App,
        d: &Decided,
        counts: &[u64],
        partner: impl Fn(usize) -> bool,
    ) -> Result<Shown, ApiError> {
        let released = d.release_counts(app, counts)?;
        Ok(Shown(
            released
                .into_iter()
                .enumerate()
                .map(|(i, r)| if partner(i) { r } else { Some(counts[i]) })
                .collect(),
        ))
    }
    fn at(&self, i: usize) -> bool {
        self.0.get(i).is_some_and(Option::is_some)
    }
}

/// A path question from the query string; `shape` is made from the page.
fn path_question(
    app: &App,
    caller: &Caller,
    p: &Params,
    shape: impl FnOnce(String) -> Shape,
) -> Result<Question, ApiError> {
    let site = auth::known_site(app, p.get("site_id"))?;
    let range = ask::range(app, site, p.get("period"), p.get("date"))?;
    let filters = Filter::parse_list(p.get("filters"))?;
    let filters = crate::segments::with_segment(app, caller, site, filters, p.get("segment"))?;
    let page = p
        .get("page")
        .filter(|s| s.starts_with('/') && s.len() <= 2000)
        .ok_or_else(|| ApiError::bad_request("page: required, a path such as /apply"))?;
    let purpose = ask::purpose(site, p.get("purpose"));
    ask::journey_question(app, site, range, filters, purpose, shape(page.to_string()))
}

/// The store's question for a path shape.
fn path_query(q: &Question, depth: u32) -> PathQuery {
    let page = match &q.shape {
        Shape::NextPages { page } | Shape::PreviousPages { page } | Shape::Paths { page, .. } => {
            page.clone()
        }
        _ => String::new(),
    };
    PathQuery {
        query: q.query.clone(),
        sites: q.sites.clone(),
        page,
        depth,
    }
}

async fn one_step(app: App, caller: Caller, uri: Uri, next: bool) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let q = path_question(&app, &caller, &p, |page| {
        if next {
            Shape::NextPages { page }
        } else {
            Shape::PreviousPages { page }
        }
    })?;
    let d = ask::decide(&app, &caller, q)?;
    let store = app.store.clone();
    let q = path_query(&d.question, 1);
    let raw_from = tiers::raw_from(&app.config, &q.query.site, d.local_today(&app));
    // Raw events answer their days; daily transitions answer the days before.
    let rows = blocking(move || {
        let split = tiers::split(store.as_ref(), &q.query, raw_from)?;
        let mut rows: tiers::Neighbours = match split.rolled {
            None => Default::default(),
            Some(days) => {
                tiers::refuse_filters(&q.query, &split)?;
                tiers::rolled_neighbours(
                    store.as_ref(),
                    &q.sites,
                    &q.query.site,
                    &q.page,
                    days,
                    next,
                )?
            }
        };
        if let Some(raw) = split.raw {
            let paths = store.paths(&PathQuery {
                query: raw,
                ..q.clone()
            })?;
            for l in paths
                .links
                .iter()
                .filter(|l| l.position == if next { 0 } else { -1 })
            {
                let key = if next {
                    (l.to_site.clone(), l.to_page.clone())
                } else {
                    (l.from_site.clone(), l.from_page.clone())
                };
                let e = rows.entry(key).or_insert((0, 0));
                e.0 += l.visits;
                e.1 += l.visitors;
            }
        }
        Ok(rows)
    })
    .await
    .map_err(|e| d.error(e))?;
    let rows: Vec<((String, String), (u64, u64))> = rows.into_iter().collect();
    let visitors: Vec<u64> = rows.iter().map(|(_, (_, v))| *v).collect();
    // A page of the caller's own site right after (or before) its own
    // explored page describes its own data; a partner's page is shared.
    let shown = Shown::of(&app, &d, &visitors, |i| !own_site(&app, &d, &rows[i].0 .0))?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shown.at(*i))
        .map(|(_, r)| r)
        .collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    let results: Vec<Value> = rows
        .into_iter()
        .map(|((site, page), (visits, visitors))| json!({"site": site, "page": page, "visits": visits, "visitors": visitors}))
        .collect();
    d.answer(
        &app,
        json!({ "results": results, "sites": d.question.sites }),
    )
}

async fn next_pages(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    one_step(app, caller, uri, true).await
}

async fn previous_pages(
    State(app): State<App>,
    caller: Caller,
    uri: Uri,
) -> Result<Answer, ApiError> {
    one_step(app, caller, uri, false).await
}

fn bounded(
    value: Option<&str>,
    field: &'static str,
    default: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match value {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("{field}: a whole number from 1 to {max}"))
            }),
    }
}

async fn paths(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let depth = bounded(p.get("depth"), "depth", 3, MAX_PATH_DEPTH)?;
    let branches = bounded(p.get("branches"), "branches", 6, 20)?;
    let q = path_question(&app, &caller, &p, |page| Shape::Paths {
        page,
        depth,
        branches,
    })?;
    let d = ask::decide(&app, &caller, q)?;
    let q = path_query(&d.question, depth);
    let (site, page) = (q.query.site.clone(), q.page.clone());
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &site, d.local_today(&app));
    let paths = blocking(move || {
        tiers::raw_only(
            store.as_ref(),
            &q.query,
            raw_from,
            "paths over several steps",
        )?;
        Ok(store.paths(&q)?)
    })
    .await
    .map_err(|e| d.error(e))?;
    let node_visitors: Vec<u64> = paths.nodes.iter().map(|n| n.visitors).collect();
    let link_visitors: Vec<u64> = paths.links.iter().map(|l| l.visitors).collect();
    let ends: Vec<u64> = paths
        .nodes
        .iter()
        .flat_map(|n| [n.entrances, n.exits])
        .collect();
    let own = |host: &str| own_site(&app, &d, host);
    let shown = Released {
        // The explored page and the pages one step from it, on the caller's
        // own site, describe its own data (no other page lies between);
        // further out, a journey may have passed through a partner's site.
        nodes: Shown::of(&app, &d, &node_visitors, |i| {
            let n = &paths.nodes[i];
            !(n.position.abs() <= 1 && own(&n.site))
        })?,
        links: Shown::of(&app, &d, &link_visitors, |i| {
            let l = &paths.links[i];
            !((-1..=0).contains(&l.position) && own(&l.from_site) && own(&l.to_site))
        })?,
        ends: Shown::of(&app, &d, &ends, |_| true)?,
    };
    let mut out = sankey(
        &paths,
        &shown,
        &site,
        &page,
        depth as i32,
        branches as usize,
    );
    out["sites"] = json!(d.question.sites);
    d.answer(&app, out)
}

/// What the grant releases of a path answer, by index into its nodes,
/// links, and (two per node) entrances and exits.
struct Released {
    nodes: Shown,
    links: Shown,
    ends: Shown,
}

/// Nodes and links for a Sankey diagram: the top `branches` pages per
/// position, the rest as "(other pages)", with entrances and exits. Links
/// merged into "(other pages)" add up their visitors, which may count a
/// person twice; their visits are exact.
fn sankey(
    paths: &Paths,
    shown: &Released,
    site: &str,
    page: &str,
    depth: i32,
    branches: usize,
) -> Value {
    let mut kept: HashMap<(i32, &str, &str), String> = HashMap::new();
    let mut nodes: Vec<Value> = Vec::new();
    let mut node_visits: HashMap<String, u64> = HashMap::new();
    let mut per_position: HashMap<i32, usize> = HashMap::new();
    let mut anchor = json!({"site": site, "page": page, "visits": 0, "visitors": 0});
    for (i, n) in paths.nodes.iter().enumerate() {
        // A page the grant withholds (under an agreement, one seen by fewer
        // than k visitors) is left out, not merged, so no count of it shows.
        if !shown.nodes.at(i) {
            continue;
        }
        if n.position == 0 && n.site == site && n.page == page {
            anchor =
                json!({"site": site, "page": page, "visits": n.visits, "visitors": n.visitors});
        }
        let count = per_position.entry(n.position).or_insert(0);
        let id = if *count < branches {
            *count += 1;
            format!("{}|{}|{}", n.position, n.site, n.page)
        } else {
            format!("{}|other", n.position)
        };
        kept.insert((n.position, n.site.as_str(), n.page.as_str()), id.clone());
        *node_visits.entry(id).or_insert(0) += n.visits;
    }
    let mut links: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for (i, l) in paths.links.iter().enumerate() {
        if !shown.links.at(i) {
            continue;
        }
        let (Some(from), Some(to)) = (
            kept.get(&(l.position, l.from_site.as_str(), l.from_page.as_str())),
            kept.get(&(l.position + 1, l.to_site.as_str(), l.to_page.as_str())),
        ) else {
            continue;
        };
        let e = links.entry((from.clone(), to.clone())).or_insert((0, 0));
        e.0 += l.visits;
        e.1 += l.visitors;
    }
    for (i, n) in paths.nodes.iter().enumerate() {
        let Some(id) = kept.get(&(n.position, n.site.as_str(), n.page.as_str())) else {
            continue;
        };
        if n.entrances > 0 && n.position > -depth && shown.ends.at(2 * i) {
            let e = links
                .entry((format!("{}|entrance", n.position - 1), id.clone()))
                .or_insert((0, 0));
            e.0 += n.entrances;
            *node_visits
                .entry(format!("{}|entrance", n.position - 1))
                .or_insert(0) += n.entrances;
        }
        if n.exits > 0 && n.position < depth && shown.ends.at(2 * i + 1) {
            let e = links
                .entry((id.clone(), format!("{}|exit", n.position + 1)))
                .or_insert((0, 0));
            e.0 += n.exits;
            *node_visits
                .entry(format!("{}|exit", n.position + 1))
                .or_insert(0) += n.exits;
        }
    }
    let mut ids: Vec<(&String, &u64)> = node_visits.iter().collect();
    ids.sort_by(|a, b| {
        let pos = |id: &str| {
            id.split('|')
                .next()
                .and_then(|p| p.parse::<i32>().ok())
                .unwrap_or(0)
        };
        pos(a.0)
            .cmp(&pos(b.0))
            .then(b.1.cmp(a.1))
            .then(a.0.cmp(b.0))
    });
    for (id, visits) in ids {
        let mut parts = id.splitn(3, '|');
        let position: i32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let (kind, site, page) = match (parts.next(), parts.next()) {
            (Some("other"), None) => ("other", "", "(other pages)"),
            (Some("entrance"), None) => ("entrance", "", "(entrance)"),
            (Some("exit"), None) => ("exit", "", "(exit)"),
            (Some(s), Some(p)) => ("page", s, p),
            _ => continue,
        };
        nodes.push(json!({"id": id, "position": position, "site": site, "page": page, "kind": kind, "visits": visits}));
    }
    let mut link_list: Vec<_> = links.iter().collect();
    link_list.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let links: Vec<Value> = link_list
        .into_iter()
        .map(|((s, t), (v, u))| json!({"source": s, "target": t, "visits": v, "visitors": u}))
        .collect();
    json!({"page": anchor, "nodes": nodes, "links": links})
}

/// The body of `POST /api/v1/stats/funnel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelBody {
    site_id: Option<String>,
    period: Option<String>,
    date: Option<String>,
    filters: Option<String>,
    segment: Option<String>,
    purpose: Option<String>,
    steps: Vec<FunnelStep>,
    compare: Option<String>,
}

/// Checks the steps, and that every step's site is one the question's
/// journeys are linked with, naming the first that is not.
pub fn check_steps(steps: &[FunnelStep], sites: &[String]) -> Result<(), ApiError> {
    validate_steps(steps)?;
    for (i, s) in steps.iter().enumerate() {
        if let FunnelStep::Page {
            site: Some(host), ..
        } = s
        {
            if !sites.iter().any(|v| v.eq_ignore_ascii_case(host)) {
                return Err(ApiError::bad_request(format!(
                    "steps: step {}: journeys from {} are not linked with {host:?} for the whole period; only sites of an agreement that links journeys, in force on every day asked, can be funnel steps",
                    i + 1,
                    sites[0]
                )));
            }
        }
    }
    Ok(())
}

/// Whether `host` is a site of the caller's own organisation.
fn own_site(app: &App, d: &Decided, host: &str) -> bool {
    app.config
        .site(host)
        .is_some_and(|s| s.organisation == d.grant.organisation)
}

fn funnel_rows(
    app: &App,
    d: &Decided,
    rows: &[FunnelRow],
    steps: &[FunnelStep],
) -> Result<Vec<Value>, ApiError> {
    let visitors: Vec<u64> = rows.iter().map(|r| r.visitors).collect();
    // Only a first step that is a page of the caller's own site describes
    // the caller's data alone; an event step matches events on every site.
    let site = &d.question.query.site;
    let own_first = match steps.first() {
        Some(FunnelStep::Page {
            site: step_site, ..
        }) => own_site(app, d, step_site.as_deref().unwrap_or(site)),
        _ => false,
    };
    let shown = Shown::of(app, d, &visitors, |i| !(i == 0 && own_first))?;
    let first = rows.first().map(|r| r.visits).unwrap_or(0);
    let mut previous = first;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let label = steps[r.step as usize - 1].label();
            let conversion = if first == 0 { 0.0 } else { (r.visits as f64 * 1000.0 / first as f64).round() / 10.0 };
            let dropoff = previous.saturating_sub(r.visits);
            previous = r.visits;
            if shown.at(i) {
                json!({"step": r.step, "label": label, "visits": r.visits, "visitors": r.visitors, "conversion_rate": conversion, "dropoff": dropoff, "median_seconds": r.median_seconds})
            } else {
                json!({"step": r.step, "label": label, "visits": null, "visitors": null, "conversion_rate": null, "dropoff": null, "median_seconds": null, "suppressed": true})
            }
        })
        .collect())
}

async fn funnel(
    State(app): State<App>,
    caller: Caller,
    uri: Uri,
    body: Result<Json<FunnelBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Answer, ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let p = Params::from_uri(&uri)?;
    for (name, value) in [
        ("site_id", &b.site_id),
        ("period", &b.period),
        ("date", &b.date),
        ("filters", &b.filters),
        ("segment", &b.segment),
        ("purpose", &b.purpose),
        ("compare", &b.compare),
    ] {
        p.agree(name, value.as_deref())?;
    }
    let site = auth::known_site(&app, b.site_id.as_deref())?;
    let range = ask::range(&app, site, b.period.as_deref(), b.date.as_deref())?;
    let filters = Filter::parse_list(b.filters.as_deref())?;
    let filters =
        crate::segments::with_segment(&app, &caller, site, filters, b.segment.as_deref())?;
    let compare = match crate::stats::parse_compare(b.compare.as_deref())? {
        None => false,
        Some(Comparison::PreviousPeriod) => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "compare: funnels compare with previous_period only",
            ))
        }
    };
    validate_steps(&b.steps)?;
    let shape = Shape::Funnel {
        steps: b.steps.clone(),
        compare,
    };
    let purpose = ask::purpose(site, b.purpose.as_deref());
    let q = ask::journey_question(&app, site, range, filters, purpose, shape)?;
    check_steps(&b.steps, &q.sites)?;
    let d = ask::decide(&app, &caller, q)?;
    let make = |query| FunnelQuery {
        query,
        sites: d.question.sites.clone(),
        steps: b.steps.clone(),
    };
    let now = make(d.question.query.clone());
    let before = compare.then(|| make(d.question.query.over(range.previous())));
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &site.host, d.local_today(&app));
    let (rows, previous) = blocking(move || {
        let rows = tiers::funnel(store.as_ref(), &now, raw_from)?;
        let previous = match before {
            Some(q) => Some(tiers::funnel(store.as_ref(), &q, raw_from)?),
            None => None,
        };
        Ok((rows, previous))
    })
    .await
    .map_err(|e| d.error(e))?;
    let mut out =
        json!({"results": funnel_rows(&app, &d, &rows, &b.steps)?, "sites": d.question.sites});
    if let Some(p) = previous {
        out["comparison"] = json!({"results": funnel_rows(&app, &d, &p, &b.steps)?});
    }
    d.answer(&app, out)
}
