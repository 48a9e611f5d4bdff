//! Messages between nodes: signed with the sender's node key, bound to
//! the agreement (and the digest of its terms), the figure and the day,
//! addressed to one node, and fresh (a nonce never seen before, sent
//! within [`MAX_SKEW_SECONDS`]), so none can be altered, redirected or
//! replayed.
//!
//! On the wire: the header's length (4 bytes, big-endian), the header as
//! JSON, its Ed25519 signature (64 bytes), then the payload, whose SHA-256
//! the header holds.

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest header accepted.
const MAX_HEADER: usize = 4096;
/// How far a message's sending time may be from the receiver's clock.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// The protocol's version, in every header.
pub const VERSION: u32 = 1;

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A day's X25519 public key, to agree the day's link key.
    LinkKey,
    /// The answer to `LinkKey`: the partner's public key for the day.
    LinkKeyReply,
    /// The counting node's blinded elements of a figure.
    Psi,
    /// The partner's re-blinded points and its own blinded elements.
    PsiReply,
    /// The figure as released.
    Release,
    /// The partner's receipt of the release.
    ReleaseReceipt,
}

/// What every message says about itself, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`VERSION`].
    pub v: u32,
    /// What it is.
    pub kind: Kind,
    /// The agreement it is under.
    pub agreement: String,
    /// SHA-256 (hex) of the agreement's canonical terms as the sender holds them.
    pub terms: String,
    /// The figure, if it is about one.
    pub figure: Option<String>,
    /// The day it is about (the sites' local day).
    pub day: NaiveDate,
    /// The sending node's organisation.
    pub from: String,
    /// The receiving node's organisation.
    pub to: String,
    /// 16 random bytes (hex), never used twice.
    pub nonce: String,
    /// When it was sent.
    pub sent: DateTime<Utc>,
    /// The nonce of the message it answers, for replies.
    pub reply_to: Option<String>,
    /// SHA-256 (hex) of the payload.
    pub payload: String,
}

impl Header {
    /// A new header with a fresh nonce, for `payload`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: Kind,
        agreement: &str,
        terms: &str,
        figure: Option<&str>,
        day: NaiveDate,
        from: &str,
        to: &str,
        sent: DateTime<Utc>,
    ) -> Header {
        Header {
            v: VERSION,
            kind,
            agreement: agreement.into(),
            terms: terms.into(),
            figure: figure.map(str::to_string),
            day,
            from: from.into(),
            to: to.into(),
            nonce: hex::encode(rand::random::<[u8; 16]>()),
            sent,
            reply_to: None,
            payload: String::new(),
        }
    }

    /// The reply to `self`, from its receiver.
    pub fn reply(&self, kind: Kind, sent: DateTime<Utc>) -> Header {
        let mut h = Header::new(
            kind,
            &self.agreement,
            &self.terms,
            self.figure.as_deref(),
            self.day,
            &self.to,
            &self.from,
            sent,
        );
        h.reply_to = Some(self.nonce.clone());
        h
    }
}

/// Why a message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// Not a message at all.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The signature does not verify with the sender's pinned key.
    #[error("the signature does not verify with {0}'s node key")]
    Signature(String),
    /// The payload is not the one the header signs.
    #[error("the payload was altered")]
    Altered,
    /// Sent too long ago or in the future.
    #[error("sent at {0}, more than {MAX_SKEW_SECONDS} s from now")]
    Stale(DateTime<Utc>),
    /// Seen before.
    #[error("the message was already received (replay)")]
    Replayed,
    /// Addressed to another node, or of an unexpected kind.
    #[error("{0}")]
    Misdirected(String),
}

/// Signs `header` (with the payload's digest filled in) and frames it.
pub fn seal(mut header: Header, payload: &[u8], key: &SigningKey) -> Vec<u8> {
    header.payload = hex::encode(Sha256::digest(payload));
    let json = serde_json::to_vec(&header).expect("a header serialises");
    let signature = key.sign(&json).to_bytes();
    let mut out = Vec::with_capacity(4 + json.len() + 64 + payload.len());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&signature);
    out.extend_from_slice(payload);
    out
}

/// A received message, not yet checked against any key.
pub struct Opened<'a> {
    /// What it says about itself.
    pub header: Header,
    json: &'a [u8],
    signature: [u8; 64],
    /// What it carries.
    pub payload: &'a [u8],
}

/// Reads a framed message.
pub fn open(bytes: &[u8]) -> Result<Opened<'_>, MessageError> {
    let bad = |why: &str| MessageError::Malformed(why.to_string());
    let len = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or_else(|| bad("too short"))?;
    if len > MAX_HEADER || bytes.len() < 4 + len + 64 {
        return Err(bad("the header's length is wrong"));
    }
    let json = &bytes[4..4 + len];
    let header: Header =
        serde_json::from_slice(json).map_err(|e| MessageError::Malformed(e.to_string()))?;
    if header.v != VERSION {
        return Err(bad("unknown protocol version"));
    }
    Ok(Opened {
        header,
        json,
        signature: bytes[4 + len..4 + len + 64].try_into().expect("64 bytes"),
        payload: &bytes[4 + len + 64..],
    })
}

impl Opened<'_> {
    /// Checks the signature with the sender's pinned key, the payload's
    /// digest, and the sending time against `now`.
    pub fn verify(&self, key: &VerifyingKey, now: DateTime<Utc>) -> Result<(), MessageError> {
        key.verify(self.json, &Signature::from_bytes(&self.signature))
            .map_err(|_| MessageError::Signature(self.header.from.clone()))?;
        if hex::encode(Sha256::digest(self.payload)) != self.header.payload {
            return Err(MessageError::Altered);
        }
        if (now - self.header.sent).num_seconds().abs() > MAX_SKEW_SECONDS {
            return Err(MessageError::Stale(self.header.sent));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(now: DateTime<Utc>) -> Header {
        Header::new(
            Kind::Psi,
            "a",
            "t",
            Some("f"),
            now.date_naive(),
            "x",
            "y",
            now,
        )
    }

    #[test]
    fn a_sealed_message_opens_and_verifies() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let now = Utc::now();
        let bytes = seal(header(now), b"points", &key);
        let m = open(&bytes).unwrap();
        assert_eq!(m.payload, b"points");
        m.verify(&key.verifying_key(), now).unwrap();
    }

    #[test]
    fn altered_wrong_key_and_stale_messages_are_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let now = Utc::now();
        let mut bytes = seal(header(now), b"points", &key);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            open(&bytes).unwrap().verify(&key.verifying_key(), now),
            Err(MessageError::Altered)
        );
        let bytes = seal(header(now), b"points", &key);
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(matches!(
            open(&bytes).unwrap().verify(&other.verifying_key(), now),
            Err(MessageError::Signature(_))
        ));
        // A header changed after signing (another day) fails the signature.
        let mut forged = bytes.clone();
        let at = forged
            .windows(8)
            .position(|w| w == b"\"to\":\"y\"")
            .unwrap();
        forged[at + 6] = b'z';
        let m = open(&forged).unwrap();
        assert_eq!(m.header.to, "z");
        assert!(matches!(
            m.verify(&key.verifying_key(), now),
            Err(MessageError::Signature(_))
        ));
        let later = now + chrono::Duration::seconds(MAX_SKEW_SECONDS + 1);
        assert!(matches!(
            open(&bytes).unwrap().verify(&key.verifying_key(), later),
            Err(MessageError::Stale(_))
        ));
        assert!(open(&[0, 0]).is_err());
    }
}
