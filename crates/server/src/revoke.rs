//! `DELETE /api/v1/admin/sessions?username=NAME`: an admin signs an account
//! of its own organisation out everywhere (a lost laptop, a person who
//! left before the configuration is edited). Recorded in the audit log.

use crate::auth::{self, Caller};
use crate::{ApiError, App};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::delete;
use axum::Json;
use glasshouse_audit::Entry;

pub fn register(r: &mut crate::routes::Registrar) {
    r.signed("/api/v1/admin/sessions", delete(revoke));
}

async fn revoke(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<serde_json::Value>, ApiError> {
    crate::funnels::check_csrf(&caller, &headers)?;
    auth::may_revoke(&caller)?;
    let p = crate::ask::Params::from_uri(&uri)?;
    let username = p
        .get("username")
        .filter(|u| !u.is_empty() && u.chars().count() <= glasshouse_model::config::MAX_USERNAME)
        .ok_or_else(|| ApiError::bad_request("username: required"))?;
    let known = app
        .config
        .users
        .iter()
        .any(|u| u.username == username && u.organisation == caller.organisation());
    if !known {
        return Err(ApiError::not_found(format!(
            "username: no account {username:?} in your organisation"
        )));
    }
    let ended = app.sessions.revoke(username, caller.organisation());
    let change = format!(
        "sessions revoked of {}",
        app.audit.pseudonym("account", username)
    );
    let entry = Entry::config(caller.organisation(), &caller.kind, &caller.actor, &change)
        .at(app.clock.now());
    let audit = app.audit.clone();
    tokio::task::spawn_blocking(move || audit.log.append(&entry))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({ "revoked": ended })))
}
