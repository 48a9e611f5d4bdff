//! HTTP for glasshouse: the edge of the data path, and nothing more.
//!
//! - `collect`: `POST /api/event`, the collector. It reads the raw request
//!   (IP, User-Agent, URL) into a `RawEvent`, hands it straight to the
//!   privacy crate's anonymiser, and answers 202 only once the ingest queue
//!   says the event is durable. Nothing raw is logged or kept.
//! - `client_ip`: which address is the visitor's (`X-Forwarded-For` only
//!   from configured proxies).
//! - `stats`: the Stats API, path- and shape-compatible with Plausible's v1.
//! - `journeys`, `funnels`: paths, next and previous pages, funnels (across
//!   the sites of an agreement that links journeys), and saved funnels.
//! - `auth`: API tokens, checked by hash.
//! - `assets`: the tracker script, the opt-out page and its stylesheet.
//! - `openapi`: the API description served at `/api/openapi.json`.
//! - `sessions`, `pages`: dashboard sign-in (argon2, HttpOnly SameSite
//!   cookies, CSRF tokens, rate-limited) and the dashboard's pages.
//! - `web_assets`: the dashboard front end built from `web/`, embedded.
//! - `audit`: the transparency log of every question, as parsed, with the
//!   ground it was answered on; and the log's public endpoints.
//! - `transparency`: the public register, its JSON and the DPIA, rendered
//!   by the governance crate from the live configuration and inventory.
//! - `ask`: every route that reads event data parses its request into one
//!   `Question`, has the governance gate decide on it, and releases its
//!   figures under the `Grant` (k thresholds, differential-privacy noise).
//! - `reload`: configuration reloads (SIGHUP or the operator's API), audited.
//! - `links`: shared links, read-only dashboards for people without an
//!   account, kept to their scope by the gate and counted in the audit log.
//! - `segments`: saved sets of filters, applied by id.
//! - `mail`: weekly and monthly reports and traffic alerts by e-mail,
//!   asked through the gate, sent once, and the unsubscribe page.
//! - `revoke`: an admin ends an account's sessions, audited.
//! - `metrics`: `/metrics` for Prometheus, operator token only.
//! - `request_id`: an id per request, in answers and log lines.
//! - `ready`: `/ready`, each thing the instance depends on, checked.
//! - `listen`: the accept loop, with the header-read timeout.
//! - `deadline`: every request's time to be answered (408 after it).
//!
//! Errors become HTTP answers in one place (`error`), always with a JSON
//! reason.

mod annotations;
mod ask;
mod assets;
pub mod audit;
mod auth;
mod client_ip;
mod collect;
pub mod deadline;
mod error;
pub mod federation;
mod funnels;
mod journeys;
pub mod links;
pub mod listen;
pub mod mail;
pub mod metrics;
mod openapi;
mod pages;
mod ready;
pub mod reload;
pub mod request_id;
mod revoke;
pub mod routes;
mod segments;
pub mod sessions;
mod stats;
pub mod transparency;
mod v2;
mod web_assets;

pub use error::ApiError;

use axum::routing::get;
use axum::Router;
use glasshouse_model::{Clock, Config};
use glasshouse_privacy::Anonymiser;
use glasshouse_store::{Ingestor, Store};
use std::sync::Arc;

/// Everything a request handler may use, behind one `Arc`: handlers and
/// middleware clone it for every request, and one reference count to move
/// costs far less than a dozen (measured: cloning and dropping the fields
/// one by one was 3-4 % of the collector's CPU under load).
#[derive(Clone)]
pub struct App(Arc<AppState>);

impl App {
    /// The app over `state`.
    pub fn new(state: AppState) -> App {
        App(Arc::new(state))
    }

    /// The same app under a new configuration (a reload).
    pub fn with_config(&self, config: Arc<Config>) -> App {
        let mut state = (*self.0).clone();
        state.config = config;
        App::new(state)
    }
}

