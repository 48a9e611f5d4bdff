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
//!
//! With a write-ahead log ([`Ingestor::start_logged`], what `serve` uses
//! for both back ends) "written" means "appended to the local log and
//! fsynced" (`wal.rs`); a shipper thread then sends what gathered to the
//! store in large commits, retrying with backoff while it is unreachable.
//! Queries see an event once it is shipped, normally within milliseconds. When the log
//! reaches its bound, batches are refused with [`IngestError::Full`] (503)
//! before any visit is assigned, so a refused event leaves no trace in the
//! session table either.

use crate::sessions::Sessionizer;
use crate::wal::{Wal, WalError, WalReader};
use crate::{RowBatch, Store, StoredEvent};
use glasshouse_privacy::AnonymousEvent;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Why events were not stored.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    /// Too many events are waiting to be written, or the write-ahead log
    /// in front of an unreachable store reached its bound; try again later.
    #[error("the ingest queue is full")]
    Full,
    /// The write-ahead log in front of the store reached its bound: the
    /// store has been unreachable or slow for a while.
    #[error("the write-ahead log is full")]
    Backlog,
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
    /// Bytes in the write-ahead log not yet shipped to the store (0 without a log).
    pub wal_bytes: AtomicU64,
    /// Batches in the write-ahead log not yet shipped to the store.
    pub wal_batches: AtomicU64,
    /// Events shipped from the write-ahead log to the store since start.
    pub shipped: AtomicU64,
    /// Sequence number of the last batch logged (0 without a log).
    pub logged_seq: AtomicU64,
    /// Sequence number of the last batch the store has (0 without a log).
    pub shipped_seq: AtomicU64,
    /// Inserts of logged batches into the store that succeeded.
    pub ships: AtomicU64,
    /// Microseconds those inserts took, summed: with `ships`, the mean.
    pub ship_micros: AtomicU64,
    /// Microseconds the last successful insert took.
    pub last_ship_micros: AtomicU64,
    /// Inserts the store refused or did not answer (each retried).
    pub ship_failures: AtomicU64,
    /// Visitors forgotten early because the visit table was full
    /// (`sessions::MAX_VISITORS`).
    pub visits_evicted: AtomicU64,
}

/// Lets queries see every event acknowledged before them: a query that
/// finds batches logged but not yet shipped asks the shipper to ship now
/// (cutting short its wait for more) and waits for it.
#[derive(Debug, Default)]
struct Flush {
    wanted: Mutex<bool>,
    changed: Condvar,
}

impl Flush {
    /// The shipper's pause between shipments: over early if a query wants them.
    fn nap(&self, d: Duration) {
        let wanted = self.wanted.lock().expect("flush");
        let _ = self
            .changed
            .wait_timeout_while(wanted, d, |w| !*w)
            .expect("flush");
    }

    fn shipped(&self) {
        *self.wanted.lock().expect("flush") = false;
        self.changed.notify_all();
    }
}

impl IngestStats {
    fn set_depth(&self, (bytes, batches): (u64, u64)) {
        self.wal_bytes.store(bytes, Ordering::Relaxed);
        self.wal_batches.store(batches, Ordering::Relaxed);
    }
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
    shipper: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    flush: Arc<Flush>,
}

/// Where the writer puts a batch.
enum Sink {
    /// Straight into the store, which is durable on return (DuckDB).
    Store(Arc<dyn Store>),
    /// Into the write-ahead log; the shipper takes it to the store.
    Log(Wal),
}

impl Ingestor {
    /// Starts the writer thread over `store`, continuing the visits in `sessions`.
    pub fn start(store: Arc<dyn Store>, sessions: Sessionizer, options: IngestOptions) -> Ingestor {
        Self::spawn(Sink::Store(store), sessions, options, None)
    }

    /// Starts the writer thread over the write-ahead log `wal`, and a
    /// shipper thread that sends what it logs — first anything left from an
    /// earlier run — to `store`. A 202 then waits on a local fsync only,
    /// not on the store: ClickHouse may be away, and DuckDB's commit costs
    /// milliseconds that are better paid once for many requests.
    pub fn start_logged(
        store: Arc<dyn Store>,
        sessions: Sessionizer,
        options: IngestOptions,
        wal: Wal,
    ) -> Ingestor {
        let reader = wal.reader();
        let (logged, shipped) = wal.positions();
        let ingestor = Self::spawn(Sink::Log(wal), sessions, options, Some((store, reader)));
        ingestor.stats.logged_seq.store(logged, Ordering::SeqCst);
        ingestor.stats.shipped_seq.store(shipped, Ordering::SeqCst);
        ingestor
    }

