//! Shared links (`glasshouse_store::links`): a read-only view of one
//! site's dashboard for people without an account.
//!
//! - `POST /api/v1/links` `{"site_id", "purpose", "expires"?, "password"?,
//!   "segment"?, "embed"?}` → 201 `{"id", "url", …}`: analysts and admins
//!   of the site's organisation; the secret is in `url` and shown once.
//! - `GET /api/v1/links?site_id=H` lists them (never their secret);
//!   `DELETE /api/v1/links/{id}` → 204, and the link answers 404 at once.
//! - `GET /share/{secret}` shows the dashboard; with a password, a form
//!   first (`POST /share/{secret}`). `?embed=true` lays it out for a frame.
//!
//! The dashboard behind a link sends its secret in `x-glasshouse-link`;
//! [`caller`] turns it into a `Caller` whose principal carries a
//! `LinkScope`, so the gate itself keeps the link to its site, purpose
//! and segment, and lets a partner's figures through only under an
//! agreement that allows publication. A link reads as its creator's
//! organisation, and dies with the creator's access. Its views are counted
//! per day and written to the audit log as one entry per link and day
//! ([`flush`]). Pages behind a link send `Referrer-Policy: no-referrer`;
//! the secret is never logged.

mod page;

use crate::ask::Audited;
use crate::auth::{self, Caller};
use crate::funnels::{check_csrf, SiteParam};
use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_governance::gate::{LinkScope, Principal};
use glasshouse_model::Role;
use glasshouse_store::links::{Creator, Link, LinkSegment, MAX_EMBED_ORIGINS, MAX_PER_SITE};
use serde::Deserialize;
use serde_json::{json, Value};

/// The header the dashboard behind a link sends its secret in.
pub const HEADER: &str = "x-glasshouse-link";

/// Longest password a link may have, in bytes.
const MAX_PASSWORD: usize = 1024;

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/links", get(list).post(create))
        .gated("/api/v1/links/{id}", delete(remove));
    page::register(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    site_id: Option<String>,
    purpose: Option<String>,
    expires: Option<String>,
    password: Option<String>,
    segment: Option<String>,
    #[serde(default)]
    embed: Vec<String>,
}

/// What the audit log records of a change to links: the action, site and
/// id (never the secret or password).
fn audited(caller: &Caller, action: &str, link: &Link) -> Extension<Audited> {
    Extension(Audited {
        question: format!("links {action} site={} id={}", link.site, link.id),
        purpose: link.purpose.clone(),
        ground: format!("own organisation {}", caller.organisation()),
        rows: 1,
    })
}

/// The public shape of a link: never its secret.
fn shown(link: &Link) -> Value {
    json!({
        "id": link.id,
        "site_id": link.site,
        "purpose": link.purpose,
        "created": link.created,
        "expires": link.expires.map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "password": link.password.is_some(),
        "segment": link.segment.as_ref().map(|s| json!({"id": s.id, "name": s.name})),
        "embed": link.embed,
    })
}

/// Where the installation is reached: its `public_url`, or the host the
/// creator's own request reached it at, or its listening address.
fn base_url(app: &App, headers: &HeaderMap) -> String {
    if let Some(u) = &app.config.public_url {
        return u.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| app.config.listen.to_string());
    format!("http://{host}")
}

/// An analyst or admin of the site's organisation, signed in or by token;
/// never through a link.
fn maker<'a>(
    app: &'a App,
    caller: &Caller,
    site_id: Option<&str>,
) -> Result<&'a glasshouse_model::Site, ApiError> {
    if caller.principal.link.is_some() || caller.creator.is_none() {
        return Err(ApiError::forbidden("a shared link cannot manage links"));
    }
    let site = auth::own_site(app, caller, site_id)?;
    auth::may_save(caller)?;
    Ok(site)
}

