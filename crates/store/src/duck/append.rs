//! Rows to an Arrow record batch, in the table's column order. DuckDB takes
//! a record batch in one call, which is what makes the bulk path fast. Any
//! [`AsRow`] goes through here: stored events from the ingest queue without
//! copying their strings, plain rows from elsewhere. The arrays come from
//! the table of fields (`row.rs`), each built as its kind says (`kind.rs`).

use crate::row::{self, AsRow, RowRef};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;

/// Builds the batch for `events`.
pub fn record_batch<T: AsRow>(events: &[T]) -> Result<RecordBatch, ArrowError> {
    // Each row's view is built once, not once per column.
    let rows: Vec<RowRef<'_>> = events.iter().map(|e| e.row()).collect();
    let names = row::sql_columns().into_iter().map(|(_, c)| c.name);
    RecordBatch::try_from_iter(names.zip(row::arrow_columns(&rows)))
}
