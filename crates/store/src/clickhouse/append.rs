//! Stored rows as `JSONEachRow` lines, and what makes an append idempotent.
//!
//! Every row is written with the id of the batch it belongs to and its
//! index in that batch. Before writing, the store asks which of those
//! `(batch_id, batch_row)` pairs are already there — a cheap question, as it
//! names the sites and time range, the table's sort key — and writes only
//! the others. So a batch sent again after a timeout or replayed from the
//! write-ahead log is stored once, and a write cut short (ClickHouse writes
//! one part per monthly partition) is completed rather than duplicated.
//!
//! Batches from the write-ahead log carry the id chosen when they were
//! logged ([`RowBatch`]), so a replay after an upgrade that changed how rows
//! are encoded still finds them, and the log may ship several batches in
//! one insert, grouped differently on each attempt. A batch handed to
//! `Store::append` directly gets an id derived from its content (a BLAKE3
//! hash of its encoded rows), so the same batch retried has the same id in
//! any process; two such batches share an id only if every row is
//! identical, random visit and journey ids included.

use crate::row::{AsRow, RowRef};
use crate::sql::{Param, Sql};
use crate::RowBatch;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Rows of one or more batches, encoded for one insert.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `(batch id, index in the batch, JSON object without its closing
    /// brace)` per row; the batch columns are added when it is written.
    rows: Vec<(u64, u32, String)>,
    ids: BTreeSet<u64>,
    sites: BTreeSet<String>,
    first_ts: i64,
    last_ts: i64,
}

impl Batch {
    /// Encodes `events` as one batch whose id is the hash of its content.
    pub fn new<T: AsRow>(events: &[T]) -> Batch {
        let mut hasher = blake3::Hasher::new();
        let mut lines = Vec::with_capacity(events.len());
        for e in events {
            let row = encode(e.row());
            hasher.update(row.as_bytes());
            hasher.update(b"\n");
            lines.push(row);
        }
        let hash = hasher.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_bytes()[..8]);
        let id = u64::from_le_bytes(id);
        let mut batch = Batch::empty();
        for (i, (e, line)) in events.iter().zip(lines).enumerate() {
            batch.push(id, i as u32, e.row(), line);
        }
        batch
    }

    /// Encodes batches that carry their own ids (from the write-ahead log).
    pub fn of(batches: &[RowBatch]) -> Batch {
        let mut batch = Batch::empty();
        for b in batches {
            for (i, r) in b.rows.iter().enumerate() {
                let r = r.row();
                batch.push(b.id, i as u32, r, encode(r));
            }
        }
        batch
    }

    fn empty() -> Batch {
        Batch {
            rows: Vec::new(),
            ids: BTreeSet::new(),
            sites: BTreeSet::new(),
            first_ts: i64::MAX,
            last_ts: i64::MIN,
        }
    }

    fn push(&mut self, id: u64, index: u32, r: RowRef<'_>, line: String) {
        self.ids.insert(id);
        if !self.sites.contains(r.site) {
            self.sites.insert(r.site.to_string());
        }
        self.first_ts = self.first_ts.min(r.ts);
        self.last_ts = self.last_ts.max(r.ts);
        self.rows.push((id, index, line));
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The question "which rows of these batches are stored already?",
    /// answered as `(batch_id, batch_row)` pairs.
    pub fn stored_rows_sql(&self) -> Sql {
        let mut params = Vec::new();
        let mut bind = |p: Param| {
            params.push(p);
            format!("${}", params.len())
        };
        let sites: Vec<String> = self
            .sites
            .iter()
            .map(|s| bind(Param::Text(s.clone())))
            .collect();
        let first = bind(Param::Int(self.first_ts));
        let last = bind(Param::Int(self.last_ts));
        // Ids are numbers we made: written as literals, not bound.
        let ids: Vec<String> = self.ids.iter().map(u64::to_string).collect();
        Sql {
            text: format!(
                "SELECT batch_id, batch_row FROM events WHERE site IN ({}) AND ts >= {first} AND ts <= {last} AND batch_id IN ({})",
                sites.join(", "),
                ids.join(", ")
            ),
            params,
        }
    }

    /// The `JSONEachRow` body of the rows not in `stored`.
    pub fn body(&self, stored: &BTreeSet<(u64, u32)>) -> String {
        let mut out = String::with_capacity(self.rows.iter().map(|r| r.2.len() + 48).sum());
        for (id, i, row) in &self.rows {
            if stored.contains(&(*id, *i)) {
                continue;
            }
            let _ = writeln!(out, "{row},\"batch_id\":{id},\"batch_row\":{i}}}");
        }
        out
    }
}

/// The statement the body of [`Batch::body`] follows.
pub fn insert_statement() -> String {
    let names: Vec<String> = super::schema::columns_typed()
        .into_iter()
        .map(|c| c.0)
        .collect();
    format!(
        "INSERT INTO events ({}) FORMAT JSONEachRow",
        names.join(", ")
    )
}

/// One row as `JSONEachRow` names it, without its closing brace (`body`
/// adds the batch columns and its own); written straight from the row's
/// borrowed strings, field by field as the table of fields says (a
/// `serde_json::Map` per row cost a map insert and two allocations per
/// column, the largest share of an import's CPU).
fn encode(e: RowRef<'_>) -> String {
    let mut line = Vec::with_capacity(512);
    e.json(&mut line);
    line.pop(); // the last comma
    String::from_utf8(line).expect("JSON is UTF-8")
}
