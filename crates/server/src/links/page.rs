//! The pages behind a shared link: the dashboard, read-only, and the
//! password form of a link that has one. Both say nothing about a link
//! that does not work (revoked, expired, its creator gone): 404.

use super::{unlock_cookie, unlock_value, unlocked, working};
use crate::client_ip::client_ip;
use crate::pages::{dashboard_html, escape_html, html, set_cookie, simple_page as plain};
use crate::routes::Registrar;
use crate::{ApiError, App};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Form, Path, Query as Params, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use glasshouse_store::links::Link;
use serde::Deserialize;
use std::net::SocketAddr;

/// How long a browser stays unlocked after giving a link's password.
const UNLOCKED_FOR: u64 = 8 * 3600;

/// Largest password form body.
const MAX_FORM: usize = 4096;

pub fn register(r: &mut Registrar) {
    r.public(
        "/share/{secret}",
        get(show)
            .post(unlock)
            .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(MAX_FORM)),
    );
}

#[derive(Deserialize, Default)]
struct ShowParams {
    embed: Option<String>,
}

/// A page behind a link: no referrer leaves it (the address holds the
/// secret), no search engine keeps it, and only the link's listed sites
/// may frame it.
fn shared(status: StatusCode, body: String, link: Option<&Link>, cookies: &[String]) -> Response {
    let mut r = html(status, body, cookies);
    let h = r.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    if let Some(link) = link.filter(|l| !l.embed.is_empty()) {
        let csp = crate::assets::CSP.replace(
            "frame-ancestors 'none'",
            &format!("frame-ancestors {}", link.embed.join(" ")),
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
            h.remove(header::X_FRAME_OPTIONS);
        }
    }
    r
}

fn gone() -> Response {
    shared(
        StatusCode::NOT_FOUND,
        plain(
            "This link does not work",
            "<p class=\"gh-body-l\">The link may have expired, or been withdrawn by the organisation that shared it. Ask them for a new one.</p>",
        ),
        None,
        &[],
    )
}

fn password_form(link: &Link, error: Option<&str>) -> String {
    let error_html = error
        .map(|e| format!("<p class=\"gh-error\" id=\"password-error\" role=\"alert\"><span class=\"gh-visually-hidden\">Error: </span>{}</p>", escape_html(e)))
        .unwrap_or_default();
    let described = if error.is_some() {
        " aria-describedby=\"password-error\""
    } else {
        ""
    };
    plain(
        "Enter the password",
        &format!(
            "<p class=\"gh-body-l\">The figures of {site} shared with this link are protected by a password. Ask the person who sent you the link.</p><form method=\"post\" novalidate>{error_html}<p><label class=\"gh-label\" for=\"password\">Password</label><input class=\"gh-input\" id=\"password\" name=\"password\" type=\"password\" autocomplete=\"off\" required{described}></p><p><button class=\"gh-button\" type=\"submit\">Show the figures</button></p></form>",
            site = escape_html(&link.site)
        ),
    )
}

async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Params(p): Params<ShowParams>,
) -> Result<Response, ApiError> {
    let Some(link) = working(&app, &secret) else {
        return Ok(gone());
    };
    if !unlocked(&app, &link, &headers) {
        return Ok(shared(
            StatusCode::OK,
            password_form(&link, None),
            Some(&link),
            &[],
        ));
    }
    let Some(site) = app.config.site(&link.site) else {
        return Ok(gone());
    };
    let org = app
        .config
        .organisation(&link.organisation)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let mut context = crate::pages::site_context(&app, site).await?;
    context["sites"] = serde_json::json!([]);
    context["user"] = serde_json::Value::Null;
    context["csrf"] = serde_json::json!("");
    context["link"] = serde_json::json!({
            "organisation": org,
            "purpose": link.purpose,
            "expires": link.expires.map(|e| e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "segment": link.segment.as_ref().map(|s| s.name.clone()),
            "embed": p.embed.as_deref() == Some("true"),
    });
    Ok(shared(
        StatusCode::OK,
        dashboard_html(&context)?,
        Some(&link),
        &[],
    ))
}

#[derive(Deserialize)]
struct UnlockForm {
    #[serde(default)]
    password: String,
}

async fn unlock(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(form): Form<UnlockForm>,
) -> Result<Response, ApiError> {
    let Some(link) = working(&app, &secret) else {
        return Ok(gone());
    };
    let Some(hash) = link.password.clone() else {
        return Ok(Redirect::to(&format!("/share/{secret}")).into_response());
    };
    let ip = client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    // Guesses are limited per link and per address, as sign-ins are.
    if !app.sessions.attempt(&format!("link:{}", link.id), ip) {
        let page = password_form(
            &link,
            Some("Too many wrong passwords. Wait 15 minutes and try again."),
        );
        return Ok(shared(
            StatusCode::TOO_MANY_REQUESTS,
            page,
            Some(&link),
            &[],
        ));
    }
    let password = form.password;
    let ok = crate::blocking(move || {
        Ok(PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false))
    })
    .await?;
    if !ok {
        let page = password_form(&link, Some("The password is not right."));
        return Ok(shared(StatusCode::UNAUTHORIZED, page, Some(&link), &[]));
    }
    app.sessions.succeeded(&format!("link:{}", link.id), ip);
    let cookie = set_cookie(
        &unlock_cookie(&link),
        &unlock_value(&app, &link),
        "/",
        UNLOCKED_FOR,
    );
    let mut r = Redirect::to(&format!("/share/{secret}")).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}
