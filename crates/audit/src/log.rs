//! The audit log on disk: append an entry, sign a checkpoint, serve proofs.
//!
//! One writer per directory (the server); any number of readers may run
//! [`crate::verify_dir`] on the same files at the same time, because files
//! are only ever appended to.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use thiserror::Error;

use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, EntryError};
use crate::files::{read_checkpoints, read_entries, CHECKPOINTS, ENTRIES, KEY};
use crate::key::{check_name, Algorithm, KeyError, Signer};
use crate::merkle::{leaf_hash, Hash, ProofError, Tree};
use crate::note::Note;
use crate::verify::{check, VerifyError};

/// The most entries one [`AuditLog::entries`] call returns, so one request
/// cannot make the server read the whole log into memory.
pub const MAX_PAGE: u64 = 1000;

/// Why the log could not be opened, appended to or read.
#[derive(Debug, Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stored entries do not match the signed checkpoints: the log was
    /// changed behind the server's back, and it refuses to append to it.
    #[error("audit log in {dir} has been tampered with: {source}")]
    Tampered {
        /// The log directory.
        dir: PathBuf,
        /// What verification found, naming the first bad entry when it can.
        source: VerifyError,
    },
    /// The signing key file is unreadable or invalid.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The error.
        source: KeyError,
    },
    /// Entries exist but the key that signed them is gone; a new key would
    /// make the old checkpoints unverifiable, so the log will not invent one.
    #[error(
        "{path} is missing but the log has data; restore the key instead of starting a new one"
    )]
    MissingKey {
        /// Where the key should be.
        path: PathBuf,
    },
    /// The origin cannot be a key name (empty, spaces or `+`).
    #[error("invalid origin {0:?}: must be non-empty, without spaces or '+'")]
    BadOrigin(String),
    /// The directory holds a log with another origin.
    #[error("the log in {dir} has origin {found:?}, not {expected:?}")]
    OriginMismatch {
        /// The log directory.
        dir: PathBuf,
        /// The origin asked for.
        expected: String,
        /// The origin of the stored key.
        found: String,
    },
    /// The entry is malformed and was not appended.
    #[error("invalid entry: {0}")]
    Entry(#[from] EntryError),
    /// A stored entry cannot be read back as an entry.
    #[error("entry {index} in {path} is unreadable: {source}")]
    Corrupt {
        /// The entries file.
        path: PathBuf,
        /// The entry.
        index: u64,
        /// Why.
        source: EntryError,
    },
    /// A proof was asked for sizes or indices the log does not have; the
    /// HTTP layer should answer 400.
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// An earlier append panicked while holding the lock.
    #[error("audit log lock poisoned by an earlier panic")]
    Poisoned,
}

impl AuditError {
    /// Whether the caller asked for something out of range, as opposed to a
    /// fault of the log; lets the HTTP layer pick 400 over 500.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, AuditError::Proof(_))
    }
}

/// A file-backed, append-only transparency log of audited accesses.
///
/// Every append writes the entry, then a checkpoint signed for the new
/// size, and syncs both before returning (two fsyncs, a few milliseconds
/// on an ordinary disk), so an acknowledged entry is durable and committed
/// to by a signature. The entry is synced first: a crash can leave an entry
/// without its checkpoint (signed on the next open), never a checkpoint
/// without its entry. Thread-safe: all methods take `&self`. One `AuditLog`
/// per directory; two writers on the same files would interleave.
pub struct AuditLog {
    dir: PathBuf,
    origin: String,
    signer: Signer,
    verifier_key: String,
    inner: Mutex<Inner>,
}

struct Inner {
    tree: Tree,
    /// Start offset of every entry line, plus the end of the last one.
    offsets: Vec<u64>,
    entries: File,
    checkpoints: File,
    checkpoints_len: u64,
    latest: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

impl AuditLog {
    /// Opens (or creates) the log in `dir` for the log named `origin`, e.g.
    /// `glasshouse.example/audit`.
    ///
    /// Creates `log.key` (mode 0600) on first use. On every open, re-checks
    /// the stored entries against the last signed checkpoint and refuses a
    /// tampered log with an error naming the first bad entry. Completes what
    /// a crash interrupted: a torn last line or checkpoint record beyond the
    /// last signed size is cut off, and complete entries not yet covered by
    /// a checkpoint get one.
    pub fn open(dir: &Path, origin: &str) -> Result<AuditLog, AuditError> {
        check_name(origin).map_err(|_| AuditError::BadOrigin(origin.to_owned()))?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let entries_path = dir.join(ENTRIES);
        let cp_path = dir.join(CHECKPOINTS);
        let key_path = dir.join(KEY);

        let entry_bytes = read_or_empty(&entries_path)?;
        let cp_bytes = read_or_empty(&cp_path)?;
        let signer = load_or_create_key(
            &key_path,
            origin,
            !entry_bytes.is_empty() || !cp_bytes.is_empty(),
        )?;
        if signer.name() != origin {
            return Err(AuditError::OriginMismatch {
                dir: dir.to_owned(),
                expected: origin.to_owned(),
                found: signer.name().to_owned(),
            });
        }
        let verifier = signer.verifier();
        let tampered = |source: VerifyError| AuditError::Tampered {
            dir: dir.to_owned(),
            source,
        };
        let cp_text = String::from_utf8(cp_bytes).map_err(|_| {
            tampered(VerifyError::Checkpoint {
                number: 0,
                reason: "checkpoints file is not UTF-8".into(),
            })
        })?;

        let entries = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&entries_path)
            .map_err(io(&entries_path))?;
        let checkpoints = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&cp_path)
            .map_err(io(&cp_path))?;
        sync_dir(dir)?;

