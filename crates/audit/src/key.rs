//! Ed25519 keys in the C2SP signed-note encodings.
//!
//! Using the same key strings as Go's `golang.org/x/mod/sumdb/note` and the
//! C2SP witness ecosystem means a checkpoint from this log can be checked
//! with off-the-shelf tools, not only with ours.
//!
//! ```text
//! verifier:  <name>+<8 hex digits key id>+<base64(alg || 32-byte public key)>
//! signer:    PRIVATE+KEY+<name>+<8 hex digits key id>+<base64(alg || 32-byte seed)>
//! key id:    SHA-256(name || 0x0A || alg || public key)[..4]
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Which signature scheme a key is for. The algorithm byte is part of the
/// key id, so the same Ed25519 key pair used for both gets two distinct ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Plain Ed25519 over the note text (alg byte 0x01): how a log signs
    /// its checkpoints.
    Ed25519,
    /// C2SP tlog-cosignature v1 (alg byte 0x04): Ed25519 over a timestamped
    /// message, how a witness cosigns a checkpoint.
    CosignatureV1,
}

impl Algorithm {
    /// The algorithm byte used in key ids and key strings.
    pub fn byte(self) -> u8 {
        match self {
            Algorithm::Ed25519 => 0x01,
            Algorithm::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<Algorithm> {
        match b {
            0x01 => Some(Algorithm::Ed25519),
            0x04 => Some(Algorithm::CosignatureV1),
            _ => None,
        }
    }
}

/// Why a key string was refused; these are configuration mistakes or
/// corrupted key files, and must never be papered over.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The name is empty or has whitespace or `+`, which the encodings
    /// cannot carry.
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    BadName(String),
    /// The string does not have the expected `+`-separated fields.
    #[error("malformed key string: {0}")]
    Malformed(&'static str),
    /// The key id in the string is not the one computed from the key.
    #[error("key id in key string does not match the key")]
    WrongId,
    /// The algorithm byte is not one this crate knows.
    #[error("unknown key algorithm 0x{0:02x}")]
    UnknownAlgorithm(u8),
}

/// Computes the 4-byte key id that signature lines carry, so a verifier can
/// find the right key among many without trying each one.
pub fn key_id(name: &str, alg: Algorithm, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg.byte()]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Checks a key name is encodable in key strings and signature lines.
pub fn check_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(KeyError::BadName(name.to_owned()));
    }
    Ok(())
}

/// A private key with its name: what the log signs checkpoints with and a
/// witness cosigns with. Its string form is secret and belongs in a 0600 file.
#[derive(Clone)]
pub struct Signer {
    name: String,
    alg: Algorithm,
    id: [u8; 4],
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key, even in a debug dump.
        write!(f, "Signer({}+{})", self.name, hex::encode(self.id))
    }
}

impl Signer {
    /// A fresh random key, for a new log or a new witness.
    pub fn generate(name: &str, alg: Algorithm) -> Result<Signer, KeyError> {
        check_name(name)?;
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Ok(Signer::from_parts(name, alg, key))
    }

