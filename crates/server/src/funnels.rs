//! Saved funnels: named step lists kept per site, editable in the dashboard
//! and through the API.
//!
//! They are definitions, not data about visitors, so they live in a small
//! JSON file in the data directory (`funnels.json`), written whole to a
//! temporary file, fsynced and renamed, so a crash never leaves half a file. They
//! do not depend on which store back end holds the events.
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
    /// Pseudonym of the account or token that saved it: it may delete it,
    /// as may an admin of the organisation.
    #[serde(default)]
    pub owner: String,
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
        let bytes = serde_json::to_vec_pretty(all).map_err(ApiError::internal)?;
        glasshouse_privacy::durable::replace(&self.path, &bytes).map_err(ApiError::internal)
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

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/funnels", get(list).post(create))
        .gated("/api/v1/funnels/{id}", put(update).delete(remove));
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
    headers: HeaderMap,
    Params(p): Params<SiteParam>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let site = auth::own_site(&app, &caller, p.site_id.as_deref())?;
    let all = app.funnels.all.lock().expect("funnels");
    let mine: Vec<&Saved> = all.iter().filter(|f| f.site == site.host).collect();
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
    headers: HeaderMap,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Extension<Audited>, Json<Value>), ApiError> {
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
        owner: caller.actor.clone(),
    };
    let mut next = all.clone();
    next.push(saved.clone());
    app.funnels.save(&next)?;
    *all = next;
    let note = audited(&caller, "save", &saved.site, 1);
    Ok((StatusCode::CREATED, note, Json(json!({ "funnel": saved }))))
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
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
    Ok((
        audited(&caller, "change", &saved.site, 1),
        Json(json!({ "funnel": saved })),
    ))
}

async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
) -> Result<(StatusCode, Extension<Audited>), ApiError> {
    let caller = auth::caller(&app, &headers)?;
    check_csrf(&caller, &headers)?;
    let site = auth::own_site(&app, &caller, p.site_id.as_deref())?;
    auth::may_save(&caller)?;
    let mut all = app.funnels.all.lock().expect("funnels");
    let found = all
        .iter()
        .find(|f| f.id == id && f.site == site.host)
        .ok_or_else(|| ApiError::not_found(format!("no funnel {id:?} on {}", site.host)))?;
    if found.owner != caller.actor {
        // Someone else's funnel: revoking it is an admin's decision.
        auth::may_revoke(&caller)?;
    }
    let next: Vec<Saved> = all
        .iter()
        .filter(|f| !(f.id == id && f.site == site.host))
        .cloned()
        .collect();
    app.funnels.save(&next)?;
    *all = next;
    Ok((
        StatusCode::NO_CONTENT,
        audited(&caller, "delete", &site.host, 1),
    ))
}
