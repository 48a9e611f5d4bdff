//! Every look at the data, written to the transparency log (promise 7 of
//! docs/architecture.md), and the log's public endpoints.
//!
//! A middleware wraps every gated route (`/api/v1/stats/*`,
//! `/api/v1/funnels*`): after the handler runs it appends one entry to the
//! Merkle-tree log in `DATA_DIR/audit` — who asked (organisation, role, a
//! pseudonym), for which purpose, the question *as parsed* in canonical,
//! scrubbed, bounded form (`ask.rs`), the ground the gate granted or the
//! refusal, and the rows returned. It decides nothing: the gate
//! (`glasshouse_governance::gate`) does. Requests without any credentials
//! are not "looks at the data" and are not logged.
//!
//! Public, no sign-in: `/transparency/log/checkpoint`, `/key`, `/entries`,
//! `/proof/inclusion`, `/proof/consistency` — what `glasshouse audit verify
//! --url` and `glasshouse audit witness` read.

use crate::ask::Audited;
use crate::auth;
use crate::{ApiError, App};
use axum::extract::{Query as Params, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use glasshouse_audit::{AuditLog, Entry};
use glasshouse_governance::AuditRow;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The log and the key that turns account names into pseudonyms.
pub struct Audit {
    /// The transparency log.
    pub log: AuditLog,
    actor_key: [u8; 32],
    /// Verifies the stored files as they grow, reading only what is new.
    follower: std::sync::Mutex<glasshouse_audit::Follower>,
    /// Which entries are about each site, for the register's pages.
    about: std::sync::Mutex<std::collections::HashMap<String, (u64, Vec<u64>)>>,
}

impl Audit {
    /// Opens (or starts) the log in `DIR/audit`. Its origin line is fixed on
    /// first use, so later changes of address do not break its signatures.
    pub fn open(data_dir: &Path, public_url: Option<&str>) -> std::io::Result<Audit> {
        let dir = data_dir.join("audit");
        std::fs::create_dir_all(&dir)?;
        let origin_file = dir.join("origin");
        let origin = match std::fs::read_to_string(&origin_file) {
            Ok(o) => o.trim().to_string(),
            Err(_) => {
                let host = public_url
                    .and_then(|u| u.split("://").nth(1))
                    .map(|h| h.trim_end_matches('/').to_string())
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".into());
                let origin = format!("{host}/glasshouse-audit");
                std::fs::write(&origin_file, &origin)?;
                origin
            }
        };
        let key_file = dir.join("actor.key");
        let actor_key = match std::fs::read(&key_file) {
            Ok(k) if k.len() == 32 => k.try_into().expect("32 bytes"),
            _ => {
                let k: [u8; 32] = rand::random();
                std::fs::write(&key_file, k)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
                }
                k
            }
        };
        let log =
            AuditLog::open(&dir, &origin).map_err(|e| std::io::Error::other(e.to_string()))?;
        let key = glasshouse_audit::key::Verifier::from_key_string(&log.verifier_key())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Audit {
            follower: std::sync::Mutex::new(glasshouse_audit::Follower::new(&dir, key)),
            log,
            actor_key,
            about: Default::default(),
        })
    }

    /// Whether the stored log verifies from its files (every entry and
    /// signed checkpoint), as `glasshouse audit verify` checks it: the whole
    /// log once, then only what was appended since (`Follower`); blocking.
    pub fn verified(&self) -> bool {
        let mut follower = self.follower.lock().expect("audit follower");
        match follower.advance() {
            Ok(_) => true,
            Err(why) => {
                tracing::error!(%why, "the audit log does not verify");
                false
            }
        }
    }

    /// Page `page` (from 1) of the log, newest first, `per_page` entries
    /// a page, optionally only those about `host` (`AuditRow::is_about`);
    /// with the number of entries in the whole (filtered) log. Only entries
    /// appended since the last call are read to find those about a host.
    pub fn page(
        &self,
        host: Option<&str>,
        page: u64,
        per_page: u64,
    ) -> Result<(u64, Vec<AuditRow>), glasshouse_audit::AuditError> {
        let skip = page.max(1).saturating_sub(1).saturating_mul(per_page);
        let Some(host) = host else {
            let size = self.log.size();
            let end = size.saturating_sub(skip);
            let start = end.saturating_sub(per_page);
            let mut rows: Vec<AuditRow> = self
                .log
                .entries(start, end - start)?
                .into_iter()
                .map(|(_, e)| row(e))
                .collect();
            rows.reverse();
            return Ok((size, rows));
        };
        let mut about = self.about.lock().expect("audit index");
        let (scanned, found) = about.entry(host.to_string()).or_default();
        let size = self.log.size();
        while *scanned < size {
            let batch = self.log.entries(*scanned, glasshouse_audit::MAX_PAGE)?;
            if batch.is_empty() {
                break;
            }
            *scanned += batch.len() as u64;
            for (i, e) in batch {
                if row(e).is_about(host) {
                    found.push(i);
                }
            }
        }
        let total = found.len() as u64;
        let wanted: Vec<u64> = found
            .iter()
            .rev()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(per_page).unwrap_or(usize::MAX))
            .copied()
            .collect();
        drop(about);
        let mut rows = Vec::with_capacity(wanted.len());
        for i in wanted {
            rows.extend(self.log.entries(i, 1)?.into_iter().map(|(_, e)| row(e)));
        }
        Ok((total, rows))
    }

    /// A keyed hash of `message` for `purpose`, as 64 hex digits: a value
    /// the installation can check again but nobody can make without its
    /// key (a shared link's unlocking cookie).
    pub fn mac(&self, purpose: &str, message: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.actor_key);
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(message.as_bytes());
        hex::encode(h.finalize())
    }

    /// A stable pseudonym for an account: the same person gets the same one,
    /// but it cannot be turned back into a name without the installation's key.
    pub fn pseudonym(&self, kind: &str, name: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.actor_key);
        h.update(kind.as_bytes());
        h.update([0]);
        h.update(name.as_bytes());
        format!("{kind}:{}", &hex::encode(h.finalize())[..16])
    }
}

