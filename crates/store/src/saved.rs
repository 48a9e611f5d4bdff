//! Saved funnels: named step lists kept per site.
//!
//! They are definitions, not data about visitors, so they live in a small
//! JSON file in the data directory (`funnels.json`), written whole with one
//! durable write (`glasshouse_privacy::durable::replace`), so a crash never
//! leaves half a file. They do not depend on which back end holds the
//! events, but the aggregate tier keeps a daily count of each saved step
//! list (`retention`), which is why they live here and not in the server.

use glasshouse_model::journey::FunnelStep;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// The funnels file, held in memory and written through on every change.
pub struct SavedFunnels {
    path: PathBuf,
    all: Mutex<Vec<Saved>>,
}

impl SavedFunnels {
    /// Reads `DIR/funnels.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<SavedFunnels> {
        let path = dir.join("funnels.json");
        let all = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(SavedFunnels {
            path,
            all: Mutex::new(all),
        })
    }

    /// The funnels of one site.
    pub fn of_site(&self, host: &str) -> Vec<Saved> {
        let all = self.all.lock().expect("funnels");
        all.iter().filter(|f| f.site == host).cloned().collect()
    }

    /// Changes the funnels as `change` says, all or nothing: it edits a
    /// copy, which is written durably before it replaces what readers see;
    /// an error from `change` or from the write leaves everything as it was.
    pub fn change<T, E: From<std::io::Error>>(
        &self,
        change: impl FnOnce(&mut Vec<Saved>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut all = self.all.lock().expect("funnels");
        let mut next = all.clone();
        let out = change(&mut next)?;
        let bytes = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        glasshouse_privacy::durable::replace(&self.path, &bytes)?;
        *all = next;
        Ok(out)
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
