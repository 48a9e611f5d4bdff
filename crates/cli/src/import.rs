//! `glasshouse import`: the bulk path, through the same anonymisation as live
//! traffic.
//!
//! Each NDJSON line is one event as a server would have seen it: time, client
//! IP, User-Agent and the Events API body. Lines become `RawEvent`s, go
//! through the anonymiser (with *ephemeral* salts: one per day, made for this
//! import, never written, gone when it ends — so imported visitors can never
//! be linked to live ones) and then the ingest queue.
//!
//! A bad line stops the import with a message naming the line and the field,
//! and nothing of the file is stored: on DuckDB the import is one
//! transaction, taken back on error (or a crash); ClickHouse, which cannot
//! take rows back, has the file checked first. With `--skip-invalid`, bad
//! lines are reported and skipped instead.
//!
//! Reading, parsing and anonymising run on every core; blocks are put back
//! in file order before visits are assigned, so visits come out as they
//! would have live.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use glasshouse_model::{Clock, Config, SystemClock};
use glasshouse_privacy::limits::accepted;
use glasshouse_privacy::{
    Anonymiser, AnonymousEvent, Engagement, RawEvent, Rejection, Revenue, Salts,
};
use glasshouse_store::{Sessionizer, StoredEvent};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use zeroize::Zeroize;

/// One line of an import file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLine {
    #[serde(deserialize_with = "timestamp")]
    timestamp: DateTime<Utc>,
    ip: std::net::IpAddr,
    user_agent: String,
    name: String,
    url: String,
    domain: String,
    #[serde(default)]
    referrer: Option<String>,
    #[serde(default)]
    props: BTreeMap<String, serde_json::Value>,
    #[serde(default = "yes")]
    interactive: bool,
    #[serde(default)]
    revenue: Option<RevenueLine>,
    /// For `engagement` events: percent scrolled, as the collector's `sd`.
    #[serde(default)]
    scroll_depth: Option<u8>,
    /// For `engagement` events: milliseconds engaged, as the collector's `e`.
    #[serde(default)]
    engagement_time: Option<u32>,
}

#[derive(Deserialize)]
struct RevenueLine {
    amount: f64,
    currency: String,
}

fn yes() -> bool {
    true
}

/// A timestamp as `DateTime<Utc>` reads one, through chrono's RFC 3339
/// parser first: its general parser, which serde would use, costs three
/// times as much, and the import reads millions.
fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    struct Timestamp;
    impl serde::de::Visitor<'_> for Timestamp {
        type Value = DateTime<Utc>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 date and time")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
            match DateTime::parse_from_rfc3339(text) {
                Ok(t) => Ok(t.with_timezone(&Utc)),
                Err(_) => text.parse().map_err(E::custom),
            }
        }
    }
    d.deserialize_str(Timestamp)
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    /// Events stored.
    pub stored: u64,
    /// Events not stored because they came from bots.
    pub bots: u64,
    /// Lines skipped as invalid (only with `--skip-invalid`).
    pub invalid: u64,
}

/// Bytes read at a time; a block holds whole lines.
const BLOCK: usize = 4 << 20;

