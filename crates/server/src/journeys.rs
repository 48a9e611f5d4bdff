//! The journeys API: where visitors went before and after a page, and how
//! far they got through a funnel.
//!
//! - `GET /api/v1/stats/next-pages` and `/previous-pages`: one step from a page.
//! - `GET /api/v1/stats/paths`: several steps both ways, as nodes and links
//!   for a Sankey diagram, with small branches grouped as "(other pages)".
//! - `POST /api/v1/stats/funnel`: visits reaching each step, in order.
//!
//! Which sites a journey may show is decided here, from the configuration:
//! the queried site, plus the other sites of an agreement in force that links
//! journeys through it, when the caller's organisation signed it and it
//! shares page breakdowns. Rows about another organisation's site that
//! describe fewer than the agreement's `k` visitors are never shown.

use crate::auth::{self, Caller};
use crate::{blocking, tiers, ApiError, App};
use axum::extract::{Query as Params, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use glasshouse_model::journey::{
    validate_steps, FunnelQuery, FunnelStep, PathQuery, MAX_PATH_DEPTH,
};
use glasshouse_model::query::{DateRange, Filter, Query};
use glasshouse_model::Site;
use glasshouse_store::{FunnelRow, Paths};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/stats/next-pages", get(next_pages))
        .route("/api/v1/stats/previous-pages", get(previous_pages))
        .route("/api/v1/stats/paths", get(paths))
        .route("/api/v1/stats/funnel", post(funnel))
}

/// What a caller may see of journeys through one site.
pub struct View {
    /// Sites whose pages may appear, the queried site first.
    pub sites: Vec<String>,
    /// Sites whose rows are suppressed under `k` visitors (another organisation's).
    pub foreign: Vec<String>,
    /// The agreement's minimum visitors per row about another organisation's site.
    pub k: u64,
}

impl View {
    fn shown(&self, site: &str, visitors: u64) -> bool {
        !self.foreign.iter().any(|f| f == site) || visitors >= self.k
    }
}

/// The sites a journey through `site` may show to `caller` on `day`.
pub fn view(app: &App, caller: &Caller, site: &Site, day: chrono::NaiveDate) -> View {
    let mut out = View {
        sites: vec![site.host.clone()],
        foreign: Vec::new(),
        k: 0,
    };
    let Some(a) = app.config.journey_agreement(&site.host, day) else {
        return out;
    };
    let party = a.parties.contains(&caller.organisation);
    let shares_pages = a.breakdowns.iter().any(|b| b == "event:page");
    if !(caller.all_sites || party && shares_pages) {
        return out;
    }
    for host in app
        .config
        .journey_sites(&site.host, day)
        .into_iter()
        .skip(1)
    {
        let own = app
            .config
            .site(&host)
            .is_some_and(|s| s.organisation == caller.organisation);
        if !own && !caller.all_sites {
            out.foreign.push(host.clone());
        }
        out.sites.push(host);
    }
    out.k = u64::from(a.k);
    out
}

#[derive(Debug, Deserialize, Default)]
pub struct PathParams {
    site_id: Option<String>,
    period: Option<String>,
    date: Option<String>,
    filters: Option<String>,
    page: Option<String>,
    depth: Option<String>,
    branches: Option<String>,
}

struct Parsed {
    query: PathQuery,
    view: View,
}

fn parse_path(
    app: &App,
    headers: &HeaderMap,
    p: &PathParams,
    depth: u32,
) -> Result<Parsed, ApiError> {
    let caller = auth::caller(app, headers)?;
    let site = auth::site(app, &caller, p.site_id.as_deref())?;
    let today = app.clock.now().date_naive();
    let range = DateRange::parse(p.period.as_deref(), p.date.as_deref(), today)?;
    let filters = Filter::parse_list(p.filters.as_deref())?;
    let page = p
        .page
        .as_deref()
        .filter(|s| s.starts_with('/') && s.len() <= 2000)
        .ok_or_else(|| ApiError::bad_request("page: required, a path such as /apply"))?;
    let view = view(app, &caller, site, today);
    Ok(Parsed {
        query: PathQuery {
            query: Query::for_range(&site.host, range, vec![], filters),
            sites: view.sites.clone(),
            page: page.to_string(),
            depth,
        },
        view,
    })
}

async fn run_paths(app: &App, q: PathQuery) -> Result<Paths, ApiError> {
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.query.site, app.clock.now().date_naive());
    blocking(move || {
        tiers::raw_only(
            store.as_ref(),
            &q.query,
            raw_from,
            "paths over several steps",
        )?;
        Ok(store.paths(&q)?)
    })
    .await
}

