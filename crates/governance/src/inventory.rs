//! What the renderers are told about the live installation.
//!
//! The configuration says what *may* happen; the inventory says what *is*
//! there: how many events each site holds, how old the oldest is, how big
//! the audit log has grown. The caller (the server or the CLI) fills it from
//! the store and the audit log, so this crate stays free of I/O and every
//! page it renders can be tested from plain values.

use chrono::{DateTime, Utc};
use glasshouse_model::config::DEFAULT_REGISTER_THRESHOLD;
use serde::Serialize;

/// A count as the public register shows it: as of the end of yesterday,
/// rounded to two significant figures, and withheld under a threshold, so
/// that the public page never carries an exact, live figure from which one
/// visit could be read by asking before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicCount {
    /// Fewer than this many: not shown.
    FewerThan(u64),
    /// About this many (rounded).
    About(u64),
}

impl PublicCount {
    /// `n` as published with withholding threshold `threshold`.
    pub fn of(n: u64, threshold: u64) -> PublicCount {
        if n < threshold {
            return PublicCount::FewerThan(threshold);
        }
        let mut unit = 1u64;
        while n / unit >= 100 {
            unit *= 10;
        }
        let rounded = (u128::from(n) + u128::from(unit / 2)) / u128::from(unit) * u128::from(unit);
        PublicCount::About(u64::try_from(rounded).unwrap_or(u64::MAX))
    }

    /// In words: `about 1,200`, `fewer than 10`, `0` for nothing at all.
    pub fn text(self) -> String {
        match self {
            PublicCount::FewerThan(t) => format!("fewer than {}", crate::format::count(t)),
            PublicCount::About(n) => format!("about {}", crate::format::count(n)),
        }
    }

    /// The count when shown, for sums.
    pub fn shown(self) -> u64 {
        match self {
            PublicCount::FewerThan(_) => 0,
            PublicCount::About(n) => n,
        }
    }
}

/// The facts about one site, as of the end of yesterday, so the register
/// and the DPIA state volumes and ages as they are, not as they were when
/// someone last wrote them down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteInventory {
    /// Host of the site, as in the configuration.
    pub host: String,
    /// Raw events stored for the site up to the end of yesterday (each
    /// carries a daily visitor id).
    pub events_stored: PublicCount,
    /// Time of the oldest stored raw event, if there is any; shows that
    /// retention is actually being enforced.
    pub oldest_event: Option<DateTime<Utc>>,
    /// Distinct daily visitor ids summed over the 30 days before today (an
    /// upper bound on people, since the same person gets a new id every day).
    pub visitors_last_30_days: PublicCount,
}

impl SiteInventory {
    /// An empty inventory for a site with nothing stored yet.
    pub fn empty(host: &str) -> SiteInventory {
        SiteInventory {
            host: host.to_ascii_lowercase(),
            events_stored: PublicCount::FewerThan(DEFAULT_REGISTER_THRESHOLD),
            oldest_event: None,
            visitors_last_30_days: PublicCount::FewerThan(DEFAULT_REGISTER_THRESHOLD),
        }
    }

