//! Configuration changes applied while serving, and recorded.
//!
//! The configuration is the single source of truth for who may see what, so
//! changing it is itself an audited event: each reload — by `SIGHUP` or by
//! `POST /api/v1/admin/reload` — validates the file, appends a `config`
//! entry to the transparency log naming what changed (or why the file was
//! refused), and only then swaps the router, so requests already running
//! finish under the rules they started with. The listen address and the data
//! directory cannot change while serving; a changed value is reported and
//! waits for a restart.

use crate::auth::Caller;
use crate::{ApiError, App};
use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::routing::post;
use axum::Json;
use glasshouse_audit::Entry;
use glasshouse_model::Config;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tower::ServiceExt;

/// Holds the router being served and rebuilds it from a new configuration.
pub struct Reloader {
    path: PathBuf,
    live: ArcSwap<crate::Served>,
    app: Mutex<App>,
}

/// Where an `App` finds its reloader (set once serving starts).
pub type Slot = Arc<OnceLock<Weak<Reloader>>>;

impl Reloader {
    /// A reloader serving `app`, whose configuration was read from `path`.
    pub fn new(path: PathBuf, app: App) -> Arc<Reloader> {
        let reloader = Arc::new(Reloader {
            path,
            live: ArcSwap::from_pointee(crate::router(app.clone())),
            app: Mutex::new(app.clone()),
        });
        let _ = app.reload.set(Arc::downgrade(&reloader));
        reloader
    }

    /// The service to hand to the listener: every request goes to the router
    /// of the moment. A plain function, not a second router around the
    /// first: the collector answers tens of thousands of requests a second,
    /// and each layer of routing costs every one of them.
    pub fn service(
        self: &Arc<Reloader>,
    ) -> impl tower::Service<
        Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
           + Send {
        let me = self.clone();
        tower::service_fn(move |req: Request| {
            let router = me.live.load_full();
            async move { (*router).clone().oneshot(req).await }
        })
    }

    /// The app serving now (its configuration the one in force).
    pub fn app(&self) -> App {
        self.app.lock().expect("reloader").clone()
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.app.lock().expect("reloader").config.clone()
    }

    /// Reads the file again and, if it is valid, applies it. `who` is
    /// (organisation, role, actor pseudonym) for the audit log.
    pub fn reload(&self, who: (&str, &str, &str)) -> Result<Vec<String>, String> {
        let mut current = self.app.lock().expect("reloader");
        let (org, role, actor) = who;
        let audit = current.audit.clone();
        let now = current.clock.now();
        let loaded = Config::load(&self.path);
        let mut config = match loaded {
            Ok(c) => c,
            Err(e) => {
                let why = e.to_string();
                let entry = Entry::config(org, role, actor, "reload")
                    .at(now)
                    .refused(&why);
                audit.log.append(&entry).map_err(|e| e.to_string())?;
                return Err(why);
            }
        };
        let mut changes = changes(&current.config, &config);
        // These are bound at start.
        if config.store != current.config.store {
            changes.push("store changed: applies after a restart".into());
            config.store = current.config.store.clone();
        }
        if config.wal_limit_bytes != current.config.wal_limit_bytes {
            changes.push("store.wal_limit_mb changed: applies after a restart".into());
            config.wal_limit_bytes = current.config.wal_limit_bytes;
        }
        if config.listen != current.config.listen {
            changes.push(format!(
                "listen changed to {}: applies after a restart",
                config.listen
            ));
            config.listen = current.config.listen;
        }
        if config.data_dir != current.config.data_dir {
            changes.push("data_dir changed: applies after a restart".into());
            config.data_dir = current.config.data_dir.clone();
        }
        let summary = if changes.is_empty() {
            "reload: no change".to_string()
        } else {
            format!("reload: {}", changes.join("; "))
        };
        let entry = Entry::config(org, role, actor, &summary).at(now);
        audit.log.append(&entry).map_err(|e| e.to_string())?;
        // Roll-ups and salts follow the sites' local days.
        current.store.set_zones(&config.site_zones());
        glasshouse_store::zones::apply(
            current.store.as_ref(),
            &config.data_dir,
            &config.site_zones(),
        )
        .map_err(|e| format!("time zones: {e}"))?;
        current
            .anonymiser
            .set_zones(&config.timezones())
            .map_err(|e| format!("salts: {e}"))?;
        let next = current.with_config(Arc::new(config));
        self.live.store(Arc::new(crate::router(next.clone())));
        *current = next;
        Ok(changes)
    }
}

/// What differs between two configurations, in words (no secrets: tokens
/// and accounts are only counted).
pub fn changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut compare = |what: &str, old: Vec<(String, String)>, new: Vec<(String, String)>| {
        for (id, v) in &new {
            match old.iter().find(|(o, _)| o == id) {
                None => out.push(format!("{what} {id} added")),
                Some((_, ov)) if ov != v => out.push(format!("{what} {id} changed")),
                _ => {}
            }
        }
        for (id, _) in &old {
            if !new.iter().any(|(n, _)| n == id) {
                out.push(format!("{what} {id} removed"));
            }
        }
    };
    compare(
        "organisation",
        old.organisations
            .iter()
            .map(|o| (o.id.clone(), format!("{o:?}")))
            .collect(),
        new.organisations
            .iter()
            .map(|o| (o.id.clone(), format!("{o:?}")))
            .collect(),
    );
    compare(
        "purpose",
        old.purposes
            .iter()
            .map(|p| (p.id.clone(), format!("{p:?}")))
            .collect(),
        new.purposes
            .iter()
            .map(|p| (p.id.clone(), format!("{p:?}")))
            .collect(),
    );
    compare(
        "site",
        old.sites
            .iter()
            .map(|s| (s.host.clone(), format!("{s:?}")))
            .collect(),
        new.sites
            .iter()
            .map(|s| (s.host.clone(), format!("{s:?}")))
            .collect(),
    );
    compare(
        "agreement",
        old.agreements
            .iter()
            .map(|a| (a.id.clone(), format!("{a:?}")))
            .collect(),
        new.agreements
            .iter()
            .map(|a| (a.id.clone(), format!("{a:?}")))
            .collect(),
    );
    if old.api_tokens != new.api_tokens {
        out.push(format!(
            "API tokens: {} → {}",
            old.api_tokens.len(),
            new.api_tokens.len()
        ));
    }
    if old.users != new.users {
        out.push(format!(
            "accounts: {} → {}",
            old.users.len(),
            new.users.len()
        ));
    }
    if old.trusted_proxies != new.trusted_proxies {
        out.push("trusted proxies changed".into());
    }
    out
}

pub fn register(r: &mut crate::routes::Registrar) {
    r.signed("/api/v1/admin/reload", post(reload));
}

/// `POST /api/v1/admin/reload`: only an operator token may apply the
/// configuration file again (it changes every organisation's rules).
async fn reload(
    State(app): State<App>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !caller.principal.operator {
        return Err(ApiError::forbidden(
            "only an operator token may reload the configuration",
        ));
    }
    let (role, actor) = (caller.kind.clone(), caller.actor.clone());
    let reloader = app.reload.get().and_then(Weak::upgrade).ok_or_else(|| {
        ApiError::unavailable("this server was started without a configuration file to reload")
    })?;
    let org = caller.organisation().to_string();
    let result = tokio::task::spawn_blocking(move || reloader.reload((&org, &role, &actor)))
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(changes) => Ok(Json(
            serde_json::json!({ "reloaded": true, "changes": changes }),
        )),
        Err(why) => Err(ApiError::bad_request(format!(
            "the configuration was not applied: {why}"
        ))),
    }
}
