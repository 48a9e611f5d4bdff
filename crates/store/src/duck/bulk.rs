//! A bulk load into DuckDB as one transaction.
//!
//! Besides landing whole or not at all, one transaction is what makes a
//! large load cheap: DuckDB writes the rows of a big open transaction
//! straight into the database file as compressed row groups, where many
//! small commits each go through its own log first and are read back,
//! compressed and written again at the next checkpoint.
//!
//! The load runs on a thread of its own, with a connection of its own:
//! the caller's thread turns rows into Arrow record batches (and frees
//! them) while DuckDB stores the previous ones. The batches reach DuckDB as
//! one Arrow stream read by its own scan in a single `INSERT … SELECT`
//! (`raw.rs`), which reads the strings where they are instead of copying
//! them through the appender. DuckDB runs the load with one thread: with
//! more, the loading thread spins waiting for its helpers and two cores do
//! the work of one.

use super::raw::RawConn;
use super::DuckStore;
use crate::{BulkLoad, Row, StoreError, StoredEvent};
use chrono::NaiveDate;
use duckdb::arrow::datatypes::SchemaRef;
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::ffi_stream::FFI_ArrowArrayStream;
use duckdb::arrow::record_batch::{RecordBatch, RecordBatchReader};
use duckdb::Connection;
use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// What the loading thread is given.
enum Step {
    Append(RecordBatch),
    /// Commit, taking the fresh marks of these closed days away.
    Commit(BTreeSet<(String, NaiveDate)>),
}

/// The closed days to unmark, once the load is to be committed.
type Ending = Arc<Mutex<Option<BTreeSet<(String, NaiveDate)>>>>;

/// The record batches handed to the loading thread, as one Arrow stream:
/// DuckDB's scan pulls them as they come, and the stream ends at the
/// commit (or when the load is dropped).
struct Feed {
    schema: SchemaRef,
    steps: Receiver<Step>,
    ending: Ending,
}

impl Iterator for Feed {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.steps.recv() {
            Ok(Step::Append(batch)) => Some(Ok(batch)),
            Ok(Step::Commit(late)) => {
                *self.ending.lock().expect("ending") = Some(late);
                None
            }
            Err(_) => None,
        }
    }
}

impl RecordBatchReader for Feed {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// The view the load's stream is read through, and the in-memory database
/// that holds it.
const FEED_VIEW: &str = "feed";
const FEED_DB: &str = "glasshouse_bulk";

/// An open load. It holds the writer connection, and so keeps every other
/// write out, until it is committed or dropped; dropped uncommitted, the
/// loading thread rolls back.
pub(super) struct DuckBulk<'a> {
    store: &'a DuckStore,
    _writer: MutexGuard<'a, Connection>,
    steps: Option<SyncSender<Step>>,
    loader: Option<JoinHandle<Result<(), StoreError>>>,
    /// Closed (site, day) pairs the load writes to.
    late: BTreeSet<(String, NaiveDate)>,
    newest: Option<NaiveDate>,
}

/// Runs the load: one `INSERT … SELECT` over the stream of batches, then
/// a commit if one was asked for, else a rollback.
fn load(conn: RawConn, steps: Receiver<Step>) -> Result<(), StoreError> {
    let schema = super::append::record_batch::<Row>(&[])
        .map_err(super::arrow_err)?
        .schema();
    let ending = Ending::default();
    let mut stream = FFI_ArrowArrayStream::new(Box::new(Feed {
        schema,
        steps,
        ending: ending.clone(),
    }));
    // The C API makes the view persistent, and DuckDB cannot write a view
    // over a process's memory to its log: it is made in an in-memory
    // database, which has no log, before the transaction.
    conn.execute(&format!(
        "ATTACH IF NOT EXISTS ':memory:' AS {FEED_DB}; USE {FEED_DB}"
    ))?;
    let viewed = conn.arrow_view(FEED_VIEW, &mut stream);
    conn.execute(&format!("USE {}", super::CATALOG))?;
    viewed?;
    conn.execute("SET threads = 1; BEGIN TRANSACTION")?;
    // By name: a migrated file may hold the columns in another order.
    let names: Vec<String> = crate::row::sql_columns()
        .into_iter()
        .map(|(_, c)| c.name)
        .collect();
    let names = names.join(", ");
    let inserted = conn.execute(&format!(
        "INSERT INTO events ({names}) SELECT {names} FROM {FEED_DB}.main.{FEED_VIEW}"
    ));
    // The stream (and with it the receiver) goes before anything else can
    // fail, so that a sender waiting on a full queue is let go.
    drop(stream);
    let late = ending.lock().expect("ending").take();
    let result = inserted.and_then(|()| match late {
        Some(late) => {
            for (site, day) in &late {
                conn.execute_with(super::UNMARK_FRESH, &[site, &day.to_string()])?;
            }
            conn.execute("COMMIT")
        }
        None => Err(StoreError::Database("the bulk load was abandoned".into())),
    });
    if result.is_err() {
        let _ = conn.execute("ROLLBACK");
    }
    let _ = conn.execute(&format!("DETACH DATABASE IF EXISTS {FEED_DB}"));
    let _ = conn.execute("RESET threads");
    result
}

impl<'a> DuckBulk<'a> {
    pub(super) fn begin(store: &'a DuckStore) -> Result<DuckBulk<'a>, StoreError> {
        let writer = store.writer.lock().expect("writer");
        let conn = store.raw.raw_connection()?;
        let (steps, todo) = mpsc::sync_channel::<Step>(2);
        let loader = std::thread::Builder::new()
            .name("bulk-load".into())
            .spawn(move || load(conn, todo))
            .map_err(StoreError::Io)?;
        Ok(DuckBulk {
            newest: store.fresh.newest(),
            store,
            _writer: writer,
            steps: Some(steps),
            loader: Some(loader),
            late: BTreeSet::new(),
        })
    }

    /// Hands a step to the loading thread; if it has stopped, its error.
    fn send(&mut self, step: Step) -> Result<(), StoreError> {
        let sent = self.steps.as_ref().map(|s| s.send(step).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        Err(self
            .finish()
            .err()
            .unwrap_or_else(|| StoreError::Database("the bulk load has already ended".into())))
    }

    /// Closes the steps and waits for the loading thread's result.
    fn finish(&mut self) -> Result<(), StoreError> {
        self.steps.take();
        match self.loader.take() {
            Some(l) => l
                .join()
                .unwrap_or_else(|_| Err(StoreError::Database("the bulk load failed".into()))),
            None => Ok(()),
        }
    }
}

impl BulkLoad for DuckBulk<'_> {
    fn append(&mut self, events: Vec<StoredEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (late, newest) = self.store.fresh.late_in([events.as_slice()]);
        let batch = super::append::record_batch(&events).map_err(super::arrow_err)?;
        self.send(Step::Append(batch))?;
        self.late.extend(late);
        self.newest = self.newest.max(newest);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let late = std::mem::take(&mut self.late);
        let was_late = !late.is_empty();
        self.send(Step::Commit(late))?;
        self.finish()?;
        self.store.fresh.stored(self.newest, was_late);
        Ok(())
    }

    fn atomic(&self) -> bool {
        true
    }
}

impl Drop for DuckBulk<'_> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
