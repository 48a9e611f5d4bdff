//! The audit log as a transparency log: every data access, append-only,
//! tamper-evident, checkable by anyone (docs/architecture.md, promise 7).
//!
//! A log that only its operator can read proves nothing. This crate keeps
//! the audit trail the way Certificate Transparency keeps certificates: the
//! entries are the leaves of an RFC 6962 Merkle tree, the log signs
//! checkpoints of that tree, and anyone can fetch the entries, recompute the
//! root, and ask for proofs that the log only ever grew. Partner
//! organisations can witness it: cosign each checkpoint after checking it
//! extends the last one they saw.
//!
//! ```text
//! server ─append(Entry)─▶ AuditLog ──▶ DIR/entries.jsonl   (one entry per line)
//!                                  ──▶ DIR/checkpoints     (a signed checkpoint per size)
//!                                  ──▶ DIR/log.key         (signing key, 0600)
//! auditor ─ verify_dir / verify_remote ─▶ VerifyReport or "entry N: …"
//! partner ─ witness ─▶ cosignature over the checkpoint
//! ```
//!
//! # Formats
//!
//! * **Entry** ([`Entry`]): canonical JSON, fields in the declared order
//!   (`time, kind, organisation, role, actor, purpose, query, rows,
//!   decision, reason`), no whitespace. The Merkle leaf data is exactly
//!   those bytes, i.e. one line of `entries.jsonl` without its newline.
//!   Actors are pseudonyms supplied by the caller, never usernames.
//! * **Tree** ([`merkle`]): RFC 6962 / RFC 9162 §2.1 — leaf
//!   `SHA-256(0x00‖data)`, node `SHA-256(0x01‖left‖right)`, empty root
//!   `SHA-256("")`; inclusion and consistency proofs as in §2.1.3–2.1.4.
//! * **Checkpoint** ([`Checkpoint`]): C2SP tlog-checkpoint,
//!   `<origin>\n<size>\n<base64 root>\n`, signed as a C2SP signed note
//!   ([`note`]) with Ed25519 (`— <origin> <base64(key id‖signature)>`).
//!   The key name is the origin. Keys use the signed-note encodings
//!   ([`key`]): `<name>+<id>+<base64(0x01‖public key)>` to verify,
//!   `PRIVATE+KEY+<name>+<id>+<base64(0x01‖seed)>` to sign.
//! * **Cosignature**: C2SP tlog-cosignature v1 (key alg byte 0x04), an
//!   extra signature line over `cosignature/v1\ntime <t>\n<checkpoint>`.
//! * **Files**: `entries.jsonl` (a line per entry), `checkpoints` (each
//!   signed note followed by a blank line), `log.key` (the signer key string).
//!
//! # Why a checkpoint per append
//!
//! Signing costs tens of microseconds, far less than the two fsyncs an
//! append already pays, and a checkpoint for every size turns "the root does
//! not match" into "entry N does not match": verification walks the
//! checkpoints in order and the first one whose root differs from the
//! recomputed tree names the first bad entry exactly. It also means every
//! size a client ever saw was signed, so any checkpoint a client kept can be
//! checked later. The cost is disk: a checkpoint record is about as large as
//! an entry.
//!
//! # What verification proves, and what it cannot
//!
//! [`verify_dir`] proves that the entries on disk are exactly those the
//! checkpoints commit to, that the checkpoints are signed by the log key and
//! only grew, and localises an edited, deleted, inserted or reordered entry
//! (or a truncated file) to its index. [`AuditLog::open`] does a quick form
//! of the same check and refuses to append to a tampered log.
//!
//! It cannot, from the directory alone, detect a rewrite by someone who
//! holds `log.key`: they can rebuild and re-sign everything. That is what
//! outside copies are for — a checkpoint an auditor saved earlier (pass it
//! as `saved_checkpoint`), or a witness's cosignature — since a rewritten
//! history is not consistent with them. Nor can it show that every access
//! was logged in the first place; that is the server's job, and the log
//! only makes what *was* logged impossible to quietly change.
//!
//! # HTTP
//!
//! The server serves [`AuditLog::checkpoint`], [`AuditLog::verifier_key`]
//! and the `*_json` helpers at the paths listed in [`remote`];
//! [`verify_remote`] and [`witness()`] are the clients. Both use blocking
//! HTTP and must not be called from inside an async runtime.

#![deny(missing_docs)]

pub mod checkpoint;
pub mod entry;
mod files;
mod follow;
pub mod key;
mod log;
pub mod merkle;
pub mod note;
pub mod remote;
mod verify;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use entry::{Decision, Entry, Kind};
pub use follow::Follower;
pub use log::{AuditError, AuditLog, MAX_PAGE};
pub use verify::{verify_dir, verify_dir_with_key, verify_remote, VerifyError, VerifyReport};
pub use witness::{witness, witness_texts, WitnessError, WitnessReport, WitnessState};
