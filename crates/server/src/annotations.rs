//! Annotations: dated notes per site shown on the chart and in CSV exports
//! (`glasshouse_store::annotations`); this module is their HTTP face.
//!
//! - `GET /api/v1/annotations?site_id=H` → `{"results": [{"id", "date", "text"}]}`
//! - `POST /api/v1/annotations?site_id=H` `{"date", "text"}` → 201 with the annotation
//! - `PUT /api/v1/annotations/{id}?site_id=H` same body → 200
//! - `DELETE /api/v1/annotations/{id}?site_id=H` → 204
//!
//! Anyone of the site's organisation may read them; analysts and admins
//! make, change and delete them. The audit log records each change by id,
//! never its text (the text is the organisation's own words, and may name
//! an incident it has not published). A signed-in browser sends its CSRF
//! token in `x-csrf-token` to change them.

use crate::ask::Audited;
use crate::auth::{self, Caller};
use crate::funnels::{check_csrf, SiteParam};
use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::{Extension, Json};
use chrono::NaiveDate;
use glasshouse_store::annotations::{Annotation, MAX_PER_SITE, MAX_TEXT};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/annotations", get(list).post(create))
        .gated("/api/v1/annotations/{id}", put(update).delete(remove));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// Also accepted in the body, as other changes take it.
    site_id: Option<String>,
    date: String,
    text: String,
}

/// What the audit log records: the action, the site and the id; no text.
fn audited(
    caller: &Caller,
    action: &str,
    host: &str,
    id: Option<&str>,
    rows: u64,
) -> Extension<Audited> {
    let id = id.map(|i| format!(" id={i}")).unwrap_or_default();
    Extension(Audited {
        question: format!("annotations {action} site={host}{id}"),
        purpose: String::new(),
        ground: format!("own organisation {}", caller.organisation()),
        rows,
    })
}

/// The public shape of an annotation.
fn shown(a: &Annotation) -> Value {
    json!({"id": a.id, "date": a.date.to_string(), "text": a.text})
}

/// The body, checked: a day of the API's range and a text of 1 to
/// [`MAX_TEXT`] characters without control characters.
fn checked(
    body: Result<Json<Body>, JsonRejection>,
) -> Result<(Option<String>, NaiveDate, String), ApiError> {
    let Json(b) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let date = NaiveDate::parse_from_str(b.date.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..2200).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| ApiError::bad_request("date: a day YYYY-MM-DD from 2000 to 2199"))?;
    let text = b.text.trim().to_string();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "text: 1 to {MAX_TEXT} characters"
        )));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(ApiError::bad_request(
            "text: one line, without control characters",
        ));
    }
    Ok((b.site_id, date, text))
}

/// The site named in the query string or the body: the caller's own.
fn site_of<'a>(
    app: &'a App,
    caller: &Caller,
    query: Option<&str>,
    body: Option<&str>,
) -> Result<&'a glasshouse_model::Site, ApiError> {
    auth::own_site(app, caller, query.or(body))
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
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    let site = auth::own_site(&app, &caller, p.site_id.as_deref())?;
    let (first, last) = (NaiveDate::MIN, NaiveDate::MAX);
    let all = app.annotations.of_site(&site.host, first, last);
    let results: Vec<Value> = all.iter().map(shown).collect();
    Ok((
        audited(&caller, "list", &site.host, None, all.len() as u64),
        Json(json!({ "results": results })),
    ))
}

async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Params(p): Params<SiteParam>,
    body: Result<Json<Body>, JsonRejection>,
) -> Result<(StatusCode, Extension<Audited>, Json<Value>), ApiError> {
    check_csrf(&caller, &headers)?;
    let (in_body, date, text) = checked(body)?;
    let site = site_of(&app, &caller, p.site_id.as_deref(), in_body.as_deref())?;
    auth::may_save(&caller)?;
    let made = Annotation {
        id: format!("{:016x}", rand::random::<u64>()),
        site: site.host.clone(),
        date,
        text,
        updated: now(&app),
        owner: caller.actor.clone(),
    };
    app.annotations.change(|all| {
        if all.iter().filter(|a| a.site == made.site).count() >= MAX_PER_SITE {
            return Err(ApiError::bad_request(format!(
                "a site keeps at most {MAX_PER_SITE} annotations; delete one first"
            )));
        }
        all.push(made.clone());
        Ok(())
    })?;
    let note = audited(&caller, "make", &made.site, Some(&made.id), 1);
    Ok((StatusCode::CREATED, note, Json(shown(&made))))
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<SiteParam>,
    body: Result<Json<Body>, JsonRejection>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    check_csrf(&caller, &headers)?;
    let (in_body, date, text) = checked(body)?;
    let site = site_of(&app, &caller, p.site_id.as_deref(), in_body.as_deref())?;
    auth::may_save(&caller)?;
    let updated = now(&app);
    let changed = app.annotations.change(|all| {
        let a = all
            .iter_mut()
            .find(|a| a.id == id && a.site == site.host)
            .ok_or_else(|| ApiError::not_found(format!("no annotation {id:?} on {}", site.host)))?;
        a.date = date;
        a.text = text;
        a.updated = updated;
        Ok::<_, ApiError>(a.clone())
    })?;
    Ok((
        audited(&caller, "change", &site.host, Some(&changed.id), 1),
        Json(shown(&changed)),
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
    app.annotations.change(|all| {
        let at = all
            .iter()
            .position(|a| a.id == id && a.site == site.host)
            .ok_or_else(|| ApiError::not_found(format!("no annotation {id:?} on {}", site.host)))?;
        all.remove(at);
        Ok::<_, ApiError>(())
    })?;
    Ok((
        StatusCode::NO_CONTENT,
        audited(&caller, "delete", &site.host, Some(&id), 1),
    ))
}
