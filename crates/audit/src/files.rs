//! Reading the two data files of a log directory, shared by [`crate::AuditLog`]
//! (which repairs torn writes) and [`crate::verify_dir`] (which reports them).
//!
//! ```text
//! entries.jsonl   one canonical JSON entry per line, "\n"-terminated
//! checkpoints     signed checkpoint notes, each followed by one blank line
//! log.key         PRIVATE+KEY+<origin>+<id>+<base64>, mode 0600
//! ```

use crate::entry::Entry;
use crate::merkle::{leaf_hash, Hash};

/// File name of the entries.
pub const ENTRIES: &str = "entries.jsonl";
/// File name of the signed checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// File name of the log's signing key.
pub const KEY: &str = "log.key";

/// The entries file, split into lines and hashed.
pub(crate) struct EntryLines {
    /// Leaf hash of every complete line (the line's bytes without `\n`).
    pub leaves: Vec<Hash>,
    /// Byte offset where each complete line starts, plus one past the end
    /// of the last complete line.
    pub offsets: Vec<u64>,
    /// The first complete line that is not a canonical entry, and why.
    pub first_invalid: Option<(u64, String)>,
    /// Whether bytes follow the last newline: a write that never finished,
    /// or a file cut short.
    pub torn: bool,
}

/// Splits and hashes the entries file; `check` also parses every line.
pub(crate) fn read_entries(bytes: &[u8], check: bool) -> EntryLines {
    let mut out = EntryLines {
        leaves: Vec::new(),
        offsets: vec![0],
        first_invalid: None,
        torn: false,
    };
    let mut start = 0usize;
    while start < bytes.len() {
        let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') else {
            out.torn = true;
            break;
        };
        let line = &bytes[start..start + len];
        if check && out.first_invalid.is_none() {
            if let Err(e) = Entry::from_canonical(line) {
                out.first_invalid = Some((out.leaves.len() as u64, e.to_string()));
            }
        }
        out.leaves.push(leaf_hash(line));
        start += len + 1;
        out.offsets.push(start as u64);
    }
    out
}

/// The checkpoints file, split into signed notes.
pub(crate) struct CheckpointRecords {
    /// Each complete record's note text.
    pub notes: Vec<String>,
    /// Length in bytes of the complete records; anything after is torn.
    pub complete_len: usize,
}

/// Splits the checkpoints file into notes. A record is
/// `<body>\n\n<signature lines>\n\n`; bodies and signature blocks never
/// contain blank lines, so splitting on blank lines is unambiguous.
pub(crate) fn read_checkpoints(text: &str) -> CheckpointRecords {
    let mut notes = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &text[pos..];
        let Some(body_end) = rest.find("\n\n") else {
            break;
        };
        let after_body = &rest[body_end + 2..];
        let Some(sigs_end) = after_body.find("\n\n") else {
            break;
        };
        notes.push(format!(
            "{}\n\n{}\n",
            &rest[..body_end],
            &after_body[..sigs_end]
        ));
        pos += body_end + 2 + sigs_end + 2;
    }
    CheckpointRecords {
        notes,
        complete_len: pos,
    }
}
