//! One audited event and its canonical bytes.
//!
//! The Merkle leaf of an entry is its canonical JSON, so the same entry must
//! always serialise to the same bytes: fields in the declared order below,
//! no whitespace, serde_json's string escaping. Anything else on a line of
//! `entries.jsonl` is treated as tampering.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::merkle::{leaf_hash, Hash};

/// What kind of access was audited, so the transparency page can separate
/// data queries from changes to what is collected or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Someone asked for data.
    Query,
    /// Someone changed configuration that decides what data is collected,
    /// kept or shared.
    Config,
}

/// Whether the access was granted; refusals are logged too, so attempts to
/// reach data without an allowed purpose are visible, not silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The gate let the access through.
    Allowed,
    /// The gate refused it; `reason` says why.
    Refused,
}

/// One audited access: who (by role and pseudonym, never a name), what, for
/// which purpose, when, and what the gate decided.
///
/// Field order is part of the log format: it fixes the canonical JSON and
/// hence every leaf hash. Do not reorder or rename fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// RFC 3339 UTC time with second precision (`2025-01-31T09:30:00Z`);
    /// seconds only, so entries do not reveal finer timing than needed.
    pub time: String,
    /// Query or configuration change.
    pub kind: Kind,
    /// Slug of the organisation the actor acted for.
    pub organisation: String,
    /// The actor's role, e.g. `analyst`, `api-token`, `operator`.
    pub role: String,
    /// A pseudonym of the account, given by the caller; never a username,
    /// because the log is public.
    pub actor: String,
    /// The declared purpose id, or empty where none applies.
    pub purpose: String,
    /// The canonical form of the query (or of the change), given by the caller.
    pub query: String,
    /// How many rows were returned.
    pub rows: u64,
    /// Allowed or refused.
    pub decision: Decision,
    /// Why it was refused, or a short note; may be empty.
    pub reason: String,
}

/// Why bytes are not a valid entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The bytes are not JSON of an entry.
    #[error("not an entry: {0}")]
    Parse(String),
    /// The JSON is an entry but not in canonical form, so its leaf hash
    /// would not be reproducible.
    #[error("not in canonical form")]
    NotCanonical,
    /// The time is not RFC 3339 UTC with second precision.
    #[error("time {0:?} is not RFC 3339 UTC with second precision (YYYY-MM-DDTHH:MM:SSZ)")]
    BadTime(String),
}

impl Entry {
    /// An allowed query happening now, with zero rows and no reason: the
    /// common case, refined with the builder methods.
    pub fn query(organisation: &str, role: &str, actor: &str, purpose: &str, query: &str) -> Entry {
        Entry {
            time: format_time(Utc::now()),
            kind: Kind::Query,
            organisation: organisation.to_owned(),
            role: role.to_owned(),
            actor: actor.to_owned(),
            purpose: purpose.to_owned(),
            query: query.to_owned(),
            rows: 0,
            decision: Decision::Allowed,
            reason: String::new(),
        }
    }

    /// An allowed configuration change happening now; `change` is a
    /// canonical description of what changed.
    pub fn config(organisation: &str, role: &str, actor: &str, change: &str) -> Entry {
        Entry {
            kind: Kind::Config,
            ..Entry::query(organisation, role, actor, "", change)
        }
    }

    /// Sets the time, for callers that record when the access happened
    /// rather than when it was logged (and for tests).
    pub fn at(mut self, time: DateTime<Utc>) -> Entry {
        self.time = format_time(time);
        self
    }

    /// Sets the number of rows returned.
    pub fn rows(mut self, rows: u64) -> Entry {
        self.rows = rows;
        self
    }

    /// Marks the access as refused, with the gate's reason.
    pub fn refused(mut self, reason: &str) -> Entry {
        self.decision = Decision::Refused;
        self.reason = reason.to_owned();
        self
    }

    /// Sets a reason or note without changing the decision.
    pub fn reason(mut self, reason: &str) -> Entry {
        self.reason = reason.to_owned();
        self
    }

    /// The canonical JSON bytes: the leaf data of this entry in the tree.
    pub fn canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry always serialises")
    }

    /// The Merkle leaf hash of this entry.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.canonical_json())
    }

    /// Checks the fields the format constrains, so a malformed entry is
    /// refused at append time rather than discovered by an auditor.
    pub fn validate(&self) -> Result<(), EntryError> {
        let ok = DateTime::parse_from_rfc3339(&self.time).is_ok()
            && self.time.len() == 20
            && self.time.ends_with('Z');
        if ok {
            Ok(())
        } else {
            Err(EntryError::BadTime(self.time.clone()))
        }
    }

    /// Parses one stored line and insists it is exactly the canonical form,
    /// so that a re-encoded or hand-edited line is reported, not accepted.
    pub fn from_canonical(bytes: &[u8]) -> Result<Entry, EntryError> {
        let entry: Entry =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Parse(e.to_string()))?;
        if entry.canonical_json() != bytes {
            return Err(EntryError::NotCanonical);
        }
        entry.validate()?;
        Ok(entry)
    }
}

/// Formats a time the one way entries carry it.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Entry {
        Entry::query(
            "council",
            "analyst",
            "acct-7f3a",
            "service-improvement",
            "pageviews by day",
        )
        .at(Utc.with_ymd_and_hms(2025, 1, 31, 9, 30, 0).unwrap())
        .rows(31)
    }

    #[test]
    fn canonical_json_has_fixed_field_order_and_no_whitespace() {
        let json = String::from_utf8(sample().canonical_json()).unwrap();
        assert_eq!(
            json,
            r#"{"time":"2025-01-31T09:30:00Z","kind":"query","organisation":"council","role":"analyst","actor":"acct-7f3a","purpose":"service-improvement","query":"pageviews by day","rows":31,"decision":"allowed","reason":""}"#
        );
    }

    #[test]
    fn round_trips_and_refuses_other_encodings() {
        let e = sample().refused("purpose not allowed");
        let bytes = e.canonical_json();
        assert_eq!(Entry::from_canonical(&bytes).unwrap(), e);
        let pretty = serde_json::to_vec_pretty(&e).unwrap();
        assert_eq!(
            Entry::from_canonical(&pretty),
            Err(EntryError::NotCanonical)
        );
        let mut extra = serde_json::to_value(&e).unwrap();
        extra["x"] = 1.into();
        assert!(matches!(
            Entry::from_canonical(&serde_json::to_vec(&extra).unwrap()),
            Err(EntryError::Parse(_))
        ));
    }

    #[test]
    fn time_must_be_utc_seconds() {
        let mut e = sample();
        assert!(e.validate().is_ok());
        e.time = "2025-01-31T09:30:00.123Z".into();
        assert!(e.validate().is_err());
        e.time = "2025-01-31T09:30:00+01:00".into();
        assert!(e.validate().is_err());
    }

    #[test]
    fn config_entries_have_kind_config() {
        let e = Entry::config("council", "operator", "acct-1", "retention raw=30d");
        assert_eq!(e.kind, Kind::Config);
        assert_eq!(e.purpose, "");
    }
}
