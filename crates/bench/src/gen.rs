//! A fast generator of plausible traffic for benchmarks: many people, a
//! page tree with a long tail, sources, custom events, multi-page visits.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use glasshouse_privacy::RawEvent;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::{IpAddr, Ipv4Addr};

const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.67",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
];
const REFERRERS: [&str; 6] = [
    "",
    "https://www.google.com/",
    "https://www.google.co.uk/",
    "https://www.bing.com/",
    "https://www.bbc.co.uk/news",
    "https://www.facebook.com/",
];
const HOSTS: [&str; 3] = ["www.gov.uk", "www.mygov.scot", "gov.wales"];
const SECTIONS: [&str; 8] = [
    "/guidance",
    "/government/publications",
    "/browse/benefits",
    "/universal-credit",
    "/vehicle-tax",
    "/council-tax",
    "/apply",
    "/foreign-travel-advice",
];

/// One day of events, about `events` of them, as (site index, raw event),
/// in time order. With `engagement`, each page view is followed by the
/// engagement event a tracker sends when the page is left (not counted in
/// `events`).
pub fn day(date: NaiveDate, events: u64, seed: u64, engagement: bool) -> Vec<(usize, RawEvent)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xbe7c4);
    let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut out = Vec::with_capacity(events as usize * (1 + usize::from(engagement)) + 16);
    let mut counted = 0u64;
    while counted < events {
        let site = match rng.gen_range(0..100) {
            0..=63 => 0,
            64..=81 => 1,
            _ => 2,
        };
        let ip = IpAddr::V4(Ipv4Addr::new(
            86,
            rng.gen_range(128..192),
            rng.gen(),
            rng.gen_range(1..255),
        ));
        let agent = AGENTS[rng.gen_range(0..AGENTS.len())];
        let mut at = start + Duration::seconds(rng.gen_range(0..86_000));
        let mut referrer = Some(REFERRERS[rng.gen_range(0..REFERRERS.len())].to_string())
            .filter(|r| !r.is_empty());
        for _ in 0..rng.gen_range(1..6) {
            let path = format!(
                "{}/page-{}",
                SECTIONS[rng.gen_range(0..SECTIONS.len())],
                (rng.gen::<f64>().powi(3) * 2000.0) as u32
            );
            let url = format!("https://{}{path}", HOSTS[site]);
            let custom = rng.gen_range(0..10) == 0;
            counted += 1 + u64::from(custom);
            let stay = rng.gen_range(10..300);
            out.push((
                site,
                RawEvent {
                    ip,
                    user_agent: agent.to_string(),
                    name: "pageview".into(),
                    url: url.clone(),
                    referrer: referrer.take(),
                    title: None,
                    props: vec![],
                    interactive: true,
                    revenue: None,
                    engagement: None,
                    timestamp: at,
                },
            ));
            if custom {
                out.push((
                    site,
                    RawEvent {
                        ip,
                        user_agent: agent.to_string(),
                        name: "Form submitted".into(),
                        url: url.clone(),
                        referrer: None,
                        title: None,
                        props: vec![("form".into(), format!("form-{}", rng.gen_range(0..20)))],
                        interactive: true,
                        revenue: None,
                        engagement: None,
                        timestamp: at + Duration::seconds(20),
                    },
                ));
            }
            if engagement {
                out.push((
                    site,
                    RawEvent {
                        ip,
                        user_agent: agent.to_string(),
                        name: "engagement".into(),
                        url,
                        referrer: None,
                        title: None,
                        props: vec![],
                        interactive: false,
                        revenue: None,
                        engagement: Some(glasshouse_privacy::Engagement {
                            scroll_depth: rng.gen_range(0..=100),
                            engagement_time: rng.gen_range(1..stay as u32) * 1000,
                        }),
                        timestamp: at + Duration::seconds(stay - 1),
                    },
                ));
            }
            at += Duration::seconds(stay);
        }
    }
    out.sort_by_key(|(_, e)| e.timestamp);
    out
}
