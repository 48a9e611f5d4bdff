//! Journeys over several sites, and the paths and funnels expected of them,
//! computed by plain loops from what was sent.
//!
//! The expected values follow the documented definitions: a journey is one
//! person's run of events, on sites that share a visitor scope, with gaps
//! under 30 minutes (it continues over midnight); paths follow each journey
//! from its first view of the page; a journey reaches funnel step k when it
//! has matches of steps 1..k, each strictly later than the one before.
//! Visitors are distinct (person, day the journey started).

use crate::traffic::{Person, AGENTS};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

/// One event as sent, on one of several sites.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Index into the people.
    pub person: usize,
    /// Host of the site.
    pub host: &'static str,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// `pageview` or a custom name.
    pub name: &'static str,
    /// Path of the page.
    pub path: &'static str,
}

/// Pages of the generated sites.
pub const PAGES: [&str; 6] = [
    "/",
    "/guide",
    "/apply",
    "/apply/details",
    "/apply/done",
    "/contact",
];

/// Journeys of `people` people around `first`, over `hosts`, including ones
/// that run over midnight, restart after a 30-minute gap, never reach the
/// start of a funnel, and send custom events. Sorted by time.
pub fn generate(
    seed: u64,
    first: NaiveDate,
    hosts: &[&'static str],
    journeys: usize,
) -> (Vec<Person>, Vec<Hop>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let people: Vec<Person> = (0..journeys.max(4) / 2)
        .map(|i| Person {
            ip: format!("203.0.{}.{}", 113 + i / 250 % 3, i % 250 + 1)
                .parse()
                .unwrap(),
            agent: i % AGENTS.len(),
            place: 0,
        })
        .collect();
    let midnight = Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0).unwrap());
    let mut hops = Vec::new();
    for j in 0..journeys {
        let person = rng.gen_range(0..people.len());
        // Most start during the first day; one in eight just before midnight.
        let start = if j % 8 == 0 {
            midnight + Duration::hours(24) - Duration::minutes(rng.gen_range(1..20))
        } else {
            midnight + Duration::seconds(rng.gen_range(3600..20 * 3600))
        };
        let mut ts = start;
        let mut host = hosts[rng.gen_range(0..hosts.len())];
        for step in 0..rng.gen_range(1..7) {
            if step > 0 {
                // One gap in twelve ends the journey.
                let gap = if rng.gen_range(0..12) == 0 {
                    40 * 60
                } else {
                    rng.gen_range(5..600)
                };
                ts += Duration::seconds(gap);
                if rng.gen_range(0..3) == 0 {
                    host = hosts[rng.gen_range(0..hosts.len())];
                }
            }
            let path = PAGES[rng.gen_range(0..PAGES.len())];
            hops.push(Hop {
                person,
                host,
                ts,
                name: "pageview",
                path,
            });
            if path == "/apply/done" && rng.gen_range(0..2) == 0 {
                hops.push(Hop {
                    person,
                    host,
                    ts: ts + Duration::seconds(2),
                    name: "Submitted",
                    path,
                });
            }
        }
    }
    hops.sort_by_key(|h| h.ts);
    // Two events of one person at the same instant would have no order.
    hops.dedup_by(|a, b| a.person == b.person && a.ts == b.ts);
    (people, hops)
}

/// Journeys as the store should assemble them: `group` maps a host to its
/// visitor scope (sites with the same group are linked).
pub fn journeys<'a>(hops: &'a [Hop], group: &dyn Fn(&str) -> usize) -> Vec<Vec<&'a Hop>> {
    let mut by_key: BTreeMap<(usize, usize), Vec<&Hop>> = BTreeMap::new();
    for h in hops {
        by_key.entry((h.person, group(h.host))).or_default().push(h);
    }
    let mut out = Vec::new();
    for (_, events) in by_key {
        let mut current: Vec<&Hop> = Vec::new();
        for e in events {
            if let Some(last) = current.last() {
                if e.ts - last.ts >= Duration::minutes(30) {
                    out.push(std::mem::take(&mut current));
                }
            }
            current.push(e);
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

fn visitor(j: &[&Hop]) -> (usize, NaiveDate) {
    (j[0].person, j[0].ts.date_naive())
}

/// Counts of one row: journeys and visitors.
pub type Counts = (u64, u64);

/// Rows being counted: journeys and the distinct visitors among them, per (site, page).
type Tally = BTreeMap<(String, String), (u64, BTreeSet<(usize, NaiveDate)>)>;

fn counted(rows: Tally) -> BTreeMap<(String, String), Counts> {
    rows.into_iter()
        .map(|(k, (n, v))| (k, (n, v.len() as u64)))
        .collect()
}

/// Pages viewed right after (`step` = 1) or before (`step` = -1) the first
/// view of `page` on `site` in `[from, until)`, on `visible` sites.
pub fn neighbours(
    journeys: &[Vec<&Hop>],
    site: &str,
    page: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    visible: &[&str],
    step: i32,
) -> BTreeMap<(String, String), Counts> {
    let mut rows: Tally = BTreeMap::new();
    for j in journeys {
        let views: Vec<&&Hop> = j.iter().filter(|h| h.name == "pageview").collect();
        let Some(at) = views
            .iter()
            .position(|h| h.host == site && h.path == page && h.ts >= from && h.ts < until)
        else {
            continue;
        };
        let other = at as i64 + i64::from(step);
        if other < 0 || other as usize >= views.len() {
            continue;
        }
        let h = views[other as usize];
        if !visible.contains(&h.host) {
            continue;
        }
        let row = rows
            .entry((h.host.to_string(), h.path.to_string()))
            .or_default();
        row.0 += 1;
        row.1.insert(visitor(j));
    }
    counted(rows)
}

/// A path pattern as funnels take it, for the patterns the tests use: an
/// exact path, or a prefix followed by `**`.
pub fn path_matches(path: &str, pattern: &str) -> bool {
    match pattern.strip_suffix("**") {
        Some(prefix) => path.starts_with(prefix),
        None => path == pattern,
    }
}

/// A funnel step: (site, path pattern) of a page view, or a custom event name (site = "").
pub type Step<'a> = (&'a str, &'a str);

/// Journeys and visitors reaching each step, and the median seconds from the step before.
pub fn funnel(
    journeys: &[Vec<&Hop>],
    steps: &[Step],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(u64, u64, Option<f64>)> {
    let mut reached = vec![(0u64, BTreeSet::new(), Vec::new()); steps.len()];
    for j in journeys {
        let mut last: Option<DateTime<Utc>> = None;
        for (k, (site, what)) in steps.iter().enumerate() {
            let hit = j.iter().find(|h| {
                h.ts >= from
                    && h.ts < until
                    && last.is_none_or(|t| h.ts > t)
                    && if site.is_empty() {
                        h.name == *what
                    } else {
                        h.name == "pageview" && h.host == *site && path_matches(h.path, what)
                    }
            });
            let Some(hit) = hit else { break };
            reached[k].0 += 1;
            reached[k].1.insert(visitor(j));
            if let Some(t) = last {
                reached[k].2.push((hit.ts - t).num_seconds() as f64);
            }
            last = Some(hit.ts);
        }
    }
    reached
        .into_iter()
        .map(|(n, v, mut gaps)| {
            gaps.sort_by(f64::total_cmp);
            let median = match gaps.len() {
                0 => None,
                l if l % 2 == 1 => Some(gaps[l / 2]),
                l => Some((gaps[l / 2 - 1] + gaps[l / 2]) / 2.0),
            };
            (n, v.len() as u64, median)
        })
        .collect()
}
