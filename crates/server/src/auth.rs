//! API tokens.
//!
//! The configuration holds only each token's SHA-256, so the file can be
//! read by auditors without handing out access. A request's bearer token is
//! hashed and looked up; the match names the organisation whose sites the
//! token may query.

use crate::{ApiError, App};
use axum::http::{header, HeaderMap};
use glasshouse_model::{ApiToken, Site};
use sha2::{Digest, Sha256};

/// Who is asking, once their token checked out.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Slug of the caller's organisation.
    pub organisation: String,
    /// An operator token: every site of the installation.
    pub all_sites: bool,
    /// The sign-in session's CSRF token, for a browser; none for an API token.
    pub csrf: Option<String>,
}

/// Lower-case hex SHA-256 of a token, as the configuration stores it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller behind the request's `Authorization: Bearer` token.
pub fn caller(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if headers.get(header::AUTHORIZATION).is_none() {
        // The dashboard reads the same API with its sign-in cookie.
        if let Some(s) = crate::pages::session(app, headers) {
            return Ok(Caller {
                organisation: s.organisation,
                all_sites: false,
                csrf: Some(s.csrf),
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
    let hash = token_hash(token);
    let found: Option<&ApiToken> = app
        .config
        .api_tokens
        .iter()
        .find(|t| crate::sessions::same_secret(&t.sha256, &hash));
    found
        .map(|t| Caller {
            organisation: t.organisation.clone(),
            all_sites: t.all_sites,
            csrf: None,
        })
        .ok_or_else(|| ApiError::unauthorized("invalid API token"))
}

/// The site `site_id` names, if the caller may query it.
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

pub fn site<'a>(
    app: &'a App,
    caller: &Caller,
    site_id: Option<&str>,
) -> Result<&'a Site, ApiError> {
    let id = site_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("site_id: required"))?;
    let site = app
        .config
        .site(id)
        .ok_or_else(|| ApiError::not_found(format!("site_id: no site {id:?} here")))?;
    if !caller.all_sites && site.organisation != caller.organisation {
        return Err(ApiError::forbidden(format!(
            "site_id: this token's organisation may not query {id:?}"
        )));
    }
    Ok(site)
}
