//! C2SP checkpoints: the signed statement "this log, at this size, has this
//! root".
//!
//! ```text
//! <origin>\n
//! <tree size, decimal>\n
//! <base64 root hash>\n
//! ```
//!
//! Extension lines may follow; this log writes none, and keeps any it reads
//! so the signed text is reproduced exactly.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

use crate::key::Verifier;
use crate::merkle::Hash;
use crate::note::{Note, NoteError};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The body does not follow the checkpoint format.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The signed note around it is malformed or does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// It is a checkpoint of another log.
    #[error("checkpoint is for origin {got:?}, expected {expected:?}")]
    WrongOrigin {
        /// The origin line found.
        got: String,
        /// The origin expected.
        expected: String,
    },
}

/// A parsed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identifies the log; by convention also the log key's name.
    pub origin: String,
    /// Number of entries committed to.
    pub size: u64,
    /// RFC 6962 root of the first `size` entries.
    pub root: Hash,
    /// Extension lines, kept verbatim (without newlines).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extensions, as this log makes them.
    pub fn new(origin: &str, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The body text that gets signed.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a body, strictly: any other spelling of the same numbers would
    /// be a different signed text, so only the canonical one is accepted.
    pub fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        let lines = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("body must end with a newline"))?;
        let mut lines = lines.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing size"))?;
        let parsed: u64 = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("size is not a decimal number"))?;
        if parsed.to_string() != size {
            return Err(CheckpointError::Malformed(
                "size is not in canonical decimal",
            ));
        }
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::Malformed("root is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size: parsed,
            root,
            extensions,
        })
    }

    /// Parses a signed checkpoint and checks the log's signature and origin:
    /// the one way to turn text fetched from anywhere into a trusted
    /// checkpoint. Cosignatures and other unknown lines are ignored.
    pub fn open(note: &str, log_key: &Verifier) -> Result<(Checkpoint, Note), CheckpointError> {
        let parsed = Note::parse(note)?;
        parsed.verify(std::slice::from_ref(log_key))?;
        let cp = Checkpoint::parse(parsed.text())?;
        if cp.origin != log_key.name() {
            return Err(CheckpointError::WrongOrigin {
                got: cp.origin,
                expected: log_key.name().to_owned(),
            });
        }
        Ok((cp, parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Algorithm, Signer};
    use crate::merkle::empty_root;

    #[test]
    fn body_format_and_round_trip() {
        let cp = Checkpoint::new("example.org/log", 0, empty_root());
        assert_eq!(
            cp.body(),
            "example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn non_canonical_bodies_are_refused() {
        let root = B64.encode(empty_root());
        for bad in [
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n1\n{root}"),
            "o\n1\nAAAA\n".to_string(),
            format!("\n1\n{root}\n"),
            format!("o\n1\n{root}\n\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_round_trip_and_changed_size_fails() {
        let signer = Signer::generate("example.org/log", Algorithm::Ed25519).unwrap();
        let cp = Checkpoint::new("example.org/log", 7, [9; 32]);
        let text = Note::sign(&cp.body(), &signer).unwrap().to_text();
        let (got, _) = Checkpoint::open(&text, &signer.verifier()).unwrap();
        assert_eq!(got, cp);
        let changed = text.replacen("\n7\n", "\n8\n", 1);
        assert!(Checkpoint::open(&changed, &signer.verifier()).is_err());
        let other = Signer::generate("example.org/log", Algorithm::Ed25519).unwrap();
        assert!(Checkpoint::open(&text, &other.verifier()).is_err());
        let mut bytes = text.clone().into_bytes();
        let pos = text.find('=').unwrap() - 3;
        bytes[pos] ^= 0x01;
        let flipped = String::from_utf8(bytes).unwrap();
        assert!(Checkpoint::open(&flipped, &signer.verifier()).is_err());
    }

    #[test]
    fn origin_must_match_key_name() {
        let signer = Signer::generate("example.org/log", Algorithm::Ed25519).unwrap();
        let cp = Checkpoint::new("example.org/other", 1, [0; 32]);
        let text = Note::sign(&cp.body(), &signer).unwrap().to_text();
        assert!(matches!(
            Checkpoint::open(&text, &signer.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }
}
