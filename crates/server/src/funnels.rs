//! Saved funnels: named step lists kept per site, editable in the dashboard
//! and through the API.
//!
//! They are definitions, not data about visitors, so they live in a small
//! JSON file in the data directory (`funnels.json`), written whole to a
//! temporary file and renamed, so a crash never leaves half a file. They
//! do not depend on which store back end holds the events.
//!
//! - `GET /api/v1/funnels?site_id=H`
//! - `POST /api/v1/funnels` `{"site_id","name","steps"}` → 201
//! - `PUT /api/v1/funnels/{id}` same body → 200
//! - `DELETE /api/v1/funnels/{id}?site_id=H` → 204
//!
//! A signed-in browser must send its CSRF token in `x-csrf-token` to change them.

use crate::auth::{self, Caller};
use crate::journeys::{check_step_sites, view};
use crate::{ApiError, App};
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::{Json, Router};
use glasshouse_model::journey::FunnelStep;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Mutex;

/// Most funnels one site may keep.
const MAX_PER_SITE: usize = 100;

/// A saved funnel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    /// A random id.
    pub id: String,
    /// Host of the site it belongs to.
    pub site: String,
    /// A name people chose.
    pub name: String,
    /// Its steps.
    pub steps: Vec<FunnelStep>,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

/// The funnels file.
pub struct SavedFunnels {
    path: PathBuf,
    all: Mutex<Vec<Saved>>,
}

impl SavedFunnels {
    /// Reads `DIR/funnels.json`, or starts empty when there is none.
    pub fn open(dir: &std::path::Path) -> std::io::Result<SavedFunnels> {
        let path = dir.join("funnels.json");
        let all = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(SavedFunnels {
            path,
            all: Mutex::new(all),
        })
    }

    fn save(&self, all: &[Saved]) -> Result<(), ApiError> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(all).map_err(ApiError::internal)?;
        std::fs::write(&tmp, bytes).map_err(ApiError::internal)?;
        std::fs::rename(&tmp, &self.path).map_err(ApiError::internal)
    }
}

impl SavedFunnels {
    /// The funnels of one site.
    pub fn of_site(&self, host: &str) -> Vec<Saved> {
        let all = self.all.lock().expect("funnels");
        all.iter().filter(|f| f.site == host).cloned().collect()
    }
}

/// Where the aggregate tier keeps the daily counts of a list of steps: by
/// the steps themselves, so an edited funnel starts a new series and a
/// question with the same steps finds them.
pub fn daily_key(steps: &[FunnelStep]) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(steps).unwrap_or_default();
    format!("funnel:{}", &hex::encode(Sha256::digest(bytes))[..16])
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/funnels", get(list).post(create))
        .route("/api/v1/funnels/{id}", put(update).delete(remove))
}

#[derive(Deserialize)]
struct SiteParam {
    site_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    site_id: Option<String>,
    name: String,
    steps: Vec<FunnelStep>,
}

/// Signed-in browsers must prove the change comes from the dashboard.
fn check_csrf(caller: &Caller, headers: &HeaderMap) -> Result<(), ApiError> {
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

fn validate(app: &App, caller: &Caller, b: &Body) -> Result<String, ApiError> {
    let site = auth::site(app, caller, b.site_id.as_deref())?;
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ApiError::bad_request("name: 1 to 120 characters"));
    }
    let v = view(app, caller, site, app.clock.now().date_naive());
    check_step_sites(&b.steps, &v)?;
    Ok(site.host.clone())
}

async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<SiteParam>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let site = auth::site(&app, &caller, p.site_id.as_deref())?;
    let all = app.funnels.all.lock().expect("funnels");
    let mine: Vec<&Saved> = all.iter().filter(|f| f.site == site.host).collect();
    Ok(Json(json!({ "funnels": mine })))
}

fn parse_body(
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<Body, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))
}

async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = auth::caller(&app, &headers)?;
    check_csrf(&caller, &headers)?;
    let b = parse_body(body)?;
    let site = validate(&app, &caller, &b)?;
    let mut all = app.funnels.all.lock().expect("funnels");
    if all.iter().filter(|f| f.site == site).count() >= MAX_PER_SITE {
        return Err(ApiError::bad_request(format!(
            "a site keeps at most {MAX_PER_SITE} funnels; delete one first"
        )));
    }
    let saved = Saved {
        id: format!("{:016x}", rand::random::<u64>()),
        site,
        name: b.name.trim().to_string(),
        steps: b.steps,
        updated: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let mut next = all.clone();
    next.push(saved.clone());
    app.funnels.save(&next)?;
    *all = next;
    Ok((StatusCode::CREATED, Json(json!({ "funnel": saved }))))
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    check_csrf(&caller, &headers)?;
    let b = parse_body(body)?;
    let site = validate(&app, &caller, &b)?;
    let mut all = app.funnels.all.lock().expect("funnels");
    let mut next = all.clone();
    let f = next
        .iter_mut()
        .find(|f| f.id == id && f.site == site)
        .ok_or_else(|| ApiError::not_found(format!("no funnel {id:?} on {site}")))?;
    f.name = b.name.trim().to_string();
    f.steps = b.steps;
    f.updated = app
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let saved = f.clone();
    app.funnels.save(&next)?;
    *all = next;
    Ok(Json(json!({ "funnel": saved })))
}

async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
) -> Result<StatusCode, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    check_csrf(&caller, &headers)?;
    let site = auth::site(&app, &caller, p.site_id.as_deref())?;
    let mut all = app.funnels.all.lock().expect("funnels");
    let next: Vec<Saved> = all
        .iter()
        .filter(|f| !(f.id == id && f.site == site.host))
        .cloned()
        .collect();
    if next.len() == all.len() {
        return Err(ApiError::not_found(format!(
            "no funnel {id:?} on {}",
            site.host
        )));
    }
    app.funnels.save(&next)?;
    *all = next;
    Ok(StatusCode::NO_CONTENT)
}
