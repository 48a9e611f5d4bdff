//! `GET /metrics`: what an operator watches, in the Prometheus/OpenMetrics
//! text format — events accepted, dropped and rejected by reason, the ingest
//! queue and the write-ahead log's depth, commit latency, query latency by endpoint, the salts and the audit
//! log. Counts only: nothing about any visitor. It needs an operator token
//! (`Authorization: Bearer …`, as Prometheus's `authorization` setting sends).

use crate::auth::Caller;
use crate::{ApiError, App};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// A `reason` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// Why.
    pub reason: String,
}

/// An `endpoint` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Endpoint {
    /// The route's path.
    pub endpoint: String,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Events stored.
    pub accepted: Counter,
    /// Events deliberately not recorded (bot, do-not-track, opted-out…).
    pub dropped: Family<Reason, Counter>,
    /// Requests refused as bad input.
    pub rejected: Family<Reason, Counter>,
    /// Seconds each query API request took, by endpoint.
    pub query_seconds: Family<Endpoint, Histogram>,
    /// Mail the relay accepted, by kind (report or alert).
    pub mail_sent: Family<Reason, Counter>,
    /// Attempts the relay refused or that could not reach it, by kind.
    pub mail_failures: Family<Reason, Counter>,
    /// Reports and alerts due but not yet accepted by the relay.
    pub mail_pending: Gauge,
    queue: Gauge,
    written: Counter<u64, AtomicU64>,
    batches: Counter<u64, AtomicU64>,
    commit_seconds: Gauge<f64, AtomicU64>,
    wal_bytes: Gauge,
    wal_batches: Gauge,
    ships: Counter<u64, AtomicU64>,
    ship_seconds: Counter<f64, AtomicU64>,
    last_ship_seconds: Gauge<f64, AtomicU64>,
    ship_failures: Counter<u64, AtomicU64>,
    visits_evicted: Counter<u64, AtomicU64>,
    salts: Gauge,
    salt_age: Gauge<i64, AtomicI64>,
    audit_entries: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("glasshouse")),
            accepted: Counter::default(),
            dropped: Family::default(),
            rejected: Family::default(),
            query_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.002, 2.0, 12))
            }),
            mail_sent: Family::default(),
            mail_failures: Family::default(),
            mail_pending: Gauge::default(),
            queue: Gauge::default(),
            written: Counter::default(),
            batches: Counter::default(),
            commit_seconds: Gauge::default(),
            wal_bytes: Gauge::default(),
            wal_batches: Gauge::default(),
            ships: Counter::default(),
            ship_seconds: Counter::default(),
            last_ship_seconds: Gauge::default(),
            ship_failures: Counter::default(),
            visits_evicted: Counter::default(),
            salts: Gauge::default(),
            salt_age: Gauge::default(),
            audit_entries: Gauge::default(),
        };
        {
            let mut r = m.registry.lock().expect("registry");
            r.register("events_accepted", "Events stored", m.accepted.clone());
            r.register(
                "events_dropped",
                "Events deliberately not recorded, by reason",
                m.dropped.clone(),
            );
            r.register(
                "events_rejected",
                "Collector requests refused as bad input, by reason",
                m.rejected.clone(),
            );
            r.register(
                "query_duration_seconds",
                "Query API request time, by endpoint",
                m.query_seconds.clone(),
            );
            r.register(
                "mail_sent",
                "Reports and alerts the mail relay accepted, by kind",
                m.mail_sent.clone(),
            );
            r.register(
                "mail_failures",
                "Attempts to send a report or alert that failed (retried), by kind",
                m.mail_failures.clone(),
            );
            r.register(
                "mail_pending",
                "Reports and alerts due and not yet accepted by the relay",
                m.mail_pending.clone(),
            );
            r.register(
                "ingest_queue_depth",
                "Events accepted and waiting to be written",
                m.queue.clone(),
            );
            r.register(
                "ingest_written",
                "Events written by the ingest queue since start",
                m.written.clone(),
            );
            r.register(
                "ingest_batches",
                "Transactions committed by the ingest queue since start",
                m.batches.clone(),
            );
            r.register(
                "ingest_last_commit_seconds",
                "Duration of the last commit",
                m.commit_seconds.clone(),
            );
            r.register(
                "wal_bytes",
                "Bytes in the write-ahead log not yet shipped to the store; at the bound the collector answers 503",
                m.wal_bytes.clone(),
            );
            r.register(
                "wal_batches",
                "Batches in the write-ahead log not yet shipped to the store",
                m.wal_batches.clone(),
            );
            r.register(
                "store_inserts",
                "Inserts of logged batches into the store (DuckDB or ClickHouse) since start",
                m.ships.clone(),
            );
            r.register(
                "store_insert_seconds",
                "Seconds those inserts took, summed; divide by store_inserts for the mean",
                m.ship_seconds.clone(),
            );
            r.register(
                "store_last_insert_seconds",
                "Seconds the last insert into the store took",
                m.last_ship_seconds.clone(),
            );
            r.register(
                "store_insert_failures",
                "Inserts the store refused or did not answer (each is retried; the events stay in the log)",
                m.ship_failures.clone(),
            );
            r.register(
                "visits_evicted",
                "Visitors forgotten early because the in-memory visit table was full (a flood of distinct visitors); their next event starts a new visit",
                m.visits_evicted.clone(),
            );
            r.register(
                "salts_kept",
                "Daily salts on disk (at most 2: today and yesterday)",
                m.salts.clone(),
            );
            r.register("oldest_salt_age_seconds", "Seconds since the start of the oldest salt's day; above 2 days means rotation is failing", m.salt_age.clone());
            r.register(
                "audit_log_entries",
                "Entries in the transparency log",
                m.audit_entries.clone(),
            );
        }
        m
    }
}

