//! The Merkle tree of RFC 6962 / RFC 9162 §2.1: hashes, roots, inclusion and
//! consistency proofs, and their verification.
//!
//! The hashing must match the RFC bit for bit, because the point of a
//! transparency log is that anyone can check it with any RFC 6962 tool.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 digest: every node of the tree, and every root in a checkpoint.
pub type Hash = [u8; 32];

/// Hashes one entry's bytes with the 0x00 prefix, so a leaf can never be
/// mistaken for an interior node (second-preimage protection).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Hashes two children with the 0x01 prefix, the other half of the domain
/// separation that makes leaves and nodes distinct.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, SHA-256 of nothing: what a brand-new log
/// commits to in its first checkpoint.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a proof was refused or could not be made. Kept apart from I/O errors
/// because a failed proof is evidence about the log, not a local fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The caller asked about a leaf or a size the tree does not have.
    #[error("index {index} is not below size {size}")]
    IndexOutOfRange {
        /// The leaf asked about.
        index: u64,
        /// The tree size it was asked in.
        size: u64,
    },
    /// A proof between sizes that cannot be compared (old larger than new,
    /// or a size beyond the tree).
    #[error("sizes {old} and {new} cannot be compared in a tree of {size} leaves")]
    BadSizes {
        /// The older, smaller size.
        old: u64,
        /// The newer, larger size.
        new: u64,
        /// How many leaves the tree has.
        size: u64,
    },
    /// The proof has the wrong number of hashes for the sizes it claims.
    #[error("proof has the wrong number of hashes ({got}) for these sizes")]
    WrongLength {
        /// Hashes received.
        got: usize,
    },
    /// The proof was well formed but does not lead to the given root(s).
    #[error("proof does not match the root hash")]
    Mismatch,
}

/// A Merkle tree kept level by level, so that roots of any prefix and proofs
/// cost O(log n) hashes instead of rehashing every leaf.
///
/// `levels[k][i]` is the root of the perfect subtree of `2^k` leaves that
/// starts at leaf `i * 2^k`. Memory is about 64 bytes per leaf.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree, for a log that has no entries yet.
    pub fn new() -> Tree {
        Tree {
            levels: vec![Vec::new()],
        }
    }

    /// Builds the tree over existing leaf hashes, as a log does when it is
    /// reopened or verified from its files.
    pub fn from_leaf_hashes<I: IntoIterator<Item = Hash>>(leaves: I) -> Tree {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends one leaf hash; the log is append-only, so this is the only
    /// way the tree changes.
    pub fn push(&mut self, leaf: Hash) {
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len() & 1 == 0 {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    /// Drops leaves beyond `size`, so an append whose write failed can be
    /// undone and memory stays in step with the files.
    pub fn truncate(&mut self, size: u64) {
        for (k, level) in self.levels.iter_mut().enumerate() {
            level.truncate((size >> k) as usize);
        }
    }

    /// Number of leaves, i.e. the size of the log.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The hash of leaf `index`, which inclusion proofs start from.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels[0].get(usize::try_from(index).ok()?).copied()
    }

    /// The root of the first `size` leaves, so checkpoints of any past size
    /// can be recomputed and compared.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size() {
            return Err(ProofError::BadSizes {
                old: size,
                new: size,
                size: self.size(),
            });
        }
        if size == 0 {
            return Ok(empty_root());
        }
        Ok(self.range_hash(0, size))
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).expect("own size is in range")
    }

    /// MTH(D[start:end]) for a non-empty range, using stored perfect subtrees
    /// where the range is one, splitting at the largest power of two below
    /// the length otherwise (RFC 9162 §2.1.1).
    fn range_hash(&self, start: u64, end: u64) -> Hash {
        let len = end - start;
        debug_assert!(len > 0);
        if len.is_power_of_two() && start & (len - 1) == 0 {
            let level = len.trailing_zeros() as usize;
            return self.levels[level][(start / len) as usize];
        }
        let k = split_point(len);
        node_hash(
            &self.range_hash(start, start + k),
            &self.range_hash(start + k, end),
        )
    }

    /// The audit path for leaf `index` in the tree of the first `size` leaves
    /// (RFC 9162 §2.1.3.1), so a client can check one entry is in the log
    /// without downloading it all.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::BadSizes {
                old: index,
                new: size,
                size: self.size(),
            });
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    /// PATH(m, D[start:end]), collecting hashes leaf-side first.
    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.range_hash(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.range_hash(start, start + k));
        }
    }

    /// The proof that the tree of `old` leaves is a prefix of the tree of
    /// `new` leaves (RFC 9162 §2.1.4.1), which is what lets a witness or an
    /// auditor detect a log that rewrote its history.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if old > new || new > self.size() {
            return Err(ProofError::BadSizes {
                old,
                new,
                size: self.size(),
            });
        }
        let mut proof = Vec::new();
        if old == 0 || old == new {
            return Ok(proof);
        }
        self.subproof(old, 0, new, true, &mut proof);
        Ok(proof)
    }

    /// SUBPROOF(m, D[start:end], b).
    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.range_hash(start, end));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.range_hash(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.range_hash(start, start + k));
        }
    }
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 6962
/// splits a tree into its left and right subtrees.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): that the leaf with hash
/// `leaf` sits at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { got: proof.len() });
    }
    if r != *root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old`
/// leaves with root `old_root` is a prefix of the tree of `new` leaves with
/// root `new_root`, i.e. the log only appended in between.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::BadSizes {
            old,
            new,
            size: new,
        });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if old == 0 {
        // The empty tree is a prefix of every tree.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength { got: proof.len() })
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength { got: 0 });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength { got: proof.len() });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { got: proof.len() });
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
    }
}
