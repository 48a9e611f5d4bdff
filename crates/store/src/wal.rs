//! The write-ahead log in front of a remote store.
//!
//! A ClickHouse server can be down, slow or out of reach; the collector must
//! still answer 202 only for events it will never lose. So with ClickHouse
//! the ingest writer does not wait on the server: it appends each batch to
//! this log, a few files in `DATA_DIR/wal/`, fsyncs, and then acknowledges.
//! A shipper thread sends logged batches to the store in order and marks
//! them shipped. If the store is unreachable the log grows, up to a bound;
//! when it comes back the log drains.
//!
//! DuckDB sits behind it too, for speed rather than reach: a DuckDB commit
//! costs about 3 ms whatever its size, so committing each small batch of
//! concurrent requests caps ingest near 14,000 events/s, while a log
//! append is one `write` and one `fdatasync`. The shipper then moves what
//! gathered into DuckDB in large commits.
//!
//! # On disk
//!
//! - Segment files `NNNNNNNNNNNNNNNNNNNN.wal`, named by the sequence number
//!   of their first record, appended to and never rewritten. The writer
//!   starts a new segment when the current one passes `segment_bytes`, and
//!   at every start. Once the log is busy, a new segment is a file of
//!   zeros `segment_bytes` long made ahead (`spare.rs`, [`SPARE`]), and
//!   records are written over the zeros: the `fdatasync` then has no new
//!   file size to commit. A zero length where a record would start ends
//!   the segment; the unused zeros are cut off when the writer moves on,
//!   and at start.
//! - A record is `length: u32 LE`, `check: u64 LE` (the first 8 bytes of a
//!   BLAKE3 hash of the length and the payload), then the payload:
//!   `seq: u64`, `batch id: u64`, `rows: u32` with its top bit set, `fields:
//!   u16` (how many of the table's fields each row has), then each row
//!   (`row.rs`). A log written by a later release with more fields still
//!   reads here and there; a record whose row count lacks the top bit was
//!   written by 0.1, before fields were counted, and reads in that layout.
//!   A record cut short by a crash, or whose checksum does not match, ends
//!   the segment: at start the file is cut there, so a torn tail is never
//!   misread. Only a write that was not yet fsynced — not yet acknowledged —
//!   can be torn.
//! - `shipped`: the highest sequence number the store has, 8 bytes and an
//!   8-byte check, replaced atomically (write, fsync, rename, fsync the
//!   directory). Segments whose records are all shipped are deleted.
//!
//! # Replay, without duplicates
//!
//! At start the records after `shipped` are shipped again. A batch may have
//! reached the store just before a crash, with its mark lost: each record
//! carries the batch id chosen when it was logged, and the ClickHouse store
//! writes each row with that id and its index and skips the rows it already
//! has (`clickhouse/append.rs`), so a replay stores nothing twice — however
//! the shipper groups records into inserts. DuckDB, being transactional,
//! instead commits the highest sequence number it took in the same
//! transaction as the rows ([`crate::Store::append_logged`]); at start that
//! number is passed in as [`WalOptions::store_has_through`] and everything
//! up to it is skipped.
//!
//! # Bound
//!
//! [`WalOptions::max_bytes`] caps the bytes not yet shipped. When they reach
//! it, [`Wal::append`] refuses with [`WalError::Full`] and the collector
//! answers 503: the visitor's browser may retry, and nothing is
//! acknowledged that the disk cannot hold. On disk the log takes at most
//! the bound plus two segments (the shipped records and unused zeros of
//! the current segment, and the spare) plus one batch.
//!
//! Rows hold only the table's columns: no IP address or User-Agent exists
//! at this layer (docs/architecture.md, promise 1).

use crate::row::{AsRow, Row, RowBatch, FIELDS};
use crate::sessions::{Acquisition, JourneyState, SessionState};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

mod spare;
pub use spare::{SPARE, SPARE_WRITING};

/// Default bound on bytes not yet shipped. An event takes about 260 bytes
/// in the log, so this holds about four million: an outage of an hour at
/// 1,000 events a second.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Default size at which the writer starts a new segment.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// Bytes a segment started empty takes before the log counts as busy and
/// asks for a spare (or a quarter of a segment, if less): most
/// installations' logs never need 64 MiB of zeros.
const BUSY_BYTES: u64 = 1 << 20;

const HEADER: usize = 12;
/// Larger than any batch the ingest queue writes; a longer length is damage.
const MAX_RECORD: usize = 1 << 30;
const CURSOR: &str = "shipped";
/// Rows read at a time when scanning the log at start.
const SCAN_ROWS: usize = 100_000;
const SUFFIX: &str = ".wal";