pub fn register(r: &mut crate::routes::Registrar) {
    r.signed("/metrics", get(scrape));
}

async fn scrape(State(app): State<App>, caller: Caller) -> Result<Response, ApiError> {
    if !caller.principal.operator {
        return Err(ApiError::forbidden("metrics need an operator token"));
    }
    let m = &app.metrics;
    let stats = app.ingestor.stats();
    m.queue.set(stats.queued.load(Ordering::Relaxed) as i64);
    let written = stats.written.load(Ordering::Relaxed);
    m.written.inc_by(written.saturating_sub(m.written.get()));
    let batches = stats.batches.load(Ordering::Relaxed);
    m.batches.inc_by(batches.saturating_sub(m.batches.get()));
    m.commit_seconds
        .set(stats.last_commit_micros.load(Ordering::Relaxed) as f64 / 1e6);
    m.wal_bytes
        .set(stats.wal_bytes.load(Ordering::Relaxed) as i64);
    m.wal_batches
        .set(stats.wal_batches.load(Ordering::Relaxed) as i64);
    let ships = stats.ships.load(Ordering::Relaxed);
    m.ships.inc_by(ships.saturating_sub(m.ships.get()));
    let seconds = stats.ship_micros.load(Ordering::Relaxed) as f64 / 1e6;
    m.ship_seconds
        .inc_by((seconds - m.ship_seconds.get()).max(0.0));
    m.last_ship_seconds
        .set(stats.last_ship_micros.load(Ordering::Relaxed) as f64 / 1e6);
    let evicted = stats.visits_evicted.load(Ordering::Relaxed);
    m.visits_evicted
        .inc_by(evicted.saturating_sub(m.visits_evicted.get()));
    let failures = stats.ship_failures.load(Ordering::Relaxed);
    m.ship_failures
        .inc_by(failures.saturating_sub(m.ship_failures.get()));
    let days = app.anonymiser.salts().days();
    m.salts.set(days.len() as i64);
    let now = app.clock.now();
    m.salt_age.set(
        days.iter()
            .min()
            .map(|d| (now - glasshouse_model::query::midnight(*d)).num_seconds())
            .unwrap_or(0),
    );
    m.audit_entries.set(app.audit.log.size() as i64);
    let mut body = String::new();
    encode(&mut body, &m.registry.lock().expect("registry")).map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
