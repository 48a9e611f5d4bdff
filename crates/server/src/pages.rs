//! The dashboard's pages: sign in, sign out, and the dashboard shell.
//!
//! The pages themselves are built by the front-end tool chain (`web/`) and
//! embedded in the binary; here the server fills in the little it must —
//! the CSRF token, an error message, and the context the dashboard needs
//! (site, sites the account may see, the account) — always escaped.

use crate::assets::CSP;
use crate::client_ip::client_ip;
use crate::sessions::{self, cookie, same_secret, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::{web_assets, ApiError, App};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use std::net::SocketAddr;

pub fn register(r: &mut crate::routes::Registrar) {
    r.public("/", get(home))
        .public(
            "/login",
            get(login_page)
                .post(login)
                .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(
                    MAX_LOGIN_BODY,
                )),
        )
        .public("/logout", post(logout))
        .signed("/sites/{host}", get(dashboard))
        .signed("/overview", get(overview))
        .signed("/api/sites", get(sites));
}

/// Escapes text for HTML element content and attribute values: the one
/// escaping function, shared with the transparency pages.
pub use glasshouse_governance::escape as escape_html;

/// JSON safe to place inside a `<script type="application/json">` element.
fn json_for_html(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub(crate) fn html(status: StatusCode, body: String, cookies: &[String]) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

pub(crate) fn set_cookie(name: &str, value: &str, path: &str, max_age: u64) -> String {
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// The signed-in account behind a request, if any.
/// The signed-in session, checked against the live configuration: an
/// account removed, moved to another organisation or given another role
/// since it signed in has no session any more (it signs in again).
pub fn session(app: &App, headers: &HeaderMap) -> Option<sessions::Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let s = app.sessions.get(token)?;
    let current = app.config.users.iter().any(|u| {
        u.username == s.username && u.organisation == s.organisation && u.role.name() == s.role
    });
    if !current {
        app.sessions.remove(token);
        return None;
    }
    Some(s)
}

fn sites_of(app: &App, s: &sessions::Session) -> Vec<serde_json::Value> {
    app.config
        .sites
        .iter()
        .filter(|site| site.organisation == s.organisation)
        .map(|site| {
            let org = app
                .config
                .organisation(&site.organisation)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            serde_json::json!({"host": site.host, "organisation": org})
        })
        .collect()
}

async fn home(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(s) = session(&app, &headers) else {
        return Redirect::to("/login").into_response();
    };
    match app
        .config
        .sites
        .iter()
        .find(|site| site.organisation == s.organisation)
    {
        Some(site) => Redirect::to(&format!("/sites/{}", site.host)).into_response(),
        None => html(
            StatusCode::FORBIDDEN,
            error_page(
                "No sites",
                "Your organisation has no sites in this installation.",
            ),
            &[],
        ),
    }
}

pub(crate) fn error_page(title: &str, message: &str) -> String {
    simple_page(
        title,
        &format!(
            "<p class=\"gh-body-l\">{}</p><p class=\"gh-body-l\"><a href=\"/\">Go to your dashboard</a></p>",
            escape_html(message)
        ),
    )
}

/// A small page in the installation's style: the title (escaped) and a
/// body of markup the caller built and escaped. Error pages, a shared
/// link's password form, the unsubscribe page.
pub(crate) fn simple_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} – glasshouse</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/assets/page.css\"></head><body><header class=\"gh-header\"><div class=\"gh-width-container gh-header__inner\"><a class=\"gh-header__service\" href=\"/\">glasshouse</a></div></header><div class=\"gh-width-container\"><main class=\"gh-main\" id=\"main-content\"><h1 class=\"gh-heading-xl\">{t}</h1>{body}</main></div></body></html>",
        t = escape_html(title)
    )
}

fn login_html(csrf: &str, error: Option<&str>) -> Result<String, ApiError> {
    let page = web_assets::page("login.html")
        .ok_or_else(|| ApiError::internal("login.html is not built"))?;
    let csrf_input = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape_html(csrf)
    );
    let error_html = match error {
        None => String::new(),
        Some(e) => format!(
            "<div class=\"govuk-error-summary\" data-module=\"govuk-error-summary\"><div role=\"alert\"><h2 class=\"govuk-error-summary__title\">There is a problem</h2><div class=\"govuk-error-summary__body\"><ul class=\"govuk-list govuk-error-summary__list\"><li><a href=\"#username\">{}</a></li></ul></div></div></div>",
            escape_html(e)
        ),
    };
    Ok(page
        .replace("<!--glasshouse:csrf-->", &csrf_input)
        .replace("<!--glasshouse:error-->", &error_html))
}

