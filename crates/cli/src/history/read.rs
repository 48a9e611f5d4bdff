//! Reads a directory of Plausible's CSV files into daily roll-up rows,
//! checking every line first: a bad file stops the import with its name,
//! line and column, before anything is stored.

use super::tables::{parse_file_name, Prop, Table, TABLES};
use anyhow::{bail, Context};
use chrono::NaiveDate;
use glasshouse_store::rollup::MAX_VALUES;
use glasshouse_store::RollupRow;
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One export file found in the directory.
struct File {
    path: PathBuf,
    table: &'static Table,
    first: NaiveDate,
    last: NaiveDate,
}

/// An export, read: rows per day, property and value.
pub struct History {
    rows: BTreeMap<(NaiveDate, Prop, String), RollupRow>,
    /// The first and last day the file names cover.
    pub first: NaiveDate,
    /// See `first`.
    pub last: NaiveDate,
    /// How many files were read.
    pub files: usize,
}

impl History {
    /// The rows of days in `[from, until)`, by day, with each property's
    /// values beyond a roll-up's [`MAX_VALUES`] summed into `(other)`, as
    /// the site's own roll-ups keep them.
    pub fn rows(&self, from: NaiveDate, until: NaiveDate) -> Vec<RollupRow> {
        let mut groups: BTreeMap<(NaiveDate, Prop), Vec<RollupRow>> = BTreeMap::new();
        for ((day, prop, _), row) in self.rows.range((from, Prop::Total, String::new())..) {
            if *day >= until {
                break;
            }
            groups.entry((*day, *prop)).or_default().push(row.clone());
        }
        let mut out = Vec::new();
        for (_, mut rows) in groups {
            if rows.len() > MAX_VALUES {
                rows.sort_by(|a, b| b.visitors.cmp(&a.visitors).then(a.value.cmp(&b.value)));
                let mut other = rows[MAX_VALUES].clone();
                other.value = "(other)".into();
                for r in rows.drain(MAX_VALUES..).skip(1) {
                    other.merge(&r);
                }
                rows.push(other);
            }
            out.extend(rows);
        }
        out
    }
}

/// The export files in `dir`, checked: known names, no two of one table
/// over the same days, and a visitors file.
fn find_files(dir: &Path) -> anyhow::Result<Vec<File>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".csv") {
            continue;
        }
        let Some((table, first, last)) = parse_file_name(name) else {
            let known: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            bail!(
                "{}: not a file of a Plausible export: expected imported_TABLE_YYYYMMDD_YYYYMMDD.csv, TABLE one of {}",
                path.display(),
                known.join(", ")
            );
        };
        if first > last {
            bail!(
                "{}: the first day in its name is after the last",
                path.display()
            );
        }
        files.push(File {
            path,
            table,
            first,
            last,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for (i, a) in files.iter().enumerate() {
        if let Some(b) = files[i + 1..]
            .iter()
            .find(|b| b.table.name == a.table.name && b.first <= a.last && a.first <= b.last)
        {
            bail!(
                "{} and {}: two {} files over the same days would count them twice",
                a.path.display(),
                b.path.display(),
                a.table.name
            );
        }
    }
    if !files.iter().any(|f| f.table.name == "visitors") {
        bail!(
            "{}: no imported_visitors_YYYYMMDD_YYYYMMDD.csv; the daily totals are needed",
            dir.display()
        );
    }
    Ok(files)
}

/// Reads every export file in `dir`; `dated_slugs` are the site's, for
/// scrubbing paths as live ones are.
pub fn read_dir(dir: &Path, dated_slugs: &[String], bar: &ProgressBar) -> anyhow::Result<History> {
    let files = find_files(dir)?;
    let mut size = 0;
    for f in &files {
        size += std::fs::metadata(&f.path)?.len();
    }
    bar.set_length(size);
    let mut history = History {
        rows: BTreeMap::new(),
        first: files
            .iter()
            .map(|f| f.first)
            .min()
            .expect("a visitors file"),
        last: files.iter().map(|f| f.last).max().expect("a visitors file"),
        files: files.len(),
    };
    let mut done = 0;
    for f in &files {
        bar.set_message(
            f.path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        read_file(f, dated_slugs, &mut history, |at| {
            bar.set_position(done + at)
        })?;
        done += std::fs::metadata(&f.path)?.len();
    }
    Ok(history)
}

/// Where each column of a file goes.
struct Columns {
    date: usize,
    keys: Vec<(usize, Prop)>,
    figures: Vec<(usize, &'static str)>,
    names: Vec<String>,
}

fn columns(f: &File, headers: &csv::StringRecord) -> anyhow::Result<Columns> {
    let t = f.table;
    let mut c = Columns {
        date: usize::MAX,
        keys: vec![],
        figures: vec![],
        names: headers.iter().map(str::to_string).collect(),
    };
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim();
        if name == "date" {
            c.date = i;
        } else if let Some((_, p)) = t.keys.iter().find(|(k, _)| *k == name) {
            c.keys.push((i, *p));
        } else if let Some(n) = t.required.iter().chain(t.optional).find(|n| **n == name) {
            c.figures.push((i, n));
        } else if !t.dropped.contains(&name) {
            bail!(
                "{}: line 1, column {} ({name}): not a column of Plausible's {} file",
                f.path.display(),
                i + 1,
                t.name
            );
        }
    }
    let missing = std::iter::once(&"date")
        .chain(t.keys.iter().map(|(k, _)| k).take(1))
        .chain(t.required)
        .find(|n| !c.names.iter().any(|h| h.trim() == **n));
    if let Some(n) = missing {
        bail!("{}: line 1: no column {n}", f.path.display());
    }
    Ok(c)
}

/// The figures of one line, by column name.
#[derive(Default)]
struct Figures(BTreeMap<&'static str, u64>);

impl Figures {
    fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }
}

fn read_file(
    f: &File,
    dated_slugs: &[String],
    history: &mut History,
    progress: impl Fn(u64),
) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(&f.path).with_context(|| format!("reading {}", f.path.display()))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(std::io::BufReader::new(file));
    let headers = reader
        .headers()
        .with_context(|| format!("{}: line 1", f.path.display()))?
        .clone();
    let cols = columns(f, &headers)?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bail!("{}: line {line}: {e}", f.path.display());
            }
        }
        let (day, figures, keys) = read_line(f, &cols, &record, dated_slugs)?;
        if f.table.keys.is_empty() {
            add(history, day, Prop::Total, String::new(), &figures, f.table);
            let pageviews = "pageview".to_string();
            add(history, day, Prop::Name, pageviews, &figures, f.table);
        }
        if f.table.name == "custom_events" && !keys.is_empty() {
            let mut events = Figures::default();
            events.0.insert("events", figures.get("events"));
            add(history, day, Prop::Total, String::new(), &events, f.table);
        }
        for (prop, value) in keys {
            add(history, day, prop, value, &figures, f.table);
        }
        if record
            .position()
            .is_some_and(|p| p.line().is_multiple_of(4096))
        {
            progress(record.position().map_or(0, |p| p.byte()));
        }
    }
    Ok(())
}

