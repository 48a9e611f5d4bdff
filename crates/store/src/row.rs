//! The stored row as plain data: every column the store writes, and nothing
//! else.
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
//! Both back ends encode through [`RowRef`], a borrowed view, so a
//! `StoredEvent` is written without copying its strings and a `Row` read
//! from the log goes through exactly the same column code.

use crate::StoredEvent;

/// Borrowed view of one row, in the table's terms (see `duck/schema.rs`).
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// Site host.
    pub site: &'a str,
    /// Microseconds since the epoch, UTC.
    pub ts: i64,
    /// The visitor id the row is stored under.
    pub visitor_id: u64,
    /// The visit's id.
    pub session_id: u64,
    /// `pageview` or a custom event name.
    pub name: &'a str,
    /// The page's host.
    pub hostname: &'a str,
    /// The page's path.
    pub pathname: &'a str,
    /// Allowed query parameters.
    pub query: &'a str,
    /// Page title.
    pub title: &'a str,
    /// The visit's first page.
    pub entry_page: &'a str,
    /// The visit's source.
    pub source: &'a str,
    /// The visit's referrer.
    pub referrer: &'a str,
    /// The visit's `utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term`.
    pub utm: [&'a str; 5],
    /// Browser family.
    pub browser: &'a str,
    /// Browser version.
    pub browser_version: &'a str,
    /// Operating system family.
    pub os: &'a str,
    /// Operating system version.
    pub os_version: &'a str,
    /// Device class.
    pub device: &'a str,
    /// Country code.
    pub country: &'a str,
    /// Custom properties.
    pub props: &'a [(String, String)],
    /// Whether the event ends a bounce.
    pub interactive: bool,
    /// Amount and currency, if any.
    pub revenue: Option<(f64, &'a str)>,
    /// The journey's id.
    pub journey_id: u64,
    /// Place in the journey.
    pub seq: u32,
    /// Host of the page viewed before.
    pub prev_site: &'a str,
    /// Path of the page viewed before.
    pub prev_page: &'a str,
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
            utm: [&a.utm[0], &a.utm[1], &a.utm[2], &a.utm[3], &a.utm[4]],
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
        }
    }
}

/// One row, owned: what the write-ahead log stores and replays.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Site host.
    pub site: String,
    /// Microseconds since the epoch, UTC.
    pub ts: i64,
    /// The visitor id the row is stored under.
    pub visitor_id: u64,
    /// The visit's id.
    pub session_id: u64,
    /// `pageview` or a custom event name.
    pub name: String,
    /// The page's host.
    pub hostname: String,
    /// The page's path.
    pub pathname: String,
    /// Allowed query parameters.
    pub query: String,
    /// Page title.
    pub title: String,
    /// The visit's first page.
    pub entry_page: String,
    /// The visit's source.
    pub source: String,
    /// The visit's referrer.
    pub referrer: String,
    /// The visit's five UTM tags.
    pub utm: [String; 5],
    /// Browser family.
    pub browser: String,
    /// Browser version.
    pub browser_version: String,
    /// Operating system family.
    pub os: String,
    /// Operating system version.
    pub os_version: String,
    /// Device class.
    pub device: String,
    /// Country code.
    pub country: String,
    /// Custom properties.
    pub props: Vec<(String, String)>,
    /// Whether the event ends a bounce.
    pub interactive: bool,
    /// Amount and currency, if any.
    pub revenue: Option<(f64, String)>,
    /// The journey's id.
    pub journey_id: u64,
    /// Place in the journey.
    pub seq: u32,
    /// Host of the page viewed before.
    pub prev_site: String,
    /// Path of the page viewed before.
    pub prev_page: String,
}

impl AsRow for Row {
    fn row(&self) -> RowRef<'_> {
        RowRef {
            site: &self.site,
            ts: self.ts,
            visitor_id: self.visitor_id,
            session_id: self.session_id,
            name: &self.name,
            hostname: &self.hostname,
            pathname: &self.pathname,
            query: &self.query,
            title: &self.title,
            entry_page: &self.entry_page,
            source: &self.source,
            referrer: &self.referrer,
            utm: [
                &self.utm[0],
                &self.utm[1],
                &self.utm[2],
                &self.utm[3],
                &self.utm[4],
            ],
            browser: &self.browser,
            browser_version: &self.browser_version,
            os: &self.os,
            os_version: &self.os_version,
            device: &self.device,
            country: &self.country,
            props: &self.props,
            interactive: self.interactive,
            revenue: self.revenue.as_ref().map(|(a, c)| (*a, c.as_str())),
            journey_id: self.journey_id,
            seq: self.seq,
            prev_site: &self.prev_site,
            prev_page: &self.prev_page,
        }
    }
}

