//! `glasshouse-bench`: the benchmark harness (docs/benchmarks.md has the
//! figures and the commands).
//!
//! - `load`: fills a data directory with N events over D days for three
//!   sites, through the anonymiser and the ingest queue (the real path).
//! - `ndjson`: writes N events as an import file, for timing `glasshouse import`.
//! - `queries`: times the dashboard's overview queries on a data directory.

mod gen;
mod psi;

use anyhow::Context;
use chrono::Duration;
use clap::{Parser, Subcommand};
use glasshouse_model::journey::{FunnelQuery, FunnelStep, PathQuery};
use glasshouse_model::query::{DateRange, Dimension, Filter, Interval, Metric, Query};
use glasshouse_model::{Clock, Site, SystemClock};
use glasshouse_privacy::{Anonymiser, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{DuckStore, Ingestor, Sessionizer, Store};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill DIR with generated events through the anonymiser and ingest queue.
    Load {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// clickhouse://HOST:PORT/DATABASE instead of DuckDB in DIR.
        #[arg(long)]
        store: Option<String>,
        /// Follow each page view with its engagement event (not counted in --events).
        #[arg(long)]
        engagement: bool,
    },
    /// Write generated events as NDJSON for `glasshouse import`.
    Ndjson {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2_000_000)]
        events: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Time the store's append alone, for several batch sizes.
    Append {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        events: usize,
    },
    /// Time a private set intersection between two nodes' sets.
    Psi {
        /// Elements of the counting node.
        #[arg(long, default_value_t = 100_000)]
        a: usize,
        /// Elements of its partner.
        #[arg(long, default_value_t = 1_000_000)]
        b: usize,
    },
    /// Time the overview queries (aggregate, timeseries, top pages, top sources).
    Queries {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "www.gov.uk")]
        site: String,
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// clickhouse://HOST:PORT/DATABASE instead of DuckDB in DIR.
        #[arg(long)]
        store: Option<String>,
        /// Only the questions as the Stats API serves them (fresh roll-ups
        /// for closed days): the raw-events cases take minutes on large sets.
        #[arg(long)]
        served_only: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Load {
            data,
            events,
            days,
            store,
            engagement,
        } => {
            let today = SystemClock.now().date_naive();
            load(
                open_store(&data, store.as_deref())?,
                events,
                days,
                engagement,
            )?;
            std::fs::create_dir_all(&data)?;
            std::fs::write(data.join(LOADED_ON), today.to_string())?;
            Ok(())
        }
        Command::Ndjson { out, events, days } => ndjson(out, events, days),
        Command::Queries {
            data,
            site,
            runs,
            store,
            served_only,
        } => {
            let today = loaded_on(&data)?;
            // Only the DuckDB store keeps roll-up reads between questions.
            let kept = store.is_none();
            let store = open_store(&data, store.as_deref())?;
            queries(store, &site, runs, today, (served_only, kept))
        }
        Command::Append { data, events } => append(data, events),
        Command::Psi { a, b } => psi::run(a, b),
    }
}

fn site(host: &str) -> Site {
    Site {
        host: host.into(),
        organisation: "bench".into(),
        query_params: vec!["q".into()],
        props: None,
        raw_retention_days: 400,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    }
}

/// DuckDB in `data`, or the ClickHouse server at `url`.
fn open_store(data: &std::path::Path, url: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match url {
        None => Arc::new(DuckStore::open(data).context("opening the store")?),
        Some(url) => Arc::new(
            glasshouse_store::ClickHouseStore::open(glasshouse_store::ClickHouseConfig::from_url(
                url,
            )?)
            .context("connecting to ClickHouse")?,
        ),
    })
}

