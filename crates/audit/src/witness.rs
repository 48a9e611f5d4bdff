//! Witnessing: a partner organisation keeps the last checkpoint it saw and
//! cosigns a new one only if the log merely grew in between.
//!
//! A log operator holding the log key could rewrite history and re-sign
//! it; a witness that remembers an earlier checkpoint refuses to cosign
//! the rewritten one, and its earlier cosignatures are public evidence of
//! what the log said before. This module is the witness side.
//!
//! State directory (one per witnessed log):
//!
//! ```text
//! witness.key            PRIVATE+KEY+<witness name>+<id>+<base64(0x04 || seed)>, mode 0600
//! log.vkey               the log's verifier key, pinned on first contact
//! checkpoint             the last signed checkpoint accepted
//! cosigned-checkpoint    that checkpoint with this witness's cosignature added
//! ```

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::key::{Algorithm, KeyError, Signer, Verifier};
use crate::log::{write_secret, AuditError};
use crate::merkle::{verify_consistency, Hash};
use crate::note::{cosign, Note, NoteError};
use crate::remote::{parse_consistency, Client, FetchError};

/// File holding the witness's own signing key.
pub const WITNESS_KEY: &str = "witness.key";
/// File holding the pinned log verifier key.
pub const LOG_KEY: &str = "log.vkey";
/// File holding the last accepted checkpoint.
pub const LAST_CHECKPOINT: &str = "checkpoint";
/// File holding the last accepted checkpoint with our cosignature.
pub const COSIGNED: &str = "cosigned-checkpoint";

/// Why the witness refused to cosign. On every error the state is left as
/// it was, so a refused fork stays refused on the next run.
#[derive(Debug, Error)]
pub enum WitnessError {
    /// The log could not be reached or answered nonsense.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A key is malformed.
    #[error("{what}: {source}")]
    Key {
        /// Which key.
        what: String,
        /// The error.
        source: KeyError,
    },
    /// The state directory belongs to a witness of another name.
    #[error("state directory holds the key of witness {found:?}, not {expected:?}")]
    WrongWitness {
        /// The name asked for.
        expected: String,
        /// The name in `witness.key`.
        found: String,
    },
    /// The log now serves another key than the one pinned.
    #[error("the log's key changed: pinned {pinned}, now served {served}")]
    KeyChanged {
        /// The pinned key.
        pinned: String,
        /// The key served now.
        served: String,
    },
    /// The checkpoint is malformed or not signed by the pinned key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The log is smaller than when last witnessed.
    #[error("the log shrank from {old} to {new} entries")]
    Shrunk {
        /// Size last accepted.
        old: u64,
        /// Size served now.
        new: u64,
    },
    /// The log's history differs from what was witnessed before.
    #[error("fork: {0}")]
    Fork(String),
    /// The witness key cannot cosign (not a tlog-cosignature key).
    #[error("cannot cosign: {0}")]
    Cosign(#[from] NoteError),
    /// A consistency proof was needed but not given (pure form only).
    #[error("a consistency proof from {old} to {new} is needed")]
    ProofNeeded {
        /// Size last accepted.
        old: u64,
        /// Size served now.
        new: u64,
    },
}

/// The outcome of a successful witnessing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessReport {
    /// The log's origin.
    pub origin: String,
    /// Size last accepted before this run, if any.
    pub old_size: Option<u64>,
    /// Size accepted now.
    pub size: u64,
    /// Root accepted now.
    pub root: Hash,
    /// The cosignature line (`— <witness> <base64>\n`), to send to the log
    /// or publish.
    pub cosignature: String,
    /// The log's checkpoint with the cosignature added.
    pub cosigned_checkpoint: String,
    /// The witness's verifier key, for anyone checking the cosignature.
    pub witness_key: String,
}

/// What a witness remembers about one log, as texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessState {
    /// The pinned log verifier key.
    pub log_key: Option<String>,
    /// The last accepted signed checkpoint.
    pub checkpoint: Option<String>,
}

impl WitnessState {
    /// The size of the last accepted checkpoint, so the caller knows which
    /// consistency proof to fetch. Unparseable state counts as none.
    pub fn last_size(&self) -> Option<u64> {
        let note = Note::parse(self.checkpoint.as_deref()?).ok()?;
        Checkpoint::parse(note.text()).ok().map(|cp| cp.size)
    }
}

