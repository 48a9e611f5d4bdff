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
//! them) while DuckDB stores the previous batch. DuckDB runs the load with
//! one thread: with more, the appending thread spins waiting for its
//! helpers and two cores do the work of one.

use super::{append_to, commit_unfreshing, db_err, DuckStore};
use crate::{BulkLoad, StoreError, StoredEvent};
use chrono::NaiveDate;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use std::collections::BTreeSet;
use std::sync::mpsc::{self, SyncSender};
use std::sync::MutexGuard;
use std::thread::JoinHandle;

/// What the loading thread is asked to do.
enum Step {
    Append(RecordBatch),
    /// Commit, taking the fresh marks of these closed days away.
    Commit(BTreeSet<(String, NaiveDate)>),
}

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

impl<'a> DuckBulk<'a> {
    pub(super) fn begin(store: &'a DuckStore) -> Result<DuckBulk<'a>, StoreError> {
        let writer = store.writer.lock().expect("writer");
        let conn = writer.try_clone().map_err(db_err)?;
        conn.execute_batch("SET threads = 1; BEGIN TRANSACTION")
            .map_err(db_err)?;
        let (steps, todo) = mpsc::sync_channel::<Step>(2);
        let loader = std::thread::Builder::new()
            .name("bulk-load".into())
            .spawn(move || {
                let mut result = Ok(());
                let mut committed = false;
                for step in todo {
                    match step {
                        Step::Append(batch) => result = append_to(&conn, vec![batch]),
                        Step::Commit(late) => {
                            result = commit_unfreshing(&conn, &late);
                            committed = result.is_ok();
                        }
                    }
                    if result.is_err() {
                        break;
                    }
                }
                if !committed {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                let _ = conn.execute_batch("RESET threads");
                result
            })
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
    fn append(&mut self, events: &[StoredEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (late, newest) = self.store.fresh.late_in([events]);
        let batch = super::append::record_batch(events).map_err(super::arrow_err)?;
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
