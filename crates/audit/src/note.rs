//! C2SP signed notes and tlog-cosignature v1.
//!
//! A signed note is a text, a blank line, and one or more signature lines:
//!
//! ```text
//! <text, ending in a newline>
//!
//! — <key name> <base64(4-byte key id || signature)>
//! ```
//!
//! The dash is U+2014 followed by a space. A log signs with plain Ed25519
//! over the text. A witness cosigns with tlog-cosignature v1: Ed25519 over
//! `cosignature/v1\ntime <unix seconds>\n` followed by the text, and its
//! signature line carries `key id || timestamp (u64 big-endian) || signature`.
//! Because cosignatures are just more signature lines, a cosigned checkpoint
//! is still a valid signed note for verifiers that only know the log key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use thiserror::Error;

use crate::key::{Algorithm, Signer, Verifier};

/// The prefix of every signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note was refused. A note that fails to verify is evidence of
/// forgery or corruption, so the reason is kept precise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// The text is not a well-formed signed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature line from a known key did not verify: the text was
    /// changed after signing, or the signature was forged.
    #[error("invalid signature from key {name}")]
    BadSignature {
        /// The key name on the failing line.
        name: String,
    },
    /// None of the signatures comes from a key the verifier trusts.
    #[error("no signature from a known key (signed by: {names})")]
    NoKnownSignature {
        /// The key names that did sign, comma separated.
        names: String,
    },
    /// A key of the wrong algorithm was used to sign.
    #[error("key {name} cannot make this kind of signature")]
    WrongAlgorithm {
        /// The key name.
        name: String,
    },
}

/// One signature line, kept undecoded beyond the key id so that lines from
/// unknown keys can be carried along untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name on the line.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: [u8; 4],
    /// What follows the key id: the signature, preceded by the timestamp
    /// for cosignatures.
    pub payload: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, with its trailing newline, as it appears in a note.
    pub fn line(&self) -> String {
        let mut bytes = self.key_id.to_vec();
        bytes.extend_from_slice(&self.payload);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(bytes))
    }

    /// Parses one signature line (without its newline).
    pub fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "signature line must start with '\u{2014} '",
        ))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "signature line needs a key name and a signature",
        ))?;
        if name.is_empty() || name.contains('+') || b64.contains(' ') {
            return Err(NoteError::Malformed("bad key name on signature line"));
        }
        let bytes = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if bytes.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: [bytes[0], bytes[1], bytes[2], bytes[3]],
            payload: bytes[4..].to_vec(),
        })
    }
}

/// A signature that verified, and by whom; for cosignatures, when the
/// witness says it saw the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: [u8; 4],
    /// The cosignature's timestamp (Unix seconds), `None` for plain Ed25519.
    pub timestamp: Option<u64>,
}

/// A parsed signed note: its text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Splits a signed note into text and signatures. Does not verify.
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::Malformed(
                "control characters other than newline",
            ));
        }
        if !note.ends_with('\n') {
            return Err(NoteError::Malformed("note must end with a newline"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let text = &note[..split + 1];
        let sigs = &note[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        let signatures = sigs
            .strip_suffix('\n')
            .unwrap_or(sigs)
            .split('\n')
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Signs `text` with a log key (plain Ed25519), giving a one-signature note.
    pub fn sign(text: &str, signer: &Signer) -> Result<Note, NoteError> {
        check_text(text)?;
        let sig = sign_text(text, signer)?;
        Ok(Note {
            text: text.to_owned(),
            signatures: vec![sig],
        })
    }

    /// The signed text (the checkpoint body, for checkpoints).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, known or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line, e.g. a witness cosignature.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// The full note text: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// Checks the signatures against trusted keys. Lines from unknown keys
    /// are ignored, as the signed-note spec requires, but a line from a known
    /// key that fails is an error, and at least one known key must sign.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<Verified>, NoteError> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            else {
                continue;
            };
            let timestamp = verify_signature(&self.text, sig, v)?;
            ok.push(Verified {
                name: sig.name.clone(),
                key_id: sig.key_id,
                timestamp,
            });
        }
        if ok.is_empty() {
            let names: Vec<&str> = self.signatures.iter().map(|s| s.name.as_str()).collect();
            return Err(NoteError::NoKnownSignature {
                names: names.join(", "),
            });
        }
        Ok(ok)
    }
}

/// Refuses texts the format cannot carry, before anything is signed.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed(
            "text must be non-empty and end with a newline",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed(
            "control characters other than newline",
        ));
    }
    Ok(())
}

/// A plain Ed25519 signature line over `text`.
fn sign_text(text: &str, signer: &Signer) -> Result<NoteSignature, NoteError> {
    if signer.algorithm() != Algorithm::Ed25519 {
        return Err(NoteError::WrongAlgorithm {
            name: signer.name().to_owned(),
        });
    }
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        key_id: signer.key_id(),
        payload: signer.sign_raw(text.as_bytes()).to_vec(),
    })
}

/// The message a tlog-cosignature v1 signs: binding the time into the
/// signature is what lets a witness vouch for *when* it saw the checkpoint.
fn cosignature_message(text: &str, time: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(text.as_bytes());
    m
}

/// Makes a tlog-cosignature v1 line over a checkpoint text at `time`
/// (Unix seconds): what a witness adds to a checkpoint it has checked.
pub fn cosign(text: &str, signer: &Signer, time: u64) -> Result<NoteSignature, NoteError> {
    check_text(text)?;
    if signer.algorithm() != Algorithm::CosignatureV1 {
        return Err(NoteError::WrongAlgorithm {
            name: signer.name().to_owned(),
        });
    }
    let mut payload = time.to_be_bytes().to_vec();
    payload.extend_from_slice(&signer.sign_raw(&cosignature_message(text, time)));
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        key_id: signer.key_id(),
        payload,
    })
}