/// How big the log may grow.
#[derive(Debug, Clone, Copy)]
pub struct WalOptions {
    /// Most bytes not yet shipped before appends are refused.
    pub max_bytes: u64,
    /// Size at which a new segment is started.
    pub segment_bytes: u64,
    /// The highest sequence number the store itself says it holds
    /// ([`crate::Store::logged_through`]): records up to it count as
    /// shipped even when the log's own mark is older (a crash between the
    /// store's commit and the mark), and new records are numbered after it
    /// even if the log's files were lost.
    pub store_has_through: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            store_has_through: 0,
        }
    }
}

/// Why a batch was not logged or could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The bound is reached: the store is behind (or down).
    #[error("the write-ahead log is full ({0} bytes not yet shipped to the store)")]
    Full(u64),
    /// The disk refused.
    #[error("write-ahead log: {0}")]
    Io(#[from] io::Error),
    /// A record that was complete when written no longer reads back.
    #[error("write-ahead log: damaged record in {0}")]
    Corrupt(String),
}

/// One record read back for shipping.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Its sequence number.
    pub seq: u64,
    /// Its size on disk, header included.
    pub bytes: u64,
    /// The batch.
    pub batch: RowBatch,
}

#[derive(Debug)]
struct State {
    /// First sequence number of each segment on disk, ascending; the last
    /// is the one being written.
    segments: Vec<u64>,
    /// Sequence number of the next record appended.
    next_seq: u64,
    /// Where the last complete record of the segment being written ends:
    /// readers read no further (zeros may follow).
    active_len: u64,
    /// Highest sequence number shipped (0: none yet).
    shipped: u64,
    /// Bytes of records not yet shipped.
    pending_bytes: u64,
    /// Records not yet shipped.
    pending_batches: u64,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    options: WalOptions,
    state: Mutex<State>,
    appended: Condvar,
}

/// The writing end: one per log, owned by the ingest writer thread.
#[derive(Debug)]
pub struct Wal {
    shared: Arc<Shared>,
    file: File,
    /// Where the next record goes: the end of the last one.
    file_len: u64,
    /// How much of the file is preallocated (0: it grows with each record).
    zeroed: u64,
    spares: spare::Spares,
    /// Set when a failed write could not be undone: appending after it
    /// would put acknowledged records behind a damaged one.
    broken: bool,
}

/// The reading end, for the shipper.
#[derive(Debug)]
pub struct WalReader {
    shared: Arc<Shared>,
    /// The segment being read.
    open: Option<Open>,
    /// Sequence number of the next record wanted.
    next: u64,
}

fn check(parts: &[&[u8]]) -> u64 {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(b)
}

fn segment_name(first: u64) -> String {
    format!("{first:020}{SUFFIX}")
}

/// A segment being read, never past what its reader may see.
#[derive(Debug)]
struct Open {
    /// Its first sequence number.
    first: u64,
    reader: BufReader<io::Take<File>>,
    /// The offset up to which reading is allowed so far.
    allowed: u64,
}

impl Open {
    fn new(dir: &Path, first: u64) -> io::Result<Open> {
        let file = File::open(dir.join(segment_name(first)))?;
        Ok(Open {
            first,
            reader: BufReader::with_capacity(1 << 20, file.take(0)),
            allowed: 0,
        })
    }

    /// Lets reading go on up to `end`.
    fn allow(&mut self, end: u64) {
        if end > self.allowed {
            let take = self.reader.get_mut();
            take.set_limit(take.limit().saturating_add(end - self.allowed));
            self.allowed = end;
        }
    }
}

/// Creates segment `first`, on the spare if one is ready; also returns
/// how many bytes of it are zeros already.
fn start_segment(dir: &Path, spares: &mut spare::Spares, first: u64) -> io::Result<(File, u64)> {
    let path = dir.join(segment_name(first));
    let zeroed = if spares.take(&path)? {
        spares.size()
    } else {
        0
    };
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)?;
    sync_dir(dir)?;
    Ok((file, zeroed))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What reading one record found.
enum Read1 {
    /// A complete record: its payload.
    Record(Vec<u8>),
    /// The end of the file, on a record boundary.
    End,
    /// A partial or damaged record.
    Torn,
}

