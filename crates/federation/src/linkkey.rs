//! The day's link key between two nodes, and the link ids it gives.
//!
//! For each agreement, pair of nodes and day, each node draws a fresh
//! X25519 key pair and sends the public half signed with its long-term
//! node key (so nobody in between can substitute one). Both derive the
//! same link key with HKDF-SHA256 from the shared secret, bound to the
//! agreement's terms, the two nodes and the day. The private halves are
//! erased once the key is derived, and the key when its day ends: since
//! it never depended on the long-term keys alone, nobody can derive it
//! again afterwards, not even the nodes themselves (forward secrecy).
//!
//! A visitor's link id is the HMAC of the link key over the address and
//! User-Agent the request came with: both nodes give the same person on
//! the same day the same link id, which means nothing without the key.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

/// Bytes of a link id.
pub const LINK_ID_BYTES: usize = 32;

/// A day's private X25519 half; zeroed when dropped.
pub struct Ephemeral(StaticSecret);

impl Ephemeral {
    /// A fresh key pair.
    pub fn fresh() -> Ephemeral {
        Ephemeral(StaticSecret::random_from_rng(rand::rngs::OsRng))
    }

    /// From its bytes, kept while a handshake is under way.
    pub fn from_bytes(bytes: [u8; 32]) -> Ephemeral {
        Ephemeral(StaticSecret::from(bytes))
    }

    /// Its bytes, to keep while the partner has not answered.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half, to send.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }

    /// The link key agreed with `theirs`, bound to the agreement's terms,
    /// the pair of nodes (in either order) and the day; `None` if the
    /// partner's key is degenerate (a low-order point gives no secret).
    pub fn agree(&self, theirs: [u8; 32], context: &Context) -> Option<LinkKey> {
        let shared = self.0.diffie_hellman(&PublicKey::from(theirs));
        if !shared.was_contributory() {
            return None;
        }
        let hk = Hkdf::<Sha256>::new(Some(context.terms.as_bytes()), shared.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(context.info().as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF length");
        Some(LinkKey(key))
    }
}

/// What a link key is bound to.
pub struct Context<'a> {
    /// The agreement's id.
    pub agreement: &'a str,
    /// The digest of its terms.
    pub terms: &'a str,
    /// The two nodes' organisations.
    pub pair: [&'a str; 2],
    /// The day.
    pub day: chrono::NaiveDate,
}

impl Context<'_> {
    fn info(&self) -> String {
        let mut pair = self.pair;
        pair.sort_unstable();
        format!(
            "glasshouse link key v1\n{}\n{}\n{}\n{}\n",
            self.agreement, pair[0], pair[1], self.day
        )
    }
}

/// A day's link key between two nodes; zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    /// From its bytes, as kept for the day.
    pub fn from_bytes(bytes: [u8; 32]) -> LinkKey {
        LinkKey(bytes)
    }

    /// Its bytes, to keep for the day.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The link id of the visitor who sent a request from `ip` with
    /// `user_agent`.
    pub fn link_id(&self, ip: IpAddr, user_agent: &str) -> [u8; LINK_ID_BYTES] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"link id\0");
        match ip {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        mac.update(b"\0");
        mac.update(user_agent.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl Drop for LinkKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(day: &str) -> Context<'static> {
        Context {
            agreement: "a",
            terms: "t",
            pair: ["x", "y"],
            day: day.parse().unwrap(),
        }
    }

    #[test]
    fn both_sides_agree_the_same_key_and_ids() {
        let (a, b) = (Ephemeral::fresh(), Ephemeral::fresh());
        let ka = a.agree(b.public(), &cx("2026-12-05")).unwrap();
        let kb = b
            .agree(
                a.public(),
                &Context {
                    pair: ["y", "x"],
                    ..cx("2026-12-05")
                },
            )
            .unwrap();
        assert!(ka == kb);
        let ip: IpAddr = "81.2.69.160".parse().unwrap();
        assert_eq!(ka.link_id(ip, "UA"), kb.link_id(ip, "UA"));
        assert_ne!(ka.link_id(ip, "UA"), ka.link_id(ip, "UA2"));
        // Another day's key gives other ids.
        let other = a.agree(b.public(), &cx("2026-12-06")).unwrap();
        assert_ne!(ka.link_id(ip, "UA"), other.link_id(ip, "UA"));
    }

    #[test]
    fn a_low_order_key_gives_nothing() {
        assert!(Ephemeral::fresh()
            .agree([0; 32], &cx("2026-12-05"))
            .is_none());
    }
}
