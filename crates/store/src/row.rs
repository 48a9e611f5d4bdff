//! The stored row as plain data: every column the store writes, and nothing
//! else, declared once in the table below.
//!
//! [`StoredEvent`] wraps an [`AnonymousEvent`](glasshouse_privacy::AnonymousEvent),
//! which only the privacy crate can build. That promise is what keeps raw
//! requests out of the store, and it must hold for the write-ahead log too:
//! the log cannot decode bytes back into an `AnonymousEvent`. So what the log
//! keeps, and replays, is a [`Row`]: the columns of an event that has
//! already passed through the privacy crate and been placed in a visit. A
//! `Row` has no field for an IP address or a User-Agent because no table has
//! one.
//!
//! The table of fields is the one place a stored field is named. From it
//! come [`Row`], its borrowed view [`RowRef`] (through which both back ends
//! encode, so a `StoredEvent` is written without copying its strings), the
//! write-ahead log's bytes, DuckDB's table, Arrow arrays and reader,
//! ClickHouse's table and `JSONEachRow` lines, and each back end's
//! migration adding the fields of a new schema version. What each kind of
//! value means in those places is in `kind.rs`.
//!
//! Fields are only ever appended: the order is the tables' column order
//! and the log's, and a field's `since` is the schema version that added it.

use crate::kind::{self, Kind, SqlColumn};
use crate::StoredEvent;

/// One field of the table: its name, kind and the schema version that added it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The field's name (and its column's, for one-column kinds).
    pub name: &'static str,
    /// The schema version whose migration adds its columns (1: the first tables).
    pub since: u32,
    columns: fn(&'static str) -> Vec<SqlColumn>,
}

impl Field {
    /// The field's SQL columns, in order.
    pub fn columns(&self) -> Vec<SqlColumn> {
        (self.columns)(self.name)
    }
}

/// Every SQL column of the table, in order, with the version that added it.
pub fn sql_columns() -> Vec<(u32, SqlColumn)> {
    FIELDS
        .iter()
        .flat_map(|f| f.columns().into_iter().map(move |c| (f.since, c)))
        .collect()
}

