//! `glasshouse import-history`: a site's history from Plausible's CSV
//! export, kept as daily aggregates in the roll-up tier and marked as
//! imported (`glasshouse_store::imports`), so that a team moving from
//! Plausible keeps its past years.
//!
//! Every file is read and checked before anything is stored (a bad line
//! stops the import with file, line and column), then the days are written
//! at once: one transaction on DuckDB, one version on ClickHouse. Importing
//! again replaces the days the files cover, so the same files imported
//! twice count once; `--delete` takes the whole imported history back.
//!
//! Only days before the site's own data starts are imported (as Plausible
//! does), so no day is counted from both; nor are days older than the
//! site's `aggregate_retention_days`, which retention would delete.

mod read;
pub mod tables;

use anyhow::{bail, Context};
use chrono::{Duration, NaiveDate};
use glasshouse_model::query::day_of;
use glasshouse_model::{Clock, Config, Site, SystemClock};
use glasshouse_store::{imports, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// `glasshouse import-history --config FILE --site HOST DIR`, or `--delete`.
pub fn run(config_path: &Path, host: &str, dir: Option<&Path>, delete: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let site = config.site(host).with_context(|| {
        format!(
            "--site: {} names no site called {host}",
            config_path.display()
        )
    })?;
    // One writer per data directory.
    let _dir = glasshouse_store::datadir::DataDir::lock(&config.data_dir)?;
    let store = crate::runtime::open_store(&config)?;
    if delete {
        let days = imports::delete(store.as_ref(), host)?;
        println!("deleted the imported history of {host}: {days} days");
        return Ok(());
    }
    let Some(dir) = dir else {
        bail!("DIR: the directory holding the export's CSV files is needed (or --delete)");
    };
    for line in import_dir(store.as_ref(), site, dir)? {
        println!("{line}");
    }
    Ok(())
}

/// Imports the export in `dir` as `site`'s history (the caller holds the
/// data directory); returns what to tell the user.
pub fn import_dir(store: &dyn Store, site: &Site, dir: &Path) -> anyhow::Result<Vec<String>> {
    let host = &site.host;
    let bar = progress();
    let history = read::read_dir(dir, &site.dated_slugs, &bar)?;
    bar.finish_and_clear();
    let today = day_of(SystemClock.now(), site.timezone);
    let (from, until, notes) = days_to_import(store, site, &history, today)?;
    let mut rows = history.rows(from, until);
    let days = rows.iter().filter(|r| r.dim == "total").count();
    let visitors: u64 = rows
        .iter()
        .filter(|r| r.dim == "total")
        .map(|r| r.visitors)
        .sum();
    let spinner = ProgressBar::new_spinner().with_message(format!("storing {days} days"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    imports::replace(store, host, (from, until), &mut rows)?;
    spinner.finish_and_clear();
    let mut out = vec![format!(
        "imported {days} days of {host} ({from} to {}) from {} files: {visitors} visitors in all, {} rows",
        until - Duration::days(1),
        history.files,
        rows.len()
    )];
    out.extend(notes);
    Ok(out)
}

/// A progress bar over the bytes of the files, on a terminal only.
fn progress() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("reading {wide_bar} {bytes}/{total_bytes}  {msg}")
            .expect("valid template"),
    );
    bar
}

/// The days `[from, until)` of the export to store, and what was left out.
fn days_to_import(
    store: &dyn Store,
    site: &Site,
    history: &read::History,
    today: NaiveDate,
) -> anyhow::Result<(NaiveDate, NaiveDate, Vec<String>)> {
    let mut notes = Vec::new();
    let mut from = history.first;
    let mut until = history.last + Duration::days(1);
    let kept_from = today - Duration::days(i64::from(site.aggregate_retention_days));
    if from < kept_from {
        notes.push(format!(
            "days before {kept_from} left out: the site keeps daily aggregates for {} days (aggregate_retention_days)",
            site.aggregate_retention_days
        ));
        from = kept_from;
    }
    if let Some(own) = own_data_starts(store, &site.host, site.timezone)? {
        if own < until {
            notes.push(format!(
                "days from {own} on left out: glasshouse has the site's own data from then, and a day is counted from one source only"
            ));
            until = own;
        }
    }
    if from >= until {
        bail!(
            "nothing to import: the files cover {} to {}, and none of those days can be ({})",
            history.first,
            history.last,
            notes.join("; ")
        );
    }
    Ok((from, until, notes))
}

/// The first day the site has data of its own: raw events or roll-ups.
fn own_data_starts(
    store: &dyn Store,
    site: &str,
    tz: glasshouse_model::query::Tz,
) -> anyhow::Result<Option<NaiveDate>> {
    let raw = store.oldest_event(site)?.map(|t| day_of(t, tz));
    let (first, last) = glasshouse_store::rollup::all_days();
    let until = raw.unwrap_or(last);
    let rolled = store
        .read_rollup(site, first, until, "total")?
        .first()
        .map(|r| r.day);
    Ok(rolled.or(raw))
}
