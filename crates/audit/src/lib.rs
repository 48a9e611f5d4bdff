//! The audit log (placeholder docs).

pub mod checkpoint;
pub mod entry;
mod files;
pub mod key;
mod log;
pub mod merkle;
pub mod note;
pub mod remote;
mod verify;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use entry::{Decision, Entry, Kind};
pub use log::{AuditError, AuditLog, MAX_PAGE};
pub use verify::{verify_dir, verify_dir_with_key, verify_remote, VerifyError, VerifyReport};
pub use witness::{witness, witness_texts, WitnessError, WitnessReport, WitnessState};
