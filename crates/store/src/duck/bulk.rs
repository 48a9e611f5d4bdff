//! A bulk load into DuckDB as one transaction.
//!
//! Besides landing whole or not at all, one transaction is what makes a
//! large load cheap: DuckDB writes the rows of a big open transaction
//! straight into the database file as compressed row groups, where many
//! small commits each go through its own log first and are read back,
//! compressed and written again at the next checkpoint.

use super::{append_to, commit_unfreshing, db_err, record_batches, DuckStore};
use crate::{BulkLoad, StoreError, StoredEvent};
use chrono::NaiveDate;
use duckdb::Connection;
use std::collections::BTreeSet;
use std::sync::MutexGuard;

/// An open load: holds the writer connection, and so keeps every other
/// write out, until it is committed or dropped.
pub(super) struct DuckBulk<'a> {
    store: &'a DuckStore,
    conn: MutexGuard<'a, Connection>,
    /// Closed (site, day) pairs the load writes to: their fresh marks go
    /// in the same transaction.
    late: BTreeSet<(String, NaiveDate)>,
    newest: Option<NaiveDate>,
    open: bool,
}

impl<'a> DuckBulk<'a> {
    pub(super) fn begin(store: &'a DuckStore) -> Result<DuckBulk<'a>, StoreError> {
        let conn = store.writer.lock().expect("writer");
        conn.execute_batch("SET threads = 1; BEGIN TRANSACTION").map_err(db_err)?;
        Ok(DuckBulk {
            newest: store.fresh.newest(),
            store,
            conn,
            late: BTreeSet::new(),
            open: true,
        })
    }
}

impl BulkLoad for DuckBulk<'_> {
    fn append(&mut self, events: &[StoredEvent]) -> Result<(), StoreError> {
        let (late, newest) = self.store.fresh.late_in([events]);
        append_to(&self.conn, record_batches(&[events])?)?;
        self.late.extend(late);
        self.newest = self.newest.max(newest);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.open = false;
        match commit_unfreshing(&self.conn, &self.late) {
            Ok(()) => {
                self.store.fresh.stored(self.newest, !self.late.is_empty());
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn atomic(&self) -> bool {
        true
    }
}

impl Drop for DuckBulk<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