fn read_record(r: &mut impl Read) -> io::Result<Read1> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..])? {
            0 if got == 0 => return Ok(Read1::End),
            0 => return Ok(Read1::Torn),
            n => got += n,
        }
    }
    if header == [0; HEADER] {
        // The preallocated zeros after the last record.
        return Ok(Read1::End);
    }
    let len_bytes: [u8; 4] = header[..4].try_into().expect("4 bytes");
    let len = u32::from_le_bytes(len_bytes) as usize;
    let want = u64::from_le_bytes(header[4..].try_into().expect("8 bytes"));
    if !(20..=MAX_RECORD).contains(&len) {
        return Ok(Read1::Torn);
    }
    let mut payload = Vec::new();
    r.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() != len || check(&[&len_bytes, &payload]) != want {
        return Ok(Read1::Torn);
    }
    Ok(Read1::Record(payload))
}

fn payload_seq(payload: &[u8]) -> u64 {
    u64::from_le_bytes(payload[..8].try_into().expect("checked length"))
}

/// Set in a record's row count when a field count follows it.
const COUNTED_FIELDS: u32 = 1 << 31;

fn decode_payload(payload: &[u8]) -> Option<(u64, RowBatch)> {
    let mut buf = payload;
    let seq = u64::from_le_bytes(buf.get(..8)?.try_into().ok()?);
    let id = u64::from_le_bytes(buf.get(8..16)?.try_into().ok()?);
    let n = u32::from_le_bytes(buf.get(16..20)?.try_into().ok()?);
    buf = &buf[20..];
    let fields = if n & COUNTED_FIELDS != 0 {
        let f = u16::from_le_bytes(buf.get(..2)?.try_into().ok()?) as usize;
        buf = &buf[2..];
        Some(f)
    } else {
        None
    };
    let n = (n & !COUNTED_FIELDS) as usize;
    let mut rows = Vec::with_capacity(n.min(buf.len()));
    for _ in 0..n {
        rows.push(match fields {
            Some(f) => Row::decode(&mut buf, f)?,
            None => Row::decode_first_layout(&mut buf)?,
        });
    }
    buf.is_empty().then_some((seq, RowBatch { id, rows }))
}

fn read_cursor(dir: &Path) -> u64 {
    match fs::read(dir.join(CURSOR)) {
        Ok(b) if b.len() == 16 && check(&[&b[..8]]).to_le_bytes() == b[8..] => {
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
        }
        Ok(_) => {
            // Replaying from the start is safe: the store skips what it has.
            tracing::warn!(
                "the write-ahead log's shipped mark is damaged; replaying every record left"
            );
            0
        }
        Err(_) => 0,
    }
}