    fn from_parts(name: &str, alg: Algorithm, key: SigningKey) -> Signer {
        let id = key_id(name, alg, key.verifying_key().as_bytes());
        Signer {
            name: name.to_owned(),
            alg,
            id,
            key,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(alg || seed)>`, checking the
    /// id so a corrupted key file is noticed before it signs anything.
    pub fn from_key_string(s: &str) -> Result<Signer, KeyError> {
        let rest = s
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed(
                "signer key must start with PRIVATE+KEY+",
            ))?;
        let (name, id, bytes) = split_key(rest)?;
        let alg = Algorithm::from_byte(bytes[0]).ok_or(KeyError::UnknownAlgorithm(bytes[0]))?;
        let seed: [u8; 32] = bytes[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("seed must be 32 bytes"))?;
        let signer = Signer::from_parts(name, alg, SigningKey::from_bytes(&seed));
        if signer.id != id {
            return Err(KeyError::WrongId);
        }
        Ok(signer)
    }

    /// The secret key string, for the key file.
    pub fn to_key_string(&self) -> String {
        let mut bytes = vec![self.alg.byte()];
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(bytes)
        )
    }

    /// The matching public key, which is what gets published.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            alg: self.alg,
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name that signature lines carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id that signature lines carry.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// Which scheme this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// A public key with its name: what anyone uses to check a log's
/// checkpoints or a witness's cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    alg: Algorithm,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    /// Parses `<name>+<id>+<base64(alg || public key)>`, checking the id.
    pub fn from_key_string(s: &str) -> Result<Verifier, KeyError> {
        let (name, id, bytes) = split_key(s.trim())?;
        let alg = Algorithm::from_byte(bytes[0]).ok_or(KeyError::UnknownAlgorithm(bytes[0]))?;
        let public: [u8; 32] = bytes[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("public key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| KeyError::Malformed("not an Ed25519 public key"))?;
        if key_id(name, alg, &public) != id {
            return Err(KeyError::WrongId);
        }
        Ok(Verifier {
            name: name.to_owned(),
            alg,
            id,
            key,
        })
    }

    /// The public key string, served at `/transparency/log/key`.
    pub fn to_key_string(&self) -> String {
        let mut bytes = vec![self.alg.byte()];
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(bytes)
        )
    }

    /// The key name signature lines must carry to be checked by this key.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id signature lines must carry to be checked by this key.
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// Which scheme this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// Splits `<name>+<hex id>+<base64>` into its parts.
fn split_key(s: &str) -> Result<(&str, [u8; 4], Vec<u8>), KeyError> {
    // At most three fields: standard base64 may itself contain '+'.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Malformed("expected <name>+<key id>+<key>"));
    };
    check_name(name)?;
    if id.len() != 8 {
        return Err(KeyError::Malformed("key id must be 8 hex digits"));
    }
    let id: [u8; 4] = hex::decode(id)
        .map_err(|_| KeyError::Malformed("key id must be 8 hex digits"))?
        .try_into()
        .map_err(|_| KeyError::Malformed("key id must be 8 hex digits"))?;
    let bytes = B64
        .decode(b64)
        .map_err(|_| KeyError::Malformed("key is not base64"))?;
    if bytes.is_empty() {
        return Err(KeyError::Malformed("empty key"));
    }
    Ok((name, id, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_strings_round_trip() {
        for alg in [Algorithm::Ed25519, Algorithm::CosignatureV1] {
            let s = Signer::generate("example.org/log", alg).unwrap();
            let s2 = Signer::from_key_string(&s.to_key_string()).unwrap();
            assert_eq!(s2.to_key_string(), s.to_key_string());
            let v = Verifier::from_key_string(&s.verifier().to_key_string()).unwrap();
            assert_eq!(v, s.verifier());
            assert_eq!(v.algorithm(), alg);
        }
    }

    #[test]
    fn known_verifier_key_from_go_note_package() {
        // The example key from golang.org/x/mod/sumdb/note's documentation.
        let v = Verifier::from_key_string(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(hex::encode(v.key_id()), "c74f20a3");
        let s = Signer::from_key_string(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap();
        assert_eq!(s.verifier(), v);
    }

    #[test]
    fn wrong_id_and_bad_names_are_refused() {
        let s = Signer::generate("log", Algorithm::Ed25519).unwrap();
        let vk = s.verifier().to_key_string();
        let bad = vk.replacen(&hex::encode(s.key_id()), "00000000", 1);
        assert_eq!(Verifier::from_key_string(&bad), Err(KeyError::WrongId));
        assert!(Signer::generate("a b", Algorithm::Ed25519).is_err());
        assert!(Signer::generate("a+b", Algorithm::Ed25519).is_err());
        assert!(Signer::generate("", Algorithm::Ed25519).is_err());
    }
}
