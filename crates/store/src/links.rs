//! Shared links: read-only views of one site's dashboard for people
//! without an account, made by an analyst of the site's organisation
//! (`glasshouse_server::links` serves them). Kept in `links.json` in the
//! data directory (a [`ListFile`]).
//!
//! Only the SHA-256 of a link's secret is kept, so the file (and a backup
//! of it) opens no link; a password is kept as an Argon2 hash. A link
//! names its creator, so that it dies with the creator's access.

use crate::listfile::ListFile;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Most links one site may have.
pub const MAX_PER_SITE: usize = 200;

/// Most sites one embeddable link may be framed by.
pub const MAX_EMBED_ORIGINS: usize = 10;

/// Who made a link: its access is checked on every view.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Creator {
    /// A dashboard account, by username.
    Account {
        /// The account's name in the configuration.
        username: String,
    },
    /// An API token, by the SHA-256 the configuration holds.
    Token {
        /// The token's hash, as in `[[api_tokens]]`.
        sha256: String,
    },
}

/// The segment a link is limited to, as it was when the link was made:
/// the link shows what its creator chose, even if the segment changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkSegment {
    /// The segment's id when the link was made.
    pub id: String,
    /// Its name, shown on the link's page.
    pub name: String,
    /// Its filters (Stats API v2 form).
    pub filters: serde_json::Value,
}

/// One shared link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Link {
    /// A random id: what the API and the register name it by.
    pub id: String,
    /// SHA-256 (hex) of the secret in the link's address.
    pub secret_sha256: String,
    /// Host of the site it shows.
    pub site: String,
    /// The organisation it reads as: the creator's.
    pub organisation: String,
    /// The purpose every question through it is asked for.
    pub purpose: String,
    /// Who made it.
    pub creator: Creator,
    /// When it was made (RFC 3339).
    pub created: String,
    /// When it stops working, if ever.
    pub expires: Option<DateTime<Utc>>,
    /// Argon2 hash of its password, if it has one.
    pub password: Option<String>,
    /// The segment it is limited to, if any.
    pub segment: Option<LinkSegment>,
    /// Origins (`https://www.gov.uk`) whose pages may show it in a frame;
    /// empty: no site may.
    pub embed: Vec<String>,
}

impl Link {
    /// Whether the link still works at `now` (not expired).
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| now < e)
    }
}

/// The SHA-256 (hex) a link's secret is kept as.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The links file, held in memory and written through on every change.
pub type Links = ListFile<Link>;

impl Links {
    /// Reads `DIR/links.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<Links> {
        ListFile::at(dir.join("links.json"))
    }

    /// The link whose secret is `secret`, if any (live or not).
    pub fn by_secret(&self, secret: &str) -> Option<Link> {
        let hash = secret_hash(secret);
        self.matching(|l| constant_eq(&l.secret_sha256, &hash))
            .into_iter()
            .next()
    }
}

/// Compares two hashes in time that does not depend on where they differ.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Views of one link on one day, counted until the day is over and then
/// written to the audit log as one entry: anonymous viewers cannot grow
/// the public log without bound, and every figure that left is in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkViews {
    /// The link's id.
    pub link: String,
    /// The site it shows.
    pub site: String,
    /// The organisation it reads as.
    pub organisation: String,
    /// Its purpose.
    pub purpose: String,
    /// The UTC day counted.
    pub day: NaiveDate,
    /// Questions answered.
    pub answered: u64,
    /// Questions refused.
    pub refused: u64,
    /// Rows in the answers.
    pub rows: u64,
}

/// The counts of days not yet written to the audit log, kept durably
/// (`link-views.json`) so that a restart loses none.
pub type ViewCounts = ListFile<LinkViews>;

impl ViewCounts {
    /// Reads `DIR/link-views.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<ViewCounts> {
        ListFile::at(dir.join("link-views.json"))
    }

    /// Counts one question through `link` on `day`, durably.
    pub fn count(
        &self,
        link: &Link,
        day: NaiveDate,
        answered: bool,
        rows: u64,
    ) -> std::io::Result<()> {
        self.change(|all| {
            let at = match all.iter().position(|v| v.link == link.id && v.day == day) {
                Some(i) => i,
                None => {
                    all.push(LinkViews {
                        link: link.id.clone(),
                        site: link.site.clone(),
                        organisation: link.organisation.clone(),
                        purpose: link.purpose.clone(),
                        day,
                        answered: 0,
                        refused: 0,
                        rows: 0,
                    });
                    all.len() - 1
                }
            };
            let v = &mut all[at];
            if answered {
                v.answered += 1;
            } else {
                v.refused += 1;
            }
            v.rows += rows;
            Ok::<_, std::io::Error>(())
        })
    }

    /// The counts of days before `today`: ready for the audit log.
    pub fn closed(&self, today: NaiveDate) -> Vec<LinkViews> {
        self.matching(|v| v.day < today)
    }

    /// Forgets counts once they are in the audit log.
    pub fn forget(&self, written: &[LinkViews]) -> std::io::Result<()> {
        self.change(|all| {
            all.retain(|v| !written.iter().any(|w| w.link == v.link && w.day == v.day));
            Ok::<_, std::io::Error>(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            id: "l1".into(),
            secret_sha256: secret_hash("s3cret"),
            site: "a.example".into(),
            organisation: "a".into(),
            purpose: "p".into(),
            creator: Creator::Account {
                username: "ana".into(),
            },
            created: "2026-01-01T00:00:00Z".into(),
            expires: None,
            password: None,
            segment: None,
            embed: vec![],
        }
    }

    #[test]
    fn views_are_counted_per_link_and_day_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let d1 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        {
            let v = ViewCounts::open(dir.path()).unwrap();
            v.count(&link(), d1, true, 3).unwrap();
            v.count(&link(), d1, false, 0).unwrap();
            v.count(&link(), d2, true, 1).unwrap();
        }
        let v = ViewCounts::open(dir.path()).unwrap();
        let closed = v.closed(d2);
        assert_eq!(closed.len(), 1);
        assert_eq!(
            (closed[0].answered, closed[0].refused, closed[0].rows),
            (1, 1, 3)
        );
        v.forget(&closed).unwrap();
        assert!(v.closed(d2).is_empty());
        assert_eq!(v.closed(d2.succ_opt().unwrap()).len(), 1);
    }

    #[test]
    fn a_link_is_found_by_its_secret_only() {
        let dir = tempfile::tempdir().unwrap();
        let links = Links::open(dir.path()).unwrap();
        links
            .change(|all| {
                all.push(link());
                Ok::<_, std::io::Error>(())
            })
            .unwrap();
        assert!(links.by_secret("s3cret").is_some());
        assert!(links.by_secret("s3cre").is_none());
        let stored = std::fs::read_to_string(dir.path().join("links.json")).unwrap();
        assert!(
            !stored.contains("s3cret"),
            "the secret itself is never stored"
        );
    }
}