fn write_cursor(dir: &Path, seq: u64) -> io::Result<()> {
    let mut b = seq.to_le_bytes().to_vec();
    b.extend_from_slice(&check(&[&b]).to_le_bytes());
    let tmp = dir.join(format!("{CURSOR}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&b)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(CURSOR))?;
    sync_dir(dir)
}

impl Wal {
    /// Opens the log in `dir` (created if needed): cuts a torn tail,
    /// finds what is not shipped yet, and starts a new segment.
    pub fn open(dir: &Path, options: WalOptions) -> Result<Wal, WalError> {
        fs::create_dir_all(dir)?;
        let shipped = read_cursor(dir).max(options.store_has_through);
        let mut firsts: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                name.to_str()?.strip_suffix(SUFFIX)?.parse().ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut segments = Vec::new();
        let (mut last_seq, mut pending_bytes, mut pending_batches) = (0u64, 0u64, 0u64);
        for (k, &first) in firsts.iter().enumerate() {
            let path = dir.join(segment_name(first));
            let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
            let len = file.metadata()?.len();
            let mut reader = BufReader::new(&mut file);
            let (mut valid, mut records, mut newest) = (0u64, 0u64, 0u64);
            let mut expected = first;
            let torn = loop {
                match read_record(&mut reader)? {
                    Read1::End => break false,
                    Read1::Torn => break true,
                    Read1::Record(p) => {
                        let seq = payload_seq(&p);
                        if seq != expected {
                            break true;
                        }
                        let size = (HEADER + p.len()) as u64;
                        valid += size;
                        records += 1;
                        newest = seq;
                        expected += 1;
                        if seq > shipped {
                            pending_bytes += size;
                            pending_batches += 1;
                        }
                    }
                }
            };
            drop(reader);
            if torn {
                if k + 1 < firsts.len() {
                    tracing::error!(
                        segment = %path.display(),
                        bytes_cut = len - valid,
                        "a damaged record in the middle of the write-ahead log; the rest of that segment is lost"
                    );
                } else {
                    tracing::warn!(
                        segment = %path.display(),
                        bytes_cut = len - valid,
                        "the write-ahead log ended in a torn write (never acknowledged); cut"
                    );
                }
            }
            if torn || len > valid {
                // A torn write, or preallocated zeros after the last record.
                file.set_len(valid)?;
                file.sync_all()?;
            }
            if records == 0 || newest <= shipped {
                // Empty, or shipped before a crash stopped its deletion.
                fs::remove_file(&path)?;
                continue;
            }
            last_seq = last_seq.max(newest);
            segments.push(first);
        }
        let next_seq = last_seq.max(shipped) + 1;
        let mut spares = spare::Spares::new(dir, options.segment_bytes);
        let (file, zeroed) = start_segment(dir, &mut spares, next_seq)?;
        segments.push(next_seq);
        if pending_batches > 0 {
            tracing::info!(
                batches = pending_batches,
                bytes = pending_bytes,
                "the write-ahead log holds batches not yet shipped; replaying them"
            );
        }
        Ok(Wal {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                options,
                state: Mutex::new(State {
                    segments,
                    next_seq,
                    active_len: 0,
                    shipped,
                    pending_bytes,
                    pending_batches,
                }),
                appended: Condvar::new(),
            }),
            file,
            file_len: 0,
            zeroed,
            spares,
            broken: false,
        })
    }

    /// A reader positioned at the first record not yet shipped.
    pub fn reader(&self) -> WalReader {
        let shipped = self.shared.state.lock().expect("wal state").shipped;
        WalReader {
            shared: self.shared.clone(),
            open: None,
            next: shipped + 1,
        }
    }

    /// Bytes and batches not yet shipped.
    pub fn depth(&self) -> (u64, u64) {
        self.shared.depth()
    }

    /// Sequence numbers of the last record logged and the last shipped.
    pub fn positions(&self) -> (u64, u64) {
        let st = self.shared.state.lock().expect("wal state");
        (st.next_seq - 1, st.shipped)
    }

    /// Adds the visits and journeys with an event since `since` (micros)
    /// that are still only in the log to `states` (from the store), so a
    /// restart with records not yet shipped does not split the visits in
    /// progress. For a visit or journey in both, the later state wins.
    pub fn restore_open(
        &self,
        since: i64,
        states: (Vec<SessionState>, Vec<JourneyState>),
    ) -> Result<(Vec<SessionState>, Vec<JourneyState>), WalError> {
        let (sessions, journeys) = states;
        let mut sessions: HashMap<u64, SessionState> =
            sessions.into_iter().map(|s| (s.session_id, s)).collect();
        let mut journeys: HashMap<u64, JourneyState> =
            journeys.into_iter().map(|j| (j.journey_id, j)).collect();
        let mut reader = self.reader();
        loop {
            let logged = reader.read(SCAN_ROWS, u64::MAX)?;
            if logged.is_empty() {
                break;
            }
            for r in logged.iter().flat_map(|l| &l.batch.rows) {
                // Engagement neither opens nor extends a visit (`sessions.rs`).
                if r.ts < since || r.name == glasshouse_privacy::ENGAGEMENT {
                    continue;
                }
                let s = sessions
                    .entry(r.session_id)
                    .or_insert_with(|| SessionState {
                        session_id: r.session_id,
                        visitor_id: r.visitor_id,
                        site: r.site.clone(),
                        last_seen: r.ts,
                        acquisition: std::sync::Arc::new(Acquisition {
                            entry_page: r.entry_page.clone(),
                            source: r.source.clone(),
                            referrer: r.referrer.clone(),
                            utm: r.utm(),
                        }),
                    });
                s.last_seen = s.last_seen.max(r.ts);
                let j = journeys
                    .entry(r.journey_id)
                    .or_insert_with(|| JourneyState {
                        journey_id: r.journey_id,
                        visitor_id: r.visitor_id,
                        last_seen: r.ts,
                        seq: 0,
                        last_site: String::new(),
                        last_page: String::new(),
                    });
                j.last_seen = j.last_seen.max(r.ts);
                if r.name == "pageview" && r.seq >= j.seq {
                    j.seq = r.seq;
                    j.last_site.clone_from(&r.site);
                    j.last_page.clone_from(&r.pathname);
                }
            }
        }
        Ok((
            sessions.into_values().collect(),
            journeys.into_values().collect(),
        ))
    }

    /// Whether another batch may be appended now.
    pub fn has_room(&self) -> bool {
        self.depth().0 < self.shared.options.max_bytes
    }

    /// Logs one batch under `id` and fsyncs; returns its sequence number.
    /// Once this returns, the batch survives a crash.
    pub fn append<T: AsRow>(&mut self, id: u64, rows: &[T]) -> Result<u64, WalError> {
        if self.broken {
            return Err(WalError::Io(io::Error::other(
                "an earlier write failed and could not be undone; restart to recover",
            )));
        }
        let (pending, seq) = {
            let st = self.shared.state.lock().expect("wal state");
            (st.pending_bytes, st.next_seq)
        };
        if pending >= self.shared.options.max_bytes {
            return Err(WalError::Full(pending));
        }
        let mut record = vec![0u8; HEADER];
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(&id.to_le_bytes());
        record.extend_from_slice(&(rows.len() as u32 | COUNTED_FIELDS).to_le_bytes());
        record.extend_from_slice(&(FIELDS.len() as u16).to_le_bytes());
        for r in rows {
            r.row().encode(&mut record);
        }
        let len = record.len() - HEADER;
        if len > MAX_RECORD {
            return Err(WalError::Io(io::Error::other("a batch too large to log")));
        }
        let len_bytes = (len as u32).to_le_bytes();
        let sum = check(&[&len_bytes, &record[HEADER..]]);
        record[..4].copy_from_slice(&len_bytes);
        record[4..HEADER].copy_from_slice(&sum.to_le_bytes());
        if let Err(e) = self
            .file
            .write_all_at(&record, self.file_len)
            .and_then(|()| self.file.sync_data())
        {
            // Undo the partial record (and drop the zeros after it), or
            // stop: a later record behind it would be cut at the next start.
            self.zeroed = self.file_len;
            if self
                .file
                .set_len(self.file_len)
                .and_then(|()| self.file.sync_data())
                .is_err()
            {
                self.broken = true;
            }
            return Err(e.into());
        }
        self.file_len += record.len() as u64;
        {
            let mut st = self.shared.state.lock().expect("wal state");
            st.next_seq = seq + 1;
            st.active_len = self.file_len;
            st.pending_bytes += record.len() as u64;
            st.pending_batches += 1;
        }
        self.shared.appended.notify_all();
        self.next_segment(seq + 1)?;
        Ok(seq)
    }

    /// After each append: asks for a spare once the log is busy, and
    /// starts a new segment when this one is full, or when it was started
    /// empty and a spare is ready.
    fn next_segment(&mut self, first: u64) -> io::Result<()> {
        let size = self.shared.options.segment_bytes;
        let started_empty = self.zeroed == 0;
        let busy = if started_empty {
            self.file_len >= BUSY_BYTES.min(size / 4)
        } else {
            self.file_len >= self.zeroed / 2
        };
        if busy {
            self.spares.want();
        }
        if self.file_len >= size || (started_empty && busy && self.spares.ready()) {
            self.rotate(first)?;
        }
        Ok(())
    }

    /// Starts segment `first`. The new file is in the list before any
    /// record is written to it, and the old one cut to its last record
    /// before that, so a reader finds every record and no zeros.
    fn rotate(&mut self, first: u64) -> io::Result<()> {
        let (file, zeroed) = start_segment(&self.shared.dir, &mut self.spares, first)?;
        if self.zeroed > self.file_len {
            self.file.set_len(self.file_len)?;
        }
        self.file = file;
        self.file_len = 0;
        self.zeroed = zeroed;
        let mut st = self.shared.state.lock().expect("wal state");
        st.segments.push(first);
        st.active_len = 0;
        Ok(())
    }
}

