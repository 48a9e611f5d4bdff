//! Rows to an Arrow record batch. DuckDB takes a record batch in one call,
//! which is what makes the bulk path fast. Any [`AsRow`] goes through
//! here: stored events from the ingest queue without copying their
//! strings, plain rows from elsewhere. The arrays come from the table of
//! fields (`row.rs`), each built as its kind says (`kind.rs`).

use crate::row::{self, AsRow, RowRef};
use duckdb::arrow::array::ArrayRef;
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;

/// Builds the batch for `events`, its columns in the table of fields' order.
pub fn record_batch<T: AsRow>(events: &[T]) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_from_iter(columns(events))
}

/// Builds one batch for the events of every slice, its columns in `order`:
/// the appender matches columns by position, and a file migrated from an
/// older release may hold them in another order than a new one. One batch,
/// not one per slice: the shipper hands over hundreds of small group
/// commits at once, and DuckDB pays for each batch it converts (a chunk of
/// every column, sized for 2,048 rows) whatever its length.
pub fn record_batch_in<T: AsRow>(
    slices: &[&[T]],
    order: &[String],
) -> Result<RecordBatch, ArrowError> {
    // Sized at once: collected from the slices, the vector of several
    // megabytes grew by doubling, each step fresh pages to zero and a copy
    // (an eighth of the shipper's time, measured with perf).
    let mut rows: Vec<RowRef<'_>> = Vec::with_capacity(slices.iter().map(|s| s.len()).sum());
    for slice in slices {
        rows.extend(slice.iter().map(AsRow::row));
    }
    let mut by_name = named(&rows);
    let mut out = Vec::with_capacity(order.len());
    for name in order {
        let at = by_name.iter().position(|(n, _)| n == name).ok_or_else(|| {
            ArrowError::SchemaError(format!(
                "the events table has a column {name} this release does not know"
            ))
        })?;
        out.push(by_name.swap_remove(at));
    }
    RecordBatch::try_from_iter(out)
}

fn columns<T: AsRow>(events: &[T]) -> Vec<(String, ArrayRef)> {
    // Each row's view is built once, not once per column.
    let rows: Vec<RowRef<'_>> = events.iter().map(|e| e.row()).collect();
    named(&rows)
}

fn named(rows: &[RowRef<'_>]) -> Vec<(String, ArrayRef)> {
    let names = row::sql_columns().into_iter().map(|(_, c)| c.name);
    names.zip(row::arrow_columns(rows)).collect()
}