fn load(store: Arc<dyn Store>, events: u64, days: u32, engagement: bool) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let anonymiser = Arc::new(Anonymiser::new(Salts::ephemeral(clock.clone()), None));
    let ingestor = Ingestor::start(
        store.clone(),
        Sessionizer::default(),
        IngestOptions {
            max_batch: 200_000,
            capacity: 4,
        },
    );
    let sites = [
        site("www.gov.uk"),
        site("www.mygov.scot"),
        site("gov.wales"),
    ];
    let started = Instant::now();
    let mut stored = 0u64;
    let now = clock.now();
    for day in (0..days).rev() {
        let date = (now - Duration::days(day as i64)).date_naive();
        let raws = gen::day(date, events / days as u64, day as u64, engagement);
        // Anonymise on every core; order is kept so visits assemble correctly.
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let chunk = raws.len().div_ceil(threads).max(1);
        let mut rest = raws.into_iter();
        let mut chunks = Vec::new();
        loop {
            let part: Vec<_> = rest.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            chunks.push(part);
        }
        let parts: Vec<Vec<_>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|part| {
                    let (anonymiser, sites) = (anonymiser.clone(), &sites);
                    s.spawn(move || {
                        part.into_iter()
                            .filter_map(|(i, raw)| {
                                // As in the demo, www.gov.uk and gov.wales link journeys.
                                let scope = match sites[i].host.as_str() {
                                    "www.gov.uk" | "gov.wales" => "agreement:gov-uk-gov-wales",
                                    other => other,
                                };
                                anonymiser.anonymise(raw, &sites[i], scope).ok()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker"))
                .collect()
        });
        for part in parts {
            stored += part.len() as u64;
            ingestor.ingest_blocking(part)?;
        }
        eprint!("\rloaded {stored} events");
    }
    ingestor.shutdown();
    store.checkpoint()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\nloaded {stored} events in {secs:.1} s ({:.0} events/s, generation included)",
        stored as f64 / secs
    );
    Ok(())
}

fn append(data: PathBuf, events: usize) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = DuckStore::open(&data)?;
    let anonymiser = Anonymiser::new(Salts::ephemeral(clock.clone()), None);
    let sites = [
        site("www.gov.uk"),
        site("www.mygov.scot"),
        site("gov.wales"),
    ];
    let mut sessions = Sessionizer::default();
    let started = Instant::now();
    let rows: Vec<_> = gen::day(clock.now().date_naive(), events as u64, 1, false)
        .into_iter()
        .filter_map(|(i, raw)| anonymiser.anonymise(raw, &sites[i], &sites[i].host).ok())
        .map(|e| sessions.assign(e))
        .collect();
    let prep = started.elapsed().as_secs_f64();
    println!(
        "generated, anonymised and assigned {} events in {prep:.2} s ({:.1} µs each)",
        rows.len(),
        prep * 1e6 / rows.len() as f64
    );
    println!(
        "{:>8} {:>12} {:>14} {:>12}",
        "batch", "batches", "µs per batch", "events/s"
    );
    for batch in [1usize, 16, 64, 256, 1024, 8192, 65536] {
        let take = rows.len().min(batch * 200).max(batch);
        let t = Instant::now();
        let mut n = 0;
        for chunk in rows[..take].chunks(batch) {
            store.append(chunk)?;
            n += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{batch:>8} {n:>12} {:>14.0} {:>12.0}",
            secs * 1e6 / n as f64,
            take as f64 / secs
        );
    }
    Ok(())
}

fn ndjson(out: PathBuf, events: u64, days: u32) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let now = SystemClock.now();
    let hosts = ["www.gov.uk", "www.mygov.scot", "gov.wales"];
    let mut n = 0u64;
    for day in (0..days).rev() {
        let date = (now - Duration::days(day as i64 + 1)).date_naive();
        for (i, raw) in gen::day(date, events / days as u64, day as u64, false) {
            let props: serde_json::Map<String, serde_json::Value> = raw
                .props
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let line = serde_json::json!({
                "timestamp": raw.timestamp.to_rfc3339(), "ip": raw.ip.to_string(), "user_agent": raw.user_agent,
                "name": raw.name, "url": raw.url, "domain": hosts[i], "referrer": raw.referrer, "props": props,
            });
            serde_json::to_writer(&mut w, &line)?;
            w.write_all(b"\n")?;
            n += 1;
        }
    }
    w.flush()?;
    println!("wrote {n} events to {}", out.display());
    Ok(())
}

