//! The in-memory session table: which visit and which journey each event
//! belongs to.
//!
//! A visit (session) is a visitor's run of events on one site with gaps under
//! 30 minutes. A journey is the same run across every site that shares the
//! visitor's hash scope: one site, or the sites of an agreement that allows
//! journey linking (docs/architecture.md, promise 2). Without such an agreement the
//! visitor ids of two sites differ, so a journey never leaves its site.
//!
//! The table is keyed by the daily visitor id and lives only in memory; after
//! a restart it is rebuilt from the last 30 minutes of stored events, so a
//! visit in progress is not split in two.
//!
//! Each stored event carries its visit's id, entry page and acquisition
//! (source, referrer, UTM tags, all taken from the visit's first event). That
//! makes every visit-level filter a plain per-event `WHERE`. Each page view
//! also carries its journey's id, its place in the journey and the page
//! viewed before it, so next-page and previous-page questions are plain
//! `GROUP BY`s and funnels are joins on the journey id, with no window
//! function over the whole range.
//!
//! A visit that is in progress at UTC midnight continues: the visitor's id
//! changes with the salt, so the event's id under yesterday's salt
//! (`previous_visitor_id`, which exists only while yesterday's salt does) is
//! looked up as well, and the visit keeps the id it started with.

use chrono::{DateTime, Utc};
use glasshouse_privacy::AnonymousEvent;
use std::collections::HashMap;
use std::sync::Arc;

/// Longest gap between two events of one visit.
pub const SESSION_TIMEOUT_MICROS: i64 = 30 * 60 * 1_000_000;

/// What is remembered about a visit in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// Random id of the visit; it means nothing outside this installation.
    pub session_id: u64,
    /// The visitor id the visit started with.
    pub visitor_id: u64,
    /// Host of the site the visit is on.
    pub site: String,
    /// Time of the visit's latest event, in microseconds since the epoch.
    pub last_seen: i64,
    /// The visit's acquisition, copied onto each of its events.
    pub acquisition: Arc<Acquisition>,
}

/// What is remembered about a journey in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyState {
    /// Random id of the journey.
    pub journey_id: u64,
    /// The visitor id the journey started with.
    pub visitor_id: u64,
    /// Time of the journey's latest event, in microseconds since the epoch.
    pub last_seen: i64,
    /// Number of page views so far.
    pub seq: u32,
    /// Host of the latest page view.
    pub last_site: String,
    /// Path of the latest page view.
    pub last_page: String,
}

/// Where a visit came in and from, fixed by its first event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acquisition {
    /// Path of the first page.
    pub entry_page: String,
    /// Named source or referring host.
    pub source: String,
    /// Referring host and path.
    pub referrer: String,
    /// `utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term`.
    pub utm: [String; 5],
}

/// An event's place in a journey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JourneyStep {
    /// The journey it belongs to.
    pub journey_id: u64,
    /// For a page view, its number in the journey (1 for the first); for
    /// another event, the number of the page view it happened on (0 if none).
    pub seq: u32,
    /// For a page view, the host of the page viewed before it ("" at the start).
    pub prev_site: String,
    /// For a page view, the path of the page viewed before it ("" at the start).
    pub prev_page: String,
}

/// An anonymous event with its place in a visit: the row the store writes.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The event as the privacy crate made it.
    pub event: AnonymousEvent,
    /// The visitor id the row is stored under (the visit's first id).
    pub visitor_id: u64,
    /// The visit it belongs to.
    pub session_id: u64,
    /// The visit's acquisition.
    pub acquisition: Arc<Acquisition>,
    /// Its place in the journey.
    pub journey: JourneyStep,
}

/// Everything held about one visitor id.
#[derive(Debug, Default)]
struct Visitor {
    journey: Option<JourneyState>,
    visits: Vec<SessionState>,
}

/// Shards of the session table. One map of a million visitors stalls the
/// ingest writer for a quarter of a second each time it doubles (measured:
/// every 202 waits behind it); a shard is a 256th of that, and shards are
/// swept one at a time.
const SHARDS: usize = 256;

/// Most visitors held at once. A busy hour of a large site holds a few
/// hundred thousand; past this bound (a flood of distinct ids, as a bot net
/// would send) the visitor seen least recently in the shard is forgotten, so
/// memory stays bounded. A forgotten visitor's next event starts a new
/// visit; evictions are counted (`evicted`, and `visits_evicted` in
/// `/metrics`).
pub const MAX_VISITORS: usize = 2_000_000;

