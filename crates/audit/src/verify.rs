//! Checking a log from its files or over HTTP, without trusting the server
//! that wrote it.
//!
//! From the files alone, verification proves that every stored entry is
//! committed to by the checkpoints signed with the log key, that the
//! checkpoints only ever grew, and — by comparing the recomputed tree with
//! the checkpoint of every size — which entry was the first to be edited,
//! removed, inserted or reordered. What it cannot prove alone is that the
//! whole directory was not rewritten and re-signed by someone holding the
//! key; a checkpoint saved earlier (or a witness's cosignature) closes that
//! gap, which is why `saved_checkpoint` exists.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

use crate::checkpoint::Checkpoint;
use crate::files::{read_checkpoints, read_entries, CHECKPOINTS, ENTRIES, KEY};
use crate::key::{Signer, Verifier};
use crate::merkle::{verify_consistency, Hash, Tree};
use crate::remote::Client;

/// Why a log failed verification. When the fault can be pinned to one
/// entry the message starts with `entry N:`, so an auditor knows where to look.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// Entry `index` (0-based) is the first that does not match what was signed.
    #[error("entry {index}: {reason}")]
    Entry {
        /// The first bad entry.
        index: u64,
        /// One line on what is wrong with it.
        reason: String,
    },
    /// A stored or served checkpoint is malformed, badly signed or out of order.
    #[error("checkpoint {number}: {reason}")]
    Checkpoint {
        /// Position in the checkpoints file (0-based), or 0 for a served one.
        number: usize,
        /// What is wrong.
        reason: String,
    },
    /// The log is not consistent with a checkpoint the caller saved earlier.
    #[error("saved checkpoint: {0}")]
    Saved(String),
    /// The verifier key is missing or malformed.
    #[error("verifier key: {0}")]
    Key(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A request to the log server failed.
    #[error("{0}")]
    Fetch(#[from] crate::remote::FetchError),
    /// The server's answers contradict each other or the protocol.
    #[error("server: {0}")]
    Server(String),
}

impl VerifyError {
    /// The first bad entry, when the failure could be localised.
    pub fn entry_index(&self) -> Option<u64> {
        match self {
            VerifyError::Entry { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries verified.
    pub size: u64,
    /// Root hash of all of them.
    pub root: Hash,
    /// How many signed checkpoints were checked.
    pub checkpoints: usize,
    /// The latest signed checkpoint: save it and pass it next time to prove
    /// the log was only appended to in between.
    pub checkpoint: String,
    /// Size of the saved checkpoint proved consistent, if one was given.
    pub saved_size: Option<u64>,
    /// The verifier key the signatures were checked with.
    pub key: String,
}

impl VerifyReport {
    /// The root in the base64 form checkpoints use.
    pub fn root_base64(&self) -> String {
        B64.encode(self.root)
    }
}

/// The state of a log directory after a successful check.
pub(crate) struct Checked {
    pub tree: Tree,
    /// Every checkpoint note, in order, with its parsed body.
    pub checkpoints: Vec<(Checkpoint, String)>,
}

/// Checks entries against checkpoints. With `strict`, entries not covered
/// by any checkpoint and torn final writes are errors; without it (opening
/// for append) they are left for the caller to repair.
pub(crate) fn check(
    entry_bytes: &[u8],
    checkpoint_text: &str,
    key: &Verifier,
    strict: bool,
) -> Result<Checked, VerifyError> {
    let lines = read_entries(entry_bytes, strict);
    let records = read_checkpoints(checkpoint_text);
    if strict && records.complete_len != checkpoint_text.len() {
        return Err(VerifyError::Checkpoint {
            number: records.notes.len(),
            reason: "incomplete record at the end of the checkpoints file".into(),
        });
    }
    if records.notes.is_empty() {
        return Err(VerifyError::Checkpoint {
            number: 0,
            reason: "no signed checkpoint found".into(),
        });
    }
    let mut checkpoints = Vec::with_capacity(records.notes.len());
    for (number, note) in records.notes.into_iter().enumerate() {
        let (cp, _) = Checkpoint::open(&note, key).map_err(|e| VerifyError::Checkpoint {
            number,
            reason: e.to_string(),
        })?;
        if let Some((prev, _)) = checkpoints.last() {
            let prev: &Checkpoint = prev;
            if cp.size < prev.size {
                return Err(VerifyError::Checkpoint {
                    number,
                    reason: format!("size went down from {} to {}", prev.size, cp.size),
                });
            }
        }
        checkpoints.push((cp, note));
    }

    let tree = Tree::from_leaf_hashes(lines.leaves.iter().copied());
    let n = tree.size();
    // Candidate faults as (entry index, rank, reason); the lowest index
    // wins, and at the same index the most specific reason.
    let mut faults: Vec<(u64, u8, String)> = Vec::new();
    if let Some((index, reason)) = &lines.first_invalid {
        faults.push((*index, 0, reason.clone()));
    }
    if lines.torn && strict {
        faults.push((n, 1, "incomplete last line (file cut short)".into()));
    }
    let mut covered = 0u64;
    for (number, (cp, _)) in checkpoints.iter().enumerate() {
        if cp.size > n {
            let reason = if lines.torn {
                "incomplete last line (file cut short)".to_string()
            } else {
                format!(
                    "missing: the file has {n} entries but checkpoint {number} signed {}",
                    cp.size
                )
            };
            faults.push((n, 1, reason));
            break;
        }
        let root = tree.root_at(cp.size).expect("size checked");
        if root != cp.root {
            let reason = if cp.size - covered == 1 {
                format!(
                    "does not match signed checkpoint {number} (size {}): edited, inserted, removed or reordered",
                    cp.size
                )
            } else {
                format!(
                    "this entry or one up to entry {} does not match signed checkpoint {number} (size {})",
                    cp.size - 1,
                    cp.size
                )
            };
            faults.push((covered, 2, reason));
            break;
        }
        if cp.size > covered {
            // Both are prefixes of the recomputed tree; prove it the way a
            // remote auditor would.
            let proof = tree
                .consistency_proof(covered, cp.size)
                .expect("sizes checked");
            let old_root = tree.root_at(covered).expect("size checked");
            if verify_consistency(covered, cp.size, &old_root, &cp.root, &proof).is_err() {
                faults.push((covered, 2, "checkpoints are not consistent".into()));
                break;
            }
        }
        covered = cp.size;
    }
    if strict && covered < n && faults.iter().all(|f| f.0 > covered) {
        faults.push((
            covered,
            3,
            "not covered by any signed checkpoint (appended or inserted after the last one)".into(),
        ));
    }
    if let Some((index, _, reason)) = faults.into_iter().min_by_key(|f| (f.0, f.1)) {
        return Err(VerifyError::Entry { index, reason });
    }
    Ok(Checked { tree, checkpoints })
}

/// Checks a checkpoint saved earlier against the verified tree: it must be
/// signed by the same key and its tree a prefix of the current one.
fn check_saved(saved: &str, key: &Verifier, tree: &Tree) -> Result<u64, VerifyError> {
    let (old, _) = Checkpoint::open(saved, key).map_err(|e| VerifyError::Saved(e.to_string()))?;
    let n = tree.size();
    if old.size > n {
        return Err(VerifyError::Saved(format!(
            "the log shrank from {} to {n} entries since it was saved (entry {n} onwards removed)",
            old.size
        )));
    }
    let proof = tree
        .consistency_proof(old.size, n)
        .map_err(|e| VerifyError::Saved(e.to_string()))?;
    verify_consistency(old.size, n, &old.root, &tree.root(), &proof).map_err(|_| {
        VerifyError::Saved(format!(
            "the log is not consistent with the saved checkpoint of size {}: \
             an entry below {} was changed, removed or reordered and the log re-signed",
            old.size, old.size
        ))
    })?;
    Ok(old.size)
}

fn read(path: &Path) -> Result<Vec<u8>, VerifyError> {
    std::fs::read(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Verifies a log directory with the key in its `log.key`.
///
/// Reads the files only (never opens them for writing). See
/// [`verify_dir_with_key`] to check against a key obtained elsewhere, which
/// is stronger: whoever can rewrite the directory can also replace `log.key`.
pub fn verify_dir(dir: &Path, saved_checkpoint: Option<&str>) -> Result<VerifyReport, VerifyError> {
    verify_dir_with_key(dir, saved_checkpoint, None)
}

/// Verifies a log directory against `verifier_key` (the published
/// `<name>+<id>+<key>` string), or the key in `log.key` when `None`.
pub fn verify_dir_with_key(
    dir: &Path,
    saved_checkpoint: Option<&str>,
    verifier_key: Option<&str>,
) -> Result<VerifyReport, VerifyError> {
    let key = match verifier_key {
        Some(k) => Verifier::from_key_string(k).map_err(|e| VerifyError::Key(e.to_string()))?,
        None => {
            let path = dir.join(KEY);
            let text = String::from_utf8(read(&path)?)
                .map_err(|_| VerifyError::Key(format!("{} is not text", path.display())))?;
            Signer::from_key_string(&text)
                .map_err(|e| VerifyError::Key(format!("{}: {e}", path.display())))?
                .verifier()
        }
    };
    let entries = match std::fs::read(dir.join(ENTRIES)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(VerifyError::Io {
                path: dir.join(ENTRIES),
                source,
            })
        }
    };
    let cp_path = dir.join(CHECKPOINTS);
    let cp_text = String::from_utf8(read(&cp_path)?).map_err(|_| VerifyError::Checkpoint {
        number: 0,
        reason: "checkpoints file is not UTF-8".into(),
    })?;
    let checked = check(&entries, &cp_text, &key, true)?;
    let saved_size = saved_checkpoint
        .map(|s| check_saved(s, &key, &checked.tree))
        .transpose()?;
    let (_, latest) = checked.checkpoints.last().expect("check requires one");
    Ok(VerifyReport {
        origin: key.name().to_owned(),
        size: checked.tree.size(),
        root: checked.tree.root(),
        checkpoints: checked.checkpoints.len(),
        checkpoint: latest.clone(),
        saved_size,
        key: key.to_key_string(),
    })
}

/// Verifies a log through its HTTP endpoints (`{base_url}/transparency/log/…`):
/// downloads every entry up to the served checkpoint, recomputes the root,
/// and, given a saved checkpoint, checks the server's consistency proof.
///
/// Without `verifier_key` the served key is trusted on first use; pass the
/// key published out of band to rule out a server that swapped it.
pub fn verify_remote(
    base_url: &str,
    saved_checkpoint: Option<&str>,
    verifier_key: Option<&str>,
) -> Result<VerifyReport, VerifyError> {
    let client = Client::new(base_url)?;
    let key_text = match verifier_key {
        Some(k) => k.to_owned(),
        None => client.key()?,
    };
    let key = Verifier::from_key_string(&key_text).map_err(|e| VerifyError::Key(e.to_string()))?;
    let note = client.checkpoint()?;
    let (cp, _) = Checkpoint::open(&note, &key).map_err(|e| VerifyError::Checkpoint {
        number: 0,
        reason: format!("served checkpoint: {e}"),
    })?;

    let mut tree = Tree::new();
    while tree.size() < cp.size {
        let want = (cp.size - tree.size()).min(crate::log::MAX_PAGE);
        let page = client.entries(tree.size(), want)?;
        if page.is_empty() {
            return Err(VerifyError::Entry {
                index: tree.size(),
                reason: format!(
                    "missing: the server signed {} entries but does not serve this one",
                    cp.size
                ),
            });
        }
        for (index, entry) in page {
            if index != tree.size() {
                return Err(VerifyError::Server(format!(
                    "asked for entry {} but got entry {index}",
                    tree.size()
                )));
            }
            if tree.size() == cp.size {
                break;
            }
            tree.push(entry.leaf_hash());
        }
    }
    if tree.root() != cp.root {
        // Localise: the first entry whose inclusion proof fails is the
        // first the server serves differently from what it signed.
        for index in 0..cp.size {
            let (leaf, proof) = client.inclusion(index, cp.size)?;
            let ours = tree.leaf(index).expect("in range");
            if leaf != ours
                || crate::merkle::verify_inclusion(&ours, index, cp.size, &proof, &cp.root).is_err()
            {
                return Err(VerifyError::Entry {
                    index,
                    reason: "the served entry is not the one in the signed checkpoint".into(),
                });
            }
        }
        return Err(VerifyError::Checkpoint {
            number: 0,
            reason: "the served entries do not hash to the signed root".into(),
        });
    }
    let saved_size = match saved_checkpoint {
        None => None,
        Some(saved) => {
            let (old, _) =
                Checkpoint::open(saved, &key).map_err(|e| VerifyError::Saved(e.to_string()))?;
            if old.size > cp.size {
                return Err(VerifyError::Saved(format!(
                    "the log shrank from {} to {} entries since it was saved",
                    old.size, cp.size
                )));
            }
            let proof = client.consistency(old.size, cp.size)?;
            verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof).map_err(|_| {
                VerifyError::Saved(format!(
                    "the server's consistency proof from size {} to {} does not verify: \
                     the log's history was rewritten",
                    old.size, cp.size
                ))
            })?;
            // And independently of the server's proof, from the entries.
            check_saved(saved, &key, &tree)?;
            Some(old.size)
        }
    };
    Ok(VerifyReport {
        origin: cp.origin,
        size: cp.size,
        root: cp.root,
        checkpoints: 1,
        checkpoint: note,
        saved_size,
        key: key.to_key_string(),
    })
}
