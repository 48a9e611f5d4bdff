//! The demo's Plausible history: each demo site comes with eleven months of
//! history from Plausible before its own thirty days, as a site that moved
//! would (the Scottish and Welsh governments use Plausible), so that the
//! dashboard shows what an imported history looks like. The export is written in
//! Plausible's own CSV format (its file names and headers), with the shares
//! of the demo's own traffic and a day-of-week rhythm, and then imported by
//! the same code as `glasshouse import-history`.

use chrono::{Datelike, Duration, NaiveDate};
use glasshouse_model::query::{day_of, Dimension, Metric, Query};
use glasshouse_model::{Clock, Config, Site, SystemClock};
use glasshouse_store::{Store, Totals};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// Days of history before the demo's own.
const DAYS: i64 = 335;

/// Relative traffic per weekday, Monday first.
const WEEKDAY: [f64; 7] = [1.1, 1.08, 1.05, 1.02, 0.95, 0.65, 0.7];

/// Writes and imports the history of each site.
pub fn import(config: &Config, dir: &Path) -> anyhow::Result<Vec<String>> {
    let store = crate::runtime::open_store(config)?;
    let mut said = Vec::new();
    for site in &config.sites {
        let export = dir.join(format!("plausible-export-{}", site.host));
        std::fs::create_dir_all(&export)?;
        if write_export(store.as_ref(), site, &export)? {
            said.extend(crate::history::import_dir(store.as_ref(), site, &export)?);
        }
    }
    Ok(said)
}

/// What the export is made from: the demo's own figures of a site over
/// its full days, and the history's days with their share of a mean day.
struct Export<'a> {
    store: &'a dyn Store,
    query: Query,
    /// Full days the demo's figures cover.
    days: f64,
    factors: Vec<(NaiveDate, f64)>,
    /// `imported_TABLE_{span}.csv`.
    span: String,
    dir: &'a Path,
}

/// The figures of visits every session-level file carries, in order.
const VISIT_COLUMNS: [&str; 5] = [
    "visitors",
    "visits",
    "pageviews",
    "bounces",
    "visit_duration",
];

impl Export<'_> {
    fn rows(&self, by: &Dimension) -> anyhow::Result<Vec<(String, Totals)>> {
        Ok(self.store.breakdown(&self.query, by, 50, 0)?)
    }

    fn writer(&self, table: &str, header: &[&str]) -> anyhow::Result<csv::Writer<std::fs::File>> {
        let path = self.dir.join(format!("imported_{table}_{}.csv", self.span));
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(header)?;
        Ok(w)
    }

    /// One line's figures: a share of the demo's mean day, scaled by `f`.
    fn figures(&self, t: &Totals, f: f64) -> [u64; 5] {
        let per = |x: f64| (x / self.days * f).round() as u64;
        let visits = per(t.visits as f64);
        [
            per(t.visitors as f64),
            visits,
            per(t.pageviews as f64),
            (t.bounce_rate / 100.0 * visits as f64).round() as u64,
            (t.visit_duration * visits as f64).round() as u64,
        ]
    }

    fn visitors(&self) -> anyhow::Result<()> {
        let total = self.store.aggregate(&self.query)?;
        let mut w = self.writer(
            "visitors",
            &[
                "date",
                "visitors",
                "pageviews",
                "bounces",
                "visits",
                "visit_duration",
            ],
        )?;
        for (day, f) in &self.factors {
            let [v, vi, pv, b, d] = self.figures(&total, *f);
            w.write_record([
                day.to_string(),
                v.to_string(),
                pv.to_string(),
                b.to_string(),
                vi.to_string(),
                d.to_string(),
            ])?;
        }
        Ok(w.flush()?)
    }

    /// A session-level file: key columns, then [`VISIT_COLUMNS`].
    fn sessions(&self, table: &str, keys: &[&str], by: Dimension) -> anyhow::Result<()> {
        let rows = self.rows(&by)?;
        let mut header = vec!["date"];
        header.extend_from_slice(keys);
        header.extend_from_slice(&VISIT_COLUMNS);
        let mut w = self.writer(table, &header)?;
        for (day, f) in &self.factors {
            for (value, t) in &rows {
                let mut line = vec![day.to_string()];
                line.extend(key_cells(table, value, keys.len()));
                line.extend(self.figures(t, *f).map(|n| n.to_string()));
                w.write_record(&line)?;
            }
        }
        Ok(w.flush()?)
    }

    fn pages(&self, host: &str) -> anyhow::Result<()> {
        let pages = self.rows(&Dimension::Page)?;
        let mut w = self.writer(
            "pages",
            &[
                "date",
                "hostname",
                "page",
                "visits",
                "visitors",
                "pageviews",
                "total_scroll_depth",
                "total_scroll_depth_visits",
                "total_time_on_page",
                "total_time_on_page_visits",
            ],
        )?;
        for (day, f) in &self.factors {
            for (page, t) in &pages {
                let [v, vi, pv, _, _] = self.figures(t, *f);
                let engaged = v / 2;
                let depth = (t.scroll_depth.unwrap_or(0.0) * engaged as f64).round() as u64;
                let seconds = (t.time_on_page.unwrap_or(0.0) * engaged as f64).round() as u64;
                w.write_record([
                    day.to_string(),
                    host.to_string(),
                    page.clone(),
                    vi.to_string(),
                    v.to_string(),
                    pv.to_string(),
                    depth.to_string(),
                    engaged.to_string(),
                    seconds.to_string(),
                    engaged.to_string(),
                ])?;
            }
        }
        Ok(w.flush()?)
    }

    /// Entry or exit pages: `visits` are `key` (entrances, exits).
    fn ends(&self, table: &str, by: Dimension, key: &str) -> anyhow::Result<()> {
        let rows = self.rows(&by)?;
        let name = &table[..table.len() - 1];
        let mut w = self.writer(
            table,
            &[
                "date",
                name,
                "visitors",
                key,
                "visit_duration",
                "bounces",
                "pageviews",
            ],
        )?;
        for (day, f) in &self.factors {
            for (page, t) in &rows {
                let [v, vi, pv, b, d] = self.figures(t, *f);
                w.write_record([
                    day.to_string(),
                    page.clone(),
                    v.to_string(),
                    vi.to_string(),
                    d.to_string(),
                    b.to_string(),
                    pv.to_string(),
                ])?;
            }
        }
        Ok(w.flush()?)
    }

    fn custom_events(&self) -> anyhow::Result<()> {
        let events = self.rows(&Dimension::EventName)?;
        let mut w = self.writer(
            "custom_events",
            &["date", "name", "link_url", "path", "visitors", "events"],
        )?;
        for (day, f) in &self.factors {
            for (name, t) in events.iter().filter(|(n, _)| n != "pageview") {
                let per = |x: u64| (x as f64 / self.days * f).round() as u64;
                w.write_record([
                    day.to_string(),
                    name.clone(),
                    String::new(),
                    String::new(),
                    per(t.visitors).to_string(),
                    per(t.events).to_string(),
                ])?;
            }
        }
        Ok(w.flush()?)
    }
}

