//! Anonymous events to an Arrow record batch, in the table's column order.
//! DuckDB takes a record batch in one call, which is what makes the bulk
//! path fast.

use crate::StoredEvent;
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Builds the batch for `events`.
pub fn record_batch(events: &[StoredEvent]) -> Result<RecordBatch, ArrowError> {
    let n = events.len();
    let text = |f: &dyn Fn(&StoredEvent) -> &str| -> ArrayRef {
        let mut b = StringBuilder::with_capacity(n, n * 8);
        for e in events {
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
    for e in events {
        ts.append_value(e.event.timestamp().timestamp_micros());
        visitor.append_value(e.visitor_id);
        session.append_value(e.session_id);
        journey.append_value(e.journey.journey_id);
        seq.append_value(e.journey.seq);
        for (k, v) in e.event.props() {
            keys.values().append_value(k);
            values.values().append_value(v);
        }
        keys.append(true);
        values.append(true);
        interactive.append_value(e.event.interactive());
        match e.event.revenue() {
            Some(r) => {
                amount.append_value(r.amount);
                currency.append_value(&r.currency);
            }
            None => {
                amount.append_null();
                currency.append_null();
            }
        }
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("site", text(&|e| e.event.site())),
        ("ts", Arc::new(ts.finish())),
        ("visitor_id", Arc::new(visitor.finish())),
        ("session_id", Arc::new(session.finish())),
        ("name", text(&|e| e.event.name())),
        ("hostname", text(&|e| e.event.hostname())),
        ("pathname", text(&|e| e.event.pathname())),
        ("query", text(&|e| e.event.query())),
        ("title", text(&|e| e.event.title())),
        ("entry_page", text(&|e| &e.acquisition.entry_page)),
        ("source", text(&|e| &e.acquisition.source)),
        ("referrer", text(&|e| &e.acquisition.referrer)),
        ("utm_source", text(&|e| &e.acquisition.utm[0])),
        ("utm_medium", text(&|e| &e.acquisition.utm[1])),
        ("utm_campaign", text(&|e| &e.acquisition.utm[2])),
        ("utm_content", text(&|e| &e.acquisition.utm[3])),
        ("utm_term", text(&|e| &e.acquisition.utm[4])),
        ("browser", text(&|e| e.event.browser())),
        ("browser_version", text(&|e| e.event.browser_version())),
        ("os", text(&|e| e.event.os())),
        ("os_version", text(&|e| e.event.os_version())),
        ("device", text(&|e| e.event.device())),
        ("country", text(&|e| e.event.country())),
        ("prop_keys", Arc::new(keys.finish())),
        ("prop_values", Arc::new(values.finish())),
        ("interactive", Arc::new(interactive.finish())),
        ("revenue_amount", Arc::new(amount.finish())),
        ("revenue_currency", Arc::new(currency.finish())),
        ("journey_id", Arc::new(journey.finish())),
        ("seq", Arc::new(seq.finish())),
        ("prev_site", text(&|e| &e.journey.prev_site)),
        ("prev_page", text(&|e| &e.journey.prev_page)),
    ];
    RecordBatch::try_from_iter(columns)
}