impl std::ops::Deref for App {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// What [`App`] holds.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Turns raw requests into anonymous events.
    pub anonymiser: Arc<Anonymiser>,
    /// The group-commit queue in front of the store.
    pub ingestor: Arc<Ingestor>,
    /// Where aggregates are read from.
    pub store: Arc<dyn Store>,
    /// The one source of "now".
    pub clock: Arc<dyn Clock>,
    /// Signed-in dashboard accounts.
    pub sessions: Arc<sessions::Sessions>,
    /// Funnels saved per site.
    pub funnels: Arc<glasshouse_store::saved::SavedFunnels>,
    /// Dated notes per site.
    pub annotations: Arc<glasshouse_store::annotations::Annotations>,
    /// Saved segments per site.
    pub segments: Arc<glasshouse_store::segments::Segments>,
    /// Shared links.
    pub links: Arc<glasshouse_store::links::Links>,
    /// Link views not yet written to the audit log.
    pub link_views: Arc<glasshouse_store::links::ViewCounts>,
    /// What was mailed, who unsubscribed, and sends to retry.
    pub mail: Arc<mail::Mail>,
    /// The transparency log of every look at the data.
    pub audit: Arc<audit::Audit>,
    /// ε spent under each agreement, per party and month.
    pub budgets: Arc<glasshouse_privacy::budget::Budgets>,
    /// Noisy answers released today, served again for the same question.
    pub releases: Arc<glasshouse_governance::gate::Releases>,
    /// The public register's daily site figures.
    pub register: Arc<transparency::RegisterCache>,
    /// The reloader serving this app, once serving has started.
    pub reload: reload::Slot,
    /// Counters and timings for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// This installation's node, when organisations each run their own
    /// (docs/federation.md).
    pub federation: Option<Arc<glasshouse_federation::Node>>,
}

/// Every route, each registered as gated, signed or public (`routes.rs`).
pub fn registrar(app: &App) -> routes::Registrar {
    let mut r = routes::Registrar::new(app.clone());
    r.public("/health", get(health))
        .public("/api/openapi.json", get(openapi::document));
    ready::register(&mut r);
    collect::register(&mut r, app);
    metrics::register(&mut r);
    // Every look at the data goes through the gate and into the audit log.
    stats::register(&mut r);
    v2::register(&mut r);
    journeys::register(&mut r);
    federation::register(&mut r);
    funnels::register(&mut r);
    annotations::register(&mut r);
    links::register(&mut r);
    mail::unsubscribe::register(&mut r);
    segments::register(&mut r);
    audit::register(&mut r);
    reload::register(&mut r);
    revoke::register(&mut r);
    transparency::register(&mut r);
    assets::register(&mut r);
    pages::register(&mut r);
    web_assets::register(&mut r);
    r
}

/// The whole HTTP surface; every request answered within
/// `listen::REQUEST_TIMEOUT` (408 after it), a partner node's message
/// within `listen::EXCHANGE_TIMEOUT` (`deadline`).
pub fn router(app: App) -> Served {
    let registrar = registrar(&app);
    let exchanges = registrar
        .table()
        .iter()
        .filter(|(_, access)| *access == routes::Access::Node)
        .map(|(path, _)| *path)
        .collect();
    let times = deadline::Layer::new(listen::REQUEST_TIMEOUT, listen::EXCHANGE_TIMEOUT, exchanges);
    let routes = registrar.into_router().with_state(app);
    tower::Layer::layer(&request_id::Layer, tower::Layer::layer(&times, routes))
}

/// The routers, each request given its id (`request_id`) and its time
/// (`deadline`) before routing.
pub type Served = request_id::WithId<deadline::Deadline<Router>>;

/// Every registered path and how it may be reached, for the test that
/// holds the API description and the pages against it.
pub fn route_table(app: &App) -> Vec<(&'static str, routes::Access)> {
    registrar(app).table().to_vec()
}

/// Runs store work (which blocks) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Serves whatever router `reloader` holds at each request, until `shutdown`
/// resolves; configuration reloads swap it without dropping connections.
pub async fn serve_reloadable(
    listener: tokio::net::TcpListener,
    reloader: &Arc<reload::Reloader>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, reloader.service(), shutdown).await
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(app), shutdown).await
}
