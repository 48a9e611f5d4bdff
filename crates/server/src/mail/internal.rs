//! Questions the server asks itself for a mail: sent through the same
//! routes as any API call, so the gate decides on them and the audit log
//! records them, as the organisation that owns the site, with the kind
//! `report` or `alert`.

use crate::auth::Caller;
use crate::App;
use axum::body::Body;
use axum::http::Request;
use glasshouse_governance::gate::Principal;
use glasshouse_model::{Role, Site};
use serde_json::Value;
use tower::ServiceExt;

/// The caller a mail about `site` asks as: a viewer of its organisation.
pub fn caller(app: &App, site: &Site, kind: &str) -> Caller {
    Caller {
        principal: Principal {
            organisation: site.organisation.clone(),
            role: Role::Viewer,
            operator: false,
            link: None,
        },
        csrf: None,
        actor: app.audit.pseudonym(kind, &site.host),
        kind: kind.to_string(),
        creator: None,
    }
}

/// GETs `path_and_query` as `caller`; the answer's JSON, or why not.
pub async fn ask(app: &App, caller: &Caller, path_and_query: &str) -> Result<Value, String> {
    let mut request = Request::get(path_and_query)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    request.extensions_mut().insert(caller.clone());
    let response = crate::router(app.clone())
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{path_and_query}: {status}: {}",
            body["error"].as_str().unwrap_or("")
        ));
    }
    Ok(body)
}
