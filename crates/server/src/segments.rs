//! Saved segments (`glasshouse_store::segments`): their HTTP face, and the
//! one place a request's segment becomes filters.
//!
//! - `GET /api/v1/segments?site_id=H` → `{"results": [{"id", "name", "filters", "shared", "mine"}]}`
//! - `POST /api/v1/segments?site_id=H` `{"name", "filters", "shared"?}` → 201
//! - `PUT /api/v1/segments/{id}?site_id=H` same body → 200
//! - `DELETE /api/v1/segments/{id}?site_id=H` → 204
//!
//! `filters` are Plausible's Stats API v2 filters. A personal segment is
//! seen and changed by its owner only; a shared one by the whole
//! organisation, and changed by its analysts and admins. A segment is
//! applied with `segment=ID` (v1 and the dashboard) or
//! `["is", "segment", [ID]]` (v2): its filters are added to the question
//! before the gate sees it, so the audit log shows what was counted.

use crate::auth::{self, Caller};
use crate::funnels::{check_csrf, SiteParam};
use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::Json;
use glasshouse_model::query::{Condition, Filter};
use glasshouse_model::v2::Filtering;
use glasshouse_model::Site;
use glasshouse_store::segments::{Segment, MAX_NAME, MAX_PER_SITE};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most filters a question may carry, its segment's included.
const MAX_FILTERS: usize = 20;

pub fn register(r: &mut Registrar) {
    r.signed("/api/v1/segments", get(list).post(create))
        .signed("/api/v1/segments/{id}", put(update).delete(remove));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    site_id: Option<String>,
    name: String,
    filters: Value,
    #[serde(default)]
    shared: bool,
}

/// The public shape of a segment, for `caller`.
fn shown(s: &Segment, caller: &Caller) -> Value {
    json!({"id": s.id, "name": s.name, "filters": s.filters, "shared": s.shared, "mine": s.owner == caller.actor})
}

/// The filters of a segment, checked: v2 filters that parse, without
/// segments inside. What a list of filters cannot say (an `or` across
/// properties, `has_not_done`) comes back as conditions.
pub fn parse_filters(filters: &Value) -> Result<Filtering, ApiError> {
    let list = filters
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::bad_request("filters: a non-empty list of v2 filters"))?;
    if filters.to_string().contains("\"segment\"") {
        return Err(ApiError::bad_request(
            "filters: a segment cannot contain another segment",
        ));
    }
    Ok(glasshouse_model::v2::filters(list)?)
}

fn checked(body: Result<Json<Body>, JsonRejection>) -> Result<Body, ApiError> {
    let Json(mut b) =
        body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    b.name = b.name.trim().to_string();
    if b.name.is_empty()
        || b.name.chars().count() > MAX_NAME
        || b.name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "name: 1 to {MAX_NAME} characters on one line"
        )));
    }
    parse_filters(&b.filters)?;
    Ok(b)
}

/// The caller's own site, named in the query string or the body; links
/// change nothing.
fn own<'a>(
    app: &'a App,
    caller: &Caller,
    query: Option<&str>,
    body: Option<&str>,
) -> Result<&'a Site, ApiError> {
    if caller.principal.link.is_some() {
        return Err(ApiError::forbidden("a shared link cannot change segments"));
    }
    auth::own_site(app, caller, query.or(body))
}

/// Whether `caller` may change `s`: its owner, or for a shared segment
/// an analyst or admin of the organisation.
fn may_change(caller: &Caller, s: &Segment) -> Result<(), ApiError> {
    if s.owner == caller.actor {
        return Ok(());
    }
    if !s.shared {
        return Err(ApiError::not_found(format!("no segment {:?} here", s.id)));
    }
    auth::may_save(caller)
}

fn now(app: &App) -> String {
    app.clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Params(p): Params<SiteParam>,
) -> Result<Json<Value>, ApiError> {
    let site = own(&app, &caller, p.site_id.as_deref(), None)?;
    let results: Vec<Value> = app
        .segments
        .of_site(&site.host, &caller.actor)
        .iter()
        .map(|s| shown(s, &caller))
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Params(p): Params<SiteParam>,
    body: Result<Json<Body>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_csrf(&caller, &headers)?;
    let b = checked(body)?;
    let site = own(&app, &caller, p.site_id.as_deref(), b.site_id.as_deref())?;
    if b.shared {
        auth::may_save(&caller)?;
    }
    let made = Segment {
        id: format!("{:016x}", rand::random::<u64>()),
        site: site.host.clone(),
        name: b.name,
        filters: b.filters,
        owner: caller.actor.clone(),
        shared: b.shared,
        updated: now(&app),
    };
    app.segments.change(|all| {
        if all.iter().filter(|s| s.site == made.site).count() >= MAX_PER_SITE {
            return Err(ApiError::bad_request(format!(
                "a site keeps at most {MAX_PER_SITE} segments; delete one first"
            )));
        }
        all.push(made.clone());
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(shown(&made, &caller))))
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
    body: Result<Json<Body>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    check_csrf(&caller, &headers)?;
    let b = checked(body)?;
    let site = own(&app, &caller, p.site_id.as_deref(), b.site_id.as_deref())?;
    if b.shared {
        auth::may_save(&caller)?;
    }
    let updated = now(&app);
    let changed = app.segments.change(|all| {
        let s = all
            .iter_mut()
            .find(|s| s.id == id && s.site == site.host && s.visible_to(&caller.actor))
            .ok_or_else(|| ApiError::not_found(format!("no segment {id:?} on {}", site.host)))?;
        may_change(&caller, s)?;
        s.name = b.name;
        s.filters = b.filters;
        s.shared = b.shared;
        s.updated = updated;
        Ok::<_, ApiError>(s.clone())
    })?;
    Ok(Json(shown(&changed, &caller)))
}