impl From<RowRef<'_>> for Row {
    fn from(r: RowRef<'_>) -> Row {
        Row {
            site: r.site.into(),
            ts: r.ts,
            visitor_id: r.visitor_id,
            session_id: r.session_id,
            name: r.name.into(),
            hostname: r.hostname.into(),
            pathname: r.pathname.into(),
            query: r.query.into(),
            title: r.title.into(),
            entry_page: r.entry_page.into(),
            source: r.source.into(),
            referrer: r.referrer.into(),
            utm: r.utm.map(String::from),
            browser: r.browser.into(),
            browser_version: r.browser_version.into(),
            os: r.os.into(),
            os_version: r.os_version.into(),
            device: r.device.into(),
            country: r.country.into(),
            props: r.props.to_vec(),
            interactive: r.interactive,
            revenue: r.revenue.map(|(a, c)| (a, c.to_string())),
            journey_id: r.journey_id,
            seq: r.seq,
            prev_site: r.prev_site.into(),
            prev_page: r.prev_page.into(),
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

impl RowRef<'_> {
    /// Appends the row's binary form (the write-ahead log's record body):
    /// integers little-endian, strings as a 32-bit length and UTF-8 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let texts = [
            self.site,
            self.name,
            self.hostname,
            self.pathname,
            self.query,
            self.title,
            self.entry_page,
            self.source,
            self.referrer,
            self.utm[0],
            self.utm[1],
            self.utm[2],
            self.utm[3],
            self.utm[4],
            self.browser,
            self.browser_version,
            self.os,
            self.os_version,
            self.device,
            self.country,
            self.prev_site,
            self.prev_page,
        ];
        for t in texts {
            put_str(out, t);
        }
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&self.visitor_id.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.journey_id.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.push(u8::from(self.interactive));
        out.extend_from_slice(&(self.props.len() as u32).to_le_bytes());
        for (k, v) in self.props {
            put_str(out, k);
            put_str(out, v);
        }
        match self.revenue {
            Some((amount, currency)) => {
                out.push(1);
                out.extend_from_slice(&amount.to_bits().to_le_bytes());
                put_str(out, currency);
            }
            None => out.push(0),
        }
    }
}

impl Row {
    /// Reads one row written by [`RowRef::encode`] from the front of `buf`,
    /// advancing it; `None` if the bytes are not a row.
    pub fn decode(buf: &mut &[u8]) -> Option<Row> {
        let mut t = [(); 22].map(|_| String::new());
        for s in t.iter_mut() {
            *s = take_str(buf)?;
        }
        let [site, name, hostname, pathname, query, title, entry_page, source, referrer, u0, u1, u2, u3, u4, browser, browser_version, os, os_version, device, country, prev_site, prev_page] =
            t;
        let ts = i64::from_le_bytes(take(buf)?);
        let visitor_id = u64::from_le_bytes(take(buf)?);
        let session_id = u64::from_le_bytes(take(buf)?);
        let journey_id = u64::from_le_bytes(take(buf)?);
        let seq = u32::from_le_bytes(take(buf)?);
        let interactive = match take::<1>(buf)? {
            [0] => false,
            [1] => true,
            _ => return None,
        };
        let n = u32::from_le_bytes(take(buf)?) as usize;
        if n > buf.len() {
            return None;
        }
        let mut props = Vec::with_capacity(n);
        for _ in 0..n {
            props.push((take_str(buf)?, take_str(buf)?));
        }
        let revenue = match take::<1>(buf)? {
            [0] => None,
            [1] => Some((
                f64::from_bits(u64::from_le_bytes(take(buf)?)),
                take_str(buf)?,
            )),
            _ => return None,
        };
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
            utm: [u0, u1, u2, u3, u4],
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
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take<const N: usize>(buf: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = buf.split_first_chunk::<N>()?;
    *buf = rest;
    Some(*head)
}

fn take_str(buf: &mut &[u8]) -> Option<String> {
    let n = u32::from_le_bytes(take(buf)?) as usize;
    if n > buf.len() {
        return None;
    }
    let (s, rest) = buf.split_at(n);
    *buf = rest;
    String::from_utf8(s.to_vec()).ok()
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
            utm: [
                "x".into(),
                String::new(),
                "c".into(),
                String::new(),
                "t".into(),
            ],
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
            assert_eq!(Row::decode(&mut rest).as_ref(), Some(r));
        }
        assert!(rest.is_empty());
        // A truncated row is refused, never misread.
        let mut first = Vec::new();
        rows[0].row().encode(&mut first);
        for cut in 0..first.len() {
            assert!(Row::decode(&mut &first[..cut]).is_none(), "cut at {cut}");
        }
    }
}
