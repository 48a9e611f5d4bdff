//! The data directory as a whole: one writer at a time, and the version of
//! its layout.
//!
//! Salts, the ε ledger, kept answers, saved funnels, the write-ahead log
//! and the audit log are plain files that one process writes at a time; a
//! second `serve` on the same directory would corrupt them (two salt
//! rotations, two appenders to one Merkle tree). [`DataDir::lock`] takes an
//! exclusive lock on `DIR/glasshouse.lock` that the operating system drops
//! when the process ends, however it ends, so a crash never leaves a stale
//! lock behind.
//!
//! `DIR/layout-version` records which layout of files the directory holds.
//! A binary refuses a directory written by a newer one, rather than
//! misreading it; an older layout is brought up to date by the numbered
//! steps in [`MIGRATIONS`], each run once, before anything else opens.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The layout of the data directory this binary writes.
pub const LAYOUT_VERSION: u32 = 1;

/// The lock file's name.
pub const LOCK_FILE: &str = "glasshouse.lock";

/// The version file's name.
pub const VERSION_FILE: &str = "layout-version";

/// One step from layout `n - 1` to `n`, by number.
pub type Migration = fn(&Path) -> std::io::Result<()>;

/// The steps, `MIGRATIONS[i]` taking layout `i` to `i + 1`. Layout 0 is a
/// directory from before versions were recorded: its files are read as
/// they are, so its step only records the version.
pub const MIGRATIONS: [Migration; LAYOUT_VERSION as usize] = [|_| Ok(())];

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another process holds it.
    #[error(
        "the data directory {0} is in use by another glasshouse process{1}; stop it first (one process writes a data directory)"
    )]
    InUse(PathBuf, String),
    /// Written by a newer glasshouse.
    #[error("the data directory {dir} has layout version {found}, newer than this glasshouse knows ({known}); run the newer release, or restore a backup made by this one")]
    Newer {
        /// The directory.
        dir: PathBuf,
        /// Its version.
        found: u32,
        /// The newest this binary knows.
        known: u32,
    },
    /// The version file is not a number.
    #[error("{0}: not a layout version number")]
    BadVersion(PathBuf),
    /// A file could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// A data directory held by this process until dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed, takes its lock, and brings its
    /// layout up to [`LAYOUT_VERSION`] (refusing a newer one).
    pub fn lock(path: &Path) -> Result<DataDir, DataDirError> {
        let io = |p: &Path| {
            let p = p.to_owned();
            move |source| DataDirError::Io { path: p, source }
        };
        std::fs::create_dir_all(path).map_err(io(path))?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (process {pid})"))
                    .unwrap_or_default();
                return Err(DataDirError::InUse(path.to_owned(), holder));
            }
            Err(TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        // Who holds it, for the message a second process prints.
        lock.set_len(0).map_err(io(&lock_path))?;
        writeln!(lock, "{}", std::process::id()).map_err(io(&lock_path))?;
        migrate(path)?;
        Ok(DataDir {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The layout version of the directory at `path` (0 if none is recorded).
pub fn layout_version(path: &Path) -> Result<u32, DataDirError> {
    let file = path.join(VERSION_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| DataDirError::BadVersion(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(source) => Err(DataDirError::Io { path: file, source }),
    }
}

/// Runs the steps from the directory's layout to this binary's, recording
/// each as it completes, so an interrupted upgrade resumes where it stopped.
fn migrate(path: &Path) -> Result<(), DataDirError> {
    let found = layout_version(path)?;
    if found > LAYOUT_VERSION {
        return Err(DataDirError::Newer {
            dir: path.to_owned(),
            found,
            known: LAYOUT_VERSION,
        });
    }
    let file = path.join(VERSION_FILE);
    for step in found..LAYOUT_VERSION {
        let io = |source| DataDirError::Io {
            path: file.clone(),
            source,
        };
        MIGRATIONS[step as usize](path).map_err(io)?;
        glasshouse_privacy::durable::replace(&file, format!("{}\n", step + 1).as_bytes())
            .map_err(io)?;
        if step > 0 {
            tracing::info!(dir = %path.display(), to = step + 1, "data directory layout upgraded");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_directory_and_the_first_process() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::lock(dir.path()).unwrap();
        let err = DataDir::lock(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        DataDir::lock(dir.path()).expect("free again once the first is gone");
    }

    #[test]
    fn the_layout_is_recorded_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(DataDir::lock(dir.path()).unwrap());
        assert_eq!(layout_version(dir.path()).unwrap(), LAYOUT_VERSION);
        std::fs::write(dir.path().join(VERSION_FILE), "99\n").unwrap();
        let err = DataDir::lock(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataDirError::Newer { found: 99, .. }),
            "{err}"
        );
        std::fs::write(dir.path().join(VERSION_FILE), "one\n").unwrap();
        assert!(matches!(
            DataDir::lock(dir.path()).unwrap_err(),
            DataDirError::BadVersion(_)
        ));
    }
}
