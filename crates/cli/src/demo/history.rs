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

/// The demo's own figures of `site` per value of `by`, over its full days.
struct Own {
    query: Query,
    days: f64,
}

impl Own {
    fn rows(&self, store: &dyn Store, by: &Dimension) -> anyhow::Result<Vec<(String, Totals)>> {
        Ok(store.breakdown(&self.query, by, 50, 0)?)
    }
}

/// One line's figures: a share of the demo's mean day, scaled by `f`.
fn figures(t: &Totals, days: f64, f: f64) -> [u64; 5] {
    let per = |x: f64| (x / days * f).round() as u64;
    let visits = per(t.visits as f64);
    [
        per(t.visitors as f64),
        visits,
        per(t.pageviews as f64),
        (t.bounce_rate / 100.0 * visits as f64).round() as u64,
        (t.visit_duration * visits as f64).round() as u64,
    ]
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
    let own = Own {
        query: Query::for_range_in(
            &site.host,
            glasshouse_model::query::DateRange {
                first,
                last: today - Duration::days(1),
            },
            site.timezone,
            [
                &Metric::COUNTS[..],
                &[Metric::ScrollDepth, Metric::TimeOnPage],
            ]
            .concat(),
            vec![],
        ),
        days: (today - first).num_days().max(1) as f64,
    };
    let start = own_from - Duration::days(DAYS);
    let mut rng = StdRng::seed_from_u64(0x5c07 ^ site.host.len() as u64);
    let factors: Vec<(NaiveDate, f64)> = (0..DAYS)
        .map(|i| {
            let day = start + Duration::days(i);
            let trend = 0.75 + 0.25 * i as f64 / DAYS as f64;
            let weekday = WEEKDAY[day.weekday().num_days_from_monday() as usize];
            (day, trend * weekday * rng.gen_range(0.93..1.07))
        })
        .collect();
    let span = format!(
        "{}_{}",
        start.format("%Y%m%d"),
        (own_from - Duration::days(1)).format("%Y%m%d")
    );
    let file = |table: &str| dir.join(format!("imported_{table}_{span}.csv"));
    let visit_cols = [
        "visitors",
        "visits",
        "pageviews",
        "bounces",
        "visit_duration",
    ];

    let total = store.aggregate(&own.query)?;
    let mut w = csv::Writer::from_path(file("visitors"))?;
    w.write_record([
        "date",
        "visitors",
        "pageviews",
        "bounces",
        "visits",
        "visit_duration",
    ])?;
    for (day, f) in &factors {
        let [v, vi, pv, b, d] = figures(&total, own.days, *f);
        w.write_record([
            day.to_string(),
            v.to_string(),
            pv.to_string(),
            b.to_string(),
            vi.to_string(),
            d.to_string(),
        ])?;
    }
    w.flush()?;

    // Session tables: (table, key columns before the figures, property, how a value is written).
    let simple: [(&str, &[&str], Dimension); 5] = [
        (
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
        ),
        ("devices", &["device"], Dimension::Device),
        (
            "browsers",
            &["browser", "browser_version"],
            Dimension::Browser,
        ),
        (
            "operating_systems",
            &["operating_system", "operating_system_version"],
            Dimension::Os,
        ),
        (
            "locations",
            &["country", "region", "city"],
            Dimension::Region,
        ),
    ];
    for (table, keys, by) in simple {
        let rows = own.rows(store, &by)?;
        let mut w = csv::Writer::from_path(file(table))?;
        let mut header = vec!["date"];
        header.extend_from_slice(keys);
        header.extend_from_slice(&visit_cols);
        w.write_record(&header)?;
        for (day, f) in &factors {
            for (value, t) in &rows {
                let mut line = vec![day.to_string()];
                line.extend(key_cells(table, value, keys.len()));
                line.extend(figures(t, own.days, *f).map(|n| n.to_string()));
                w.write_record(&line)?;
            }
        }
        w.flush()?;
    }

    let pages = own.rows(store, &Dimension::Page)?;
    let mut w = csv::Writer::from_path(file("pages"))?;
    w.write_record([
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
    ])?;
    for (day, f) in &factors {
        for (page, t) in &pages {
            let [v, vi, pv, _, _] = figures(t, own.days, *f);
            let engaged = v / 2;
            let depth = (t.scroll_depth.unwrap_or(0.0) * engaged as f64).round() as u64;
            let seconds = (t.time_on_page.unwrap_or(0.0) * engaged as f64).round() as u64;
            w.write_record([
                day.to_string(),
                site.host.clone(),
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
    w.flush()?;

    for (table, by, key) in [
        ("entry_pages", Dimension::EntryPage, "entrances"),
        ("exit_pages", Dimension::ExitPage, "exits"),
    ] {
        let rows = own.rows(store, &by)?;
        let mut w = csv::Writer::from_path(file(table))?;
        let name = &table[..table.len() - 1];
        w.write_record([
            "date",
            name,
            "visitors",
            key,
            "visit_duration",
            "bounces",
            "pageviews",
        ])?;
        for (day, f) in &factors {
            for (page, t) in &rows {
                let [v, vi, pv, b, d] = figures(t, own.days, *f);
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
        w.flush()?;
    }

    let events = own.rows(store, &Dimension::EventName)?;
    let mut w = csv::Writer::from_path(file("custom_events"))?;
    w.write_record(["date", "name", "link_url", "path", "visitors", "events"])?;
    for (day, f) in &factors {
        for (name, t) in events.iter().filter(|(n, _)| n != "pageview") {
            let per = |x: u64| (x as f64 / own.days * f).round() as u64;
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
    w.flush()?;
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