pub fn register(r: &mut crate::routes::Registrar) {
    r.public("/transparency/log/checkpoint", get(checkpoint))
        .public("/transparency/log/key", get(key))
        .public("/transparency/log/entries", get(entries))
        .public("/transparency/log/proof/inclusion", get(inclusion))
        .public("/transparency/log/proof/consistency", get(consistency));
}

/// The reason an API error gave, for the log.
#[derive(Clone)]
pub struct Reason(pub String);

/// Largest request body a gated route reads (a funnel question).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// Longest a question waits for acknowledged events to reach the store
/// (normally one commit, a few milliseconds); after it, the store is
/// answering from what it has, e.g. while ClickHouse is unreachable.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// The middleware around every route that reads event data (gated routes).
pub async fn gate(State(app): State<App>, mut request: Request, next: Next) -> Response {
    // A question the server asks itself (a mailed report, an alert) comes
    // with its caller already set: no request from outside can set one.
    let internal = request.extensions().get::<auth::Caller>().cloned();
    let found = match internal {
        Some(c) => Some(Ok((c, None))),
        None => crate::links::caller(&app, request.headers()).map(|r| r.map(|(c, l)| (c, Some(l)))),
    };
    let (caller, link) = match found {
        Some(Ok((caller, link))) => (caller, link),
        // A link that does not work reads nothing.
        Some(Err(e)) => return e.into_response(),
        None => match auth::caller(&app, request.headers()) {
            Ok(caller) => (caller, None),
            // No credentials: nothing is read, nothing to log.
            Err(_) => return next.run(request).await,
        },
    };
    // The handler decides as the caller logged here, found once.
    request.extensions_mut().insert(caller.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let endpoint = crate::metrics::Endpoint {
        endpoint: path.clone(),
    };
    let started = std::time::Instant::now();
    if app.ingestor.unsettled() {
        // Every event acknowledged before this question is in its answer.
        let ingestor = app.ingestor.clone();
        let _ = tokio::task::spawn_blocking(move || ingestor.settle(SETTLE)).await;
    }
    let response = next.run(request).await;
    // One series per route, not per funnel id.
    if !endpoint.endpoint.starts_with("/api/v1/funnels/") {
        app.metrics
            .query_seconds
            .get_or_create(&endpoint)
            .observe(started.elapsed().as_secs_f64());
    }
    let status = response.status();
    let reason = response.extensions().get::<Reason>().map(|r| r.0.clone());
    let audited = response.extensions().get::<Audited>().cloned();
    // The question as parsed, never the raw request: a request that failed
    // before it became a question is logged by its route alone. The handler
    // counted the answer's rows as it built it.
    if let Some(link) = link {
        // Views of a link are counted, and logged once a day per link.
        let rows = audited.map(|a| a.rows).unwrap_or(0);
        if !crate::links::count(&app, link, status.is_success(), rows).await {
            return ApiError::unavailable("the audit log cannot be written; nothing was answered")
                .into_response();
        }
        return response;
    }
    let (question, purpose, ground, rows) = match audited {
        Some(a) => (a.question, a.purpose, a.ground, a.rows),
        None => (
            format!("{method} {path} (not parsed)"),
            String::new(),
            String::new(),
            0,
        ),
    };
    let mut entry = Entry::query(
        caller.organisation(),
        &caller.kind,
        &caller.actor,
        &purpose,
        &question,
    )
    .at(app.clock.now())
    .rows(rows);
    if status.is_success() {
        entry = entry.reason(&format!("HTTP {}; {ground}", status.as_u16()));
    } else {
        let reason = bounded_reason(&reason.unwrap_or_default());
        entry = entry.refused(&format!("HTTP {}: {reason}", status.as_u16()));
    }
    if !append(&app, entry).await {
        // A look at the data that cannot be recorded is not allowed to happen.
        return ApiError::unavailable("the audit log cannot be written; nothing was answered")
            .into_response();
    }
    response
}

/// A refusal's reason as the public log keeps it: scrubbed of personal
/// data (a reason may quote what the caller typed) and bounded.
fn bounded_reason(reason: &str) -> String {
    let scrubbed = glasshouse_privacy::scrub(reason);
    match scrubbed
        .char_indices()
        .nth(glasshouse_model::question::AUDIT_VALUE_CHARS)
    {
        None => scrubbed.into_owned(),
        Some((i, _)) => format!("{}…", &scrubbed[..i]),
    }
}

async fn append(app: &App, entry: Entry) -> bool {
    let audit = app.audit.clone();
    match tokio::task::spawn_blocking(move || audit.log.append(&entry)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "audit log append failed");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "audit log task failed");
            false
        }
    }
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn audit_error(e: glasshouse_audit::AuditError) -> ApiError {
    if e.is_bad_request() {
        ApiError::bad_request(e.to_string())
    } else {
        ApiError::internal(e)
    }
}