/// The pure core: given the state and the texts fetched from the log
/// (verifier key, checkpoint, and the consistency-proof JSON from the last
/// accepted size to the new one when both are non-zero and differ), checks
/// everything and returns the new state and the cosignature made at `now`
/// (Unix seconds).
pub fn witness_texts(
    signer: &Signer,
    state: &WitnessState,
    served_key: &str,
    checkpoint: &str,
    consistency_json: Option<&str>,
    now: u64,
) -> Result<(WitnessState, WitnessReport), WitnessError> {
    let served_key = served_key.trim();
    let key_text = match &state.log_key {
        Some(pinned) if pinned.trim() != served_key => {
            return Err(WitnessError::KeyChanged {
                pinned: pinned.trim().to_owned(),
                served: served_key.to_owned(),
            })
        }
        Some(pinned) => pinned.trim().to_owned(),
        None => served_key.to_owned(),
    };
    let key = Verifier::from_key_string(&key_text).map_err(|source| WitnessError::Key {
        what: "log key".into(),
        source,
    })?;
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(WitnessError::Key {
            what: "log key".into(),
            source: KeyError::UnknownAlgorithm(key.algorithm().byte()),
        });
    }
    let (new, mut note) = Checkpoint::open(checkpoint, &key)?;
    let old = match &state.checkpoint {
        Some(text) => Some(Checkpoint::open(text, &key)?.0),
        None => None,
    };
    if let Some(old) = &old {
        if new.size < old.size {
            return Err(WitnessError::Shrunk {
                old: old.size,
                new: new.size,
            });
        }
        if new.size == old.size {
            if new.root != old.root {
                return Err(WitnessError::Fork(format!(
                    "two different roots signed for size {}",
                    new.size
                )));
            }
        } else if old.size > 0 {
            let json = consistency_json.ok_or(WitnessError::ProofNeeded {
                old: old.size,
                new: new.size,
            })?;
            let proof = parse_consistency(json, old.size, new.size).map_err(|e| {
                WitnessError::Fork(format!("bad consistency proof from the log: {e}"))
            })?;
            verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|_| {
                WitnessError::Fork(format!(
                    "the checkpoint of size {} is not an extension of the one of size {} \
                     witnessed before",
                    new.size, old.size
                ))
            })?;
        }
    }
    let cosig = cosign(note.text(), signer, now)?;
    let line = cosig.line();
    note.add_signature(cosig);
    let report = WitnessReport {
        origin: new.origin.clone(),
        old_size: old.map(|o| o.size),
        size: new.size,
        root: new.root,
        cosignature: line,
        cosigned_checkpoint: note.to_text(),
        witness_key: signer.verifier().to_key_string(),
    };
    let state = WitnessState {
        log_key: Some(key_text),
        checkpoint: Some(checkpoint.to_owned()),
    };
    Ok((state, report))
}

/// Witnesses the log at `base_url` (`{base_url}/transparency/log/…`) with
/// state kept in `state_dir`: creates the witness key on first run, pins the
/// log key, fetches and checks the new checkpoint and a consistency proof
/// from the last one, and on success stores it and returns a cosignature.
pub fn witness(
    base_url: &str,
    state_dir: &Path,
    witness_name: &str,
) -> Result<WitnessReport, WitnessError> {
    std::fs::create_dir_all(state_dir).map_err(io(state_dir))?;
    let signer = load_or_create_witness_key(state_dir, witness_name)?;
    let state = WitnessState {
        log_key: read_optional(&state_dir.join(LOG_KEY))?,
        checkpoint: read_optional(&state_dir.join(LAST_CHECKPOINT))?,
    };
    let client = Client::new(base_url)?;
    let served_key = client.key()?;
    let checkpoint = client.checkpoint()?;
    let new_size = Note::parse(&checkpoint)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map(|cp| cp.size);
    let proof = match (state.last_size(), new_size) {
        (Some(old), Some(new)) if old > 0 && new > old => Some(client.consistency_text(old, new)?),
        _ => None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (new_state, report) = witness_texts(
        &signer,
        &state,
        &served_key,
        &checkpoint,
        proof.as_deref(),
        now,
    )?;
    if let Some(key) = &new_state.log_key {
        write_atomic(&state_dir.join(LOG_KEY), &format!("{key}\n"))?;
    }
    write_atomic(&state_dir.join(LAST_CHECKPOINT), &checkpoint)?;
    write_atomic(&state_dir.join(COSIGNED), &report.cosigned_checkpoint)?;
    Ok(report)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WitnessError + '_ {
    move |source| WitnessError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, WitnessError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Replaces a file atomically, so a crash never leaves half a checkpoint
/// as the witness's memory.
fn write_atomic(path: &Path, contents: &str) -> Result<(), WitnessError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(io(path))
}

fn load_or_create_witness_key(dir: &Path, name: &str) -> Result<Signer, WitnessError> {
    let path = dir.join(WITNESS_KEY);
    let key_err = |source| WitnessError::Key {
        what: path.display().to_string(),
        source,
    };
    let signer = match read_optional(&path)? {
        Some(text) => Signer::from_key_string(&text).map_err(key_err)?,
        None => {
            let signer = Signer::generate(name, Algorithm::CosignatureV1).map_err(key_err)?;
            write_secret(&path, &format!("{}\n", signer.to_key_string())).map_err(|e| match e {
                AuditError::Io { path, source } => WitnessError::Io { path, source },
                other => WitnessError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(other.to_string()),
                },
            })?;
            signer
        }
    };
    if signer.name() != name {
        return Err(WitnessError::WrongWitness {
            expected: name.to_owned(),
            found: signer.name().to_owned(),
        });
    }
    if signer.algorithm() != Algorithm::CosignatureV1 {
        return Err(key_err(KeyError::UnknownAlgorithm(
            signer.algorithm().byte(),
        )));
    }
    Ok(signer)
}