/// Most visitors one shard holds.
const MAX_PER_SHARD: usize = MAX_VISITORS / SHARDS;

/// Assigns events to visits and journeys. One per ingest queue; not shared between threads.
#[derive(Debug)]
pub struct Sessionizer {
    /// Visitors by id, sharded on the id's low bits (ids are keyed hashes).
    shards: Vec<HashMap<u64, Visitor>>,
    /// Event time each shard was last swept.
    swept: Vec<i64>,
    /// The next shard to sweep.
    cursor: usize,
    /// Visitors forgotten early because the table was full.
    evicted: u64,
    /// Most visitors a shard holds (`MAX_PER_SHARD`, smaller in tests).
    per_shard: usize,
}

impl Default for Sessionizer {
    fn default() -> Self {
        Sessionizer {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            swept: vec![i64::MIN; SHARDS],
            cursor: 0,
            evicted: 0,
            per_shard: MAX_PER_SHARD,
        }
    }
}

fn live(last_seen: i64, ts: i64) -> bool {
    (ts - last_seen).abs() < SESSION_TIMEOUT_MICROS
}

impl Sessionizer {
    /// A table restored from the visits and journeys still in progress.
    pub fn restore(states: Vec<SessionState>, journeys: Vec<JourneyState>) -> Sessionizer {
        let mut s = Sessionizer::default();
        for state in states {
            s.shard_mut(state.visitor_id)
                .entry(state.visitor_id)
                .or_default()
                .visits
                .push(state);
        }
        for j in journeys {
            let id = j.visitor_id;
            s.shard_mut(id).entry(id).or_default().journey = Some(j);
        }
        s
    }

    fn shard(&self, id: u64) -> &HashMap<u64, Visitor> {
        &self.shards[id as usize % SHARDS]
    }

    fn shard_mut(&mut self, id: u64) -> &mut HashMap<u64, Visitor> {
        &mut self.shards[id as usize % SHARDS]
    }

    /// A table that holds at most `visitors` visitors (rounded up to a
    /// whole number per shard), for tests of the bound.
    pub fn bounded(visitors: usize) -> Sessionizer {
        Sessionizer {
            per_shard: visitors.div_ceil(SHARDS).max(1),
            ..Sessionizer::default()
        }
    }

    /// Visitors forgotten early since start because the table was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Number of visitors currently held in memory.
    pub fn visitors(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    /// Makes room for a new visitor in `id`'s shard: forgets the one seen
    /// least recently there.
    fn make_room(&mut self, id: u64) {
        let per_shard = self.per_shard;
        let shard = self.shard_mut(id);
        if shard.len() < per_shard || shard.contains_key(&id) {
            return;
        }
        let last_seen = |v: &Visitor| {
            v.visits
                .iter()
                .map(|s| s.last_seen)
                .chain(v.journey.iter().map(|j| j.last_seen))
                .max()
                .unwrap_or(i64::MIN)
        };
        if let Some(oldest) = shard
            .iter()
            .min_by_key(|(_, v)| last_seen(v))
            .map(|(k, _)| *k)
        {
            shard.remove(&oldest);
            self.evicted += 1;
        }
    }

    /// Number of visits currently held in memory.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .flat_map(|m| m.values())
            .map(|v| v.visits.len())
            .sum()
    }

