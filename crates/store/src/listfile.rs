//! A short list of things people define (saved funnels, annotations), kept
//! in a JSON file of the data directory: not data about visitors, and the
//! same whichever back end holds the events.
//!
//! The list is held in memory and written whole with one durable write
//! (`glasshouse_privacy::durable::replace`) on every change, so a crash
//! never leaves half a file and readers never see a change that was not
//! written.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;

/// A list kept in one JSON file.
pub struct ListFile<T> {
    path: PathBuf,
    all: Mutex<Vec<T>>,
}

impl<T: Clone + Serialize + DeserializeOwned> ListFile<T> {
    /// Reads the list at `path`, or starts empty when there is none.
    pub fn at(path: PathBuf) -> std::io::Result<ListFile<T>> {
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
        Ok(ListFile {
            path,
            all: Mutex::new(all),
        })
    }

    /// The items `keep` accepts, in the list's order.
    pub fn matching(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        let all = self.all.lock().expect("list file");
        all.iter().filter(|t| keep(t)).cloned().collect()
    }

    /// Changes the list as `change` says, all or nothing: it edits a copy,
    /// which is written durably before it replaces what readers see; an
    /// error from `change` or from the write leaves everything as it was.
    pub fn change<R, E: From<std::io::Error>>(
        &self,
        change: impl FnOnce(&mut Vec<T>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut all = self.all.lock().expect("list file");
        let mut next = all.clone();
        let out = change(&mut next)?;
        let bytes = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        glasshouse_privacy::durable::replace(&self.path, &bytes)?;
        *all = next;
        Ok(out)
    }
}