/// Parses and checks one line; the error names the field. The URL is left
/// to the anonymiser, which parses it anyway
/// ([`glasshouse_privacy::check_page_url`] for the pre-pass).
fn parse_line(
    line: &str,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<(RawEvent, usize), String> {
    let l: ImportLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let site = config
        .sites
        .iter()
        .position(|s| s.host.eq_ignore_ascii_case(&l.domain))
        .ok_or_else(|| format!("domain: unknown site {:?}", l.domain))?;
    if l.name.is_empty() || l.name.chars().count() > accepted::NAME {
        return Err(format!("name: must be 1 to {} characters", accepted::NAME));
    }
    if l.url.len() > accepted::URL || l.referrer.as_ref().is_some_and(|r| r.len() > accepted::URL) {
        return Err(format!(
            "url or referrer: longer than {} bytes",
            accepted::URL
        ));
    }
    let engagement = engagement(l.scroll_depth, l.engagement_time)?;
    if l.timestamp > now + chrono::Duration::minutes(5) {
        return Err("timestamp: in the future".into());
    }
    let mut props = Vec::with_capacity(l.props.len());
    for (k, v) in l.props {
        let v = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(format!("props.{k}: must be a string, number or boolean")),
        };
        props.push((k, v));
    }
    if props.len() > accepted::PROPS {
        return Err(format!("props: more than {} properties", accepted::PROPS));
    }
    let too_long = |(k, v): &&(String, String)| {
        k.is_empty()
            || k.chars().count() > accepted::PROP_KEY
            || v.chars().count() > accepted::PROP_VALUE
    };
    if let Some((k, _)) = props.iter().find(too_long) {
        return Err(format!(
            "props.{k}: keys must be 1 to {} characters and values at most {}",
            accepted::PROP_KEY,
            accepted::PROP_VALUE
        ));
    }
    Ok((
        RawEvent {
            ip: l.ip,
            user_agent: l.user_agent,
            name: l.name,
            url: l.url,
            referrer: l.referrer,
            title: None,
            props,
            interactive: l.interactive,
            revenue: l.revenue.map(|r| Revenue {
                amount: r.amount,
                currency: r.currency,
            }),
            engagement,
            timestamp: l.timestamp,
        },
        site,
    ))
}

/// The engagement an import line reports, checked as the collector checks it.
fn engagement(
    scroll_depth: Option<u8>,
    engagement_time: Option<u32>,
) -> Result<Option<Engagement>, String> {
    match (scroll_depth, engagement_time) {
        (None, None) => Ok(None),
        (Some(sd), _) if sd > 100 => Err("scroll_depth: a percentage, 0 to 100".into()),
        (_, Some(e)) if e > accepted::ENGAGEMENT_TIME => Err(format!(
            "engagement_time: at most {} milliseconds",
            accepted::ENGAGEMENT_TIME
        )),
        (Some(scroll_depth), Some(engagement_time)) => Ok(Some(Engagement {
            scroll_depth,
            engagement_time,
        })),
        _ => Err("scroll_depth and engagement_time: both or neither".into()),
    }
}

/// `glasshouse import --config FILE NDJSON`.
pub fn run(config_path: &Path, file: &Path, skip_invalid: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    // One writer per data directory: the import writes its store and salts.
    let _dir = glasshouse_store::datadir::DataDir::lock(&config.data_dir)?;
    let started = std::time::Instant::now();
    let outcome = import_file(&config, file, skip_invalid, true)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} events in {:.1} s ({:.0} events/s); {} from bots not counted; {} invalid lines skipped",
        outcome.stored,
        secs,
        outcome.stored as f64 / secs.max(1e-9),
        outcome.bots,
        outcome.invalid
    );
    Ok(())
}

/// A block of whole lines, as read.
struct Block {
    seq: usize,
    text: Vec<u8>,
}

/// The text holds addresses and User-Agents as the file has them: it is
/// overwritten before it is freed, as the anonymiser does with what it
/// copies out of it.
impl Drop for Block {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// A block's lines, anonymised.
struct Done {
    bytes: usize,
    lines: usize,
    events: Vec<AnonymousEvent>,
    bots: u64,
    /// (line within the block, counting from 0; why).
    invalid: Vec<(usize, String)>,
}

/// Reads `file` in blocks of whole lines and hands them out in order.
fn read_blocks(file: &Path, out: mpsc::SyncSender<Block>) -> anyhow::Result<()> {
    let mut f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut carry: Vec<u8> = Vec::new();
    // Numbered as sent: a line longer than a block takes several reads.
    let mut seq = 0;
    loop {
        let mut text = std::mem::take(&mut carry);
        reserve_overwriting(&mut text, BLOCK);
        let read = (&mut f)
            .take(BLOCK as u64)
            .read_to_end(&mut text)
            .with_context(|| format!("reading {}", file.display()))?;
        if read == 0 {
            if !text.is_empty() {
                let _ = out.send(Block { seq, text });
            }
            return Ok(());
        }
        // Whatever follows the last newline belongs to the next block (its
        // bytes stay in this block's buffer too, and are overwritten with it).
        if let Some(end) = text.iter().rposition(|&b| b == b'\n') {
            carry = text[end + 1..].to_vec();
            text.truncate(end + 1);
        } else {
            carry = text;
            continue;
        }
        if out.send(Block { seq, text }).is_err() {
            return Ok(());
        }
        seq += 1;
    }
}

/// Makes room for `extra` more bytes, at least doubling, like
/// `Vec::reserve`, but overwriting the old buffer before it is freed
/// (growing in place would free it as it is).
fn reserve_overwriting(text: &mut Vec<u8>, extra: usize) {
    if text.capacity() - text.len() >= extra {
        return;
    }
    let mut grown = Vec::with_capacity((text.len() + extra).max(2 * text.capacity()));
    grown.extend_from_slice(text);
    text.zeroize();
    *text = grown;
}

/// What [`blocks_in_parallel`] starts: the workers' results, and the
/// reading thread.
type Parallel<'scope, T> = (
    mpsc::Receiver<(usize, T)>,
    std::thread::ScopedJoinHandle<'scope, anyhow::Result<()>>,
);

