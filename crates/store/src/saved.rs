//! Saved funnels: named step lists kept per site.
//!
//! They are definitions, not data about visitors, so they live in a small
//! JSON file in the data directory (`funnels.json`, a [`ListFile`](crate::listfile::ListFile)).
//! They do not depend on which back end holds the
//! events, but the aggregate tier keeps a daily count of each saved step
//! list (`retention`), which is why they live here and not in the server.

use glasshouse_model::journey::FunnelStep;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most funnels one site may keep.
pub const MAX_PER_SITE: usize = 100;

/// A saved funnel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Saved {
    /// A random id.
    pub id: String,
    /// Host of the site it belongs to.
    pub site: String,
    /// A name people chose.
    pub name: String,
    /// Its steps.
    pub steps: Vec<FunnelStep>,
    /// When it last changed (RFC 3339).
    pub updated: String,
    /// Pseudonym of the account or token that saved it: it may delete it,
    /// as may an admin of the organisation.
    #[serde(default)]
    pub owner: String,
}

/// The funnels file (`funnels.json`), held in memory and written through
/// on every change.
pub type SavedFunnels = crate::listfile::ListFile<Saved>;

impl SavedFunnels {
    /// Reads `DIR/funnels.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<SavedFunnels> {
        crate::listfile::ListFile::at(dir.join("funnels.json"))
    }

    /// The funnels of one site.
    pub fn of_site(&self, host: &str) -> Vec<Saved> {
        self.matching(|f| f.site == host)
    }
}

/// Where the aggregate tier keeps the daily counts of a list of steps: by
/// the steps themselves, so an edited funnel starts a new series and a
/// question with the same steps finds them.
pub fn daily_key(steps: &[FunnelStep]) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(steps).unwrap_or_default();
    format!("funnel:{}", &hex::encode(Sha256::digest(bytes))[..16])
}