/// Writes the export files; false when the site has no traffic to copy.
fn write_export(store: &dyn Store, site: &Site, dir: &Path) -> anyhow::Result<bool> {
    let Some(oldest) = store.oldest_event(&site.host)? else {
        return Ok(false);
    };
    // The demo's first day is partial: shares come from the full days after it.
    let own_from = day_of(oldest, site.timezone);
    let first = own_from + Duration::days(1);
    let today = day_of(SystemClock.now(), site.timezone);
    let range = glasshouse_model::query::DateRange {
        first,
        last: today - Duration::days(1),
    };
    let metrics = [
        &Metric::COUNTS[..],
        &[Metric::ScrollDepth, Metric::TimeOnPage],
    ]
    .concat();
    let start = own_from - Duration::days(DAYS);
    let mut rng = StdRng::seed_from_u64(0x5c07 ^ site.host.len() as u64);
    let export = Export {
        store,
        query: Query::for_range_in(&site.host, range, site.timezone, metrics, vec![]),
        days: (today - first).num_days().max(1) as f64,
        factors: (0..DAYS)
            .map(|i| {
                let day = start + Duration::days(i);
                let trend = 0.75 + 0.25 * i as f64 / DAYS as f64;
                let weekday = WEEKDAY[day.weekday().num_days_from_monday() as usize];
                (day, trend * weekday * rng.gen_range(0.93..1.07))
            })
            .collect(),
        span: format!(
            "{}_{}",
            start.format("%Y%m%d"),
            (own_from - Duration::days(1)).format("%Y%m%d")
        ),
        dir,
    };
    export.visitors()?;
    export.sessions(
        "sources",
        &[
            "source",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_content",
            "utm_term",
        ],
        Dimension::Source,
    )?;
    export.sessions("devices", &["device"], Dimension::Device)?;
    export.sessions(
        "browsers",
        &["browser", "browser_version"],
        Dimension::Browser,
    )?;
    export.sessions(
        "operating_systems",
        &["operating_system", "operating_system_version"],
        Dimension::Os,
    )?;
    export.sessions(
        "locations",
        &["country", "region", "city"],
        Dimension::Region,
    )?;
    export.pages(&site.host)?;
    export.ends("entry_pages", Dimension::EntryPage, "entrances")?;
    export.ends("exit_pages", Dimension::ExitPage, "exits")?;
    export.custom_events()?;
    Ok(true)
}

/// The key cells of one line of `table` for the demo's `value`.
fn key_cells(table: &str, value: &str, n: usize) -> Vec<String> {
    let mut cells = vec![String::new(); n];
    match table {
        // Plausible writes no source as an empty cell.
        "sources" if value == glasshouse_store::sql::DIRECT => {}
        "locations" => {
            cells[0] = value.split('-').next().unwrap_or("").to_string();
            cells[1] = value.to_string();
            cells[2] = "0".into();
        }
        _ => cells[0] = value.to_string(),
    }
    cells
}