    fn spawn(
        sink: Sink,
        sessions: Sessionizer,
        options: IngestOptions,
        shipping: Option<(Arc<dyn Store>, WalReader)>,
    ) -> Ingestor {
        let (tx, rx) = mpsc::sync_channel(options.capacity);
        let stats = Arc::new(IngestStats::default());
        let flush = Arc::new(Flush::default());
        let writer_stats = stats.clone();
        let writer = std::thread::Builder::new()
            .name("ingest-writer".into())
            .spawn(move || write_loop(rx, sink, sessions, options, writer_stats))
            .expect("spawn the ingest writer");
        let shipper = shipping.map(|(store, reader)| {
            stats.set_depth(reader.depth());
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st, f) = (stop.clone(), stats.clone(), flush.clone());
            let handle = std::thread::Builder::new()
                .name("wal-shipper".into())
                .spawn(move || ship_loop(reader, store, st, s, f))
                .expect("spawn the log shipper");
            (stop, handle)
        });
        Ingestor {
            tx: Some(tx),
            stats,
            writer: Some(writer),
            shipper,
            flush,
        }
    }

    /// Waits, at most `timeout`, until the store has every batch
    /// acknowledged so far, so that a query sees them; returns whether it
    /// does. Immediate without a log, or when nothing is waiting to ship.
    /// Blocks: call it off the async threads.
    pub fn settle(&self, timeout: Duration) -> bool {
        let target = self.stats.logged_seq.load(Ordering::SeqCst);
        if self.stats.shipped_seq.load(Ordering::SeqCst) >= target {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let mut wanted = self.flush.wanted.lock().expect("flush");
        while self.stats.shipped_seq.load(Ordering::SeqCst) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            *wanted = true;
            self.flush.changed.notify_all();
            wanted = self
                .flush
                .changed
                .wait_timeout(wanted, left)
                .expect("flush")
                .0;
        }
        true
    }

    /// Whether batches are acknowledged that the store does not have yet.
    pub fn unsettled(&self) -> bool {
        self.stats.shipped_seq.load(Ordering::SeqCst) < self.stats.logged_seq.load(Ordering::SeqCst)
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

    /// Writes what is queued, then stops the writer. With a write-ahead
    /// log, the shipper then has a few seconds to send what is logged; what
    /// it cannot is shipped at the next start.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some((stop, shipper)) = self.shipper.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = shipper.join();
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
    mut sink: Sink,
    mut sessions: Sessionizer,
    options: IngestOptions,
    stats: Arc<IngestStats>,
) {
    let mut rows: Vec<StoredEvent> = Vec::with_capacity(options.max_batch);
    let mut jobs: Vec<Job> = Vec::new();
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut n = first.events.len();
        jobs.push(first);
        while n < options.max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.events.len();
                    jobs.push(job);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        stats.queued.fetch_sub(n, Ordering::Relaxed);
        if let Sink::Log(wal) = &sink {
            if !wal.has_room() {
                // Refused before visits are assigned: no trace of them anywhere.
                for job in jobs.drain(..) {
                    let _ = job.ack.send(Err(IngestError::Backlog));
                }
                continue;
            }
        }
        for job in jobs.drain(..) {
            rows.extend(job.events.into_iter().map(|e| sessions.assign(e)));
            acks.push(job.ack);
        }
        stats
            .visits_evicted
            .store(sessions.evicted(), Ordering::Relaxed);
        let started = Instant::now();
        let result = match &mut sink {
            Sink::Store(store) => store
                .append(&rows)
                .map_err(|e| IngestError::Store(e.to_string())),
            Sink::Log(wal) => {
                let logged = wal.append(rand::random(), &rows);
                stats.set_depth(wal.depth());
                if let Ok(seq) = &logged {
                    stats.logged_seq.store(*seq, Ordering::SeqCst);
                }
                logged.map(|_| ()).map_err(|e| match e {
                    WalError::Full(_) => IngestError::Backlog,
                    other => IngestError::Store(other.to_string()),
                })
            }
        };
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

/// Most rows the shipper sends in one insert: large inserts are what
/// ClickHouse wants, and this keeps one within a single insert block.
const SHIP_ROWS: usize = 50_000;
/// Most log bytes the shipper holds in memory at once.
const SHIP_BYTES: u64 = 16 << 20;
/// Least time between two shipments while records keep arriving: a commit
/// costs the store a few milliseconds whatever its size, so under load the
/// shipper lets records gather for this long and commits them together
/// (at 40,000 events/s, 500 ms took the shipper's CPU from about 8 to 6 µs
/// an event against 100 ms; `docs/benchmarks.md`). Queries do not wait
/// for it: one that finds acknowledged records unshipped has them shipped
/// at once ([`Ingestor::settle`]). An idle log ships a new record at once.
const SHIP_GAP: Duration = Duration::from_millis(500);
/// First and longest pause between attempts while the store fails.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(10));
/// How long a stopping shipper keeps sending what is logged.
const DRAIN: Duration = Duration::from_secs(10);

/// Sends logged batches to the store, in order, until stopped. Logs only
/// counts and the store's error (which never carries event data).
fn ship_loop(
    mut reader: WalReader,
    store: Arc<dyn Store>,
    stats: Arc<IngestStats>,
    stop: Arc<AtomicBool>,
    flush: Arc<Flush>,
) {
    let mut backoff = BACKOFF.0;
    let mut deadline: Option<Instant> = None;
    let stopping = |deadline: &mut Option<Instant>| {
        if !stop.load(Ordering::Relaxed) {
            return false;
        }
        deadline.get_or_insert_with(|| Instant::now() + DRAIN);
        true
    };
    let pause = |d: Duration| {
        let until = Instant::now() + d;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20).min(d));
        }
    };
    let idle = || {
        Instant::now()
            .checked_sub(SHIP_GAP)
            .unwrap_or_else(Instant::now)
    };
    let mut last_ship = idle();
    loop {
        if stopping(&mut deadline) && deadline.is_some_and(|d| Instant::now() > d) {
            return;
        }
        let since = last_ship.elapsed();
        if since < SHIP_GAP && !stop.load(Ordering::Relaxed) {
            flush.nap(SHIP_GAP - since);
        }
        let mut logged = match reader.read(SHIP_ROWS, SHIP_BYTES) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "the write-ahead log could not be read; retrying");
                if stopping(&mut deadline) {
                    return;
                }
                pause(BACKOFF.1);
                continue;
            }
        };
        if logged.is_empty() {
            if stopping(&mut deadline) {
                return;
            }
            reader.wait(Duration::from_millis(100));
            // Whatever arrives next was not waiting: ship it at once.
            last_ship = idle();
            continue;
        }
        last_ship = Instant::now();
        // The rows move to the store; the records keep what marking them
        // shipped needs (sequence numbers and sizes).
        let batches: Vec<RowBatch> = logged
            .iter_mut()
            .map(|l| std::mem::take(&mut l.batch))
            .collect();
        let rows: usize = batches.iter().map(|b| b.rows.len()).sum();
        let mut attempt = 1u32;
        loop {
            let through = logged.last().map(|l| l.seq).unwrap_or(0);
            let started = Instant::now();
            match store.append_logged(&batches, through) {
                Ok(()) => {
                    let took = started.elapsed().as_micros() as u64;
                    stats.ships.fetch_add(1, Ordering::Relaxed);
                    stats.ship_micros.fetch_add(took, Ordering::Relaxed);
                    stats.last_ship_micros.store(took, Ordering::Relaxed);
                    if let Err(e) = reader.mark_shipped(&logged) {
                        tracing::error!(error = %e, "shipped batches could not be marked; they will be sent again (and skipped by the store) after a restart");
                    }
                    stats.set_depth(reader.depth());
                    stats.shipped.fetch_add(rows as u64, Ordering::Relaxed);
                    stats.shipped_seq.store(through, Ordering::SeqCst);
                    flush.shipped();
                    if attempt > 1 {
                        tracing::info!(
                            attempts = attempt,
                            "the store is reachable again; shipping the write-ahead log"
                        );
                    }
                    backoff = BACKOFF.0;
                    break;
                }
                Err(e) => {
                    stats.ship_failures.fetch_add(1, Ordering::Relaxed);
                    let (bytes, batches) = reader.depth();
                    tracing::warn!(error = %e, attempt, wal_bytes = bytes, wal_batches = batches, retry_in_ms = backoff.as_millis() as u64, "the store did not take logged batches; they stay in the write-ahead log");
                    if stopping(&mut deadline) {
                        return;
                    }
                    pause(backoff);
                    backoff = (backoff * 2).min(BACKOFF.1);
                    attempt += 1;
                }
            }
        }
    }
}