impl Shared {
    fn depth(&self) -> (u64, u64) {
        let st = self.state.lock().expect("wal state");
        (st.pending_bytes, st.pending_batches)
    }
}

impl WalReader {
    /// Bytes and batches not yet shipped.
    pub fn depth(&self) -> (u64, u64) {
        self.shared.depth()
    }

    /// Waits up to `timeout` for a record this reader has not read; true if
    /// there is one.
    pub fn wait(&self, timeout: Duration) -> bool {
        let st = self.shared.state.lock().expect("wal state");
        let (st, _) = self
            .shared
            .appended
            .wait_timeout_while(st, timeout, |st| st.next_seq <= self.next)
            .expect("wal state");
        st.next_seq > self.next
    }

    /// Reads the next records, in order, until `max_rows` rows or
    /// `max_bytes` bytes are in hand or none is left. Each record is read
    /// once; ship it, then [`mark_shipped`](Self::mark_shipped).
    pub fn read(&mut self, max_rows: usize, max_bytes: u64) -> Result<Vec<Logged>, WalError> {
        let (end, segments, active_len) = {
            let st = self.shared.state.lock().expect("wal state");
            (st.next_seq, st.segments.clone(), st.active_len)
        };
        // How far a segment may be read: the last one (being written) up to
        // its last complete record, every other one to its end.
        let limit = |first: u64| {
            if segments.last() == Some(&first) {
                active_len
            } else {
                u64::MAX
            }
        };
        let mut out: Vec<Logged> = Vec::new();
        let (mut rows, mut bytes) = (0usize, 0u64);
        while self.next < end && rows < max_rows && bytes < max_bytes {
            if self.open.is_none() {
                // The segment that holds `next`: the last one starting at or before it.
                let Some(&first) = segments
                    .iter()
                    .rev()
                    .find(|&&f| f <= self.next)
                    .or(segments.first())
                else {
                    break;
                };
                self.open = Some(Open::new(&self.shared.dir, first)?);
            }
            let open = self.open.as_mut().expect("opened above");
            let first = open.first;
            open.allow(limit(first));
            match read_record(&mut open.reader)? {
                Read1::End => {
                    // On to the next segment, if the writer has started one.
                    match segments.iter().find(|&&f| f > first) {
                        Some(&f) => self.open = Some(Open::new(&self.shared.dir, f)?),
                        None => break,
                    }
                }
                Read1::Torn => {
                    self.open = None;
                    return Err(WalError::Corrupt(segment_name(first)));
                }
                Read1::Record(p) => {
                    let size = (HEADER + p.len()) as u64;
                    let Some((seq, batch)) = decode_payload(&p) else {
                        self.open = None;
                        return Err(WalError::Corrupt(segment_name(first)));
                    };
                    if seq < self.next {
                        continue; // shipped before the last start
                    }
                    self.next = seq + 1;
                    rows += batch.rows.len();
                    bytes += size;
                    out.push(Logged {
                        seq,
                        bytes: size,
                        batch,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records that everything up to `shipped` (these records) is in the
    /// store: fsyncs the mark, then deletes segments left fully shipped.
    /// The in-memory depth drops even if the mark cannot be written (the
    /// records are in the store; a replay after restart would only find
    /// them there), and the error is returned for the log.
    pub fn mark_shipped(&mut self, shipped: &[Logged]) -> Result<(), WalError> {
        let Some(last) = shipped.iter().map(|l| l.seq).max() else {
            return Ok(());
        };
        let written = write_cursor(&self.shared.dir, last);
        let mut st = self.shared.state.lock().expect("wal state");
        st.shipped = st.shipped.max(last);
        st.pending_bytes = st
            .pending_bytes
            .saturating_sub(shipped.iter().map(|l| l.bytes).sum());
        st.pending_batches = st.pending_batches.saturating_sub(shipped.len() as u64);
        written?;
        // Never the last segment: the writer appends to it.
        while st.segments.len() > 1 && st.segments[1] - 1 <= st.shipped {
            let first = st.segments.remove(0);
            fs::remove_file(self.shared.dir.join(segment_name(first)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u64) -> Row {
        let mut r = Row {
            site: "a.example".into(),
            ts: 1_700_000_000_000_000 + i as i64,
            visitor_id: i,
            session_id: i,
            name: "pageview".into(),
            hostname: "a.example".into(),
            pathname: format!("/p/{i}"),
            query: String::new(),
            title: String::new(),
            entry_page: "/".into(),
            source: String::new(),
            referrer: String::new(),
            browser: "Firefox".into(),
            browser_version: "128.0".into(),
            os: "Linux".into(),
            os_version: String::new(),
            device: "Desktop".into(),
            country: "GB".into(),
            props: vec![],
            interactive: true,
            revenue: None,
            journey_id: i,
            seq: 1,
            prev_site: String::new(),
            prev_page: String::new(),
            ..Row::default()
        };
        if i % 2 == 1 {
            r.props.push(("form".into(), "apply".into()));
            r.revenue = Some((9.99, "GBP".into()));
        }
        r
    }

    fn rows(from: u64, n: u64) -> Vec<Row> {
        (from..from + n).map(row).collect()
    }

    fn segments(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wal"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn unshipped_batches_are_replayed_after_a_crash_with_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        for (id, from) in [(11, 0), (22, 10), (33, 20)] {
            wal.append(id, &rows(from, 10)).unwrap();
        }
        assert_eq!(wal.depth().1, 3);
        let mut reader = wal.reader();
        let got = reader.read(15, u64::MAX).unwrap();
        // Reading stops once 15 rows are in hand: two batches.
        assert_eq!(got.iter().map(|l| l.batch.id).collect::<Vec<_>>(), [11, 22]);
        assert_eq!(got[1].batch.rows, rows(10, 10));
        reader.mark_shipped(&got[..1]).unwrap();
        assert_eq!(wal.depth().1, 2);
        // "Crash": batch 22 was read (perhaps shipped) but not marked.
        drop((reader, wal));

        let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        assert_eq!(wal.depth().1, 2);
        let mut reader = wal.reader();
        let got = reader.read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(got.iter().map(|l| l.batch.id).collect::<Vec<_>>(), [22, 33]);
        assert_eq!(got[1].batch.rows, rows(20, 10));
        // New records continue the sequence after the replayed ones.
        let seq = wal.append(44, &rows(30, 1)).unwrap();
        assert_eq!(seq, got[1].seq + 1);
        assert!(reader.wait(Duration::from_millis(1)));
        let more = reader.read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(more.len(), 1);
        reader.mark_shipped(&got).unwrap();
        reader.mark_shipped(&more).unwrap();
        assert_eq!(wal.depth(), (0, 0));
        assert!(!reader.wait(Duration::from_millis(1)));
        // Fully shipped segments are gone; only the one being written stays.
        assert_eq!(segments(dir.path()).len(), 1);
        drop((reader, wal));
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        assert_eq!(wal.depth(), (0, 0));
        assert!(wal.reader().read(usize::MAX, u64::MAX).unwrap().is_empty());
    }

    #[test]
    fn a_torn_tail_is_cut_and_never_misread() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        wal.append(1, &rows(0, 5)).unwrap();
        wal.append(2, &rows(5, 5)).unwrap();
        drop(wal);
        let seg = segments(dir.path()).pop().unwrap();
        let whole = fs::read(&seg).unwrap();
        let first_len = {
            let mut r = &whole[..];
            match read_record(&mut r).unwrap() {
                Read1::Record(p) => HEADER + p.len(),
                _ => panic!("the first record reads back"),
            }
        };
        // Every way the second write could have been cut short, plus a
        // flipped bit in it and garbage after it: only batch 1 comes back.
        let mut flipped = whole.clone();
        flipped[first_len + HEADER + 30] ^= 0x10;
        let mut garbage = whole.clone();
        garbage.extend_from_slice(&[0xff; 7]);
        let cases: Vec<Vec<u8>> = (first_len..whole.len())
            .step_by(7)
            .map(|cut| whole[..cut].to_vec())
            .chain([flipped])
            .collect();
        for bytes in cases {
            fs::write(&seg, &bytes).unwrap();
            let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
            assert_eq!(fs::metadata(&seg).unwrap().len(), first_len as u64, "cut");
            let got = wal.reader().read(usize::MAX, u64::MAX).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].batch.id, 1);
            assert_eq!(got[0].batch.rows, rows(0, 5));
            // The log goes on after the cut.
            wal.append(3, &rows(10, 1)).unwrap();
            drop(wal);
            for s in segments(dir.path()) {
                if s != seg {
                    fs::remove_file(s).unwrap();
                }
            }
        }
        fs::write(&seg, &garbage).unwrap();
        let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        let got = wal.reader().read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(got.iter().map(|l| l.batch.id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn visits_in_progress_only_in_the_log_are_restored() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        let mut a = row(1);
        a.session_id = 7;
        a.journey_id = 70;
        a.seq = 3;
        let mut b = a.clone();
        b.ts += 1_000;
        b.seq = 4;
        b.pathname = "/later".into();
        let mut old = row(2);
        old.ts -= 3_600_000_000;
        wal.append(1, &[a.clone(), b.clone(), old]).unwrap();
        let from_store = SessionState {
            session_id: 7,
            visitor_id: a.visitor_id,
            site: a.site.clone(),
            last_seen: a.ts - 5_000,
            acquisition: Default::default(),
        };
        let (sessions, journeys) = wal
            .restore_open(a.ts - 60_000_000, (vec![from_store], vec![]))
            .unwrap();
        // The one visit, seen last at b; the old row is outside the window.
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].last_seen, b.ts);
        assert_eq!(journeys.len(), 1);
        assert_eq!(
            (journeys[0].seq, journeys[0].last_page.as_str()),
            (4, "/later")
        );
    }

    #[test]
    fn what_the_store_says_it_holds_is_skipped_and_never_renumbered() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
        for i in 0..5 {
            wal.append(i, &rows(i * 10, 2)).unwrap();
        }
        drop(wal);
        // A crash after the store committed records 1-3 but before the
        // log's own mark moved: only 4 and 5 are shipped again.
        let floor = WalOptions {
            store_has_through: 3,
            ..WalOptions::default()
        };
        let mut wal = Wal::open(dir.path(), floor).unwrap();
        assert_eq!(wal.depth().1, 2);
        let again: Vec<u64> = wal
            .reader()
            .read(usize::MAX, u64::MAX)
            .unwrap()
            .iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(again, vec![4, 5]);
        assert_eq!(wal.append(9, &rows(0, 1)).unwrap(), 6);
        drop(wal);
        // The log's files are lost but the store holds up to 40: new
        // records are numbered after it, so none is taken as already held.
        let lost = tempfile::tempdir().unwrap();
        let floor = WalOptions {
            store_has_through: 40,
            ..WalOptions::default()
        };
        let mut wal = Wal::open(lost.path(), floor).unwrap();
        assert_eq!(wal.depth(), (0, 0));
        assert_eq!(wal.append(1, &rows(0, 1)).unwrap(), 41);
        let next = wal.reader().read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(next.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![41]);
    }

    #[test]
    fn the_bound_refuses_until_the_store_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            max_bytes: 20_000,
            segment_bytes: 4_000,
            ..WalOptions::default()
        };
        let mut wal = Wal::open(dir.path(), options).unwrap();
        let mut appended = 0;
        let full = loop {
            match wal.append(appended, &rows(appended * 10, 10)) {
                Ok(_) => appended += 1,
                Err(e) => break e,
            }
            assert!(appended < 1000, "the bound was never reached");
        };
        assert!(matches!(full, WalError::Full(b) if b >= 20_000), "{full}");
        assert!(!wal.has_room());
        assert!(segments(dir.path()).len() > 3, "segments rotated");
        let (bytes, batches) = wal.depth();
        assert_eq!(batches, appended);
        assert!(bytes < 20_000 + 2_000, "at most one batch over: {bytes}");
        // Shipping half makes room again and deletes their segments.
        let mut reader = wal.reader();
        let half = reader.read(usize::MAX, 10_000).unwrap();
        reader.mark_shipped(&half).unwrap();
        assert!(wal.has_room());
        wal.append(999, &rows(0, 1)).unwrap();
        drop((reader, wal));
        // The bound and depth survive a restart.
        let wal = Wal::open(dir.path(), options).unwrap();
        assert_eq!(wal.depth().1, appended - half.len() as u64 + 1);
        let all = wal.reader().read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(all.len() as u64, wal.depth().1);
        assert_eq!(all.last().unwrap().batch.id, 999);
    }

    #[test]
    fn records_over_preallocated_zeros_read_back_while_written_and_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            segment_bytes: 64 << 10,
            ..WalOptions::default()
        };
        let mut wal = Wal::open(dir.path(), options).unwrap();
        let mut reader = wal.reader();
        let mut read = Vec::new();
        for i in 0..400 {
            wal.append(i, &rows(i * 3, 3)).unwrap();
            // Time for the thread to make the spares asked for.
            std::thread::sleep(Duration::from_millis(1));
            if i % 7 == 0 {
                read.extend(reader.read(usize::MAX, u64::MAX).unwrap());
            }
        }
        read.extend(reader.read(usize::MAX, u64::MAX).unwrap());
        assert_eq!(
            read.iter().map(|l| l.batch.id).collect::<Vec<_>>(),
            (0..400).collect::<Vec<_>>()
        );
        assert_eq!(read[399].batch.rows, rows(399 * 3, 3));
        // Segments that were spares: the finished ones cut to their last
        // record, the one being written still full of zeros after it.
        let segs = segments(dir.path());
        assert!(segs.len() >= 4, "{segs:?}");
        let (last, done) = segs.split_last().unwrap();
        assert_eq!(fs::metadata(last).unwrap().len(), 64 << 10);
        let lens: Vec<u64> = done
            .iter()
            .map(|s| fs::metadata(s).unwrap().len())
            .collect();
        assert!(
            lens[1..]
                .iter()
                .all(|l| ((64 << 10)..(64 << 10) + 2_000).contains(l)),
            "{lens:?}"
        );
        // A crash: reopened, every record is there once, the zeros are
        // cut, and the log goes on.
        drop((reader, wal));
        let mut wal = Wal::open(dir.path(), options).unwrap();
        assert!(fs::metadata(last).unwrap().len() < 64 << 10);
        let again = wal.reader().read(usize::MAX, u64::MAX).unwrap();
        assert_eq!(again.len(), 400);
        assert_eq!(again.last().unwrap().batch.rows, rows(399 * 3, 3));
        assert_eq!(wal.append(400, &rows(0, 1)).unwrap(), 401);
    }
}