async fn list(
    State(app): State<App>,
    caller: Caller,
    Params(p): Params<SiteParam>,
) -> Result<(Extension<Audited>, Json<Value>), ApiError> {
    let site = maker(&app, &caller, p.site_id.as_deref())?;
    let now = app.clock.now();
    let all = app.links.matching(|l| l.site == site.host && l.live(now));
    let note = Extension(Audited {
        question: format!("links list site={}", site.host),
        purpose: String::new(),
        ground: format!("own organisation {}", caller.organisation()),
        rows: all.len() as u64,
    });
    Ok((
        note,
        Json(json!({"results": all.iter().map(shown).collect::<Vec<_>>()})),
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
    let Json(b) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let site = maker(&app, &caller, p.site_id.as_deref().or(b.site_id.as_deref()))?;
    let purpose = crate::ask::purpose(site, b.purpose.as_deref());
    if !site.purposes.contains(&purpose) {
        return Err(ApiError::bad_request(format!(
            "purpose: {} does not allow {purpose:?}",
            site.host
        )));
    }
    let expires = expiry(&app, site, b.expires.as_deref())?;
    let embed = origins(&b.embed)?;
    let password = password_hash(b.password.as_deref(), &embed).await?;
    let segment = match b.segment.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => {
            let s = crate::segments::find(&app, &caller, site, id)?;
            Some(LinkSegment {
                id: s.id,
                name: s.name,
                filters: s.filters,
            })
        }
    };
    let secret = crate::sessions::random_token();
    let link = Link {
        id: format!("{:016x}", rand::random::<u64>()),
        secret_sha256: glasshouse_store::links::secret_hash(&secret),
        site: site.host.clone(),
        organisation: site.organisation.clone(),
        purpose,
        creator: caller.creator.clone().expect("checked by maker"),
        created: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        expires,
        password,
        segment,
        embed,
    };
    app.links.change(|all| {
        if all.iter().filter(|l| l.site == link.site).count() >= MAX_PER_SITE {
            return Err(ApiError::bad_request(format!(
                "a site has at most {MAX_PER_SITE} links; delete one first"
            )));
        }
        all.push(link.clone());
        Ok(())
    })?;
    let mut out = shown(&link);
    out["url"] = json!(format!("{}/share/{secret}", base_url(&app, &headers)));
    Ok((
        StatusCode::CREATED,
        audited(&caller, "make", &link),
        Json(out),
    ))
}

async fn remove(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<(StatusCode, Extension<Audited>), ApiError> {
    check_csrf(&caller, &headers)?;
    let found = app
        .links
        .matching(|l| l.id == id && l.organisation == caller.principal.organisation)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no link {id:?} of your organisation")))?;
    maker(&app, &caller, Some(&found.site))?;
    app.links.change(|all| {
        all.retain(|l| l.id != found.id);
        Ok::<_, ApiError>(())
    })?;
    Ok((StatusCode::NO_CONTENT, audited(&caller, "delete", &found)))
}

/// `expires`: an instant (RFC 3339), or a day through whose end (in the
/// site's time zone) the link works; in the future.
fn expiry(
    app: &App,
    site: &glasshouse_model::Site,
    value: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let at = match DateTime::parse_from_rfc3339(v) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let day = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request("expires: a day (YYYY-MM-DD) or an instant (RFC 3339)")
            })?;
            glasshouse_model::query::day_start(day + chrono::Duration::days(1), site.timezone)
        }
    };
    if at <= app.clock.now() {
        return Err(ApiError::bad_request("expires: must be in the future"));
    }
    Ok(Some(at))
}

/// `embed`: the origins whose pages may frame the link, as
/// `https://host[:port]`; checked strictly, since they go into a header.
fn origins(list: &[String]) -> Result<Vec<String>, ApiError> {
    if list.len() > MAX_EMBED_ORIGINS {
        return Err(ApiError::bad_request(format!(
            "embed: at most {MAX_EMBED_ORIGINS} origins"
        )));
    }
    list.iter()
        .map(|o| {
            let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && r.len() <= 253
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
            });
            if ok {
                Ok(o)
            } else {
                Err(ApiError::bad_request(format!(
                    "embed: {o:?} is not an origin such as https://www.gov.uk"
                )))
            }
        })
        .collect()
}

