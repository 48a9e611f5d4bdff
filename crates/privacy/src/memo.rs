//! Keys for the anonymiser's in-memory caches (today, parsed User-Agents).
//!
//! A cache keyed by the text itself would keep every User-Agent it has
//! seen for as long as the entry lives. Keyed instead by a 128-bit SipHash
//! of the text under a key drawn at random when the process starts, a
//! cache holds only
//! results that are already anonymous; the hash cannot be recomputed
//! outside the process and dies with it. At 128 bits two different texts
//! will not share a key in practice, and an attacker who cannot learn the
//! key cannot make them.

use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hasher;

/// A random key for [`Memo::key`], one per cache.
pub(crate) struct Memo {
    key: [u8; 16],
}

impl Memo {
    /// A key drawn from the operating system's random source.
    pub(crate) fn new() -> Memo {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).expect("the operating system's random source");
        Memo { key }
    }

    /// The cache key of `text`.
    pub(crate) fn key(&self, text: &[u8]) -> u128 {
        let mut h = SipHasher13::new_with_key(&self.key);
        h.write(text);
        h.finish128().as_u128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_text() {
        let memo = Memo::new();
        assert_eq!(memo.key(b"abc"), memo.key(b"abc"));
        assert_ne!(memo.key(b"a"), memo.key(b"b"));
    }

    #[test]
    fn each_cache_has_its_own_key() {
        assert_ne!(Memo::new().key(b"a"), Memo::new().key(b"a"));
    }
}