async fn checkpoint(State(app): State<App>) -> Result<Response, ApiError> {
    Ok(text(app.audit.log.checkpoint().map_err(audit_error)?))
}

async fn key(State(app): State<App>) -> Response {
    text(app.audit.log.verifier_key())
}

#[derive(Deserialize)]
struct Page {
    start: Option<u64>,
    count: Option<u64>,
}

async fn entries(
    State(app): State<App>,
    Params(p): Params<Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = app
        .audit
        .log
        .entries_json(p.start.unwrap_or(0), p.count.unwrap_or(100))
        .map_err(audit_error)?;
    Ok(Json(v))
}

#[derive(Deserialize)]
struct Inclusion {
    index: u64,
    size: u64,
}

async fn inclusion(
    State(app): State<App>,
    Params(p): Params<Inclusion>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        app.audit
            .log
            .inclusion_json(p.index, p.size)
            .map_err(audit_error)?,
    ))
}

#[derive(Deserialize)]
struct Consistency {
    old: u64,
    new: u64,
}

async fn consistency(
    State(app): State<App>,
    Params(p): Params<Consistency>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        app.audit
            .log
            .consistency_json(p.old, p.new)
            .map_err(audit_error)?,
    ))
}

/// An entry as the public register shows it.
pub fn row(e: Entry) -> AuditRow {
    AuditRow {
        time: e.time,
        kind: match e.kind {
            glasshouse_audit::Kind::Query => "query".into(),
            glasshouse_audit::Kind::Config => "config".into(),
        },
        organisation: e.organisation,
        role: e.role,
        purpose: e.purpose,
        query: e.query,
        rows: e.rows,
        decision: match e.decision {
            glasshouse_audit::Decision::Allowed => "allowed".into(),
            glasshouse_audit::Decision::Refused => "refused".into(),
        },
        reason: e.reason,
    }
}