/// The Argon2 hash of a link's password, if it has one.
async fn password_hash(
    password: Option<&str>,
    embed: &[String],
) -> Result<Option<String>, ApiError> {
    let Some(p) = password.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if p.len() > MAX_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "password: at most {MAX_PASSWORD} bytes"
        )));
    }
    if !embed.is_empty() {
        return Err(ApiError::bad_request(
            "password: an embedded link cannot have one (browsers do not send its cookie inside another site's frame)",
        ));
    }
    let p = p.to_string();
    crate::blocking(move || {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        argon2::Argon2::default()
            .hash_password(p.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| Some(h.to_string()))
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
}

/// The link behind `secret`, if it works now: not revoked, not expired,
/// its creator still an analyst or admin of its organisation, its site
/// still theirs and its purpose still allowed there.
pub fn working(app: &App, secret: &str) -> Option<Link> {
    working_link(app, app.links.by_secret(secret)?)
}

/// `link` if it works now (see [`working`]).
pub fn working_link(app: &App, link: Link) -> Option<Link> {
    let site = app.config.site(&link.site)?;
    let creator = match &link.creator {
        Creator::Account { username } => app.config.users.iter().any(|u| {
            &u.username == username && u.organisation == link.organisation && u.role.may_save()
        }),
        Creator::Token { sha256 } => app.config.api_tokens.iter().any(|t| {
            crate::sessions::same_secret(&t.sha256, sha256)
                && t.organisation == link.organisation
                && t.role.may_save()
        }),
    };
    (link.live(app.clock.now())
        && creator
        && site.organisation == link.organisation
        && site.purposes.contains(&link.purpose))
    .then_some(link)
}

/// The cookie that says a browser gave a link's password.
pub(crate) fn unlock_cookie(link: &Link) -> String {
    format!("glasshouse_link_{}", link.id)
}

/// The value of that cookie: keyed by the installation and the password,
/// so a changed password or a deleted link locks every browser out.
pub(crate) fn unlock_value(app: &App, link: &Link) -> String {
    app.audit.mac(
        "link-unlock",
        &format!("{}\n{}", link.id, link.password.as_deref().unwrap_or("")),
    )
}

/// Whether the request carries the unlocking cookie (or needs none).
pub(crate) fn unlocked(app: &App, link: &Link, headers: &HeaderMap) -> bool {
    link.password.is_none()
        || crate::sessions::cookie(headers, &unlock_cookie(link))
            .is_some_and(|v| crate::sessions::same_secret(v, &unlock_value(app, link)))
}

/// The caller behind a request's `x-glasshouse-link`, if it sends one:
/// the link's organisation as a viewer, kept by the gate to the link's
/// scope. A revoked, expired or locked link reads nothing.
pub fn caller(app: &App, headers: &HeaderMap) -> Option<Result<(Caller, Link), ApiError>> {
    let secret = headers.get(HEADER)?.to_str().unwrap_or("");
    let Some(link) = working(app, secret) else {
        return Some(Err(ApiError::not_found(
            "this link does not exist, has expired or was revoked",
        )));
    };
    if !unlocked(app, &link, headers) {
        return Some(Err(ApiError::forbidden(
            "this link needs its password: reload the page",
        )));
    }
    // Its goals resolved here: the segment joins each question after the
    // question's own goals were.
    let goals = app.config.site(&link.site).map_or(&[][..], |s| &s.goals);
    let said = match &link.segment {
        None => Default::default(),
        Some(s) => match crate::segments::parse_filters(&s.filters)
            .and_then(|mut f| f.resolve_goals(goals).map(|()| f).map_err(Into::into))
        {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        },
    };
    let caller = Caller {
        principal: Principal {
            organisation: link.organisation.clone(),
            role: Role::Viewer,
            operator: false,
            link: Some(LinkScope {
                site: link.site.clone(),
                purpose: link.purpose.clone(),
                filters: said.filters,
                conditions: said.conditions,
            }),
        },
        csrf: None,
        actor: format!("link:{}", link.id),
        kind: "link".into(),
        creator: None,
    };
    Some(Ok((caller, link)))
}

/// Counts one question through `link` today, durably, before its answer
/// is sent; then writes the counts of days that are over to the audit log.
pub async fn count(app: &App, link: Link, answered: bool, rows: u64) -> bool {
    let app2 = app.clone();
    let counted = tokio::task::spawn_blocking(move || {
        let today = app2.clock.now().date_naive();
        app2.link_views.count(&link, today, answered, rows)
    })
    .await;
    match counted {
        Ok(Ok(())) => {
            flush(app).await;
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a link view could not be counted");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "a link view could not be counted");
            false
        }
    }
}

/// Writes every day of link views that is over to the audit log, one
/// entry per link and day, then forgets them. Called after each view and
/// every minute while serving.
pub async fn flush(app: &App) {
    let app = app.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let now = app.clock.now();
        let closed = app.link_views.closed(now.date_naive());
        if closed.is_empty() {
            return;
        }
        for v in &closed {
            let entry = glasshouse_audit::Entry::query(
                &v.organisation,
                "link",
                &format!("link:{}", v.link),
                &v.purpose,
                &format!(
                    "link views site={} id={} day={} answered={} refused={}",
                    v.site, v.link, v.day, v.answered, v.refused
                ),
            )
            .at(now)
            .rows(v.rows)
            .reason(&format!(
                "{} questions through a shared link on {}; ground own organisation {}",
                v.answered + v.refused,
                v.day,
                v.organisation
            ));
            if let Err(e) = app.audit.log.append(&entry) {
                tracing::error!(error = %e, "link views could not be written to the audit log");
                return;
            }
            if let Err(e) = app.link_views.forget(std::slice::from_ref(v)) {
                tracing::error!(error = %e, "written link views could not be forgotten");
                return;
            }
        }
    })
    .await;
}
