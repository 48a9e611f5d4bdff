//! `glasshouse import`: the bulk path, through the same anonymisation as live
//! traffic.
//!
//! Each NDJSON line is one event as a server would have seen it: time, client
//! IP, User-Agent and the Events API body. Lines become `RawEvent`s, go
//! through the anonymiser (with *ephemeral* salts: one per day, made for this
//! import, never written, gone when it ends — so imported visitors can never
//! be linked to live ones) and then the ingest queue.
//!
//! The file is checked as a whole first: a bad line stops the import before
//! anything is stored, with a message naming the line and the field. With
//! `--skip-invalid`, bad lines are reported and skipped instead.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use glasshouse_model::{Clock, Config, SystemClock};
use glasshouse_privacy::{Anonymiser, RawEvent, Rejection, Revenue, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{Ingestor, Sessionizer};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

/// One line of an import file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLine {
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
}

#[derive(Deserialize)]
struct RevenueLine {
    amount: f64,
    currency: String,
}

fn yes() -> bool {
    true
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

const CHUNK: usize = 16_384;

/// Parses and checks one line; the error names the field.
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
    if l.name.is_empty() || l.name.chars().count() > 120 {
        return Err("name: must be 1 to 120 characters".into());
    }
    let parsed = url::Url::parse(&l.url).map_err(|e| format!("url: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("url: must be http or https".into());
    }
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
    if props.len() > 30 {
        return Err("props: more than 30 properties".into());
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
            timestamp: l.timestamp,
        },
        site,
    ))
}

/// `glasshouse import --config FILE NDJSON`.
pub fn run(config_path: &Path, file: &Path, skip_invalid: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
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

fn lines(file: &Path) -> anyhow::Result<impl Iterator<Item = std::io::Result<String>>> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    Ok(BufReader::with_capacity(1 << 20, f).lines())
}

/// Imports `file` into the configured store.
pub fn import_file(
    config: &Config,
    file: &Path,
    skip_invalid: bool,
    progress: bool,
) -> anyhow::Result<Outcome> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let mut total = 0u64;
    if !skip_invalid {
        for (i, line) in lines(file)?.enumerate() {
            let line =
                line.with_context(|| format!("{}:{}: cannot read", file.display(), i + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            if let Err(why) = parse_line(&line, config, now) {
                bail!("{}:{}: {why}; nothing was imported", file.display(), i + 1);
            }
            total += 1;
        }
    }
    let store = crate::runtime::open_store(config)?;
    let anonymiser = Arc::new(Anonymiser::new(
        Salts::ephemeral(clock.clone()),
        crate::runtime::open_geo(config)?,
    ));
    let ingestor = Ingestor::start(
        store.clone(),
        Sessionizer::default(),
        IngestOptions {
            max_batch: 100_000,
            capacity: 8,
        },
    );
    let bar = if progress && total > 0 {
        ProgressBar::new(total)
    } else if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
            .expect("valid template"),
    );

    let mut outcome = Outcome::default();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (work_tx, work_rx) = mpsc::sync_channel::<(usize, usize, Vec<String>)>(workers * 2);
        let work_rx = Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::sync_channel(workers * 2);
        for _ in 0..workers {
            let (work_rx, done_tx, anonymiser) =
                (work_rx.clone(), done_tx.clone(), anonymiser.clone());
            scope.spawn(move || loop {
                let job = work_rx.lock().expect("work queue").recv();
                let Ok((seq, first_line, chunk)) = job else {
                    break;
                };
                let mut events = Vec::with_capacity(chunk.len());
                let (mut bots, mut invalid) = (0u64, Vec::new());
                for (j, line) in chunk.iter().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let (raw, site) = match parse_line(line, config, now) {
                        Ok(x) => x,
                        Err(why) => {
                            invalid.push(format!("line {}: {why}", first_line + j));
                            continue;
                        }
                    };
                    let site = &config.sites[site];
                    let scope = config.visitor_scope(&site.host, raw.timestamp.date_naive());
                    match anonymiser.anonymise(raw, site, &scope) {
                        Ok(e) => events.push(e),
                        Err(Rejection::Bot) => bots += 1,
                        Err(why) => invalid.push(format!("line {}: {why}", first_line + j)),
                    }
                }
                if done_tx.send((seq, events, bots, invalid)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        // Feeds chunks in one thread while the main thread stores them in order.
        let feeder = scope.spawn(move || -> anyhow::Result<()> {
            let mut chunk = Vec::with_capacity(CHUNK);
            let (mut seq, mut first) = (0, 1);
            for (i, line) in lines(file)?.enumerate() {
                chunk.push(
                    line.with_context(|| format!("{}:{}: cannot read", file.display(), i + 1))?,
                );
                if chunk.len() == CHUNK {
                    work_tx.send((
                        seq,
                        first,
                        std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)),
                    ))?;
                    seq += 1;
                    first = i + 2;
                }
            }
            if !chunk.is_empty() {
                work_tx.send((seq, first, chunk))?;
            }
            Ok(())
        });
        let mut next = 0;
        let mut waiting = BTreeMap::new();
        for (seq, events, bots, invalid) in done_rx {
            waiting.insert(seq, (events, bots, invalid));
            while let Some((events, bots, invalid)) = waiting.remove(&next) {
                for why in &invalid {
                    bar.suspend(|| eprintln!("skipped {}: {why}", file.display()));
                }
                outcome.invalid += invalid.len() as u64;
                outcome.bots += bots;
                let n = events.len() as u64;
                ingestor.ingest_blocking(events).context("storing events")?;
                outcome.stored += n;
                bar.inc(n + bots + invalid.len() as u64);
                next += 1;
            }
        }
        feeder.join().expect("feeder thread")?;
        Ok(())
    })?;
    ingestor.shutdown();
    store.checkpoint()?;
    bar.finish_and_clear();
    Ok(outcome)
}
