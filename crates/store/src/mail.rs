//! What the mailer remembers in the data directory: which reports and
//! alerts the relay accepted (`mail-sent.json`), so a restart sends a
//! missed report once and never twice, and which recipients asked to stop
//! (`unsubscribed.json`, by an opaque token, never by address).

use crate::listfile::ListFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How long a record is kept: longer than a month's report period, so the
/// latest period of every kind is always known.
const KEPT_DAYS: i64 = 70;

/// One report or alert the relay accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sent {
    /// Host of the site it was about.
    pub site: String,
    /// `week`, `month`, `drop` or `spike`.
    pub kind: String,
    /// The period it covered: its first day, or an alert's hour.
    pub period: String,
    /// The recipient, by the token of their unsubscribe link.
    pub recipient: String,
    /// When the relay accepted it (RFC 3339, UTC).
    pub at: String,
}

/// The record of what was sent.
pub type SentLog = ListFile<Sent>;

impl SentLog {
    /// Reads `DIR/mail-sent.json`, or starts empty.
    pub fn open(dir: &Path) -> std::io::Result<SentLog> {
        ListFile::at(dir.join("mail-sent.json"))
    }

    /// Whether `kind` about `period` of `site` was sent to `recipient`.
    pub fn was_sent(&self, site: &str, kind: &str, period: &str, recipient: &str) -> bool {
        !self
            .matching(|s| {
                s.site == site && s.kind == kind && s.period == period && s.recipient == recipient
            })
            .is_empty()
    }

    /// The latest record of `kind` for `site`.
    pub fn last(&self, site: &str, kind: &str) -> Option<Sent> {
        self.matching(|s| s.site == site && s.kind == kind)
            .into_iter()
            .max_by(|a, b| a.at.cmp(&b.at))
    }

    /// Records a send durably, forgetting records older than the longest
    /// period (`now` is RFC 3339, UTC, as `at`).
    pub fn record(&self, sent: Sent, now: chrono::DateTime<chrono::Utc>) -> std::io::Result<()> {
        let oldest = (now - chrono::Duration::days(KEPT_DAYS))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.change(|all| {
            all.retain(|s| s.at >= oldest);
            all.push(sent);
            Ok::<_, std::io::Error>(())
        })
    }
}

/// Tokens of recipients who asked to stop one site's report or alerts.
pub type Unsubscribed = ListFile<String>;

/// Reads `DIR/unsubscribed.json`, or starts empty.
pub fn unsubscribed(dir: &Path) -> std::io::Result<Unsubscribed> {
    ListFile::at(dir.join("unsubscribed.json"))
}