/// Reads `file` in blocks on one thread and runs `work` on each block on
/// `workers` threads (at a lower priority: see [`lower_priority`]). The
/// results come back on the receiver in any order, with their block's
/// number: [`InOrder`] puts them back in file order.
fn blocks_in_parallel<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    file: &'scope Path,
    workers: usize,
    name: &str,
    work: &'scope (dyn Fn(Block) -> T + Sync),
) -> anyhow::Result<Parallel<'scope, T>> {
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers * 2);
    let block_rx = Arc::new(std::sync::Mutex::new(block_rx));
    let (done_tx, done_rx) = mpsc::sync_channel(workers * 4);
    for _ in 0..workers {
        let (block_rx, done_tx) = (block_rx.clone(), done_tx.clone());
        named(name).spawn_scoped(scope, move || {
            lower_priority();
            loop {
                let block = block_rx.lock().expect("block queue").recv();
                let Ok(block) = block else { break };
                let seq = block.seq;
                if done_tx.send((seq, work(block))).is_err() {
                    break;
                }
            }
        })?;
    }
    let reader = named("import-read").spawn_scoped(scope, move || read_blocks(file, block_tx))?;
    Ok((done_rx, reader))
}

/// Hands results out in file order, whatever order the workers finish in.
struct InOrder<T> {
    next: usize,
    waiting: BTreeMap<usize, T>,
}

