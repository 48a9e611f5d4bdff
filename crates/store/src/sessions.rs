//! The in-memory session table: which visit each event belongs to.
//!
//! A visit (session) is a visitor's run of events with gaps under 30 minutes.
//! The table is keyed by the daily visitor id and lives only in memory; after
//! a restart it is rebuilt from the last 30 minutes of stored events, so a
//! visit in progress is not split in two.
//!
//! Each stored event carries its visit's id, entry page and acquisition
//! (source, referrer, UTM tags, all taken from the visit's first event). That
//! makes every visit-level filter a plain per-event `WHERE`.
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
    /// Time of the visit's latest event, in microseconds since the epoch.
    pub last_seen: i64,
    /// The visit's acquisition, copied onto each of its events.
    pub acquisition: Arc<Acquisition>,
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
}

/// Assigns events to visits. One per ingest queue; not shared between threads.
#[derive(Debug, Default)]
pub struct Sessionizer {
    by_visitor: HashMap<u64, SessionState>,
    last_sweep: i64,
}

impl Sessionizer {
    /// A table restored from visits still in progress.
    pub fn restore(states: Vec<SessionState>) -> Sessionizer {
        let mut s = Sessionizer::default();
        for state in states {
            s.by_visitor.insert(state.visitor_id, state);
        }
        s
    }

    /// Number of visits currently held in memory.
    pub fn len(&self) -> usize {
        self.by_visitor.len()
    }

    /// True when no visit is in progress.
    pub fn is_empty(&self) -> bool {
        self.by_visitor.is_empty()
    }

    /// Places `event` in a visit, starting one if needed.
    pub fn assign(&mut self, event: AnonymousEvent) -> StoredEvent {
        let ts = event.timestamp().timestamp_micros();
        self.sweep(ts);
        let key = [Some(event.visitor_id()), event.previous_visitor_id()]
            .into_iter()
            .flatten()
            .find(|id| {
                self.by_visitor
                    .get(id)
                    .is_some_and(|s| (ts - s.last_seen).abs() < SESSION_TIMEOUT_MICROS)
            });
        if let Some(key) = key {
            let state = self.by_visitor.get_mut(&key).expect("found above");
            state.last_seen = state.last_seen.max(ts);
            return StoredEvent {
                visitor_id: state.visitor_id,
                session_id: state.session_id,
                acquisition: state.acquisition.clone(),
                event,
            };
        }
        let acquisition = Arc::new(Acquisition {
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
        });
        let state = SessionState {
            session_id: rand::random::<u64>() >> 1,
            visitor_id: event.visitor_id(),
            last_seen: ts,
            acquisition: acquisition.clone(),
        };
        let stored = StoredEvent {
            visitor_id: state.visitor_id,
            session_id: state.session_id,
            acquisition,
            event,
        };
        self.by_visitor.insert(state.visitor_id, state);
        stored
    }

    /// Forgets visits that ended, at most once a minute of event time.
    fn sweep(&mut self, now: i64) {
        if now - self.last_sweep < 60_000_000 {
            return;
        }
        self.last_sweep = now;
        self.by_visitor
            .retain(|_, s| now - s.last_seen < SESSION_TIMEOUT_MICROS);
    }
}

/// The instant from which visits may still be in progress.
pub fn open_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::microseconds(SESSION_TIMEOUT_MICROS)
}