    /// A site's counted figures as the register publishes them: rounded,
    /// and withheld under `threshold`, so no exact figure is public.
    pub fn counted(
        host: &str,
        events_stored: u64,
        visitors_last_30_days: u64,
        oldest_event: Option<DateTime<Utc>>,
        threshold: u64,
    ) -> SiteInventory {
        SiteInventory {
            host: host.to_ascii_lowercase(),
            events_stored: PublicCount::of(events_stored, threshold),
            oldest_event,
            visitors_last_30_days: PublicCount::of(visitors_last_30_days, threshold),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PublicCount;

    #[test]
    fn public_counts_are_rounded_and_small_ones_withheld() {
        assert_eq!(PublicCount::of(9, 10), PublicCount::FewerThan(10));
        assert_eq!(PublicCount::of(0, 10), PublicCount::FewerThan(10));
        assert_eq!(PublicCount::of(45, 10), PublicCount::About(45));
        assert_eq!(PublicCount::of(321, 10), PublicCount::About(320));
        assert_eq!(PublicCount::of(999, 10), PublicCount::About(1000));
        assert_eq!(
            PublicCount::of(1_234_567, 10),
            PublicCount::About(1_200_000)
        );
        assert_eq!(PublicCount::of(1_234_567, 10).text(), "about 1,200,000");
        assert_eq!(PublicCount::of(3, 10).text(), "fewer than 10");
        assert!(PublicCount::of(u64::MAX, 10).shown() > 0);
    }
}

/// The live facts about the whole installation, filled by the caller from
/// the store and the audit log just before rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// One entry per site; a configured site without an entry is shown as
    /// holding nothing.
    pub sites: Vec<SiteInventory>,
    /// Number of entries in the audit log.
    pub audit_log_size: u64,
    /// The latest signed checkpoint of the audit log, as its text (a C2SP
    /// signed note), so readers can save it and check later that the log
    /// only grew.
    pub audit_checkpoint: Option<String>,
    /// The key that verifies the audit log's checkpoints.
    pub audit_public_key: Option<String>,
    /// When the page was rendered; also "today" for deciding which
    /// agreements are in force.
    pub generated_at: DateTime<Utc>,
    /// Where the events are stored, in words: "DuckDB (embedded)" or "ClickHouse".
    pub store_backend: String,
    /// The shared links that work now: who published which site's
    /// figures to people without an account.
    pub links: Vec<SharedLink>,
}

/// A shared link as the register shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedLink {
    /// The link's id, as its audit entries name it.
    pub id: String,
    /// Host of the site it shows.
    pub site: String,
    /// The organisation that shared it.
    pub organisation: String,
    /// The purpose its questions are asked for.
    pub purpose: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it stops working, if ever.
    pub expires: Option<DateTime<Utc>>,
    /// Whether it needs a password.
    pub password: bool,
    /// The segment it is limited to, by name.
    pub segment: Option<String>,
    /// Sites whose pages may show it in a frame.
    pub embed: Vec<String>,
}

impl Inventory {
    /// The facts about one site (case-insensitive host); an empty entry when
    /// the caller had none, so a missing figure reads as "nothing stored"
    /// rather than breaking the page.
    pub fn site(&self, host: &str) -> SiteInventory {
        self.sites
            .iter()
            .find(|s| s.host.eq_ignore_ascii_case(host))
            .cloned()
            .unwrap_or_else(|| SiteInventory::empty(host))
    }
}

/// One audit log entry as the public sees it: who (role and organisation,
/// never a name), what, for which purpose, when, and what the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// RFC 3339 UTC time of the access.
    pub time: String,
    /// `query` or `config`.
    pub kind: String,
    /// Slug of the organisation the actor acted for.
    pub organisation: String,
    /// The actor's role, e.g. `analyst` or `api-token`.
    pub role: String,
    /// The purpose id declared, or empty.
    pub purpose: String,
    /// The request in canonical form.
    pub query: String,
    /// Rows returned.
    pub rows: u64,
    /// `allowed` or `refused`.
    pub decision: String,
    /// Why it was refused, or a short note.
    pub reason: String,
}

impl AuditRow {
    /// Whether the entry is about this site: its canonical query names the
    /// host. The caller uses it to build a site's page of entries, so the
    /// page count it passes matches the entries shown.
    pub fn is_about(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let query = self.query.to_ascii_lowercase();
        query.match_indices(&host).any(|(i, _)| {
            let before = query[..i].chars().next_back();
            let after = query[i + host.len()..].chars().next();
            let boundary = |c: Option<char>| {
                c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            };
            boundary(before) && boundary(after)
        })
    }
}

/// One page of the audit log to show, with what is needed to link to the
/// other pages and to say whether the log was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    /// The entries on this page, in the order to show them.
    pub entries: Vec<AuditRow>,
    /// This page's number, counting from 1.
    pub page: u64,
    /// Entries per page.
    pub per_page: u64,
    /// Entries in the whole (possibly site-filtered) log.
    pub total: u64,
    /// `Some(true)` when the log was verified against its signed checkpoints,
    /// `Some(false)` when verification failed, `None` when it was not checked.
    pub verified: Option<bool>,
}

impl AuditPage {
    /// Cuts page `page` (from 1; 0 is read as 1) of `per_page` entries out of
    /// `rows`, for callers that hold the whole list (e.g. after filtering it
    /// with [`AuditRow::is_about`]).
    pub fn from_rows(
        rows: &[AuditRow],
        page: u64,
        per_page: u64,
        verified: Option<bool>,
    ) -> AuditPage {
        let per_page = per_page.max(1);
        let page = page.max(1);
        let start = (page - 1).saturating_mul(per_page);
        let entries = rows
            .iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(per_page).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        AuditPage {
            entries,
            page,
            per_page,
            total: rows.len() as u64,
            verified,
        }
    }

    /// Number of pages (at least 1, so an empty log still has a first page).
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}
