//! The public transparency register and impact assessment (promises 7 and
//! 8 of docs/architecture.md), served without sign-in:
//!
//! - `GET /transparency` (`?site=HOST`, `?page=N`): the register for the
//!   installation or one site, with the audit log paged;
//! - `GET /transparency.json`: the same for machines;
//! - `GET /transparency/dpia` (`?site=HOST`, `?format=md`): the DPIA.
//!
//! The documents are rendered by the governance crate from the live
//! configuration and an inventory read from the store and the audit log
//! here, so what is published is what runs.

use crate::routes::Registrar;
use crate::{ApiError, App};
use axum::extract::{Query as Params, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use glasshouse_governance::{dpia, transparency, AuditPage, Inventory, SiteInventory};
use serde::Deserialize;

/// Audit entries per page of the register.
const PER_PAGE: u64 = 25;

pub fn register(r: &mut Registrar) {
    r.public("/transparency", get(page))
        .public("/transparency.json", get(json))
        .public("/transparency/dpia", get(impact_assessment));
}

#[derive(Deserialize, Default)]
struct PageParams {
    site: Option<String>,
    page: Option<u64>,
    format: Option<String>,
}

/// What is stored of one site, as the public register shows it: events
/// kept and visitors in the 30 days before today, counted up to the end of
/// yesterday, rounded, and withheld under `threshold` (no exact, live
/// figure), as `glasshouse dpia` does too.
fn site_inventory(
    store: &dyn glasshouse_store::Store,
    site: &glasshouse_model::Site,
    today: chrono::NaiveDate,
    threshold: u64,
) -> Result<SiteInventory, glasshouse_store::StoreError> {
    let f = glasshouse_store::inventory::site_figures(store, site, today)?;
    Ok(SiteInventory::counted(
        &site.host,
        f.events_stored,
        f.visitors_last_30_days,
        f.oldest_event,
        threshold,
    ))
}

/// The register's site figures, computed once a day: they change only at
/// midnight, so anonymous readers never make the store count anything.
#[derive(Default)]
pub struct RegisterCache {
    kept: std::sync::Mutex<Option<(chrono::NaiveDate, u64, Vec<SiteInventory>)>>,
}

/// What is stored, per site, from the store itself (once a day).
fn inventory(app: &App) -> Result<Inventory, ApiError> {
    let now = app.clock.now();
    let today = now.date_naive();
    let threshold = app.config.register_threshold;
    let kept = app
        .register
        .kept
        .lock()
        .expect("register cache")
        .clone()
        .filter(|(day, t, sites)| {
            *day == today && *t == threshold && sites.len() == app.config.sites.len()
        });
    let sites = match kept {
        Some((_, _, sites)) => sites,
        None => {
            let mut sites = Vec::new();
            for site in &app.config.sites {
                sites.push(site_inventory(app.store.as_ref(), site, today, threshold)?);
            }
            *app.register.kept.lock().expect("register cache") =
                Some((today, threshold, sites.clone()));
            sites
        }
    };
    Ok(Inventory {
        sites,
        audit_log_size: app.audit.log.size(),
        audit_checkpoint: app.audit.log.checkpoint().ok(),
        audit_public_key: Some(app.audit.log.verifier_key()),
        generated_at: now,
        store_backend: app.config.store.describe(),
        links: shared_links(app),
    })
}

/// The links that work now, as the register lists them.
fn shared_links(app: &App) -> Vec<glasshouse_governance::SharedLink> {
    let now = app.clock.now();
    app.links
        .matching(|l| l.live(now))
        .into_iter()
        .filter_map(|l| crate::links::working_link(app, l))
        .map(|l| glasshouse_governance::SharedLink {
            id: l.id,
            site: l.site,
            organisation: l.organisation,
            purpose: l.purpose,
            created: l.created,
            expires: l.expires,
            password: l.password.is_some(),
            segment: l.segment.map(|s| s.name),
            embed: l.embed,
        })
        .collect()
}

/// One page of the audit log, newest first, optionally only about a site,
/// with whether the log verifies (checked up to its newest entry).
fn audit_page(app: &App, site: Option<&str>, number: u64) -> Result<AuditPage, ApiError> {
    let verified = app.audit.verified();
    let (total, entries) = app
        .audit
        .page(site, number, PER_PAGE)
        .map_err(ApiError::internal)?;
    Ok(AuditPage {
        entries,
        page: number,
        per_page: PER_PAGE,
        total,
        verified: Some(verified),
    })
}

async fn render<T: Send + 'static>(
    app: App,
    f: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(ApiError::internal)?
}

fn layout(title: &str, content: &str) -> Result<String, ApiError> {
    let page = crate::web_assets::page("transparency.html")
        .ok_or_else(|| ApiError::internal("transparency.html is not built"))?;
    Ok(page
        .replace(
            "<!--glasshouse:title-->",
            &glasshouse_governance::escape(title),
        )
        .replace("<!--glasshouse:content-->", content))
}

fn html(body: String) -> Response {
    crate::pages::html(StatusCode::OK, body, &[])
}

fn known_site(app: &App, site: Option<&str>) -> Result<Option<String>, ApiError> {
    match site.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => app
            .config
            .site(s)
            .map(|site| Some(site.host.clone()))
            .ok_or_else(|| ApiError::not_found(format!("site: no site {s:?} here"))),
    }
}

async fn page(State(app): State<App>, Params(p): Params<PageParams>) -> Result<Response, ApiError> {
    let site = known_site(&app, p.site.as_deref())?;
    let number = p.page.unwrap_or(1).max(1);
    let body = render(app, move |app| {
        let inventory = inventory(app)?;
        let audit = audit_page(app, site.as_deref(), number)?;
        let title = match &site {
            Some(h) => format!("Transparency: {h}"),
            None => "Transparency".to_string(),
        };
        layout(
            &title,
            &transparency::html(&app.config, &inventory, &audit, site.as_deref()),
        )
    })
    .await?;
    Ok(html(body))
}

async fn json(
    State(app): State<App>,
    Params(p): Params<PageParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let number = p.page.unwrap_or(1).max(1);
    render(app, move |app| {
        let inventory = inventory(app)?;
        let audit = audit_page(app, None, number)?;
        Ok(Json(transparency::json(&app.config, &inventory, &audit)))
    })
    .await
}

async fn impact_assessment(
    State(app): State<App>,
    Params(p): Params<PageParams>,
) -> Result<Response, ApiError> {
    let site = known_site(&app, p.site.as_deref())?;
    let markdown = p.format.as_deref() == Some("md");
    render(app, move |app| {
        let inventory = inventory(app)?;
        if markdown {
            return Ok((
                [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
                dpia::markdown(&app.config, &inventory, site.as_deref()),
            )
                .into_response());
        }
        let title = match &site {
            Some(h) => format!("Data protection impact assessment: {h}"),
            None => "Data protection impact assessment".to_string(),
        };
        Ok(html(layout(
            &title,
            &dpia::html(&app.config, &inventory, site.as_deref()),
        )?))
    })
    .await
}