async fn remove(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
) -> Result<StatusCode, ApiError> {
    check_csrf(&caller, &headers)?;
    let site = own(&app, &caller, p.site_id.as_deref(), None)?;
    app.segments.change(|all| {
        let at = all
            .iter()
            .position(|s| s.id == id && s.site == site.host && s.visible_to(&caller.actor))
            .ok_or_else(|| ApiError::not_found(format!("no segment {id:?} on {}", site.host)))?;
        may_change(&caller, &all[at])?;
        all.remove(at);
        Ok::<_, ApiError>(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// The segment `id` of `site` that `caller` may apply.
pub fn find(app: &App, caller: &Caller, site: &Site, id: &str) -> Result<Segment, ApiError> {
    app.segments
        .find(&site.host, id)
        .filter(|s| s.visible_to(&caller.actor))
        .ok_or_else(|| {
            ApiError::bad_request(format!("segment: no segment {id:?} on {}", site.host))
        })
}

/// A request's filters with those of the segment it names (`segment=ID`)
/// added, at most [`MAX_FILTERS`] in all.
pub fn with_segment(
    app: &App,
    caller: &Caller,
    site: &Site,
    filters: Vec<Filter>,
    segment: Option<&str>,
) -> Result<Filtering, ApiError> {
    let mut out = Filtering {
        filters,
        conditions: Vec::new(),
    };
    let Some(id) = segment.filter(|s| !s.is_empty()) else {
        return Ok(out);
    };
    let s = find(app, caller, site, id)?;
    add(
        &mut out.filters,
        &mut out.conditions,
        parse_filters(&s.filters)?,
    )?;
    Ok(out)
}

/// Adds a segment's filters and conditions to a question's (each once),
/// at most [`MAX_FILTERS`] filters in all, those within conditions counted.
pub fn add(
    filters: &mut Vec<Filter>,
    conditions: &mut Vec<Condition>,
    more: Filtering,
) -> Result<(), ApiError> {
    for f in more.filters {
        if !filters.contains(&f) {
            filters.push(f);
        }
    }
    for c in more.conditions {
        if !conditions.contains(&c) {
            conditions.push(c);
        }
    }
    let within: usize = conditions.iter().map(|c| c.filters().len()).sum();
    if filters.len() + within > MAX_FILTERS {
        return Err(ApiError::bad_request(format!(
            "filters: at most {MAX_FILTERS}, the segment's included"
        )));
    }
    Ok(())
}

/// A v2 filter tree with every `["is", "segment", [ID]]` replaced by the
/// segment's own filters.
pub fn expand_v2(
    app: &App,
    caller: &Caller,
    site: &Site,
    tree: &[Value],
) -> Result<Vec<Value>, ApiError> {
    tree.iter()
        .map(|node| expand_node(app, caller, site, node))
        .collect()
}

fn expand_node(app: &App, caller: &Caller, site: &Site, node: &Value) -> Result<Value, ApiError> {
    let Some(items) = node.as_array() else {
        return Ok(node.clone());
    };
    match items.as_slice() {
        [Value::String(op), Value::String(dim), Value::Array(ids)] if dim == "segment" => {
            let id =
                match (op.as_str(), ids.as_slice()) {
                    ("is", [Value::String(id)]) => id.clone(),
                    ("is", [Value::Number(n)]) => n.to_string(),
                    _ => return Err(ApiError::bad_request(
                        "filters: a segment is applied as [\"is\", \"segment\", [ID]] with one id",
                    )),
                };
            let s = find(app, caller, site, &id)?;
            Ok(json!(["and", s.filters]))
        }
        [Value::String(op), Value::Array(children)] if op == "and" || op == "or" => {
            Ok(json!([op, expand_v2(app, caller, site, children)?]))
        }
        [Value::String(op), child] if op == "not" => {
            Ok(json!([op, expand_node(app, caller, site, child)?]))
        }
        _ => Ok(node.clone()),
    }
}