async fn one_step(
    app: App,
    headers: HeaderMap,
    p: PathParams,
    next: bool,
) -> Result<Json<Value>, ApiError> {
    let parsed = parse_path(&app, &headers, &p, 1)?;
    let store = app.store.clone();
    let q = parsed.query;
    let raw_from = tiers::raw_from(&app.config, &q.query.site, app.clock.now().date_naive());
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
    .await?;
    let mut rows: Vec<((String, String), (u64, u64))> = rows
        .into_iter()
        .filter(|((site, _), (_, visitors))| parsed.view.shown(site, *visitors))
        .collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    let results: Vec<Value> = rows
        .into_iter()
        .map(|((site, page), (visits, visitors))| json!({"site": site, "page": page, "visits": visits, "visitors": visitors}))
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn next_pages(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<PathParams>,
) -> Result<Json<Value>, ApiError> {
    one_step(app, headers, p, true).await
}

async fn previous_pages(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<PathParams>,
) -> Result<Json<Value>, ApiError> {
    one_step(app, headers, p, false).await
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

async fn paths(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<PathParams>,
) -> Result<Json<Value>, ApiError> {
    let depth = bounded(p.depth.as_deref(), "depth", 3, MAX_PATH_DEPTH)?;
    let branches = bounded(p.branches.as_deref(), "branches", 6, 20)? as usize;
    let parsed = parse_path(&app, &headers, &p, depth)?;
    let site = parsed.query.query.site.clone();
    let page = parsed.query.page.clone();
    let paths = run_paths(&app, parsed.query).await?;
    Ok(Json(sankey(
        &paths,
        &parsed.view,
        &site,
        &page,
        depth as i32,
        branches,
    )))
}

/// Nodes and links for a Sankey diagram: the top `branches` pages per
/// position, the rest as "(other pages)", with entrances and exits. Links
/// merged into "(other pages)" add up their visitors, which may count a
/// person twice; their visits are exact.
fn sankey(
    paths: &Paths,
    view: &View,
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
    for n in &paths.nodes {
        if n.position == 0 && n.site == site && n.page == page {
            anchor =
                json!({"site": site, "page": page, "visits": n.visits, "visitors": n.visitors});
        }
        // Another organisation's page seen by fewer than k visitors is
        // withheld outright, not merged, so no count of it shows anywhere.
        if !view.shown(&n.site, n.visitors) {
            continue;
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
    for l in &paths.links {
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
    for n in &paths.nodes {
        let Some(id) = kept.get(&(n.position, n.site.as_str(), n.page.as_str())) else {
            continue;
        };
        if n.entrances > 0 && n.position > -depth {
            let e = links
                .entry((format!("{}|entrance", n.position - 1), id.clone()))
                .or_insert((0, 0));
            e.0 += n.entrances;
            *node_visits
                .entry(format!("{}|entrance", n.position - 1))
                .or_insert(0) += n.entrances;
        }
        if n.exits > 0 && n.position < depth {
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
    steps: Vec<FunnelStep>,
    compare: Option<String>,
}

/// Checks that every step's site may be seen, naming the first that may not.
pub fn check_step_sites(steps: &[FunnelStep], view: &View) -> Result<(), ApiError> {
    validate_steps(steps)?;
    for (i, s) in steps.iter().enumerate() {
        if let FunnelStep::Page {
            site: Some(host), ..
        } = s
        {
            if !view.sites.iter().any(|v| v.eq_ignore_ascii_case(host)) {
                return Err(ApiError::bad_request(format!(
                    "steps: step {}: journeys from {} are not linked with {host:?}; only sites of an agreement that links journeys, and that your organisation signed, can be funnel steps",
                    i + 1,
                    view.sites[0]
                )));
            }
        }
    }
    Ok(())
}

fn funnel_rows(rows: &[FunnelRow], steps: &[FunnelStep], view: &View) -> Vec<Value> {
    let first = rows.first().map(|r| r.visits).unwrap_or(0);
    let foreign = steps.iter().any(|s| {
        matches!(s, FunnelStep::Page { site: Some(h), .. } if view.foreign.iter().any(|f| f.eq_ignore_ascii_case(h)))
    });
    let mut previous = first;
    rows.iter()
        .map(|r| {
            let withheld = foreign && r.visitors < view.k && r.visitors > 0;
            let conversion = if first == 0 { 0.0 } else { (r.visits as f64 * 1000.0 / first as f64).round() / 10.0 };
            let dropoff = previous.saturating_sub(r.visits);
            previous = r.visits;
            if withheld {
                json!({"step": r.step, "label": steps[r.step as usize - 1].label(), "visits": null, "visitors": null, "conversion_rate": null, "dropoff": null, "median_seconds": null, "suppressed": true})
            } else {
                json!({"step": r.step, "label": steps[r.step as usize - 1].label(), "visits": r.visits, "visitors": r.visitors, "conversion_rate": conversion, "dropoff": dropoff, "median_seconds": r.median_seconds})
            }
        })
        .collect()
}

async fn funnel(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<FunnelBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let site = auth::site(&app, &caller, b.site_id.as_deref())?;
    let today = app.clock.now().date_naive();
    let range = DateRange::parse(b.period.as_deref(), b.date.as_deref(), today)?;
    let filters = Filter::parse_list(b.filters.as_deref())?;
    let view = view(&app, &caller, site, today);
    check_step_sites(&b.steps, &view)?;
    let compare = crate::stats::parse_compare(b.compare.as_deref())?;
    let make = |range: DateRange| FunnelQuery {
        query: Query::for_range(&site.host, range, vec![], filters.clone()),
        sites: view.sites.clone(),
        steps: b.steps.clone(),
    };
    let (now, before) = (make(range), compare.then(|| make(range.previous())));
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &site.host, today);
    let (rows, previous) = blocking(move || {
        let rows = tiers::funnel(store.as_ref(), &now, raw_from)?;
        let previous = match before {
            Some(q) => Some(tiers::funnel(store.as_ref(), &q, raw_from)?),
            None => None,
        };
        Ok((rows, previous))
    })
    .await?;
    let mut out = json!({"results": funnel_rows(&rows, &b.steps, &view)});
    if let Some(p) = previous {
        out["comparison"] = json!({"results": funnel_rows(&p, &b.steps, &view)});
    }
    Ok(Json(out))
}
