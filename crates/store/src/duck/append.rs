//! Rows to an Arrow record batch, in the table's column order. DuckDB takes
//! a record batch in one call, which is what makes the bulk path fast. Any
//! [`AsRow`] goes through here: stored events from the ingest queue without
//! copying their strings, plain rows from elsewhere.

use crate::row::{AsRow, RowRef};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Builds the batch for `events`.
pub fn record_batch<T: AsRow>(events: &[T]) -> Result<RecordBatch, ArrowError> {
    let n = events.len();
    // Each row's view is built once, not once per column.
    let rows: Vec<RowRef<'_>> = events.iter().map(|e| e.row()).collect();
    let text = |f: &dyn for<'r> Fn(&RowRef<'r>) -> &'r str| -> ArrayRef {
        // Sized exactly: growing by doubling copies every string again.
        let bytes = rows.iter().map(|e| f(e).len()).sum();
        let mut b = StringBuilder::with_capacity(n, bytes);
        for e in &rows {
            b.append_value(f(e));
        }
        Arc::new(b.finish())
    };
    let mut ts = TimestampMicrosecondBuilder::with_capacity(n);
    let mut visitor = UInt64Builder::with_capacity(n);
    let mut session = UInt64Builder::with_capacity(n);
    let mut journey = UInt64Builder::with_capacity(n);
    let mut seq = UInt32Builder::with_capacity(n);
    let mut keys = ListBuilder::new(StringBuilder::new());
    let mut values = ListBuilder::new(StringBuilder::new());
    let mut interactive = BooleanBuilder::with_capacity(n);
    let mut amount = Float64Builder::with_capacity(n);
    let mut currency = StringBuilder::new();
    for e in &rows {
        ts.append_value(e.ts);
        visitor.append_value(e.visitor_id);
        session.append_value(e.session_id);
        journey.append_value(e.journey_id);
        seq.append_value(e.seq);
        for (k, v) in e.props {
            keys.values().append_value(k);
            values.values().append_value(v);
        }
        keys.append(true);
        values.append(true);
        interactive.append_value(e.interactive);
        match e.revenue {
            Some((a, c)) => {
                amount.append_value(a);
                currency.append_value(c);
            }
            None => {
                amount.append_null();
                currency.append_null();
            }
        }
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("site", text(&|e| e.site)),
        ("ts", Arc::new(ts.finish())),
        ("visitor_id", Arc::new(visitor.finish())),
        ("session_id", Arc::new(session.finish())),
        ("name", text(&|e| e.name)),
        ("hostname", text(&|e| e.hostname)),
        ("pathname", text(&|e| e.pathname)),
        ("query", text(&|e| e.query)),
        ("title", text(&|e| e.title)),
        ("entry_page", text(&|e| e.entry_page)),
        ("source", text(&|e| e.source)),
        ("referrer", text(&|e| e.referrer)),
        ("utm_source", text(&|e| e.utm[0])),
        ("utm_medium", text(&|e| e.utm[1])),
        ("utm_campaign", text(&|e| e.utm[2])),
        ("utm_content", text(&|e| e.utm[3])),
        ("utm_term", text(&|e| e.utm[4])),
        ("browser", text(&|e| e.browser)),
        ("browser_version", text(&|e| e.browser_version)),
        ("os", text(&|e| e.os)),
        ("os_version", text(&|e| e.os_version)),
        ("device", text(&|e| e.device)),
        ("country", text(&|e| e.country)),
        ("prop_keys", Arc::new(keys.finish())),
        ("prop_values", Arc::new(values.finish())),
        ("interactive", Arc::new(interactive.finish())),
        ("revenue_amount", Arc::new(amount.finish())),
        ("revenue_currency", Arc::new(currency.finish())),
        ("journey_id", Arc::new(journey.finish())),
        ("seq", Arc::new(seq.finish())),
        ("prev_site", text(&|e| e.prev_site)),
        ("prev_page", text(&|e| e.prev_page)),
    ];
    RecordBatch::try_from_iter(columns)
}
