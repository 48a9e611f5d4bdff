//! Realistic demo traffic, sent through the real ingestion path.
//!
//! Visits follow a daily and weekly rhythm (busy weekday late mornings,
//! quiet nights and weekends), arrive from search engines, other public
//! sites, social media, e-mail campaigns or directly, walk the page tree of
//! their site for a few pages, sometimes fire a custom event, and sometimes
//! follow a link on to a partner organisation's site. Some visitors come back
//! later the same day. A small share is bots, which the anonymiser drops.
//! Site searches occasionally contain a postcode or an e-mail address, which
//! the anonymiser scrubs, as it would in real life.

use super::sites::{DemoSite, Page, AGENTS, ARRIVALS, NETWORKS, SITES};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use glasshouse_model::{Clock, Config, SystemClock};
use glasshouse_privacy::{Anonymiser, RawEvent, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{Ingestor, Sessionizer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const HOURLY: [f64; 24] = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.0, 5.2, 5.8, 5.9, 5.7, 5.8, 5.8, 5.5, 5.0, 4.6, 4.2,
    4.2, 4.0, 3.5, 2.6, 1.6,
];
const WEEKDAY: [f64; 7] = [1.0, 1.0, 0.97, 0.95, 0.85, 0.6, 0.65];
/// Counted events a generated visit has on average (page views, custom events,
/// onward visits); each page view adds an engagement report on top, as
/// Plausible's tracker sends one when a page is left.
const EVENTS_PER_VISIT: f64 = 1.75;
const SEARCHES: [&str; 8] = [
    "universal credit",
    "council tax",
    "passport renewal",
    "vehicle tax",
    "bank holidays 2026",
    "SW1A 2AA council tax band",
    "contact jane.doe@example.com about my claim",
    "state pension age",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.gen_range(0..total.max(1));
    for item in items {
        let w = weight(item);
        if x < w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1]
}

#[derive(Clone)]
struct Person {
    ip: IpAddr,
    agent: &'static str,
}

fn new_person(rng: &mut StdRng) -> Person {
    let net = pick(rng, NETWORKS, |n| n.1).0;
    Person {
        ip: IpAddr::V4(Ipv4Addr::new(
            net[0],
            net[1],
            rng.gen_range(0..=255),
            rng.gen_range(1..=254),
        )),
        agent: pick(rng, AGENTS, |a| a.1).0,
    }
}

fn page<'a>(site: &'a DemoSite, path: &str) -> Option<&'a Page> {
    site.pages.iter().find(|p| p.path == path)
}

struct Visit<'a> {
    rng: &'a mut StdRng,
    person: Person,
    out: &'a mut Vec<RawEvent>,
    /// Nothing is generated after this instant.
    now: DateTime<Utc>,
}

