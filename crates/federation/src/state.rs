//! What a node keeps between messages, in one file readable by its owner
//! only (`federation/state.json`), replaced durably on every change: the
//! day's link keys (erased when the day ends), the figures released, the
//! nonces seen (so no message is accepted twice), and how often each
//! figure's intersection was answered.

use chrono::NaiveDate;
use glasshouse_governance::gate::federation::FigureRelease;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A day's link key with one partner, or the handshake towards it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Our private X25519 half (base64), only until the partner answers.
    pub pending: Option<String>,
    /// Our public half (base64).
    pub mine: String,
    /// The partner's public half (base64).
    pub theirs: Option<String>,
    /// The link key (base64), once agreed.
    pub key: Option<String>,
}

/// A figure of a day, as released by the node that counted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Released {
    /// The release (`None` visitors: withheld under `k`).
    pub release: Option<FigureRelease>,
    /// Why there is no release, when the day could not be computed.
    pub unavailable: Option<String>,
    /// The node that counted it.
    pub counted_by: String,
    /// Whether the partner has received it (on the counting node).
    pub delivered: bool,
}

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Inner {
    /// "agreement|partner|day" → key.
    pub keys: BTreeMap<String, KeyEntry>,
    /// "agreement|figure|day" → released figure.
    pub released: BTreeMap<String, Released>,
    /// Nonce → Unix second after which it may be forgotten.
    pub seen: BTreeMap<String, i64>,
    /// "agreement|figure|day" → intersections answered.
    pub answered: BTreeMap<String, u32>,
    /// "agreement|day" for every day a link key was agreed, until its
    /// link ids are erased.
    pub linked: std::collections::BTreeSet<String>,
}

/// The state, shared by the routes and the node's job.
pub struct State {
    path: PathBuf,
    inner: Mutex<Inner>,
}

/// The key of a day's link key with a partner.
pub fn key_of(agreement: &str, partner: &str, day: NaiveDate) -> String {
    format!("{agreement}|{partner}|{day}")
}

/// The key of a figure of a day.
pub fn figure_of(agreement: &str, figure: &str, day: NaiveDate) -> String {
    format!("{agreement}|{figure}|{day}")
}

/// The day a `key_of` or `figure_of` key ends with.
pub fn day_in(key: &str) -> Option<NaiveDate> {
    key.rsplit('|').next()?.parse().ok()
}

impl State {
    /// Opens the state in `dir` (`DATA/federation`).
    pub fn open(dir: &Path) -> io::Result<State> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("state.json");
        let inner = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Inner::default(),
            Err(e) => return Err(e),
        };
        Ok(State {
            path,
            inner: Mutex::new(inner),
        })
    }

    /// The state, locked; call [`State::save`] after a change.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("federation state")
    }

    /// Writes the state durably.
    pub fn save(&self, inner: &Inner) -> io::Result<()> {
        let bytes = serde_json::to_vec(inner).map_err(io::Error::other)?;
        glasshouse_privacy::durable::replace_private(&self.path, &bytes)
    }
}