fn time<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(runs);
    f()?; // warm the cache, as a dashboard that is in use has it
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    Ok((ms[ms.len() / 2], ms[ms.len() - 1]))
}

/// Milliseconds of `f` just after a roll-up was written (an empty day long
/// before the data, which changes no answer): what the first ask of the
/// day costs before the store keeps what it read of the roll-ups.
fn after_a_rollup(
    store: &dyn Store,
    site: &str,
    f: &dyn Fn() -> anyhow::Result<usize>,
) -> anyhow::Result<String> {
    let long_before = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    store.replace_rollup(site, long_before, &[])?;
    let t = Instant::now();
    f()?;
    Ok(format!("{:>10.1}", t.elapsed().as_secs_f64() * 1000.0))
}

/// A named query to time.
type Case<'a> = (&'static str, Box<dyn Fn() -> anyhow::Result<usize> + 'a>);

/// The file in which `load` notes the day it loaded, the last of its days.
const LOADED_ON: &str = "bench-loaded-on";

/// The day `queries` takes as today: the day the data was loaded, so that a
/// run after midnight asks the same questions of the same days (today's
/// events raw, the closed days rolled up) as a run on the day of loading.
fn loaded_on(data: &std::path::Path) -> anyhow::Result<chrono::NaiveDate> {
    match std::fs::read_to_string(data.join(LOADED_ON)) {
        Ok(day) => day
            .trim()
            .parse()
            .with_context(|| format!("{}: not a date", data.join(LOADED_ON).display())),
        Err(_) => Ok(SystemClock.now().date_naive()),
    }
}

fn queries(
    store: Arc<dyn Store>,
    site: &str,
    runs: usize,
    today: chrono::NaiveDate,
    (served_only, kept): (bool, bool),
) -> anyhow::Result<()> {
    let store = store.as_ref();
    let range = DateRange::parse(Some("30d"), None, today)?;
    // Every count; the engagement metrics are per page, so only the pages
    // questions ask for them.
    let all = Metric::COUNTS.to_vec();
    let q = Query::for_range(site, range, all.clone(), vec![]);
    let filtered = Query::for_range(
        site,
        range,
        all,
        Filter::parse_list(Some("visit:source==Google"))?,
    );
    // A filter by pattern (v2's `matches`, and its case-sensitive
    // `contains`): a regular expression searched in every page.
    let pattern = Query::for_range(
        site,
        range,
        vec![Metric::Visitors, Metric::Pageviews],
        glasshouse_model::v2::filters(&[serde_json::json!(["matches", "event:page", ["credit"]])])?
            .filters,
    );
    // What the dashboard's cards ask for: visitors (and page views for pages).
    let visitors = Query::for_range(site, range, vec![Metric::Visitors], vec![]);
    let pages = Query::for_range(
        site,
        range,
        vec![Metric::Visitors, Metric::Pageviews],
        vec![],
    );
    println!(
        "{} events stored; site {site}; 30 days; {runs} runs after one warm-up",
        store.count()?
    );
    println!("{:<44} {:>10} {:>10}", "query", "median ms", "max ms");
    // Each case answers the number of rows it produced, so nothing is optimised away.
    let cases: Vec<Case> = vec![
        (
            "aggregate (all metrics)",
            Box::new(|| store.aggregate(&q).map(|_| 1).map_err(Into::into)),
        ),
        (
            "timeseries by day (all metrics)",
            Box::new(|| Ok(store.timeseries(&q, Interval::Day)?.len())),
        ),
        (
            "top pages (all metrics, 10)",
            Box::new(|| Ok(store.breakdown(&q, &Dimension::Page, 10, 0)?.len())),
        ),
        (
            "top sources (all metrics, 10)",
            Box::new(|| Ok(store.breakdown(&q, &Dimension::Source, 10, 0)?.len())),
        ),
        (
            "dashboard: timeseries of visitors",
            Box::new(|| Ok(store.timeseries(&visitors, Interval::Day)?.len())),
        ),
        (
            "dashboard: top pages (visitors, pageviews)",
            Box::new(|| Ok(store.breakdown(&pages, &Dimension::Page, 10, 0)?.len())),
        ),
        (
            "dashboard: top sources (visitors)",
            Box::new(|| Ok(store.breakdown(&visitors, &Dimension::Source, 10, 0)?.len())),
        ),
        (
            "aggregate, filtered by source",
            Box::new(|| store.aggregate(&filtered).map(|_| 1).map_err(Into::into)),
        ),
        (
            "top pages, filtered by source",
            Box::new(|| Ok(store.breakdown(&filtered, &Dimension::Page, 10, 0)?.len())),
        ),
        (
            "aggregate, pages matching a pattern",
            Box::new(|| store.aggregate(&pattern).map(|_| 1).map_err(Into::into)),
        ),
    ];
    if served_only {
        let asked = [&q, &visitors, &pages, &filtered];
        return overview_as_served(store, site, today, asked, (runs, kept));
    }
    for (name, f) in cases {
        let (median, max) = time(runs, f)?;
        println!("{name:<44} {median:>10.1} {max:>10.1}");
    }
    let asked = [&q, &visitors, &pages, &filtered];
    overview_as_served(store, site, today, asked, (runs, kept))?;
    journey_queries(store, site, range, runs)
}

