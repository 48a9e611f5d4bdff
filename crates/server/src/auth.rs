//! Who is asking: an API token or a signed-in account, as a
//! [`Principal`] of one organisation with one role.
//!
//! The configuration holds only each token's SHA-256, so the file can be
//! read by auditors without handing out access. A request's bearer token is
//! hashed and looked up. A sign-in session is checked against the live
//! configuration on every request (`pages::session`), so a removed or
//! demoted account loses its rights at the next reload.
//!
//! Nothing here decides what a caller may see: that is
//! `glasshouse_governance::gate::authorise` (docs/governance.md).

use crate::{ApiError, App};
use axum::http::{header, HeaderMap};
use glasshouse_governance::gate::Principal;
use glasshouse_model::{ApiToken, Role, Site};
use glasshouse_store::links::Creator;

/// Who is asking, once their credentials checked out.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The organisation, role and operator flag the gate decides on.
    pub principal: Principal,
    /// The sign-in session's CSRF token, for a browser; none for an API token.
    pub csrf: Option<String>,
    /// A stable pseudonym of the account or token, for the public audit log.
    pub actor: String,
    /// How the audit log names the caller's kind: the account's role, or
    /// `api-token` / `operator-token` / `link`.
    pub kind: String,
    /// The account or token itself, for what must end with its access
    /// (shared links); none for a link.
    pub creator: Option<Creator>,
}

impl Caller {
    /// Slug of the caller's organisation.
    pub fn organisation(&self) -> &str {
        &self.principal.organisation
    }
}

/// A handler takes the caller as an argument: the one the audit middleware
/// found and logged (gated routes), or found now (signed routes).
impl axum::extract::FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &App,
    ) -> Result<Caller, ApiError> {
        match parts.extensions.get::<Caller>() {
            Some(c) => Ok(c.clone()),
            None => caller(app, &parts.headers),
        }
    }
}

/// The caller behind the request's `Authorization: Bearer` token, or its
/// sign-in cookie.
pub fn caller(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if headers.get(header::AUTHORIZATION).is_none() {
        // The dashboard reads the same API with its sign-in cookie.
        if let Some(s) = crate::pages::session(app, headers) {
            let role = Role::parse(&s.role).unwrap_or(Role::Viewer);
            return Ok(Caller {
                principal: Principal {
                    organisation: s.organisation,
                    role,
                    operator: false,
                    link: None,
                },
                csrf: Some(s.csrf),
                actor: app.audit.pseudonym("account", &s.username),
                kind: role.name().to_string(),
                creator: Some(Creator::Account {
                    username: s.username,
                }),
            });
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing API token: send Authorization: Bearer YOUR_TOKEN (or sign in)",
            )
        })?;
    let hash = glasshouse_model::config::token_hash(token);
    let found: Option<&ApiToken> = app
        .config
        .api_tokens
        .iter()
        .find(|t| crate::sessions::same_secret(&t.sha256, &hash));
    let t = found.ok_or_else(|| ApiError::unauthorized("invalid API token"))?;
    Ok(Caller {
        principal: Principal {
            organisation: t.organisation.clone(),
            role: t.role,
            operator: t.all_sites,
            link: None,
        },
        csrf: None,
        actor: app.audit.pseudonym("token", &hash),
        kind: if t.all_sites {
            "operator-token"
        } else {
            "api-token"
        }
        .into(),
        creator: Some(Creator::Token { sha256: hash }),
    })
}

/// The configured site named by `site_id`, whoever owns it; the gate
/// decides what the caller may see of it.
pub fn known_site<'a>(app: &'a App, site_id: Option<&str>) -> Result<&'a Site, ApiError> {
    let id = site_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("site_id: required"))?;
    app.config
        .site(id)
        .ok_or_else(|| ApiError::not_found(format!("site_id: no site {id:?} here")))
}

/// A site of the caller's own organisation, for changes to what is kept
/// about it (saved funnels): no agreement lets one organisation change
/// another's definitions.
pub fn own_site<'a>(
    app: &'a App,
    caller: &Caller,
    site_id: Option<&str>,
) -> Result<&'a Site, ApiError> {
    let site = known_site(app, site_id)?;
    if site.organisation != caller.principal.organisation {
        return Err(ApiError::forbidden(format!(
            "site_id: {} belongs to another organisation",
            site.host
        )));
    }
    Ok(site)
}

/// Refuses a change unless the caller's role allows saving definitions.
pub fn may_save(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.role.may_save() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "role: a {} may read but not save; ask an analyst or admin of your organisation",
            caller.principal.role
        )))
    }
}

/// Refuses a removal unless the caller's role allows revoking.
pub fn may_revoke(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.role.may_revoke() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "role: only an admin of the organisation may delete saved items, not a {}",
            caller.principal.role
        )))
    }
}