/// Verifies one line with its key; returns the cosignature time if any.
fn verify_signature(
    text: &str,
    sig: &NoteSignature,
    v: &Verifier,
) -> Result<Option<u64>, NoteError> {
    let bad = || NoteError::BadSignature {
        name: sig.name.clone(),
    };
    match v.algorithm() {
        Algorithm::Ed25519 => {
            let s: [u8; 64] = sig.payload.as_slice().try_into().map_err(|_| bad())?;
            if v.verify_raw(text.as_bytes(), &s) {
                Ok(None)
            } else {
                Err(bad())
            }
        }
        Algorithm::CosignatureV1 => {
            if sig.payload.len() != 72 {
                return Err(bad());
            }
            let time = u64::from_be_bytes(sig.payload[..8].try_into().expect("8 bytes"));
            let s: [u8; 64] = sig.payload[8..].try_into().expect("64 bytes");
            if v.verify_raw(&cosignature_message(text, time), &s) {
                Ok(Some(time))
            } else {
                Err(bad())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn reproduces_the_go_note_example_byte_for_byte() {
        let signer = Signer::from_key_string(PETER_SKEY).unwrap();
        let note = Note::sign(PETER_TEXT, &signer).unwrap();
        assert_eq!(note.to_text(), PETER_NOTE);
        let v = Verifier::from_key_string(PETER_VKEY).unwrap();
        let parsed = Note::parse(PETER_NOTE).unwrap();
        assert_eq!(parsed.text(), PETER_TEXT);
        assert_eq!(parsed.verify(&[v]).unwrap()[0].name, "PeterNeumann");
    }

    #[test]
    fn changed_text_fails() {
        let v = Verifier::from_key_string(PETER_VKEY).unwrap();
        let bad = PETER_NOTE.replace("cryptography", "cryptographY");
        assert!(matches!(
            Note::parse(&bad).unwrap().verify(&[v]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn verifies_a_real_cosigned_checkpoint() {
        // A checkpoint of a Certificate Transparency test log with witness
        // cosignatures, as published; the remora witness uses
        // tlog-cosignature v1. The first line is an RFC 6962 signature from
        // a key type we do not know, and must be ignored.
        let note = "arche2025h1.staging.ct.transparency.dev\n\
            1432088532\n\
            U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\
            \n\
            \u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n\
            \u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n\
            \u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n\
            \u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n";
        let log = Verifier::from_key_string(
            "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f",
        )
        .unwrap();
        let witness = Verifier::from_key_string(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .unwrap();
        let parsed = Note::parse(note).unwrap();
        assert_eq!(parsed.verify(std::slice::from_ref(&log)).unwrap().len(), 1);
        let cosig = parsed.verify(std::slice::from_ref(&witness)).unwrap();
        assert_eq!(cosig[0].timestamp, Some(0x6a12_2120));
        let clobbered = note.replace("1432088532", "1432088533");
        assert!(Note::parse(&clobbered).unwrap().verify(&[witness]).is_err());
        assert!(Note::parse(&clobbered).unwrap().verify(&[log]).is_err());
    }

    #[test]
    fn cosignature_round_trip_and_tamper() {
        let log = Signer::generate("example.org/log", Algorithm::Ed25519).unwrap();
        let w = Signer::generate("witness.example", Algorithm::CosignatureV1).unwrap();
        let text = "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut note = Note::sign(text, &log).unwrap();
        note.add_signature(cosign(text, &w, 1_700_000_000).unwrap());
        let round = Note::parse(&note.to_text()).unwrap();
        assert_eq!(round, note);
        let got = round.verify(&[log.verifier(), w.verifier()]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].timestamp, Some(1_700_000_000));
        // Changing the timestamp in the line breaks the cosignature.
        let mut sig = round.signatures()[1].clone();
        sig.payload[7] ^= 1;
        let mut forged = Note::parse(&note.to_text()).unwrap();
        forged.signatures[1] = sig;
        assert!(forged.verify(&[w.verifier()]).is_err());
        // A log key cannot cosign, a witness key cannot sign as a log.
        assert!(cosign(text, &log, 1).is_err());
        assert!(Note::sign(text, &w).is_err());
    }

    #[test]
    fn every_flipped_bit_of_the_signature_fails() {
        let log = Signer::generate("example.org/log", Algorithm::Ed25519).unwrap();
        let note = Note::sign("hello\n", &log).unwrap();
        for i in 0..64 * 8 {
            let mut n = note.clone();
            n.signatures[0].payload[i / 8] ^= 1 << (i % 8);
            assert!(n.verify(&[log.verifier()]).is_err(), "bit {i}");
        }
    }

    #[test]
    fn unknown_keys_are_ignored_but_one_known_is_required() {
        let a = Signer::generate("a", Algorithm::Ed25519).unwrap();
        let b = Signer::generate("b", Algorithm::Ed25519).unwrap();
        let mut note = Note::sign("x\n", &a).unwrap();
        note.add_signature(Note::sign("x\n", &b).unwrap().signatures()[0].clone());
        assert_eq!(note.verify(&[b.verifier()]).unwrap()[0].name, "b");
        let other = Signer::generate("c", Algorithm::Ed25519).unwrap();
        assert!(matches!(
            note.verify(&[other.verifier()]),
            Err(NoteError::NoKnownSignature { .. })
        ));
    }

    #[test]
    fn malformed_notes_are_refused() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n- x AAAAAAAA\n",
            "text\n\n\u{2014} x AAAAAAAA",
            "text\n\n\u{2014} x !!!\n",
            "te\rxt\n\n\u{2014} x AAAAAAAAAA==\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
    }
}
