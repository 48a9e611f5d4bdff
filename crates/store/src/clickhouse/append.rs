//! Stored events as `JSONEachRow` lines, and what makes an append idempotent.
//!
//! Each batch gets an id derived from its content (a BLAKE3 hash of its
//! encoded rows) and each row its index in the batch. Before writing, the
//! store asks which rows of that batch are already there — a cheap question,
//! as it names the batch's sites and time range, the table's sort key — and
//! writes only the others. So a batch sent again after a timeout or replayed
//! from a log is stored once, and a batch cut short (ClickHouse writes one
//! part per monthly partition) is completed rather than duplicated.
//!
//! The id depends only on the rows, so the same batch retried has the same
//! id in any process. Two different batches have the same id only if every
//! row is identical, random visit and journey ids included.

use crate::sql::{Param, Sql};
use crate::StoredEvent;
use std::collections::BTreeSet;
use std::fmt::Write;

/// One batch, encoded.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Content hash of the rows.
    pub id: u64,
    /// One JSON object per event, without its closing brace (the batch
    /// columns are added when it is written).
    rows: Vec<String>,
    sites: BTreeSet<String>,
    first_ts: i64,
    last_ts: i64,
}

impl Batch {
    /// Encodes `events`.
    pub fn new(events: &[StoredEvent]) -> Batch {
        let mut hasher = blake3::Hasher::new();
        let mut rows = Vec::with_capacity(events.len());
        let mut sites = BTreeSet::new();
        let (mut first_ts, mut last_ts) = (i64::MAX, i64::MIN);
        for e in events {
            let row = encode(e);
            hasher.update(row.as_bytes());
            hasher.update(b"\n");
            rows.push(row);
            sites.insert(e.event.site().to_string());
            let ts = e.event.timestamp().timestamp_micros();
            first_ts = first_ts.min(ts);
            last_ts = last_ts.max(ts);
        }
        let hash = hasher.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_bytes()[..8]);
        Batch {
            id: u64::from_le_bytes(id),
            rows,
            sites,
            first_ts,
            last_ts,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The question "which rows of this batch are stored already?".
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
        let id = self.id;
        Sql {
            text: format!(
                "SELECT batch_row FROM events WHERE site IN ({}) AND ts >= {first} AND ts <= {last} AND batch_id = {id}",
                sites.join(", ")
            ),
            params,
        }
    }

    /// The `JSONEachRow` body of the rows not in `stored`.
    pub fn body(&self, stored: &BTreeSet<u32>) -> String {
        let mut out = String::with_capacity(self.rows.iter().map(|r| r.len() + 48).sum());
        for (i, row) in self.rows.iter().enumerate() {
            let i = i as u32;
            if stored.contains(&i) {
                continue;
            }
            let _ = writeln!(out, "{row},\"batch_id\":{},\"batch_row\":{i}}}", self.id);
        }
        out
    }
}

/// The statement the body of [`Batch::body`] follows.
pub fn insert_statement() -> String {
    let names: Vec<&str> = super::schema::COLUMNS.iter().map(|c| c.0).collect();
    format!(
        "INSERT INTO events ({}) FORMAT JSONEachRow",
        names.join(", ")
    )
}

fn encode(e: &StoredEvent) -> String {
    let ev = &e.event;
    let a = &e.acquisition;
    let text: [(&str, &str); 22] = [
        ("site", ev.site()),
        ("name", ev.name()),
        ("hostname", ev.hostname()),
        ("pathname", ev.pathname()),
        ("query", ev.query()),
        ("title", ev.title()),
        ("entry_page", &a.entry_page),
        ("source", &a.source),
        ("referrer", &a.referrer),
        ("utm_source", &a.utm[0]),
        ("utm_medium", &a.utm[1]),
        ("utm_campaign", &a.utm[2]),
        ("utm_content", &a.utm[3]),
        ("utm_term", &a.utm[4]),
        ("browser", ev.browser()),
        ("browser_version", ev.browser_version()),
        ("os", ev.os()),
        ("os_version", ev.os_version()),
        ("device", ev.device()),
        ("country", ev.country()),
        ("prev_site", &e.journey.prev_site),
        ("prev_page", &e.journey.prev_page),
    ];
    let mut obj = serde_json::Map::new();
    for (k, v) in text {
        obj.insert(k.into(), v.into());
    }
    let (keys, values): (Vec<&str>, Vec<&str>) = ev
        .props()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .unzip();
    obj.insert("ts".into(), ev.timestamp().timestamp_micros().into());
    obj.insert("visitor_id".into(), e.visitor_id.into());
    obj.insert("session_id".into(), e.session_id.into());
    obj.insert("prop_keys".into(), keys.into());
    obj.insert("prop_values".into(), values.into());
    obj.insert("interactive".into(), u8::from(ev.interactive()).into());
    let (amount, currency) = match ev.revenue() {
        Some(r) => (
            serde_json::Value::from(r.amount),
            serde_json::Value::from(r.currency.as_str()),
        ),
        None => (serde_json::Value::Null, serde_json::Value::Null),
    };
    obj.insert("revenue_amount".into(), amount);
    obj.insert("revenue_currency".into(), currency);
    obj.insert("journey_id".into(), e.journey.journey_id.into());
    obj.insert("seq".into(), e.journey.seq.into());
    let mut line = serde_json::Value::Object(obj).to_string();
    line.pop(); // the closing brace; `body` adds the batch columns and its own
    line
}
