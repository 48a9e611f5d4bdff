//! Saved funnels: named step lists kept per site, editable in the dashboard
//! and through the API.
//!
//! They are kept by `glasshouse_store::saved`; this module is their HTTP
//! face: who may list, save and delete them, and the audit entry of each.
//!
//! - `GET /api/v1/funnels?site_id=H`
//! - `POST /api/v1/funnels` `{"site_id","name","steps"}` → 201
//! - `PUT /api/v1/funnels/{id}` same body → 200
//! - `DELETE /api/v1/funnels/{id}?site_id=H` → 204
//!
//! A signed-in browser must send its CSRF token in `x-csrf-token` to change them.

use crate::ask::Audited;
use crate::auth::{self, Caller};
use crate::journeys::check_steps;
use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::Extension;
use axum::Json;
use glasshouse_model::journey::FunnelStep;
use glasshouse_store::saved::{Saved, MAX_PER_SITE};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/funnels", get(list).post(create))
        .gated("/api/v1/funnels/{id}", put(update).delete(remove));
}

/// `?site_id=H` of the changes to a site's definitions.
#[derive(Deserialize)]
pub(crate) struct SiteParam {
    pub(crate) site_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    site_id: Option<String>,
    name: String,
    steps: Vec<FunnelStep>,
}

/// What the audit log records of a change to saved funnels: definitions,
/// not figures, of the caller's own site.
fn audited(caller: &Caller, action: &str, host: &str, rows: u64) -> Extension<Audited> {
    Extension(Audited {
        question: format!("funnels {action} site={host}"),
        purpose: String::new(),
        ground: format!("own organisation {}", caller.organisation()),
        rows,
    })
}

/// Signed-in browsers must prove the change comes from the dashboard.
pub(crate) fn check_csrf(caller: &Caller, headers: &HeaderMap) -> Result<(), ApiError> {
    match &caller.csrf {
        None => Ok(()),
        Some(expected) => {
            let sent = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if crate::sessions::same_secret(expected, sent) {
                Ok(())
            } else {
                Err(ApiError::forbidden(
                    "x-csrf-token: missing or wrong; reload the page",
                ))
            }
        }
    }
}

/// Checks a funnel to save: the caller's own site, a role that saves, and
/// steps on sites its journeys are linked with today.
fn validate(app: &App, caller: &Caller, b: &Body) -> Result<String, ApiError> {
    let site = auth::own_site(app, caller, b.site_id.as_deref())?;
    auth::may_save(caller)?;
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ApiError::bad_request("name: 1 to 120 characters"));
    }
    let today = app.clock.now().date_naive();
    check_steps(
        &b.steps,
        &app.config.journey_sites_over(&site.host, today, today),
    )?;
    Ok(site.host.clone())
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Params(p): Params<SiteParam>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    let site = auth::own_site(&app, &caller, p.site_id.as_deref())?;
    let mine = app.funnels.of_site(&site.host);
    Ok((
        audited(&caller, "list", &site.host, mine.len() as u64),
        Json(json!({ "funnels": mine })),
    ))
}

fn parse_body(
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<Body, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Extension<Audited>, Json<Value>), ApiError> {
    check_csrf(&caller, &headers)?;
    let b = parse_body(body)?;
    let site = validate(&app, &caller, &b)?;
    let saved = Saved {
        id: format!("{:016x}", rand::random::<u64>()),
        site,
        name: b.name.trim().to_string(),
        steps: b.steps,
        updated: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        owner: caller.actor.clone(),
    };
    app.funnels.change(|all| {
        if all.iter().filter(|f| f.site == saved.site).count() >= MAX_PER_SITE {
            return Err(ApiError::bad_request(format!(
                "a site keeps at most {MAX_PER_SITE} funnels; delete one first"
            )));
        }
        all.push(saved.clone());
        Ok(())
    })?;
    let note = audited(&caller, "save", &saved.site, 1);
    Ok((StatusCode::CREATED, note, Json(json!({ "funnel": saved }))))
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    check_csrf(&caller, &headers)?;
    let b = parse_body(body)?;
    let site = validate(&app, &caller, &b)?;
    let updated = app
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let saved = app.funnels.change(|all| {
        let f = all
            .iter_mut()
            .find(|f| f.id == id && f.site == site)
            .ok_or_else(|| ApiError::not_found(format!("no funnel {id:?} on {site}")))?;
        f.name = b.name.trim().to_string();
        f.steps = b.steps;
        f.updated = updated;
        Ok::<_, ApiError>(f.clone())
    })?;
    Ok((
        audited(&caller, "change", &saved.site, 1),
        Json(json!({ "funnel": saved })),
    ))
}

async fn remove(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
) -> Result<(StatusCode, Extension<Audited>), ApiError> {
    check_csrf(&caller, &headers)?;
    let site = auth::own_site(&app, &caller, p.site_id.as_deref())?;
    auth::may_save(&caller)?;
    app.funnels.change(|all| {
        let at = all
            .iter()
            .position(|f| f.id == id && f.site == site.host)
            .ok_or_else(|| ApiError::not_found(format!("no funnel {id:?} on {}", site.host)))?;
        if all[at].owner != caller.actor {
            // Someone else's funnel: revoking it is an admin's decision.
            auth::may_revoke(&caller)?;
        }
        all.remove(at);
        Ok::<_, ApiError>(())
    })?;
    Ok((
        StatusCode::NO_CONTENT,
        audited(&caller, "delete", &site.host, 1),
    ))
}
