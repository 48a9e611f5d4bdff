//! The audit log (placeholder docs).

pub mod checkpoint;
pub mod entry;
pub mod key;
pub mod merkle;
pub mod note;
