//! Expected aggregates, computed from what was sent with plain loops.
//!
//! The definitions are the ones documented for the API: a visit is one
//! person's run of events on one day with gaps under 30 minutes; visitors are
//! distinct person-days; visit properties (source, entry and exit page) come
//! from the visit's first and last events.

use crate::traffic::{Sent, AGENTS, REFERRERS};
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// One visit of the ground truth.
#[derive(Debug, Clone)]
pub struct Visit<'a> {
    /// The person and the UTC day: the unit counted as a visitor.
    pub visitor: (usize, NaiveDate),
    /// Its events in time order.
    pub events: Vec<&'a Sent>,
}

impl Visit<'_> {
    /// Where the visit came from ("" = direct).
    pub fn source(&self) -> &'static str {
        REFERRERS[self.events[0].referrer].1
    }
    /// First page.
    pub fn entry_page(&self) -> &str {
        &self.events[0].path
    }
    /// Last page viewed.
    pub fn exit_page(&self) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find(|e| e.name == "pageview")
            .map(|e| e.path.as_str())
    }
    /// Browser family.
    pub fn browser(&self, people: &[crate::traffic::Person]) -> &'static str {
        AGENTS[people[self.events[0].person].agent].1
    }
    /// The visitor's country code.
    pub fn country(&self, people: &[crate::traffic::Person]) -> &'static str {
        crate::traffic::PLACES[people[self.events[0].person].place].0
    }
    /// ISO 3166-2 region ("" = unknown).
    pub fn region(&self, people: &[crate::traffic::Person]) -> &'static str {
        crate::traffic::PLACES[people[self.events[0].person].place].1
    }
    fn bounced(&self) -> bool {
        self.events.iter().filter(|e| e.interactive).count() <= 1
    }
    fn seconds(&self) -> i64 {
        (self.events[self.events.len() - 1].ts - self.events[0].ts).num_seconds()
    }
}

/// Splits sent events into visits. Engagement events are in none: they
/// neither open nor extend a visit, and no count includes them.
pub fn visits(sent: &[Sent]) -> Vec<Visit<'_>> {
    let mut by_visitor: BTreeMap<(usize, NaiveDate), Vec<&Sent>> = BTreeMap::new();
    for s in sent.iter().filter(|s| s.engagement.is_none()) {
        by_visitor
            .entry((s.person, s.ts.date_naive()))
            .or_default()
            .push(s);
    }
    let mut out = Vec::new();
    for (visitor, mut events) in by_visitor {
        events.sort_by_key(|e| e.ts);
        let mut current: Vec<&Sent> = Vec::new();
        for e in events {
            if let Some(last) = current.last() {
                if e.ts - last.ts >= Duration::minutes(30) {
                    out.push(Visit {
                        visitor,
                        events: std::mem::take(&mut current),
                    });
                }
            }
            current.push(e);
        }
        if !current.is_empty() {
            out.push(Visit {
                visitor,
                events: current,
            });
        }
    }
    out
}

/// Expected numbers for one row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Expected {
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub events: u64,
    /// Percent, unrounded.
    pub bounce_rate: f64,
    /// Seconds, unrounded.
    pub visit_duration: f64,
}

/// Totals over the visits that `keep_visit` keeps, counting the events that
/// `keep_event` keeps; a visit counts when it has at least one kept event.
pub fn totals<'a>(
    visits: &[Visit<'a>],
    keep_visit: impl Fn(&Visit<'a>) -> bool,
    keep_event: impl Fn(&Sent) -> bool,
) -> Expected {
    totals_where(visits, |v, e| keep_visit(v) && keep_event(e))
}

/// Totals counting the events `keep` keeps, each judged with its visit; a
/// visit counts when it has at least one kept event.
pub fn totals_where<'a>(
    visits: &[Visit<'a>],
    keep: impl Fn(&Visit<'a>, &Sent) -> bool,
) -> Expected {
    let mut visitors = BTreeSet::new();
    let (mut n, mut pageviews, mut events, mut bounces, mut seconds) =
        (0u64, 0u64, 0u64, 0u64, 0i64);
    for v in visits {
        let kept: Vec<_> = v.events.iter().filter(|e| keep(v, e)).collect();
        if kept.is_empty() {
            continue;
        }
        visitors.insert(v.visitor);
        n += 1;
        pageviews += kept.iter().filter(|e| e.name == "pageview").count() as u64;
        events += kept.len() as u64;
        bounces += u64::from(v.bounced());
        seconds += v.seconds();
    }
    Expected {
        visitors: visitors.len() as u64,
        visits: n,
        pageviews,
        events,
        bounce_rate: if n == 0 {
            0.0
        } else {
            bounces as f64 * 100.0 / n as f64
        },
        visit_duration: if n == 0 {
            0.0
        } else {
            seconds as f64 / n as f64
        },
    }
}

/// Expected rows of a breakdown by a visit property (`key` of each visit).
pub fn by_visit<'a>(
    visits: &[Visit<'a>],
    key: impl Fn(&Visit<'a>) -> Option<String>,
) -> BTreeMap<String, Expected> {
    by_visit_and_event(visits, |v, _| key(v))
}

/// Expected rows of a breakdown by an event property (`key` of each event).
pub fn by_event<'a>(
    visits: &[Visit<'a>],
    key: impl Fn(&Sent) -> Option<String>,
) -> BTreeMap<String, Expected> {
    by_visit_and_event(visits, |_, e| key(e))
}

/// Expected rows of a breakdown keyed by each event with its visit: by
/// several properties at once, of the visit, of the event, or both.
pub fn by_visit_and_event<'a>(
    visits: &[Visit<'a>],
    key: impl Fn(&Visit<'a>, &Sent) -> Option<String>,
) -> BTreeMap<String, Expected> {
    let keys: BTreeSet<String> = visits
        .iter()
        .flat_map(|v| {
            v.events
                .iter()
                .filter_map(|e| key(v, e))
                .collect::<Vec<_>>()
        })
        .collect();
    keys.into_iter()
        .map(|k| {
            let t = totals_where(visits, |v, e| key(v, e).as_deref() == Some(k.as_str()));
            (k, t)
        })
        .collect()
}

/// Expected scroll depth (percent) and time on page (seconds) per page,
/// over the engagement events `keep` keeps: per visitor (person and day)
/// and page, the deepest scroll and the summed time; then their means.
pub fn engagement_by_page(
    sent: &[Sent],
    keep: impl Fn(&Sent) -> bool,
) -> BTreeMap<String, (f64, f64)> {
    let mut pairs: BTreeMap<(String, usize, NaiveDate), (u8, u64)> = BTreeMap::new();
    for s in sent.iter().filter(|s| keep(s)) {
        let Some((sd, ms)) = s.engagement else {
            continue;
        };
        let p = pairs
            .entry((s.path.clone(), s.person, s.ts.date_naive()))
            .or_default();
        p.0 = p.0.max(sd);
        p.1 += u64::from(ms);
    }
    let mut sums: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for ((page, _, _), (sd, ms)) in pairs {
        let s = sums.entry(page).or_default();
        s.0 += f64::from(sd);
        s.1 += ms as f64 / 1000.0;
        s.2 += 1.0;
    }
    sums.into_iter()
        .map(|(page, (sd, secs, n))| (page, (sd / n, secs / n)))
        .collect()
}
