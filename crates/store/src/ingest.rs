//! The ingest queue: group commit between the collector and the store.
//!
//! Every accepted event is handed to one writer thread together with a
//! one-shot channel for its acknowledgement. The writer takes whatever is
//! queued, assigns visits, writes it all in one transaction and then answers
//! every sender. It never waits on purpose: while one batch is being
//! committed the next one gathers, so batches grow with load and a lone event
//! is written at once. An HTTP 202 is sent only after the answer arrives,
//! so 202 means "durable".
//!
//! The queue is bounded. When it is full, `submit` says so at once and the
//! collector answers 503, rather than holding memory it cannot promise to
//! write.

use crate::sessions::Sessionizer;
use crate::{Store, StoredEvent};
use glasshouse_privacy::AnonymousEvent;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::oneshot;

/// Why events were not stored.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    /// Too many events are waiting to be written; try again shortly.
    #[error("the ingest queue is full")]
    Full,
    /// The writer has stopped (shutting down, or it failed).
    #[error("the ingest queue is closed")]
    Closed,
    /// The store refused the batch; nothing of it was acknowledged.
    #[error("the store failed: {0}")]
    Store(String),
}

/// How the queue batches.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Most events written in one transaction.
    pub max_batch: usize,
    /// Most submissions waiting at once before `Full`.
    pub capacity: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            max_batch: 20_000,
            capacity: 50_000,
        }
    }
}

/// Counters an operator watches.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Events waiting to be written.
    pub queued: AtomicUsize,
    /// Events written since start.
    pub written: AtomicU64,
    /// Transactions committed since start.
    pub batches: AtomicU64,
    /// Microseconds the last commit took.
    pub last_commit_micros: AtomicU64,
}

struct Job {
    events: Vec<AnonymousEvent>,
    ack: oneshot::Sender<Result<(), IngestError>>,
}

/// Handle to the writer thread. Dropping it lets the writer finish what is
/// queued and stop.
pub struct Ingestor {
    tx: Option<SyncSender<Job>>,
    stats: Arc<IngestStats>,
    writer: Option<JoinHandle<()>>,
}

impl Ingestor {
    /// Starts the writer thread over `store`, continuing the visits in `sessions`.
    pub fn start(store: Arc<dyn Store>, sessions: Sessionizer, options: IngestOptions) -> Ingestor {
        let (tx, rx) = mpsc::sync_channel(options.capacity);
        let stats = Arc::new(IngestStats::default());
        let writer_stats = stats.clone();
        let writer = std::thread::Builder::new()
            .name("ingest-writer".into())
            .spawn(move || write_loop(rx, store, sessions, options, writer_stats))
            .expect("spawn the ingest writer");
        Ingestor {
            tx: Some(tx),
            stats,
            writer: Some(writer),
        }
    }

    /// Queues events; the receiver answers once they are durable or failed.
    pub fn submit(
        &self,
        events: Vec<AnonymousEvent>,
    ) -> Result<oneshot::Receiver<Result<(), IngestError>>, IngestError> {
        let (ack, done) = oneshot::channel();
        let n = events.len();
        let tx = self.tx.as_ref().ok_or(IngestError::Closed)?;
        self.stats.queued.fetch_add(n, Ordering::Relaxed);
        match tx.try_send(Job { events, ack }) {
            Ok(()) => Ok(done),
            Err(e) => {
                self.stats.queued.fetch_sub(n, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => IngestError::Full,
                    TrySendError::Disconnected(_) => IngestError::Closed,
                })
            }
        }
    }

    /// Stores events and waits until they are durable.
    pub async fn ingest(&self, events: Vec<AnonymousEvent>) -> Result<(), IngestError> {
        self.submit(events)?
            .await
            .unwrap_or(Err(IngestError::Closed))
    }

    /// Stores events from a thread that is not async, waiting for room in the
    /// queue rather than failing (the bulk import path).
    pub fn ingest_blocking(&self, events: Vec<AnonymousEvent>) -> Result<(), IngestError> {
        let (ack, done) = oneshot::channel();
        let n = events.len();
        let tx = self.tx.as_ref().ok_or(IngestError::Closed)?;
        self.stats.queued.fetch_add(n, Ordering::Relaxed);
        tx.send(Job { events, ack })
            .map_err(|_| IngestError::Closed)?;
        done.blocking_recv().unwrap_or(Err(IngestError::Closed))
    }

    /// Counters for metrics and progress bars.
    pub fn stats(&self) -> &Arc<IngestStats> {
        &self.stats
    }

    /// Writes what is queued, then stops the writer.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Ingestor {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_loop(
    rx: Receiver<Job>,
    store: Arc<dyn Store>,
    mut sessions: Sessionizer,
    options: IngestOptions,
    stats: Arc<IngestStats>,
) {
    let mut rows: Vec<StoredEvent> = Vec::with_capacity(options.max_batch);
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut pending = Some(first);
        loop {
            let job = match pending.take() {
                Some(job) => job,
                None => match rx.try_recv() {
                    Ok(job) => job,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                },
            };
            stats.queued.fetch_sub(job.events.len(), Ordering::Relaxed);
            rows.extend(job.events.into_iter().map(|e| sessions.assign(e)));
            acks.push(job.ack);
            if rows.len() >= options.max_batch {
                break;
            }
        }
        let started = Instant::now();
        let result = store
            .append(&rows)
            .map_err(|e| IngestError::Store(e.to_string()));
        stats
            .last_commit_micros
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if result.is_ok() {
            stats
                .written
                .fetch_add(rows.len() as u64, Ordering::Relaxed);
            stats.batches.fetch_add(1, Ordering::Relaxed);
        } else if let Err(e) = &result {
            tracing::error!(error = %e, rows = rows.len(), "a batch could not be stored");
        }
        for ack in acks.drain(..) {
            let _ = ack.send(result.clone());
        }
        rows.clear();
    }
}