/// One line, read: its day, figures and property values.
type Line = (NaiveDate, Figures, Vec<(Prop, String)>);

/// One line, checked.
fn read_line(
    f: &File,
    cols: &Columns,
    record: &csv::StringRecord,
    dated_slugs: &[String],
) -> anyhow::Result<Line> {
    let line = record.position().map_or(0, |p| p.line());
    let at = |i: usize, why: String| {
        anyhow::anyhow!(
            "{}: line {line}, column {} ({}): {why}",
            f.path.display(),
            i + 1,
            cols.names.get(i).map_or("", |s| s.as_str())
        )
    };
    let cell = |i: usize| record.get(i).unwrap_or("").trim();
    let text = cell(cols.date);
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| at(cols.date, format!("not a date (YYYY-MM-DD): {text:?}")))?;
    if day < f.first || day > f.last {
        let why = format!(
            "{day} is outside the days the file's name covers ({} to {})",
            f.first, f.last
        );
        return Err(at(cols.date, why));
    }
    let mut figures = Figures::default();
    for (i, name) in &cols.figures {
        let text = cell(*i);
        if text.is_empty() && !f.table.required.contains(name) {
            continue;
        }
        let n = text
            .parse::<u64>()
            .map_err(|_| at(*i, format!("not a whole number of at least 0: {text:?}")))?;
        figures.0.insert(name, n);
    }
    let mut keys = Vec::new();
    for (i, prop) in &cols.keys {
        if let Some(v) = prop
            .value(cell(*i), dated_slugs)
            .map_err(|why| at(*i, why))?
        {
            keys.push((*prop, v));
        }
    }
    Ok((day, figures, keys))
}

/// Adds one line's figures to the row of (day, property, value).
fn add(history: &mut History, day: NaiveDate, prop: Prop, value: String, f: &Figures, t: &Table) {
    let row = history
        .rows
        .entry((day, prop, value.clone()))
        .or_insert_with(|| RollupRow::zero("", day, prop.key(), &value));
    let custom = t.name == "custom_events";
    if prop == Prop::Total && custom {
        row.events += f.get("events");
        return;
    }
    row.visitors += f.get("visitors");
    row.visits += f.get("visits") + f.get("entrances") + f.get("exits");
    row.pageviews += f.get("pageviews");
    row.events += if custom {
        f.get("events")
    } else {
        f.get("pageviews")
    };
    row.bounces += f.get("bounces");
    row.duration_sum += f.get("visit_duration") as f64;
    // Scroll depth and time on page are each a sum over the visits that
    // reported it; glasshouse keeps one count of engaged visitors for both,
    // so the scrolling visits are that count (the scroll depth's mean is
    // Plausible's) and each line's time is scaled to them (the time's mean
    // is Plausible's per line, and weighted by scrolling visits over days).
    let scrolled = f.get("total_scroll_depth_visits") + f.get("pageleave_visitors");
    let scroll = f.get("total_scroll_depth") + f.get("scroll_depth");
    let (timed, seconds) = (
        f.get("total_time_on_page_visits"),
        f.get("total_time_on_page"),
    );
    if scrolled > 0 {
        row.engaged += scrolled;
        row.scroll_sum += scroll as f64;
        if timed > 0 {
            row.engaged_seconds += seconds as f64 * scrolled as f64 / timed as f64;
        }
    }
}