macro_rules! table {
    ($( $(#[doc = $doc:expr])* $field:ident: $kind:ident since $since:literal, )*) => {
        /// Borrowed view of one row.
        #[derive(Debug, Clone, Copy)]
        pub struct RowRef<'a> {
            $( $(#[doc = $doc])* pub $field: <kind::$kind as Kind>::Ref<'a>, )*
        }

        /// One row, owned: what the write-ahead log stores and replays.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Row {
            $( $(#[doc = $doc])* pub $field: <kind::$kind as Kind>::Owned, )*
        }

        /// The fields, in the tables' order.
        pub const FIELDS: &[Field] = &[
            $( Field { name: stringify!($field), since: $since, columns: <kind::$kind as Kind>::columns }, )*
        ];

        impl AsRow for Row {
            fn row(&self) -> RowRef<'_> {
                RowRef { $( $field: <kind::$kind as Kind>::borrow(&self.$field), )* }
            }
        }

        impl From<RowRef<'_>> for Row {
            fn from(r: RowRef<'_>) -> Row {
                Row { $( $field: <kind::$kind as Kind>::own(r.$field), )* }
            }
        }

        impl RowRef<'_> {
            /// Appends the row's binary form (the write-ahead log's record
            /// body): every field in order, as its kind encodes it.
            pub fn encode(&self, out: &mut Vec<u8>) {
                $( <kind::$kind as Kind>::encode(self.$field, out); )*
            }

            /// Appends the row as one `JSONEachRow` object without its
            /// closing brace, each pair followed by a comma.
            pub(crate) fn json(&self, out: &mut Vec<u8>) {
                out.push(b'{');
                $( <kind::$kind as Kind>::json(stringify!($field), self.$field, out); )*
            }
        }

        impl Row {
            /// Reads a row of the first `fields` fields written by
            /// [`RowRef::encode`] from the front of `buf`, advancing it; the
            /// fields a log written by an older release lacks are their
            /// kind's default. `None` if the bytes are not a row.
            pub fn decode(buf: &mut &[u8], fields: usize) -> Option<Row> {
                let mut row = Row::default();
                let mut i = 0;
                $(
                    if i < fields {
                        row.$field = <kind::$kind as Kind>::decode(buf)?;
                    }
                    i += 1;
                )*
                let _ = i;
                Some(row)
            }

            /// Reads a row from DuckDB's `SELECT` of every column in order,
            /// starting at column `at`.
            pub(crate) fn read_duck(r: &duckdb::Row<'_>, mut at: usize) -> duckdb::Result<Row> {
                Ok(Row { $( $field: <kind::$kind as Kind>::read_duck(r, &mut at)?, )* })
            }
        }

        /// The Arrow arrays of `rows`, one per SQL column in order.
        pub(crate) fn arrow_columns(rows: &[RowRef<'_>]) -> Vec<duckdb::arrow::array::ArrayRef> {
            let mut out = Vec::new();
            $( <kind::$kind as Kind>::arrow(rows.iter().map(|r| r.$field), &mut out); )*
            out
        }
    };
}

table! {
    /// Site host.
    site: Text since 1,
    /// Microseconds since the epoch, UTC.
    ts: Micros since 1,
    /// The visitor id the row is stored under.
    visitor_id: U64 since 1,
    /// The visit's id.
    session_id: U64 since 1,
    /// `pageview` or a custom event name.
    name: Text since 1,
    /// The page's host.
    hostname: Text since 1,
    /// The page's path.
    pathname: Text since 1,
    /// Allowed query parameters.
    query: Text since 1,
    /// Page title.
    title: Text since 1,
    /// The visit's first page.
    entry_page: Text since 1,
    /// The visit's source.
    source: Text since 1,
    /// The visit's referrer.
    referrer: Text since 1,
    /// The visit's `utm_source`.
    utm_source: Text since 1,
    /// The visit's `utm_medium`.
    utm_medium: Text since 1,
    /// The visit's `utm_campaign`.
    utm_campaign: Text since 1,
    /// The visit's `utm_content`.
    utm_content: Text since 1,
    /// The visit's `utm_term`.
    utm_term: Text since 1,
    /// Browser family.
    browser: Text since 1,
    /// Browser version.
    browser_version: Text since 1,
    /// Operating system family.
    os: Text since 1,
    /// Operating system version.
    os_version: Text since 1,
    /// Device class.
    device: Text since 1,
    /// Country code.
    country: Text since 1,
    /// Custom properties (`prop_keys`, `prop_values`).
    props: Props since 1,
    /// Whether the event ends a bounce.
    interactive: Bool since 1,
    /// Amount and currency, if any.
    revenue: Revenue since 1,
    /// The journey's id.
    journey_id: U64 since 1,
    /// Place in the journey.
    seq: U32 since 1,
    /// Host of the page viewed before.
    prev_site: Text since 1,
    /// Path of the page viewed before.
    prev_page: Text since 1,
    /// For an engagement event: percent of the page scrolled so far.
    scroll_depth: U8 since 2,
    /// For an engagement event: milliseconds engaged since the last one.
    engagement_time: U32 since 2,
    /// ISO 3166-2 code of the first-level region (`GB-SCT`).
    region: Text since 2,
}

/// Anything that can be written as a row: both back ends take any of these,
/// so there is one column mapping per back end, not one per input type.
pub trait AsRow {
    /// The row's columns.
    fn row(&self) -> RowRef<'_>;
}

impl AsRow for StoredEvent {
    fn row(&self) -> RowRef<'_> {
        let ev = &self.event;
        let a = &self.acquisition;
        RowRef {
            site: ev.site(),
            ts: ev.timestamp().timestamp_micros(),
            visitor_id: self.visitor_id,
            session_id: self.session_id,
            name: ev.name(),
            hostname: ev.hostname(),
            pathname: ev.pathname(),
            query: ev.query(),
            title: ev.title(),
            entry_page: &a.entry_page,
            source: &a.source,
            referrer: &a.referrer,
            utm_source: &a.utm[0],
            utm_medium: &a.utm[1],
            utm_campaign: &a.utm[2],
            utm_content: &a.utm[3],
            utm_term: &a.utm[4],
            browser: ev.browser(),
            browser_version: ev.browser_version(),
            os: ev.os(),
            os_version: ev.os_version(),
            device: ev.device(),
            country: ev.country(),
            props: ev.props(),
            interactive: ev.interactive(),
            revenue: ev.revenue().map(|r| (r.amount, r.currency.as_str())),
            journey_id: self.journey.journey_id,
            seq: self.journey.seq,
            prev_site: &self.journey.prev_site,
            prev_page: &self.journey.prev_page,
            scroll_depth: ev.engagement().map_or(0, |e| e.scroll_depth),
            engagement_time: ev.engagement().map_or(0, |e| e.engagement_time),
            region: ev.region(),
        }
    }
}

/// Rows written together under one id. Writing the same batch again stores
/// nothing twice on a back end that keeps batch ids (ClickHouse); that is
/// what lets the write-ahead log replay a batch whose fate it does not know.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowBatch {
    /// Chosen once, when the batch is first logged, and kept with it.
    pub id: u64,
    /// The rows, in order (a row's index is part of its identity).
    pub rows: Vec<Row>,
}

