//! Measures what `Anonymiser::anonymise` costs per event on a realistic mix
//! (cached User-Agents, GOV.UK-like paths, some PII, referrers, campaign tags).
//!
//! `cargo run --release -p glasshouse-privacy --example anonymise_cost [events] [threads]`

use chrono::{TimeZone, Utc};
use glasshouse_model::{Clock, ManualClock, Site};
use glasshouse_privacy::{scrub, Anonymiser, RawEvent, Salts};
use std::sync::Arc;
use std::time::Instant;

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
];

const URLS: &[&str] = &[
    "https://www.gov.uk/",
    "https://www.gov.uk/vat-rates",
    "https://www.gov.uk/browse/tax/self-assessment",
    "https://www.gov.uk/government/publications/2019/09/budget-2019",
    "https://www.gov.uk/search/all?keywords=universal+credit&order=relevance",
    "https://www.gov.uk/find-court?postcode=SW1A+2AA&utm_source=newsletter&utm_medium=email",
    "https://www.gov.uk/guidance/2019-spending-review#section-2",
    "https://www.gov.uk/account/reset?reset_password_token=8f7d6e5c4b3a29187f6e5d4c3b2a1908",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let dir = std::env::temp_dir().join(format!("glasshouse-cost-{}", std::process::id()));
    let started = Instant::now();
    let anonymiser = Arc::new(Anonymiser::new(Salts::open(&dir, clock).unwrap(), None));
    println!("start-up (patterns compiled): {:?}", started.elapsed());
    let site = Site {
        host: "www.gov.uk".into(),
        organisation: "gds".into(),
        query_params: vec!["keywords".into(), "postcode".into()],
        props: None,
        raw_retention_days: 30,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    };

    let raw = |i: usize| RawEvent {
        ip: std::net::IpAddr::from([81, 2, (i >> 8) as u8, i as u8]),
        user_agent: AGENTS[i % AGENTS.len()].to_string(),
        name: "pageview".into(),
        url: URLS[i % URLS.len()].to_string(),
        referrer: i
            .is_multiple_of(3)
            .then(|| "https://www.google.co.uk/".to_string()),
        title: Some("Find a court or tribunal - GOV.UK".into()),
        props: Vec::new(),
        interactive: true,
        revenue: None,
        engagement: None,
        timestamp: now,
    };

    // Warm the User-Agent cache, as a running server has.
    for i in 0..AGENTS.len() {
        anonymiser.anonymise(raw(i), &site, "www.gov.uk").unwrap();
    }
    let inputs: Vec<Vec<RawEvent>> = (0..threads)
        .map(|t| (0..events / threads).map(|i| raw(i + t)).collect())
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for batch in inputs {
            let (a, site) = (anonymiser.clone(), &site);
            s.spawn(move || {
                for r in batch {
                    std::hint::black_box(a.anonymise(r, site, "www.gov.uk").unwrap());
                }
            });
        }
    });
    let elapsed = started.elapsed();
    println!(
        "{events} events on {threads} thread(s): {:?}, {:.2} µs/event, {:.0} events/s",
        elapsed,
        elapsed.as_secs_f64() * 1e6 / events as f64,
        events as f64 / elapsed.as_secs_f64()
    );

    let texts = [
        "/government/publications/2019/09/budget-2019",
        "/vat-rates",
        "Call 07700 900123 or jo@example.com",
    ];
    for text in texts {
        let n = 200_000;
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(scrub(std::hint::black_box(text)));
        }
        println!(
            "scrub({text:?}): {:.0} ns",
            started.elapsed().as_secs_f64() * 1e9 / n as f64
        );
    }

    // A cold User-Agent (cache miss) costs a full parse.
    let started = Instant::now();
    let n = 2_000;
    for i in 0..n {
        let mut r = raw(0);
        r.user_agent = format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.{i}.0 Safari/537.36");
        std::hint::black_box(anonymiser.anonymise(r, &site, "www.gov.uk").unwrap());
    }
    println!(
        "uncached User-Agent: {:.1} µs/event",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
