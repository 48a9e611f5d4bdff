//! Verifying a log directory as it grows, reading only what was appended.
//!
//! [`crate::verify_dir`] reads and checks the whole log; a page that says
//! "verified" to every anonymous reader cannot afford that once the log is
//! large. A [`Follower`] checks the whole log once, then on each call only
//! the entries and checkpoints appended since: every new line is a
//! canonical entry, every new checkpoint is signed by the log's key, its
//! size never goes down, and its root is the root of the entries up to its
//! size, recomputed here. It keeps only the right edge of the tree (one
//! hash per level), not the tree.
//!
//! What it cannot see is a change to bytes it already checked (the files
//! are only appended to; a rewrite of the prefix is caught when the server
//! opens the log, by [`crate::verify_dir`], and by anyone holding an
//! earlier checkpoint). A file shorter than what was checked is reported.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::files::{read_checkpoints, read_entries, CHECKPOINTS, ENTRIES};
use crate::key::Verifier;
use crate::merkle::{empty_root, node_hash, Hash};
use crate::verify::VerifyError;

/// The perfect subtrees along the right edge of a tree being built, largest
/// first: enough to compute its root and to extend it, in O(log n) memory.
#[derive(Debug, Clone, Default)]
struct Edge {
    size: u64,
    /// (height, root of a perfect subtree of 2^height leaves).
    subtrees: Vec<(u32, Hash)>,
}

impl Edge {
    fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.subtrees.last() {
            if h != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// RFC 9162's MTH of the leaves pushed: the subtrees folded from the
    /// right, which is the split at the largest power of two, recursively.
    fn root(&self) -> Hash {
        let mut it = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            root = node_hash(left, &root);
        }
        root
    }
}

/// Follows one log directory; see the module documentation.
pub struct Follower {
    dir: PathBuf,
    key: Verifier,
    edge: Edge,
    /// Bytes of the entries file checked (whole lines covered by a checkpoint).
    entries_at: u64,
    /// Bytes of the checkpoints file checked (whole records).
    checkpoints_at: u64,
    /// Checkpoints checked, and the size of the last.
    checkpoints: usize,
    signed: u64,
    /// The first fault found; once failed, a log stays failed.
    failed: Option<String>,
}

impl Follower {
    /// A follower of the log in `dir` whose checkpoints `key` signs.
    pub fn new(dir: &Path, key: Verifier) -> Follower {
        Follower {
            dir: dir.to_owned(),
            key,
            edge: Edge::default(),
            entries_at: 0,
            checkpoints_at: 0,
            checkpoints: 0,
            signed: 0,
            failed: None,
        }
    }

    /// Entries verified so far (covered by a checked checkpoint).
    pub fn verified_size(&self) -> u64 {
        self.signed
    }

    /// Checks what was appended since the last call. An error names the
    /// first fault and is returned again by every later call.
    pub fn advance(&mut self) -> Result<u64, String> {
        if let Some(why) = &self.failed {
            return Err(why.clone());
        }
        match self.step() {
            Ok(()) => Ok(self.signed),
            Err(e) => {
                let why = e.to_string();
                self.failed = Some(why.clone());
                Err(why)
            }
        }
    }

    fn step(&mut self) -> Result<(), VerifyError> {
        // Checkpoints first: an entry is written before the checkpoint that
        // covers it, so every checkpoint read here has its entries below.
        let records = self.tail(CHECKPOINTS, self.checkpoints_at)?;
        let entries = self.tail(ENTRIES, self.entries_at)?;
        let text = String::from_utf8(records).map_err(|_| VerifyError::Checkpoint {
            number: self.checkpoints,
            reason: "checkpoints file is not UTF-8".into(),
        })?;
        let records = read_checkpoints(&text);
        let lines = read_entries(&entries, true);
        let first = self.edge.size;
        if let Some((i, reason)) = &lines.first_invalid {
            // Only a fault if a checkpoint covers it (it always will: an
            // entry is written before its checkpoint).
            let index = first + i;
            let covered = records
                .notes
                .iter()
                .any(|n| Checkpoint::open(n, &self.key).is_ok_and(|(cp, _)| cp.size > index));
            if covered {
                return Err(VerifyError::Entry {
                    index,
                    reason: reason.clone(),
                });
            }
        }
        let mut used = 0usize;
        for note in &records.notes {
            let number = self.checkpoints;
            let (cp, _) =
                Checkpoint::open(note, &self.key).map_err(|e| VerifyError::Checkpoint {
                    number,
                    reason: e.to_string(),
                })?;
            if cp.size < self.signed {
                return Err(VerifyError::Checkpoint {
                    number,
                    reason: format!("size went down from {} to {}", self.signed, cp.size),
                });
            }
            let need = cp.size - first;
            if need > lines.leaves.len() as u64 {
                return Err(VerifyError::Entry {
                    index: first + lines.leaves.len() as u64,
                    reason: format!("missing: checkpoint {number} signed {} entries", cp.size),
                });
            }
            while self.edge.size < cp.size {
                self.edge
                    .push(lines.leaves[(self.edge.size - first) as usize]);
            }
            if self.edge.root() != cp.root {
                return Err(VerifyError::Entry {
                    index: self.signed,
                    reason: format!(
                        "this entry or one up to entry {} does not match signed checkpoint {number} (size {})",
                        cp.size.saturating_sub(1),
                        cp.size
                    ),
                });
            }
            used = (cp.size - first) as usize;
            self.signed = cp.size;
            self.checkpoints += 1;
        }
        // Entries beyond the last checkpoint are being written: they are
        // read again, with their checkpoint, next time.
        self.entries_at += lines.offsets[used];
        self.checkpoints_at += records.complete_len as u64;
        Ok(())
    }

    /// The bytes of `name` from `from` on; an error if the file is shorter.
    fn tail(&self, name: &str, from: u64) -> Result<Vec<u8>, VerifyError> {
        let path = self.dir.join(name);
        let io = |source| VerifyError::Io {
            path: path.clone(),
            source,
        };
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && from == 0 => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(io)?.len();
        if len < from {
            return Err(VerifyError::Entry {
                index: self.signed,
                reason: format!("{name} shrank from {from} to {len} bytes"),
            });
        }
        file.seek(SeekFrom::Start(from)).map_err(io)?;
        let mut out = Vec::with_capacity((len - from) as usize);
        file.take(len - from).read_to_end(&mut out).map_err(io)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Edge;
    use crate::merkle::{leaf_hash, Tree};

    #[test]
    fn the_right_edge_gives_the_roots_the_whole_tree_gives() {
        let mut edge = Edge::default();
        let mut tree = Tree::new();
        assert_eq!(edge.root(), tree.root());
        for i in 0..300u32 {
            let leaf = leaf_hash(&i.to_be_bytes());
            edge.push(leaf);
            tree.push(leaf);
            assert_eq!(edge.root(), tree.root(), "size {}", i + 1);
        }
    }
}
