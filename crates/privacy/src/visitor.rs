//! The visitor hash: `BLAKE3-keyed(salt of the day; scope, IP,
//! BLAKE3(User-Agent))`, truncated to 64 bits.
//!
//! Keyed hashing with a secret, daily salt means the id cannot be reversed
//! (the IPv4 space is small enough to brute-force an unkeyed hash) and
//! cannot be recomputed once the salt is erased. Each input is framed
//! unambiguously (a tag, then fixed widths, then a length prefix), so no
//! two different (scope, IP, User-Agent) triples feed the same bytes to the
//! hash. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is hashed as the
//! IPv4 address it is, so a dual-stack proxy does not split one visitor in
//! two. 64 bits are plenty: a site would need billions of visitors a day
//! before two of them are likely to share an id.
//!
//! The User-Agent enters as its own digest ([`AgentDigest`]), which the
//! User-Agent cache keeps, so each id is one BLAKE3 block for any scope up
//! to 23 bytes: a typical User-Agent would otherwise be two more blocks,
//! for each of the two ids an event gets (under today's and yesterday's
//! salt). The digest is unkeyed and never leaves memory; everything secret
//! about the id is in the salt.

use std::net::IpAddr;

/// A User-Agent's BLAKE3 digest, truncated to 128 bits (ample against
/// accidental collisions; the salt, not the digest, is the secret).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AgentDigest([u8; 16]);

/// Shows nothing of the digest: unkeyed, it could be matched against the
/// digests of common User-Agents, so it must not reach a log either.
impl std::fmt::Debug for AgentDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentDigest(..)")
    }
}

impl AgentDigest {
    pub(crate) fn of(user_agent: &str) -> AgentDigest {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"glasshouse user-agent v2\0");
        hasher.update(user_agent.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        AgentDigest(first)
    }
}

/// The 64-bit visitor id of (scope, ip, User-Agent) under `salt`.
pub(crate) fn visitor_id(salt: &[u8; 32], scope: &str, ip: IpAddr, agent: &AgentDigest) -> u64 {
    let mut hasher = blake3::Hasher::new_keyed(salt);
    // 4 + 17 + 16 + 4 = 41 bytes before the scope: one 64-byte block
    // holds a scope of up to 23 bytes.
    hasher.update(b"gv2\0");
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            hasher.update(&[4]);
            hasher.update(&v4.to_ipv6_mapped().octets());
        }
        IpAddr::V6(v6) => {
            hasher.update(&[6]);
            hasher.update(&v6.octets());
        }
    }
    hasher.update(&agent.0);
    hasher.update(&(scope.len() as u32).to_le_bytes());
    hasher.update(scope.as_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 32] = [7; 32];

    fn visitor_id(salt: &[u8; 32], scope: &str, ip: IpAddr, user_agent: &str) -> u64 {
        super::visitor_id(salt, scope, ip, &AgentDigest::of(user_agent))
    }

    #[test]
    fn every_input_and_the_salt_matter() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let base = visitor_id(&SALT, "www.gov.uk", ip, "UA");
        assert_eq!(base, visitor_id(&SALT, "www.gov.uk", ip, "UA"));
        assert_ne!(base, visitor_id(&[8; 32], "www.gov.uk", ip, "UA"));
        assert_ne!(base, visitor_id(&SALT, "www.gov.wales", ip, "UA"));
        assert_ne!(
            base,
            visitor_id(&SALT, "www.gov.uk", "192.0.2.2".parse().unwrap(), "UA")
        );
        assert_ne!(base, visitor_id(&SALT, "www.gov.uk", ip, "UB"));
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_ne!(
            visitor_id(&SALT, "ab", ip, "c"),
            visitor_id(&SALT, "a", ip, "bc")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_same_visitor() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            visitor_id(&SALT, "s", v4, "UA"),
            visitor_id(&SALT, "s", mapped, "UA")
        );
    }
}