impl Row {
    /// The acquisition the row's visit carries, for rebuilding the session table.
    pub fn utm(&self) -> [String; 5] {
        [
            self.utm_source.clone(),
            self.utm_medium.clone(),
            self.utm_campaign.clone(),
            self.utm_content.clone(),
            self.utm_term.clone(),
        ]
    }

    /// Reads one row in the layout of the write-ahead log before it
    /// recorded how many fields its rows have (glasshouse 0.1): 22 texts,
    /// then the integers, props and revenue. Frozen: new fields are never
    /// added here, they read as their default.
    pub fn decode_first_layout(buf: &mut &[u8]) -> Option<Row> {
        use kind::{take, take_str};
        let mut t = [(); 22].map(|_| String::new());
        for s in t.iter_mut() {
            *s = take_str(buf)?;
        }
        let [site, name, hostname, pathname, query, title, entry_page, source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term, browser, browser_version, os, os_version, device, country, prev_site, prev_page] =
            t;
        let ts = i64::from_le_bytes(take(buf)?);
        let visitor_id = u64::from_le_bytes(take(buf)?);
        let session_id = u64::from_le_bytes(take(buf)?);
        let journey_id = u64::from_le_bytes(take(buf)?);
        let seq = u32::from_le_bytes(take(buf)?);
        let interactive = kind::Bool::decode(buf)?;
        let props = kind::Props::decode(buf)?;
        let revenue = kind::Revenue::decode(buf)?;
        Some(Row {
            site,
            ts,
            visitor_id,
            session_id,
            name,
            hostname,
            pathname,
            query,
            title,
            entry_page,
            source,
            referrer,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_content,
            utm_term,
            browser,
            browser_version,
            os,
            os_version,
            device,
            country,
            props,
            interactive,
            revenue,
            journey_id,
            seq,
            prev_site,
            prev_page,
            ..Row::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: u64) -> Row {
        Row {
            site: "a.example".into(),
            ts: 1_700_000_000_000_000 + i as i64,
            visitor_id: i,
            session_id: u64::MAX - i,
            name: "pageview".into(),
            hostname: "a.example".into(),
            pathname: format!("/p/{i}"),
            query: "utm_source=x".into(),
            title: "Ünïcödé ✓".into(),
            entry_page: "/".into(),
            source: "Google".into(),
            referrer: "www.google.com/".into(),
            utm_source: "x".into(),
            utm_campaign: "c".into(),
            utm_term: "t".into(),
            browser: "Firefox".into(),
            browser_version: "128.0".into(),
            os: "Linux".into(),
            os_version: String::new(),
            device: "Desktop".into(),
            country: "GB".into(),
            props: vec![("form".into(), "apply".into()), ("k".into(), String::new())],
            interactive: i.is_multiple_of(2),
            revenue: i.is_multiple_of(3).then(|| (12.5, "GBP".into())),
            journey_id: i * 7,
            seq: i as u32,
            prev_site: "a.example".into(),
            prev_page: "/prev".into(),
            ..Row::default()
        }
    }

    #[test]
    fn rows_survive_encoding() {
        let mut buf = Vec::new();
        let rows: Vec<Row> = (0..4).map(sample).collect();
        for r in &rows {
            r.row().encode(&mut buf);
        }
        let mut rest = buf.as_slice();
        for r in &rows {
            assert_eq!(Row::decode(&mut rest, FIELDS.len()).as_ref(), Some(r));
        }
        assert!(rest.is_empty());
        // A truncated row is refused, never misread.
        let mut first = Vec::new();
        rows[0].row().encode(&mut first);
        for cut in 0..first.len() {
            assert!(
                Row::decode(&mut &first[..cut], FIELDS.len()).is_none(),
                "cut at {cut}"
            );
        }
    }

    /// The bytes glasshouse 0.1 logged for a row, written out by hand as
    /// its encoder did: the frozen layout must keep reading them.
    fn first_layout(r: &Row) -> Vec<u8> {
        let mut out = Vec::new();
        let put = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        for t in [
            &r.site,
            &r.name,
            &r.hostname,
            &r.pathname,
            &r.query,
            &r.title,
            &r.entry_page,
            &r.source,
            &r.referrer,
            &r.utm_source,
            &r.utm_medium,
            &r.utm_campaign,
            &r.utm_content,
            &r.utm_term,
            &r.browser,
            &r.browser_version,
            &r.os,
            &r.os_version,
            &r.device,
            &r.country,
            &r.prev_site,
            &r.prev_page,
        ] {
            put(&mut out, t);
        }
        out.extend_from_slice(&r.ts.to_le_bytes());
        out.extend_from_slice(&r.visitor_id.to_le_bytes());
        out.extend_from_slice(&r.session_id.to_le_bytes());
        out.extend_from_slice(&r.journey_id.to_le_bytes());
        out.extend_from_slice(&r.seq.to_le_bytes());
        out.push(u8::from(r.interactive));
        out.extend_from_slice(&(r.props.len() as u32).to_le_bytes());
        for (k, v) in &r.props {
            put(&mut out, k);
            put(&mut out, v);
        }
        match &r.revenue {
            Some((a, c)) => {
                out.push(1);
                out.extend_from_slice(&a.to_bits().to_le_bytes());
                put(&mut out, c);
            }
            None => out.push(0),
        }
        out
    }

    #[test]
    fn rows_logged_by_the_first_release_still_read() {
        for i in 0..4 {
            let row = sample(i);
            let bytes = first_layout(&row);
            let mut rest = bytes.as_slice();
            assert_eq!(Row::decode_first_layout(&mut rest), Some(row));
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn fields_a_log_lacks_read_as_their_default() {
        let full = sample(3);
        let first = FIELDS.iter().filter(|f| f.since == 1).count();
        let mut bytes = Vec::new();
        full.row().encode(&mut bytes);
        // A log of the first fields only reads as the first layout does:
        // the later fields at their defaults, their bytes left unread.
        let mut rest = bytes.as_slice();
        let old = Row::decode(&mut rest, first).expect("decodes");
        let expected = Row::decode_first_layout(&mut first_layout(&full).as_slice());
        assert_eq!(Some(old), expected);
        assert_eq!(rest.is_empty(), first == FIELDS.len());
    }

    #[test]
    fn the_columns_are_named_once_and_in_order() {
        let names: Vec<String> = sql_columns().into_iter().map(|(_, c)| c.name).collect();
        assert_eq!(names[..4], ["site", "ts", "visitor_id", "session_id"]);
        assert!(names.contains(&"prop_keys".to_string()));
        assert!(names.contains(&"revenue_currency".to_string()));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a column named twice");
        // Fields are only appended: versions never go down along the table.
        assert!(FIELDS.windows(2).all(|w| w[0].since <= w[1].since));
    }
}