    /// True when no visit is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Places `event` in a visit and a journey, starting them if needed.
    pub fn assign(&mut self, event: AnonymousEvent) -> StoredEvent {
        if event.name() == glasshouse_privacy::ENGAGEMENT {
            return self.attach(event);
        }
        let ts = event.timestamp().timestamp_micros();
        self.sweep(ts);
        let site = event.site();
        // The id under which this person is already known: today's, or
        // yesterday's for a visit that runs over midnight.
        let key = [Some(event.visitor_id()), event.previous_visitor_id()]
            .into_iter()
            .flatten()
            .find(|id| {
                self.shard(*id).get(id).is_some_and(|v| {
                    v.journey.as_ref().is_some_and(|j| live(j.last_seen, ts))
                        || v.visits.iter().any(|s| live(s.last_seen, ts))
                })
            })
            .unwrap_or(event.visitor_id());
        self.make_room(key);
        let visitor = self.shard_mut(key).entry(key).or_default();

        let visit = match visitor
            .visits
            .iter_mut()
            .find(|s| s.site == site && live(s.last_seen, ts))
        {
            Some(state) => {
                state.last_seen = state.last_seen.max(ts);
                state
            }
            None => {
                visitor.visits.retain(|s| s.site != site);
                visitor.visits.push(SessionState {
                    session_id: rand::random::<u64>() >> 1,
                    visitor_id: key,
                    site: site.to_string(),
                    last_seen: ts,
                    acquisition: Arc::new(acquisition_of(&event)),
                });
                visitor.visits.last_mut().expect("just pushed")
            }
        };
        // What the row takes from its visit (not the whole state: its site
        // would be copied for every event).
        let (visitor_id, session_id, acquisition) = (
            visit.visitor_id,
            visit.session_id,
            visit.acquisition.clone(),
        );

        let journey = match visitor.journey.as_mut() {
            Some(j) if live(j.last_seen, ts) => {
                j.last_seen = j.last_seen.max(ts);
                j
            }
            _ => visitor.journey.insert(JourneyState {
                journey_id: rand::random::<u64>() >> 1,
                visitor_id: key,
                last_seen: ts,
                seq: 0,
                last_site: String::new(),
                last_page: String::new(),
            }),
        };
        let step = if event.name() == "pageview" {
            let step = JourneyStep {
                journey_id: journey.journey_id,
                seq: journey.seq + 1,
                prev_site: std::mem::replace(&mut journey.last_site, site.to_string()),
                prev_page: std::mem::replace(&mut journey.last_page, event.pathname().to_string()),
            };
            journey.seq += 1;
            step
        } else {
            JourneyStep {
                journey_id: journey.journey_id,
                seq: journey.seq,
                ..JourneyStep::default()
            }
        };
        StoredEvent {
            visitor_id,
            session_id,
            acquisition,
            journey: step,
            event,
        }
    }

    /// Places an engagement event in the live visit and journey of its
    /// page view without extending them: reading a page is not activity
    /// that keeps a visit open, and is never counted as a visit (`sql::COUNTED`).
    /// With no live visit (the report came after 30 minutes of reading),
    /// it gets ids of its own that no counted row shares.
    fn attach(&mut self, event: AnonymousEvent) -> StoredEvent {
        let ts = event.timestamp().timestamp_micros();
        let site = event.site();
        let found = [Some(event.visitor_id()), event.previous_visitor_id()]
            .into_iter()
            .flatten()
            .find_map(|id| {
                let v = self.shard(id).get(&id)?;
                let visit = v
                    .visits
                    .iter()
                    .find(|s| s.site == site && live(s.last_seen, ts))?;
                let journey = v.journey.as_ref().filter(|j| live(j.last_seen, ts));
                Some((
                    visit.visitor_id,
                    visit.session_id,
                    visit.acquisition.clone(),
                    journey.map(|j| (j.journey_id, j.seq)),
                ))
            });
        let (visitor_id, session_id, acquisition, journey) = found.unwrap_or_else(|| {
            (
                event.visitor_id(),
                rand::random::<u64>() >> 1,
                Arc::new(acquisition_of(&event)),
                None,
            )
        });
        let (journey_id, seq) = journey.unwrap_or((rand::random::<u64>() >> 1, 0));
        StoredEvent {
            visitor_id,
            session_id,
            acquisition,
            journey: JourneyStep {
                journey_id,
                seq,
                ..JourneyStep::default()
            },
            event,
        }
    }

    /// Forgets visits that ended: each shard at most once a minute of event
    /// time, one shard per call, so no single event pays for the whole table.
    fn sweep(&mut self, now: i64) {
        let k = self.cursor;
        if now.saturating_sub(self.swept[k]) < 60_000_000 {
            return;
        }
        self.swept[k] = now;
        self.cursor = (k + 1) % SHARDS;
        self.shards[k].retain(|_, v| {
            v.visits
                .retain(|s| now - s.last_seen < SESSION_TIMEOUT_MICROS);
            if v.journey
                .as_ref()
                .is_some_and(|j| now - j.last_seen >= SESSION_TIMEOUT_MICROS)
            {
                v.journey = None;
            }
            !v.visits.is_empty() || v.journey.is_some()
        });
    }
}

fn acquisition_of(event: &AnonymousEvent) -> Acquisition {
    Acquisition {
        entry_page: event.pathname().to_string(),
        source: event.source().to_string(),
        referrer: event.referrer().to_string(),
        utm: [
            event.utm_source().to_string(),
            event.utm_medium().to_string(),
            event.utm_campaign().to_string(),
            event.utm_content().to_string(),
            event.utm_term().to_string(),
        ],
    }
}

/// The instant from which visits may still be in progress.
pub fn open_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::microseconds(SESSION_TIMEOUT_MICROS)
}