impl Visit<'_> {
    fn event(
        &mut self,
        name: &str,
        url: String,
        referrer: Option<String>,
        props: Vec<(String, String)>,
        at: DateTime<Utc>,
    ) {
        self.out.push(RawEvent {
            ip: self.person.ip,
            user_agent: self.person.agent.to_string(),
            name: name.to_string(),
            url,
            referrer,
            title: None,
            props,
            interactive: true,
            revenue: None,
            engagement: None,
            timestamp: at,
        });
    }

    /// A passport fee paid online (adult or child), with its revenue, as a
    /// service reports it through the Events API.
    fn payment(&mut self, url: String, at: DateTime<Utc>) {
        if at > self.now {
            return;
        }
        let amount = if self.rng.gen_range(0..100) < 75 {
            88.5
        } else {
            57.5
        };
        self.out.push(RawEvent {
            ip: self.person.ip,
            user_agent: self.person.agent.to_string(),
            name: "Payment".to_string(),
            url,
            referrer: None,
            title: None,
            props: vec![("service".into(), "passport".into())],
            interactive: true,
            revenue: Some(glasshouse_privacy::Revenue {
                amount,
                currency: "GBP".into(),
            }),
            engagement: None,
            timestamp: at,
        });
    }

    /// What Plausible's tracker reports when the page is left: the
    /// deepest scroll and the time the page was in front of the reader.
    fn engagement(&mut self, url: String, at: DateTime<Utc>, read: i64) {
        let left = at + Duration::seconds(read);
        if left > self.now {
            return;
        }
        // Most readers scroll part of the way; longer reads go further,
        // and short pages are read to the end more often.
        let short = 40 - (url.len() as u32 * 7 % 40);
        let depth =
            (10 + short + self.rng.gen_range(0..40) + read.min(300) as u32 / 10).min(100) as u8;
        let engaged = (read as f64 * self.rng.gen_range(0.5..1.0) * 1000.0) as u32;
        self.out.push(RawEvent {
            ip: self.person.ip,
            user_agent: self.person.agent.to_string(),
            name: glasshouse_privacy::ENGAGEMENT.to_string(),
            url,
            referrer: None,
            title: None,
            props: vec![],
            interactive: false,
            revenue: None,
            engagement: Some(glasshouse_privacy::Engagement {
                scroll_depth: depth,
                engagement_time: engaged,
            }),
            timestamp: left,
        });
    }

    /// Walks `site` from `landing`; returns when the visitor leaves.
    fn walk(
        &mut self,
        site: &DemoSite,
        landing: &str,
        mut referrer: Option<String>,
        utm: &str,
        mut at: DateTime<Utc>,
        max_steps: usize,
    ) {
        let mut path = landing.to_string();
        for step in 0..max_steps {
            if at > self.now {
                return;
            }
            let mut url = format!("https://{}{}", site.host, path);
            if step == 0 && !utm.is_empty() {
                url = format!("{url}?{utm}");
            }
            if path == "/search/all" {
                let q = SEARCHES[self.rng.gen_range(0..SEARCHES.len())];
                url = format!("{url}?q={}&order=relevance", q.replace(' ', "+"));
            }
            self.event("pageview", url.clone(), referrer.take(), vec![], at);
            // Reading time: mostly under a minute, sometimes several.
            let read = ((10.0 * (self.rng.gen::<f64>() * 3.2).exp()) as i64).clamp(4, 600);
            self.engagement(url.clone(), at, read);
            let Some(p) = page(site, &path) else { return };
            if let Some((name, key, value, chance)) = p.event {
                if self.rng.gen_range(0..100) < chance {
                    at += Duration::seconds(self.rng.gen_range(5..90));
                    self.event(
                        name,
                        url.clone(),
                        None,
                        vec![(key.to_string(), value.to_string())],
                        at,
                    );
                    if value == "passport" && self.rng.gen_range(0..100) < 60 {
                        at += Duration::seconds(self.rng.gen_range(120..900));
                        self.payment(url.clone(), at);
                    }
                }
            }
            for (from, host, to, chance) in site.onward {
                if *from == path && self.rng.gen_range(0..100) < *chance {
                    let target = format!("https://{host}{to}");
                    at += Duration::seconds(self.rng.gen_range(5..60));
                    self.event(
                        "Outbound Link: Click",
                        url.clone(),
                        None,
                        vec![("url".into(), target)],
                        at,
                    );
                    if let Some(partner) = SITES.iter().find(|s| s.host == *host) {
                        let then = at + Duration::seconds(self.rng.gen_range(2..20));
                        let steps = self.rng.gen_range(1..4);
                        self.walk(partner, to, Some(url.clone()), "", then, steps);
                    }
                    return;
                }
            }
            let onward: u32 = p.next.iter().map(|n| n.1).sum();
            if p.next.is_empty() || self.rng.gen_range(0..100) >= onward.min(85) {
                return;
            }
            path = pick(self.rng, p.next, |n| n.1).0.to_string();
            at += Duration::seconds(read);
            referrer = Some(url);
        }
    }
}

