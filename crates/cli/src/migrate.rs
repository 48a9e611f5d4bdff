//! `glasshouse migrate --from duckdb --to clickhouse://HOST:PORT/DATABASE`:
//! copies an installation's events and daily aggregates from the embedded
//! store to ClickHouse, with a progress bar, and can be resumed.
//!
//! Rows are read in `rowid` order in batches; each batch is written under an
//! id derived from the target and its first row, so a batch sent again after
//! an interruption is stored once (the ClickHouse store keeps batch ids).
//! After each batch the position is saved in
//! `DATA_DIR/migrate-<target>.json`; a later run continues from there. Stop
//! the server first: the DuckDB file must not change during a migration.

use anyhow::{bail, Context};
use glasshouse_model::{Config, StoreChoice};
use glasshouse_store::rollup;
use glasshouse_store::{ClickHouseConfig, ClickHouseStore, DuckStore, RollupRow, RowBatch, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BATCH: usize = 20_000;

#[derive(Default, Serialize, Deserialize)]
struct Progress {
    /// The last `rowid` copied.
    after: Option<u64>,
    /// Events copied so far.
    copied: u64,
}

/// Runs the migration.
pub fn run(config_path: &Path, from: &str, to: &str) -> anyhow::Result<()> {
    if from != "duckdb" {
        bail!("--from: only duckdb (the embedded store) can be migrated from");
    }
    let target = match StoreChoice::parse(to).map_err(|e| anyhow::anyhow!("--to: {e}"))? {
        StoreChoice::ClickHouse { url } => url,
        StoreChoice::DuckDb => bail!("--to: give a clickhouse://HOST:PORT/DATABASE URL"),
    };
    let described = StoreChoice::ClickHouse {
        url: target.clone(),
    }
    .describe();
    let config = Config::load(config_path)?;
    // The copy must not change while it is read: no server may hold the directory.
    let _dir = glasshouse_store::datadir::DataDir::lock(&config.data_dir)?;
    let source = DuckStore::open(&config.data_dir).with_context(|| {
        format!(
            "opening {} (stop the server first: the file must not change while it is copied)",
            config.data_dir.display()
        )
    })?;
    let sink = ClickHouseStore::open(ClickHouseConfig::from_url(&target)?)
        .with_context(|| format!("connecting to {described}"))?;
    let key = hex::encode(&Sha256::digest(described.as_bytes())[..8]);
    let progress_path = config.data_dir.join(format!("migrate-{key}.json"));
    let mut progress = read_progress(&progress_path)?;
    let total = source.count()?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .expect("a valid template"),
    );
    bar.set_position(progress.copied.min(total));
    if progress.copied > 0 {
        bar.println(format!(
            "resuming after {} events already copied",
            progress.copied
        ));
    }
    loop {
        let rows = source.scan_rows(progress.after, BATCH)?;
        let Some((last, _)) = rows.last() else { break };
        let last = *last;
        let first = rows[0].0;
        let id = u64::from_le_bytes(
            Sha256::digest(format!("{key}:{first}").as_bytes())[..8]
                .try_into()
                .expect("8 bytes"),
        );
        let n = rows.len() as u64;
        let batch = RowBatch {
            id,
            rows: rows.into_iter().map(|(_, r)| r).collect(),
        };
        sink.append_rows(std::slice::from_ref(&batch))
            .with_context(|| {
                format!("writing to {described}; run the same command again to resume")
            })?;
        progress.after = Some(last);
        progress.copied += n;
        write_progress(&progress_path, &progress)?;
        bar.inc(n);
    }
    bar.finish();
    let days = copy_aggregates(&config, &source, &sink)?;
    println!(
        "copied {} events and {days} days of aggregates from {} to {described}",
        progress.copied,
        config.data_dir.display()
    );
    println!(
        "to serve from it, add to {}:\n[store]\nbackend = \"clickhouse\"\nurl = \"{}\"",
        config_path.display(),
        described.trim_start_matches("ClickHouse at ")
    );
    Ok(())
}

/// Copies every site's daily aggregates, day by day (a day is replaced whole).
fn copy_aggregates(
    config: &Config,
    source: &DuckStore,
    sink: &ClickHouseStore,
) -> anyhow::Result<u64> {
    let (from, until) = rollup::all_days();
    let saved = glasshouse_store::saved::SavedFunnels::open(&config.data_dir)?;
    let mut days = 0;
    for site in &config.sites {
        let mut dims = rollup_keys();
        dims.extend(
            saved
                .of_site(&site.host)
                .iter()
                .map(|f| glasshouse_store::saved::daily_key(&f.steps)),
        );
        // The site's own roll-ups, then its imported history.
        for (key, dims) in [
            (site.host.clone(), dims),
            (glasshouse_store::imports::key(&site.host), rollup_keys()),
        ] {
            let mut by_day: BTreeMap<chrono::NaiveDate, Vec<RollupRow>> = BTreeMap::new();
            for dim in &dims {
                for row in source.read_rollup(&key, from, until, dim)? {
                    by_day.entry(row.day).or_default().push(row);
                }
            }
            for (day, rows) in by_day {
                sink.replace_rollup(&key, day, &rows)?;
                days += 1;
            }
        }
    }
    Ok(days)
}

/// Every property a day's roll-up keeps, with the corrections for visits
/// over its midnight (`rollup::over_midnight`).
fn rollup_keys() -> Vec<String> {
    let mut keys: Vec<String> = vec!["total".into()];
    keys.extend(rollup::dimensions().into_iter().map(|(k, _)| k.to_string()));
    let corrected: Vec<String> = keys
        .iter()
        .filter(|k| *k != "transition")
        .flat_map(|k| {
            [
                format!("{}{k}", rollup::WHOLE),
                format!("{}{k}", rollup::HALVES),
            ]
        })
        .collect();
    keys.extend(corrected);
    keys.push(format!("{}total", rollup::BEFORE));
    keys
}

fn read_progress(path: &PathBuf) -> anyhow::Result<Progress> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_progress(path: &Path, p: &Progress) -> anyhow::Result<()> {
    glasshouse_privacy::durable::replace(path, &serde_json::to_vec(p)?)
        .with_context(|| format!("writing {}", path.display()))
}
