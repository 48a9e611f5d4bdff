//! The unsubscribe link of every mail: `GET /unsubscribe/{token}` asks to
//! confirm (mail scanners follow links, so a GET changes nothing);
//! `POST` stops that site's report or alerts to that address, also as the
//! one-click unsubscribe of RFC 8058 that mail programs send. The token is
//! opaque: the address is never in the link, nor kept once unsubscribed.

use super::schedule::token;
use crate::pages::{escape_html as escape, html, simple_page};
use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub fn register(r: &mut Registrar) {
    r.public("/unsubscribe/{token}", get(confirm).post(stop));
}

/// What the token stops: the site and which mail, if any list has it.
fn find(app: &App, t: &str) -> Option<(String, &'static str)> {
    for site in &app.config.sites {
        for r in &site.reports {
            if r.to
                .iter()
                .any(|a| token(app, &site.host, r.every.name(), a) == t)
            {
                let what = match r.every {
                    glasshouse_model::mail::Every::Week => "weekly report",
                    glasshouse_model::mail::Every::Month => "monthly report",
                };
                return Some((site.host.clone(), what));
            }
        }
        if let Some(a) = &site.alerts {
            if a.to
                .iter()
                .any(|addr| token(app, &site.host, "alerts", addr) == t)
            {
                return Some((site.host.clone(), "traffic alerts"));
            }
        }
    }
    None
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    html(status, simple_page(title, body), &[])
}

fn unknown() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "This link is not in use",
        "<p class=\"gh-body-l\">The address it was for is no longer on any list here, so nothing more will be sent to it.</p>",
    )
}

async fn confirm(State(app): State<App>, Path(t): Path<String>) -> Response {
    let Some((site, what)) = find(&app, &t) else {
        return unknown();
    };
    let done = !app.mail.unsubscribed.matching(|u| *u == t).is_empty();
    if done {
        return page(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p class=\"gh-body-l\">The {what} of {} is no longer sent to you.</p>",
                escape(&site)
            ),
        );
    }
    page(
        StatusCode::OK,
        "Stop these e-mails?",
        &format!(
            "<p class=\"gh-body-l\">You get the {what} of {}. If you stop, nothing else changes: the team that listed you can add you again.</p><form method=\"post\"><button class=\"gh-button\" type=\"submit\">Stop the {what}</button></form>",
            escape(&site)
        ),
    )
}

async fn stop(State(app): State<App>, Path(t): Path<String>) -> Result<Response, ApiError> {
    let Some((site, what)) = find(&app, &t) else {
        return Ok(unknown());
    };
    app.mail.unsubscribed.change(|all| {
        if !all.contains(&t) {
            all.push(t.clone());
        }
        Ok::<_, std::io::Error>(())
    })?;
    tracing::info!(site = %site, what, "a recipient unsubscribed");
    Ok(page(
        StatusCode::OK,
        "You are unsubscribed",
        &format!(
            "<p class=\"gh-body-l\">The {what} of {} will no longer be sent to you.</p>",
            escape(&site)
        ),
    ))
}