/// Generates one day's raw events for all sites, in time order.
fn day(
    rng: &mut StdRng,
    date: chrono::NaiveDate,
    visits: usize,
    now: DateTime<Utc>,
) -> Vec<RawEvent> {
    let mut out = Vec::with_capacity((visits as f64 * EVENTS_PER_VISIT) as usize);
    let mut people: Vec<Person> = Vec::new();
    let hour_total: f64 = HOURLY.iter().sum();
    let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    for _ in 0..visits {
        let mut x = rng.gen::<f64>() * hour_total;
        let mut hour = 0;
        while hour < 23 && x >= HOURLY[hour] {
            x -= HOURLY[hour];
            hour += 1;
        }
        let at =
            midnight + Duration::hours(hour as i64) + Duration::seconds(rng.gen_range(0..3600));
        if at > now {
            continue;
        }
        let person = if !people.is_empty() && rng.gen_range(0..100) < 18 {
            people[rng.gen_range(0..people.len())].clone()
        } else {
            let p = new_person(rng);
            people.push(p.clone());
            p
        };
        let site = pick(rng, &SITES, |s| s.share);
        let (referrer, utm, _) = *pick(rng, ARRIVALS, |a| a.2);
        let landing = if referrer.is_empty() && utm.is_empty() && rng.gen_range(0..2) == 0 {
            "/"
        } else {
            pick(rng, site.landings, |l| l.1).0
        };
        let referrer = (!referrer.is_empty()).then(|| referrer.to_string());
        let mut visit = Visit {
            rng,
            person,
            out: &mut out,
            now,
        };
        visit.walk(site, landing, referrer, utm, at, 8);
    }
    out.sort_by_key(|e| e.timestamp);
    out
}

/// Generates `days` days of traffic (about `events` events) ending now, and
/// stores it through the anonymiser and the ingest queue. Returns events stored.
/// On a node (`node`), only its own sites' events are stored, and its
/// visitors who do a figure's step get the day's link id, as at the
/// collector.
pub fn load(
    config: &Config,
    days: u32,
    events: u64,
    node: Option<&glasshouse_federation::Node>,
) -> anyhow::Result<u64> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let store = crate::runtime::open_store(config)?;
    // Ephemeral salts: one per past day, made for this load and never written.
    let anonymiser = Anonymiser::new(
        Salts::ephemeral(clock.clone()),
        crate::runtime::open_geo(config)?,
    );
    let ingestor = Ingestor::start(
        store.clone(),
        Sessionizer::default(),
        IngestOptions {
            max_batch: 100_000,
            capacity: 16,
        },
    );
    let mut rng = StdRng::seed_from_u64(0x91a55 ^ u64::from(days) ^ events);
    let today = now.date_naive();
    let dates: Vec<_> = (0..days as i64)
        .rev()
        .map(|d| today - Duration::days(d))
        .collect();
    let weights: Vec<f64> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let trend = 0.9 + 0.2 * i as f64 / dates.len().max(1) as f64;
            // Today is made whole and cut at now (`day`), so its hours
            // are as busy as the same hours of other days.
            WEEKDAY[d.weekday().num_days_from_monday() as usize] * trend
        })
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let mut stored = 0u64;
    for (date, w) in dates.iter().zip(&weights) {
        let noise = 0.92 + rng.gen::<f64>() * 0.16;
        let visits = (events as f64 / EVENTS_PER_VISIT * w / total_weight * noise) as usize;
        let raws = day(&mut rng, *date, visits, now);
        let mut batch = Vec::with_capacity(raws.len());
        for raw in raws {
            let host = url_host(&raw.url);
            let Some(site) = config.site(host).filter(|s| config.holds(&s.host)) else {
                continue;
            };
            // Bots are dropped here, as at the collector.
            let scope = config.visitor_scope(&site.host, raw.timestamp.date_naive());
            let (ip, agent, at) = (raw.ip, raw.user_agent.clone(), raw.timestamp);
            if let Ok(e) = anonymiser.anonymise(raw, site, &scope) {
                if let Some(n) = node {
                    n.mark(config, &site.host, e.name(), e.pathname(), ip, &agent, at);
                }
                batch.push(e);
            }
        }
        stored += batch.len() as u64;
        ingestor.ingest_blocking(batch)?;
    }
    ingestor.shutdown();
    // The closed days are rolled up before the first look, as the hourly
    // job would, so the overview is fast from the start.
    glasshouse_store::retention::refresh_rollups(config, store.as_ref(), clock.as_ref())?;
    store.checkpoint()?;
    Ok(stored)
}

fn url_host(url: &str) -> &str {
    url.trim_start_matches("https://")
        .split(['/', '?'])
        .next()
        .unwrap_or("")
}
