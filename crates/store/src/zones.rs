//! Each site's time zone as its roll-ups were computed, kept in the data
//! directory (`zones.json`), so that a changed zone is noticed at start and
//! at a reload.
//!
//! What a change means: roll-ups already kept as the aggregate tier (days
//! past raw retention) stay as they were computed, with the old zone's day
//! boundaries; nothing can compute them again. Days still held as raw
//! events answer in the new zone at once, and their fresh roll-ups (which
//! stand in for them in unfiltered answers) are forgotten, to be computed
//! again for the new zone's days by the next hourly run. The salts follow
//! the new zone's days from the change on.

use crate::{Store, StoreError};
use glasshouse_model::query::Tz;
use std::collections::BTreeMap;
use std::path::Path;

/// Name of the file in the data directory.
pub const ZONES_FILE: &str = "zones.json";

/// Compares `zones` with those recorded in `dir`, forgets the fresh
/// roll-ups of every site whose zone changed, records `zones`, and returns
/// the sites that changed. A site seen for the first time is no change.
pub fn apply(
    store: &dyn Store,
    dir: &Path,
    zones: &[(String, Tz)],
) -> Result<Vec<String>, StoreError> {
    let path = dir.join(ZONES_FILE);
    let before: BTreeMap<String, String> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Database(format!("{} is not a zones file: {e}", path.display()))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(StoreError::Io(e)),
    };
    let mut changed = Vec::new();
    for (site, tz) in zones {
        if before.get(site).is_some_and(|old| old != tz.name()) {
            store.forget_fresh(site)?;
            changed.push(site.clone());
        }
    }
    let now: BTreeMap<&str, &str> = zones.iter().map(|(s, z)| (s.as_str(), z.name())).collect();
    let text = serde_json::to_vec_pretty(&now).expect("a map of text serialises");
    let tmp = dir.join(".zones.json.tmp");
    std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &path))?;
    Ok(changed)
}