/// The same overview questions as the Stats API answers them: closed days
/// from their fresh roll-ups (rolled up first, timed), today from raw events.
fn overview_as_served(
    store: &dyn Store,
    site: &str,
    today: chrono::NaiveDate,
    [q, visitors, pages, filtered]: [&Query; 4],
    (runs, kept): (usize, bool),
) -> anyhow::Result<()> {
    use glasshouse_store::tiers;
    let started = Instant::now();
    let days = glasshouse_store::rollup::refresh(
        store,
        site,
        glasshouse_model::query::Tz::UTC,
        today - Duration::days(60),
        today,
    )?;
    println!(
        "rolled up {days} closed days of {site} in {:.1} s (the hourly job; once per day after that)",
        started.elapsed().as_secs_f64()
    );
    let raw_from = today - Duration::days(30);
    let api = |e: glasshouse_store::StoreError| anyhow::anyhow!("{e}");
    // What the dashboard's pages card asks once a source is chosen.
    let mut pages_filtered = pages.clone();
    pages_filtered.filters = filtered.filters.clone();
    // The pages card with how pages were read, unfiltered and filtered.
    let mut read = pages.clone();
    read.metrics
        .extend([Metric::ScrollDepth, Metric::TimeOnPage]);
    let mut read_filtered = read.clone();
    read_filtered.filters = filtered.filters.clone();
    let cases: Vec<Case> = vec![
        (
            "served: aggregate (all metrics)",
            Box::new(|| tiers::aggregate(store, q, raw_from).map(|_| 1).map_err(api)),
        ),
        (
            "served: timeseries by day (all metrics)",
            Box::new(|| {
                Ok(tiers::timeseries(store, q, Interval::Day, raw_from)
                    .map_err(api)?
                    .len())
            }),
        ),
        (
            "served: top pages (all metrics, 10)",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, q, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: top sources (all metrics, 10)",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, q, &Dimension::Source, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: dashboard timeseries of visitors",
            Box::new(|| {
                Ok(tiers::timeseries(store, visitors, Interval::Day, raw_from)
                    .map_err(api)?
                    .len())
            }),
        ),
        (
            "served: dashboard top pages",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, pages, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: dashboard top sources",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, visitors, &Dimension::Source, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: aggregate, filtered (raw events)",
            Box::new(|| {
                tiers::aggregate(store, filtered, raw_from)
                    .map(|_| 1)
                    .map_err(api)
            }),
        ),
        (
            "served: top pages, filtered (raw events)",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, filtered, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: top pages with scroll depth, time",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, &read, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: the same, filtered by source",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, &read_filtered, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
        (
            "served: dashboard top pages, filtered",
            Box::new(|| {
                Ok(
                    tiers::breakdown(store, &pages_filtered, &Dimension::Page, 10, 0, raw_from)
                        .map_err(api)?
                        .len(),
                )
            }),
        ),
    ];
    if kept {
        println!(
            "{:<44} {:>10} {:>10} {:>10}",
            "(third column: first ask after a roll-up is written)", "", "", "first ms"
        );
    }
    for (name, f) in cases {
        let first = if kept {
            after_a_rollup(store, site, &f)?
        } else {
            String::new()
        };
        let (median, max) = time(runs, f)?;
        println!("{name:<44} {median:>10.1} {max:>10.1} {first}");
    }
    // Both ways give the same figures, as the API rounds them (visits over
    // midnight included: `rollup::over_midnight`).
    let same = |q: &Query, a: &glasshouse_store::Totals, b: &glasshouse_store::Totals| {
        q.metrics.iter().all(|m| a.get(*m) == b.get(*m))
    };
    let raw = store.aggregate(q)?;
    let served = tiers::aggregate(store, q, raw_from).map_err(api)?;
    anyhow::ensure!(
        same(q, &raw, &served),
        "totals differ between raw events and roll-ups: {raw:?} / {served:?}"
    );
    let raw = store.breakdown(pages, &Dimension::Page, 10, 0)?;
    let served = tiers::breakdown(store, pages, &Dimension::Page, 10, 0, raw_from).map_err(api)?;
    anyhow::ensure!(
        raw.len() == served.len()
            && raw
                .iter()
                .zip(&served)
                .all(|(a, b)| a.0 == b.0 && same(pages, &a.1, &b.1)),
        "top pages differ between raw events and roll-ups:\n{raw:?}\n{served:?}"
    );
    let raw = store.breakdown(&read, &Dimension::Page, 10, 0)?;
    let served = tiers::breakdown(store, &read, &Dimension::Page, 10, 0, raw_from).map_err(api)?;
    anyhow::ensure!(
        raw.iter()
            .zip(&served)
            .all(|(a, b)| a.0 == b.0 && same(&read, &a.1, &b.1)),
        "top pages with engagement differ between raw events and roll-ups:\n{raw:?}\n{served:?}"
    );
    println!("raw events and roll-ups give the same totals and top pages (engagement too)");
    Ok(())
}

/// Path exploration and a 5-step funnel, from the site's busiest pages.
fn journey_queries(
    store: &dyn Store,
    site: &str,
    range: DateRange,
    runs: usize,
) -> anyhow::Result<()> {
    let q = Query::for_range(site, range, vec![Metric::Visits], vec![]);
    let top: Vec<String> = store
        .breakdown(&q, &Dimension::Page, 5, 0)?
        .into_iter()
        .map(|(page, _)| page)
        .collect();
    anyhow::ensure!(top.len() == 5, "the site needs 5 pages");
    let sites = vec![site.to_string(), "gov.wales".to_string()];
    let path = |depth: u32| PathQuery {
        query: q.clone(),
        sites: sites.clone(),
        page: top[0].clone(),
        depth,
    };
    let (one, three) = (path(1), path(3));
    let mut steps: Vec<FunnelStep> = top
        .iter()
        .map(|p| FunnelStep::Page {
            page: p.clone(),
            site: None,
        })
        .collect();
    steps[4] = FunnelStep::Page {
        page: "/**".into(),
        site: Some("gov.wales".into()),
    };
    let funnel = FunnelQuery {
        query: q.clone(),
        sites: sites.clone(),
        steps,
    };
    let cases: Vec<Case> = vec![
        (
            "next/previous pages of the top page",
            Box::new(|| Ok(store.paths(&one)?.links.len())),
        ),
        (
            "paths, 3 steps both ways",
            Box::new(|| Ok(store.paths(&three)?.links.len())),
        ),
        (
            "funnel, 5 steps (one on gov.wales)",
            Box::new(|| Ok(store.funnel(&funnel)?.len())),
        ),
    ];
    for (name, f) in cases {
        let (median, max) = time(runs, f)?;
        println!("{name:<44} {median:>10.1} {max:>10.1}");
    }
    let rows = store.funnel(&funnel)?;
    println!(
        "funnel steps reached: {:?}",
        rows.iter().map(|r| r.visits).collect::<Vec<_>>()
    );
    Ok(())
}
