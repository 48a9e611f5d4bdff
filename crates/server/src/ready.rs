//! `GET /ready`: whether this instance can do its job now, for a load
//! balancer or a monitor. `/health` only says the process answers; this
//! checks each thing a visit and a question depend on, and answers 503
//! naming the first that is wrong:
//!
//! - `store`: the store answers a question (ClickHouse reachable);
//! - `wal`: the write-ahead log has room (the collector refuses events
//!   once it holds its bound, e.g. while ClickHouse is down);
//! - `audit`: the audit log verifies (a question that cannot be logged is
//!   not answered);
//! - `salts`: today's salt exists (visitor ids roll at UTC midnight).
//!
//! Public, like `/health`: it names no site, figure or secret.

use crate::routes::Registrar;
use crate::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// Longest the store may take to answer the readiness question.
const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub fn register(r: &mut Registrar) {
    r.public("/ready", get(ready));
}

/// One check: `Ok(detail)` or `Err(reason)`.
type Check = Result<Value, String>;

async fn ready(State(app): State<App>) -> Response {
    let checks: [(&str, Check); 4] = [
        ("store", store(&app).await),
        ("wal", wal(&app)),
        ("audit", audit(&app).await),
        ("salts", salts(&app)),
    ];
    let failing = checks
        .iter()
        .find_map(|(name, c)| c.as_ref().err().map(|why| format!("{name}: {why}")));
    let body: serde_json::Map<String, Value> = checks
        .into_iter()
        .map(|(name, c)| {
            let v = match c {
                Ok(detail) => json!({"ok": true, "detail": detail}),
                Err(why) => json!({"ok": false, "error": why}),
            };
            (name.to_string(), v)
        })
        .collect();
    match failing {
        None => Json(json!({"status": "ready", "checks": body})).into_response(),
        Some(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "error": error, "checks": body})),
        )
            .into_response(),
    }
}

async fn store(app: &App) -> Check {
    let store = app.store.clone();
    let asked = tokio::task::spawn_blocking(move || store.count());
    match tokio::time::timeout(STORE_TIMEOUT, asked).await {
        Ok(Ok(Ok(_))) => Ok(json!(app.config.store.describe())),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!("the check failed: {e}")),
        Err(_) => Err(format!("no answer within {} s", STORE_TIMEOUT.as_secs())),
    }
}

fn wal(app: &App) -> Check {
    let stats = app.ingestor.stats();
    let bytes = stats.wal_bytes.load(Ordering::Relaxed);
    let bound = app
        .config
        .wal_limit_bytes
        .unwrap_or(glasshouse_store::wal::WalOptions::default().max_bytes);
    let detail =
        json!({"bytes": bytes, "bound": bound, "queued": stats.queued.load(Ordering::Relaxed)});
    if bytes >= bound {
        return Err(format!(
            "the write-ahead log holds {bytes} bytes, its bound; events are refused until the store takes them"
        ));
    }
    Ok(detail)
}

async fn audit(app: &App) -> Check {
    let a = app.audit.clone();
    match tokio::task::spawn_blocking(move || a.verified()).await {
        Ok(true) => Ok(json!({"entries": app.audit.log.size()})),
        Ok(false) => Err("the audit log does not verify; see the server log".into()),
        Err(e) => Err(format!("the check failed: {e}")),
    }
}

fn salts(app: &App) -> Check {
    // What the minute timer does; a no-op unless the day has just turned.
    if let Err(e) = app.anonymiser.check_rotation() {
        return Err(format!("the daily salt cannot be rotated: {e}"));
    }
    let today = app.clock.now().date_naive();
    let days = app.anonymiser.salts().days();
    if days.contains(&today) {
        Ok(json!({"days": days.len()}))
    } else {
        Err(format!("no salt for today ({today}); rotation has not run"))
    }
}