async fn login_page(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    if session(&app, &headers).is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let csrf = sessions::random_token();
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &csrf, "/login", 3600);
    Ok(html(StatusCode::OK, login_html(&csrf, None)?, &[cookie]))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A hash of a random password, verified against when the account does not
/// exist, so unknown names take as long as wrong passwords.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    Argon2::default()
        .hash_password(
            sessions::random_token().as_bytes(),
            &SaltString::generate(&mut OsRng),
        )
        .map(|h| h.to_string())
        .unwrap_or_default()
});

use glasshouse_model::config::MAX_USERNAME;
/// Longest password accepted at sign-in, in bytes.
const MAX_PASSWORD: usize = 1024;
/// Largest sign-in form body.
const MAX_LOGIN_BODY: usize = 4096;

static ARGON2_PERMITS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });

async fn login(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let fresh_csrf = sessions::random_token();
    let again = |status: StatusCode, message: &str| -> Result<Response, ApiError> {
        let cookie = set_cookie(LOGIN_CSRF_COOKIE, &fresh_csrf, "/login", 3600);
        Ok(html(
            status,
            login_html(&fresh_csrf, Some(message))?,
            &[cookie],
        ))
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(expected, &form.csrf) {
        return again(
            StatusCode::FORBIDDEN,
            "Your sign-in form expired. Please try again.",
        );
    }
    if form.username.chars().count() > MAX_USERNAME || form.password.len() > MAX_PASSWORD {
        return again(
            StatusCode::BAD_REQUEST,
            "The username or password is too long.",
        );
    }
    let ip = client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    // Counted before the password is checked, so attempts sent at once
    // cannot pass the limit while their hashes are computed.
    if !app.sessions.attempt(&form.username, ip) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Wait 15 minutes and try again.",
        );
    }
    let user = app
        .config
        .users
        .iter()
        .find(|u| u.username == form.username)
        .cloned();
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = form.password.clone();
    // Argon2 takes tens of milliseconds of a core and 19 MiB: at most as many
    // at once as there are cores, so a flood of sign-ins cannot starve the
    // collector or exhaust memory.
    let _permit = ARGON2_PERMITS.acquire().await.map_err(ApiError::internal)?;
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(ApiError::internal)?;
    match user {
        Some(u) if ok => {
            app.sessions.succeeded(&u.username, ip);
            let token = app
                .sessions
                .create(&u.username, &u.organisation, u.role.name());
            let mut r = Redirect::to("/").into_response();
            for c in [
                set_cookie(SESSION_COOKIE, &token, "/", sessions::IDLE.as_secs()),
                set_cookie(LOGIN_CSRF_COOKIE, "", "/login", 0),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(r)
        }
        _ => again(
            StatusCode::UNAUTHORIZED,
            "The username or password is not right.",
        ),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let (Some(token), Some(s)) = (cookie(&headers, SESSION_COOKIE), session(&app, &headers)) {
        if !same_secret(&s.csrf, &form.csrf) {
            return html(
                StatusCode::FORBIDDEN,
                error_page(
                    "Sign out failed",
                    "The form expired. Go back, reload the page and try again.",
                ),
                &[],
            );
        }
        app.sessions.remove(token);
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", "/", 0)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn dashboard(
    State(app): State<App>,
    headers: HeaderMap,
    Path(host): Path<String>,
) -> Result<Response, ApiError> {
    let Some(s) = session(&app, &headers) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let Some(site) = app.config.site(&host) else {
        return Ok(html(
            StatusCode::NOT_FOUND,
            error_page(
                "Site not found",
                &format!("There is no site called {host} here."),
            ),
            &[],
        ));
    };
    if site.organisation != s.organisation {
        return Ok(html(StatusCode::FORBIDDEN, error_page("You cannot see this site", &format!("{} belongs to another organisation. Your account can see only your own organisation's sites.", site.host)), &[]));
    }
    let org = app
        .config
        .organisation(&s.organisation)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let mut context = site_context(&app, site).await?;
    context["sites"] = serde_json::json!(sites_of(&app, &s));
    context["user"] =
        serde_json::json!({"username": s.username, "role": s.role, "organisation": org});
    context["csrf"] = serde_json::json!(s.csrf);
    Ok(html(StatusCode::OK, dashboard_html(&context)?, &[]))
}

/// What the dashboard is told about the site it shows, signed in or behind
/// a shared link: its time zone, imported days and whom places are credited to.
pub(crate) async fn site_context(
    app: &App,
    site: &glasshouse_model::Site,
) -> Result<serde_json::Value, ApiError> {
    Ok(serde_json::json!({
        "site": site.host,
        "timezone": site.timezone.name(),
        "imported": imported_days(app, site).await?,
        "geo_credit": app.anonymiser.geo_credit(),
    }))
}

/// The first and last day of a site's imported history, for the
/// dashboard: only the days are read.
pub(crate) async fn imported_days(
    app: &App,
    site: &glasshouse_model::Site,
) -> Result<Option<serde_json::Value>, ApiError> {
    let (store, host) = (app.store.clone(), site.host.clone());
    Ok(crate::blocking(move || {
        Ok(glasshouse_store::imports::range(store.as_ref(), &host)?)
    })
    .await?
    .map(|(from, until)| serde_json::json!({"from": from.to_string(), "until": until.to_string()})))
}

/// The dashboard page with `context` (escaped) for its script.
pub(crate) fn dashboard_html(context: &serde_json::Value) -> Result<String, ApiError> {
    with_context("dashboard.html", context)
}

/// The built page `name` with `context` (escaped) for its script.
fn with_context(name: &str, context: &serde_json::Value) -> Result<String, ApiError> {
    let page =
        web_assets::page(name).ok_or_else(|| ApiError::internal(format!("{name} is not built")))?;
    let block = format!(
        "<script type=\"application/json\" id=\"glasshouse-context\">{}</script>",
        json_for_html(context)
    );
    Ok(page.replace("<!--glasshouse:context-->", &block))
}

/// Sites another organisation shares with `org` under an agreement in
/// force today that shares visitors, with the purpose to ask them for.
fn shared_with(app: &App, org: &str) -> Vec<serde_json::Value> {
    let today = crate::ask::today(app);
    let mut out: Vec<serde_json::Value> = Vec::new();
    for a in app.config.agreements.iter().filter(|a| {
        a.parties.iter().any(|p| p == org)
            && a.in_force(today)
            && a.metrics.iter().any(|m| m == "visitors")
    }) {
        for site in a.sites.iter().filter_map(|h| app.config.site(h)) {
            let known = out.iter().any(|v| v["host"] == site.host.as_str());
            let purpose = a.purposes.iter().find(|p| site.purposes.contains(p));
            if site.organisation == org || known {
                continue;
            }
            if let Some(purpose) = purpose {
                let owner = app
                    .config
                    .organisation(&site.organisation)
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                out.push(serde_json::json!({"host": site.host, "organisation": owner, "agreement": a.title, "purpose": purpose}));
            }
        }
    }
    out
}

/// `GET /overview`: every site of the organisation, and those partners
/// share with it, on one page; the figures come from the Stats API.
async fn overview(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(s) = session(&app, &headers) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let org = app
        .config
        .organisation(&s.organisation)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let context = serde_json::json!({
        "sites": sites_of(&app, &s),
        "shared": shared_with(&app, &s.organisation),
        "user": {"username": s.username, "role": s.role, "organisation": org},
        "csrf": s.csrf,
    });
    Ok(html(
        StatusCode::OK,
        with_context("overview.html", &context)?,
        &[],
    ))
}

async fn sites(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let s = session(&app, &headers).ok_or_else(|| ApiError::unauthorized("sign in first"))?;
    Ok(Json(serde_json::json!({"results": sites_of(&app, &s)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let v = serde_json::json!({"s": "</script><script>alert(1)</script>"});
        assert!(!json_for_html(&v).contains("</script>"));
    }
}