impl<T> InOrder<T> {
    fn new() -> InOrder<T> {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// Takes block `seq`'s result.
    fn push(&mut self, seq: usize, item: T) {
        self.waiting.insert(seq, item);
    }

    /// The next result in file order, once it has arrived.
    fn pop(&mut self) -> Option<T> {
        let item = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some(item)
    }

    /// Once every result has arrived: fails if one is still waiting for
    /// an earlier block that never came, rather than dropping the rest.
    fn finish(self) -> anyhow::Result<()> {
        match self.waiting.keys().next() {
            None => Ok(()),
            Some(seq) => bail!(
                "block {} of the file was never read, so block {seq} and after cannot be taken in order; nothing was imported",
                self.next
            ),
        }
    }
}

/// The lines of a block, numbered from 0 within it; `None` for a line
/// that is not UTF-8.
fn block_lines(text: &[u8]) -> impl Iterator<Item = (usize, Option<&str>)> {
    text.strip_suffix(b"\n")
        .unwrap_or(text)
        .split(|&b| b == b'\n')
        .map(|l| std::str::from_utf8(l).ok())
        .enumerate()
}

/// Parses and anonymises one block.
fn anonymise_block(
    block: Block,
    config: &Config,
    anonymiser: &Anonymiser,
    now: DateTime<Utc>,
) -> Done {
    let mut done = Done {
        bytes: block.text.len(),
        lines: 0,
        events: Vec::with_capacity(block.text.len() / 256),
        bots: 0,
        invalid: Vec::new(),
    };
    for (j, line) in block_lines(&block.text) {
        done.lines = j + 1;
        let Some(line) = line else {
            done.invalid.push((j, "not valid UTF-8".into()));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let (raw, site) = match parse_line(line, config, now) {
            Ok(x) => x,
            Err(why) => {
                done.invalid.push((j, why));
                continue;
            }
        };
        let site = &config.sites[site];
        let scope = config.visitor_scope(&site.host, raw.timestamp.date_naive());
        match anonymiser.anonymise(raw, site, &scope) {
            Ok(e) => done.events.push(e),
            Err(Rejection::Bot) => done.bots += 1,
            Err(Rejection::InvalidUrl(why)) => done.invalid.push((j, format!("url: {why}"))),
            Err(why) => done.invalid.push((j, why.to_string())),
        }
    }
    done
}

/// Lets the stages downstream of this thread run first when the cores are
/// all busy. Storing is the slowest stage: if it waits for a core behind
/// parsing, the queue into it fills and the end of the import is storing
/// alone on one core.
fn lower_priority() {
    // On Linux a nice value belongs to the calling thread alone. Failing
    // (it cannot, to lower one's own priority) would only cost speed.
    // SAFETY: setpriority takes plain integers and touches no memory.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// A thread builder with a name, so that `top` and profilers tell the stages apart.
fn named(name: &str) -> std::thread::Builder {
    std::thread::Builder::new().name(name.into())
}

/// Checks every line before anything is stored, for a store that cannot
/// take a load back (ClickHouse); the first bad line in the file is named.
fn check_file(
    file: &Path,
    config: &Config,
    now: DateTime<Utc>,
    workers: usize,
) -> anyhow::Result<()> {
    // (lines in the block, its first bad line and why).
    let check = |block: Block| -> (usize, Option<(usize, String)>) {
        let mut lines = 0;
        for (j, line) in block_lines(&block.text) {
            lines = j + 1;
            let Some(line) = line else {
                return (lines, Some((j, "not valid UTF-8".into())));
            };
            if line.trim().is_empty() {
                continue;
            }
            if let Err(why) = parse_line(line, config, now).and_then(|(raw, _)| {
                glasshouse_privacy::check_page_url(&raw.url).map_err(|why| format!("url: {why}"))
            }) {
                return (lines, Some((j, why)));
            }
        }
        (lines, None)
    };
    std::thread::scope(|scope| {
        let (checked, reader) = blocks_in_parallel(scope, file, workers, "import-check", &check)?;
        let (mut in_order, mut line) = (InOrder::new(), 1);
        for (seq, result) in checked {
            in_order.push(seq, result);
            while let Some((lines, bad)) = in_order.pop() {
                if let Some((j, why)) = bad {
                    bail!(
                        "{}:{}: {why}; nothing was imported",
                        file.display(),
                        line + j
                    );
                }
                line += lines;
            }
        }
        in_order.finish()?;
        reader.join().expect("reader thread")
    })
}

/// Imports `file` into the configured store: all of it or, when a line is
/// bad and `skip_invalid` is off, none of it.
pub fn import_file(
    config: &Config,
    file: &Path,
    skip_invalid: bool,
    progress: bool,
) -> anyhow::Result<Outcome> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let size = std::fs::metadata(file)
        .with_context(|| format!("opening {}", file.display()))?
        .len();
    let store = crate::runtime::open_store(config)?;
    store.set_zones(&config.site_zones());
    let mut load = store.bulk_load().context("starting the import")?;
    // Where the store cannot take a load back, the file is checked first.
    let abort_on_invalid = !skip_invalid && load.atomic();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(1);
    if !skip_invalid && !load.atomic() {
        check_file(file, config, now, workers)?;
    }
    let anonymiser = Anonymiser::new(
        Salts::ephemeral(clock.clone()),
        crate::runtime::open_geo(config)?,
    );
    let bar = if progress {
        ProgressBar::new(size)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {wide_bar} {bytes}/{total_bytes}  {msg}  eta {eta}",
        )
        .expect("valid template"),
    );
    let started = std::time::Instant::now();
    let mut outcome = Outcome::default();
    let mut stored_bytes = 0u64;
    let anonymise = |block: Block| anonymise_block(block, config, &anonymiser, now);
    let sequenced = std::thread::scope(|scope| -> anyhow::Result<()> {
        let (anonymised, reader) =
            blocks_in_parallel(scope, file, workers, "import-anonymise", &anonymise)?;
        // Puts blocks back in file order and assigns visits; the store
        // takes the result on this thread.
        let (stored_tx, stored_rx) = mpsc::sync_channel::<(Vec<StoredEvent>, usize)>(8);
        let bar = &bar;
        let sequencer =
            named("import-visits").spawn_scoped(scope, move || -> anyhow::Result<(u64, u64)> {
                let mut sessions = Sessionizer::default();
                let (mut line, mut bots, mut invalid) = (1, 0u64, 0u64);
                let mut in_order = InOrder::new();
                for (seq, done) in anonymised {
                    in_order.push(seq, done);
                    while let Some(done) = in_order.pop() {
                        for (j, why) in &done.invalid {
                            if abort_on_invalid {
                                bail!(
                                    "{}:{}: {why}; nothing was imported",
                                    file.display(),
                                    line + j
                                );
                            }
                            bar.suspend(|| {
                                eprintln!("skipped {}:{}: {why}", file.display(), line + j)
                            });
                        }
                        invalid += done.invalid.len() as u64;
                        bots += done.bots;
                        line += done.lines;
                        let stored = done
                            .events
                            .into_iter()
                            .map(|e| sessions.assign(e))
                            .collect();
                        if stored_tx.send((stored, done.bytes)).is_err() {
                            return Ok((bots, invalid));
                        }
                    }
                }
                in_order.finish()?;
                Ok((bots, invalid))
            })?;
        for (events, bytes) in stored_rx {
            outcome.stored += events.len() as u64;
            load.append(events).context("storing events")?;
            stored_bytes += bytes as u64;
            bar.set_position(stored_bytes);
            bar.set_message(format!(
                "{} events, {:.0}k/s",
                indicatif::HumanCount(outcome.stored),
                outcome.stored as f64 / started.elapsed().as_secs_f64().max(1e-9) / 1000.0
            ));
        }
        (outcome.bots, outcome.invalid) = sequencer.join().expect("sequencer thread")?;
        reader.join().expect("reader thread")?;
        Ok(())
    });
    // An error leaves the load uncommitted: dropping it takes it all back.
    sequenced?;
    load.commit().context("committing the import")?;
    store.checkpoint()?;
    bar.finish_and_clear();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Only {
        #[serde(deserialize_with = "timestamp")]
        t: DateTime<Utc>,
    }

    #[test]
    fn growing_a_block_keeps_its_text() {
        let mut text = b"partial line".to_vec();
        reserve_overwriting(&mut text, 100);
        assert_eq!(text, b"partial line");
        assert!(text.capacity() >= 112);
        let cap = text.capacity();
        reserve_overwriting(&mut text, 10);
        assert_eq!(text.capacity(), cap, "room enough: not moved");
        text.resize(cap, b'x');
        reserve_overwriting(&mut text, 1);
        assert!(text.capacity() >= 2 * cap, "grows by doubling");
        assert!(text.starts_with(b"partial line"));
    }

    #[test]
    fn timestamps_read_as_chrono_reads_them() {
        for text in [
            "2026-10-24T00:00:12+00:00",
            "2026-10-24T01:00:12+01:00",
            "2026-10-24T00:00:12.123456Z",
            "2026-10-24 00:00:12Z",
            "2026-10-23T19:00:12-05:00",
            "2026-10-24T00:00:12\\u002B00:00",
        ] {
            let line = format!("{{\"t\":\"{text}\"}}");
            let ours = serde_json::from_str::<Only>(&line).map(|o| o.t).unwrap();
            let chrono: DateTime<Utc> = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(ours, chrono, "{text}");
        }
        for bad in ["2026-10-24", "yesterday", "2026-13-01T00:00:00Z", ""] {
            let line = format!("{{\"t\":\"{bad}\"}}");
            assert!(serde_json::from_str::<Only>(&line).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Only>("{\"t\":12}").is_err());
    }
}