        let lines = read_entries(&entry_bytes, false);
        let tree = Tree::from_leaf_hashes(lines.leaves.iter().copied());
        let records = read_checkpoints(&cp_text);
        let mut inner = Inner {
            tree,
            offsets: lines.offsets,
            entries,
            checkpoints,
            checkpoints_len: records.complete_len as u64,
            latest: String::new(),
        };

        if records.notes.is_empty() && lines.leaves.is_empty() {
            // A new log (or one that crashed before its first checkpoint).
            truncate_to(&inner.entries, &entries_path, 0)?;
            truncate_to(&inner.checkpoints, &cp_path, 0)?;
            inner.offsets = vec![0];
        } else {
            // Fast path: the last checkpoint is signed and its root matches.
            let last = records
                .notes
                .last()
                .and_then(|note| Checkpoint::open(note, &verifier).ok())
                .map(|(cp, _)| cp)
                .filter(|cp| {
                    cp.size <= inner.tree.size()
                        && inner.tree.root_at(cp.size).ok() == Some(cp.root)
                });
            let Some(last) = last else {
                // Run the full check to name the first bad entry.
                let err = match check(&entry_bytes, &cp_text, &verifier, false) {
                    Err(e) => e,
                    Ok(_) => VerifyError::Checkpoint {
                        number: records.notes.len().saturating_sub(1),
                        reason: "the last checkpoint does not match the entries".into(),
                    },
                };
                return Err(tampered(err));
            };
            // Cut off what a crash left half-written beyond the signed size.
            if lines.torn {
                let end = *inner.offsets.last().expect("offsets start with 0");
                truncate_to(&inner.entries, &entries_path, end)?;
            }
            if (records.complete_len) < cp_text.len() {
                truncate_to(&inner.checkpoints, &cp_path, records.complete_len as u64)?;
            }
            inner.latest = records.notes.last().expect("checked above").clone();
            if last.size == inner.tree.size() {
                let log = AuditLog::new(dir, origin, signer, inner);
                return Ok(log);
            }
        }
        let log = AuditLog::new(dir, origin, signer, inner);
        {
            let mut g = log.lock()?;
            log.sign_and_store(&mut g)?;
        }
        Ok(log)
    }

    fn new(dir: &Path, origin: &str, signer: Signer, inner: Inner) -> AuditLog {
        AuditLog {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            verifier_key: signer.verifier().to_key_string(),
            signer,
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, AuditError> {
        self.inner.lock().map_err(|_| AuditError::Poisoned)
    }

    /// Signs a checkpoint for the current tree and appends it durably.
    fn sign_and_store(&self, g: &mut Inner) -> Result<(), AuditError> {
        let cp = Checkpoint::new(&self.origin, g.tree.size(), g.tree.root());
        let note = Note::sign(&cp.body(), &self.signer)
            .expect("checkpoint bodies are valid note texts")
            .to_text();
        let record = format!("{note}\n");
        let path = self.dir.join(CHECKPOINTS);
        let written = g
            .checkpoints
            .write_all(record.as_bytes())
            .and_then(|()| g.checkpoints.sync_data());
        if let Err(e) = written {
            let _ = g.checkpoints.set_len(g.checkpoints_len);
            return Err(io(&path)(e));
        }
        g.checkpoints_len += record.len() as u64;
        g.latest = note;
        Ok(())
    }

    /// Appends one entry and a checkpoint signed for the new size; returns
    /// the entry's 0-based index. Nothing is appended if the entry is invalid.
    pub fn append(&self, entry: &Entry) -> Result<u64, AuditError> {
        entry.validate()?;
        let mut line = entry.canonical_json();
        let leaf = leaf_hash(&line);
        line.push(b'\n');
        let path = self.dir.join(ENTRIES);
        let mut g = self.lock()?;
        let index = g.tree.size();
        let start = *g.offsets.last().expect("offsets start with 0");
        let written = g
            .entries
            .write_all(&line)
            .and_then(|()| g.entries.sync_data());
        if let Err(e) = written {
            let _ = g.entries.set_len(start);
            return Err(io(&path)(e));
        }
        g.tree.push(leaf);
        g.offsets.push(start + line.len() as u64);
        if let Err(e) = self.sign_and_store(&mut g) {
            // Undo, so the files never hold an entry no checkpoint covers.
            let _ = g.entries.set_len(start);
            g.tree.truncate(index);
            g.offsets.pop();
            return Err(e);
        }
        Ok(index)
    }

    /// Number of entries. Still answers after a panic poisoned the lock,
    /// because the tree is only changed after both writes succeeded.
    pub fn size(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tree
            .size()
    }

    /// The origin line of the checkpoints, which is also the key name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The latest signed checkpoint note, served at
    /// `/transparency/log/checkpoint`.
    pub fn checkpoint(&self) -> Result<String, AuditError> {
        Ok(self.lock()?.latest.clone())
    }

    /// The public key string anyone verifies checkpoints with, served at
    /// `/transparency/log/key` and worth publishing elsewhere too.
    pub fn verifier_key(&self) -> String {
        self.verifier_key.clone()
    }

    /// Entries `start..start+count` (count capped at [`MAX_PAGE`]) with
    /// their indices; empty when `start` is at or past the end.
    pub fn entries(&self, start: u64, count: u64) -> Result<Vec<(u64, Entry)>, AuditError> {
        let mut g = self.lock()?;
        let size = g.tree.size();
        let end = start.saturating_add(count.min(MAX_PAGE)).min(size);
        if start >= end {
            return Ok(Vec::new());
        }
        let from = g.offsets[start as usize];
        let to = g.offsets[end as usize];
        let path = self.dir.join(ENTRIES);
        let mut buf = vec![0u8; (to - from) as usize];
        g.entries
            .seek(SeekFrom::Start(from))
            .and_then(|_| g.entries.read_exact(&mut buf))
            .map_err(io(&path))?;
        drop(g);
        buf.split(|&b| b == b'\n')
            .take((end - start) as usize)
            .zip(start..)
            .map(|(line, index)| {
                Entry::from_canonical(line)
                    .map(|e| (index, e))
                    .map_err(|source| AuditError::Corrupt {
                        path: path.clone(),
                        index,
                        source,
                    })
            })
            .collect()
    }

    /// The leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, AuditError> {
        let g = self.lock()?;
        g.tree
            .leaf(index)
            .ok_or(AuditError::Proof(ProofError::IndexOutOfRange {
                index,
                size: g.tree.size(),
            }))
    }

    /// Proof that entry `index` is in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        Ok(self.lock()?.tree.inclusion_proof(index, size)?)
    }

    /// Proof that the tree of `old` entries is a prefix of that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AuditError> {
        Ok(self.lock()?.tree.consistency_proof(old, new)?)
    }

    /// `{"size":N,"entries":[{"index":i,"entry":{…}},…]}`, served verbatim
    /// at `/transparency/log/entries`.
    pub fn entries_json(&self, start: u64, count: u64) -> Result<Value, AuditError> {
        let size = self.size();
        let entries: Vec<Value> = self
            .entries(start, count)?
            .into_iter()
            .map(|(index, entry)| json!({ "index": index, "entry": entry }))
            .collect();
        Ok(json!({ "size": size, "entries": entries }))
    }

    /// `{"index":i,"size":n,"leaf_hash":b64,"proof":[b64,…]}`, served
    /// verbatim at `/transparency/log/proof/inclusion`.
    pub fn inclusion_json(&self, index: u64, size: u64) -> Result<Value, AuditError> {
        let g = self.lock()?;
        let proof = g.tree.inclusion_proof(index, size)?;
        let leaf = g.tree.leaf(index).expect("index checked by the proof");
        Ok(json!({
            "index": index,
            "size": size,
            "leaf_hash": B64.encode(leaf),
            "proof": b64_list(&proof),
        }))
    }

    /// `{"old":m,"new":n,"proof":[b64,…]}`, served verbatim at
    /// `/transparency/log/proof/consistency`.
    pub fn consistency_json(&self, old: u64, new: u64) -> Result<Value, AuditError> {
        let proof = self.consistency_proof(old, new)?;
        Ok(json!({ "old": old, "new": new, "proof": b64_list(&proof) }))
    }
}

fn b64_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

fn read_or_empty(path: &Path) -> Result<Vec<u8>, AuditError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(path)(e)),
    }
}

fn truncate_to(file: &File, path: &Path, len: u64) -> Result<(), AuditError> {
    file.set_len(len)
        .and_then(|()| file.sync_data())
        .map_err(io(path))
}

/// Reads the signing key, or creates one if the log has no data yet.
fn load_or_create_key(path: &Path, origin: &str, has_data: bool) -> Result<Signer, AuditError> {
    let key_err = |source| AuditError::Key {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Signer::from_key_string(&text).map_err(key_err),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if has_data {
                return Err(AuditError::MissingKey {
                    path: path.to_owned(),
                });
            }
            let signer = Signer::generate(origin, Algorithm::Ed25519).map_err(key_err)?;
            write_secret(path, &format!("{}\n", signer.to_key_string()))?;
            Ok(signer)
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes a new secret file readable only by its owner; fails if it exists,
/// so a key is never silently replaced.
pub(crate) fn write_secret(path: &Path, contents: &str) -> Result<(), AuditError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Makes file creations in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    let _ = dir;
    Ok(())
}
