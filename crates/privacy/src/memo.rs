//! Keys for the anonymiser's in-memory caches (today, parsed User-Agents).
//!
//! A cache keyed by the text itself would keep every User-Agent it has
//! seen for as long as the entry lives. Keyed instead by a 128-bit SipHash of the text
//! under a key drawn at random when the process starts, a cache holds only
//! results that are already anonymous; the hash cannot be recomputed
//! outside the process and dies with it. At 128 bits two different texts
//! will not share a key in practice, and an attacker who cannot learn the
//! key cannot make them.

use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hasher;

/// A random key for [`Memo::key`], one per cache.
pub(crate) struct Memo {
    keys: (u64, u64),
}

impl Memo {
    /// A key drawn from the operating system's random source.
    pub(crate) fn new() -> Memo {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        let (a, b) = bytes.split_at(8);
        Memo {
            keys: (
                u64::from_le_bytes(a.try_into().expect("8 bytes")),
                u64::from_le_bytes(b.try_into().expect("8 bytes")),
            ),
        }
    }

    /// The cache key of `parts`, each framed by its length so that no two
    /// different lists of parts feed the same bytes to the hash.
    pub(crate) fn key<'a>(&self, parts: impl IntoIterator<Item = &'a [u8]>) -> u128 {
        let mut h = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        for part in parts {
            h.write_u64(part.len() as u64);
            h.write(part);
        }
        h.finish128().as_u128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_text_and_the_framing() {
        let memo = Memo::new();
        assert_eq!(memo.key([&b"a"[..], b"bc"]), memo.key([&b"a"[..], b"bc"]));
        assert_ne!(memo.key([&b"a"[..], b"bc"]), memo.key([&b"ab"[..], b"c"]));
        assert_ne!(memo.key([&b"a"[..]]), memo.key([&b"b"[..]]));
    }

    #[test]
    fn each_cache_has_its_own_key() {
        assert_ne!(Memo::new().key([&b"a"[..]]), Memo::new().key([&b"a"[..]]));
    }
}
