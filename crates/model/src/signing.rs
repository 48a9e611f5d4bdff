//! Signed agreements: an agreement comes into force only when every
//! party's Ed25519 signature over its canonical text verifies, so the
//! operator who writes the configuration cannot add or widen an agreement
//! that gives one organisation another's data (docs/governance.md).
//!
//! Each organisation keeps its own signing key (`glasshouse agreement
//! keygen`) and publishes the public half in the configuration
//! (`[[organisations]] signing_key = "ed25519:…"`); `glasshouse agreement
//! sign` signs [`canonical`] text with the time of signing. Any change to
//! what the agreement allows after signing makes the signature fail, and
//! the agreement is then not in force.

use crate::governance::Agreement;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};

/// How a public key is written in the configuration.
const KEY_PREFIX: &str = "ed25519:";

/// One party's signature, as the configuration holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementSignature {
    /// The party that signed.
    pub organisation: String,
    /// When it signed (part of what is signed).
    pub signed: DateTime<Utc>,
    /// Whether the signature verifies against the party's key over the
    /// agreement as configured now.
    pub verified: bool,
}

/// JSON, so that no value can add a line of its own.
fn value<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain values serialise")
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut l: Vec<String> = list.iter().map(|s| s.to_ascii_lowercase()).collect();
    l.sort();
    l.dedup();
    l
}

/// The text every party signs: each term of the agreement on its own line,
/// lists sorted, values as JSON; the same agreement always gives the same
/// text, and any change to what it allows changes it.
pub fn canonical(a: &Agreement) -> String {
    let lines = [
        ("id", value(&a.id)),
        ("title", value(&a.title)),
        ("parties", value(&sorted(&a.parties))),
        ("sites", value(&sorted(&a.sites))),
        ("purposes", value(&sorted(&a.purposes))),
        ("metrics", value(&sorted(&a.metrics))),
        ("breakdowns", value(&sorted(&a.breakdowns))),
        ("journeys", value(&a.journeys)),
        ("publish", value(&a.publish)),
        ("k", value(&a.k)),
        ("epsilon_per_month", value(&a.epsilon_per_month)),
        ("start", value(&a.start.to_string())),
        ("end", value(&a.end.map(|d| d.to_string()))),
        ("signatories", value(&a.signatories)),
    ];
    let mut text = String::from("glasshouse agreement v1\n");
    for (k, v) in lines {
        text += &format!("{k}: {v}\n");
    }
    // Between nodes, the nodes (address and key) and the figures are
    // terms too; agreements without them read as they always have.
    if !a.nodes.is_empty() {
        let mut nodes = a.nodes.clone();
        nodes.sort_by(|x, y| x.organisation.cmp(&y.organisation));
        text += &format!("nodes: {}\n", value(&nodes));
    }
    if !a.figures.is_empty() {
        text += &format!("figures: {}\n", value(&a.figures));
    }
    text
}

/// What `organisation` signs at `at`: the canonical text, who and when.
fn message(a: &Agreement, organisation: &str, at: DateTime<Utc>) -> String {
    format!(
        "{}signed-by: {}\nsigned-at: {}\n",
        canonical(a),
        value(organisation),
        value(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
    )
}

/// A public key from the configuration's `ed25519:BASE64` form.
pub fn public_key(s: &str) -> Result<VerifyingKey, String> {
    let b64 = s
        .trim()
        .strip_prefix(KEY_PREFIX)
        .ok_or("must start with ed25519:")?;
    let bytes: [u8; 32] = B64
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("not 32 bytes of base64")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key".to_string())
}

/// The configuration's form of `key`'s public half.
pub fn public_key_string(key: &SigningKey) -> String {
    format!("{KEY_PREFIX}{}", B64.encode(key.verifying_key().to_bytes()))
}

/// A signing key from its 32-byte seed (a key file's content, base64).
pub fn signing_key(seed_b64: &str) -> Result<SigningKey, String> {
    let seed: [u8; 32] = B64
        .decode(seed_b64.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("a signing key file holds 32 bytes of base64")?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The key file's content for `key`.
pub fn signing_key_string(key: &SigningKey) -> String {
    B64.encode(key.to_bytes())
}

/// `organisation`'s signature of `a` at `at`, as base64.
pub fn sign(key: &SigningKey, a: &Agreement, organisation: &str, at: DateTime<Utc>) -> String {
    B64.encode(key.sign(message(a, organisation, at).as_bytes()).to_bytes())
}

/// Whether `signature` (base64) is `organisation`'s over `a` as it is now.
pub fn verify(
    key: &VerifyingKey,
    a: &Agreement,
    organisation: &str,
    at: DateTime<Utc>,
    signature: &str,
) -> bool {
    let Some(bytes) = B64
        .decode(signature.trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify(
        message(a, organisation, at).as_bytes(),
        &Signature::from_bytes(&bytes),
    )
    .is_ok()
}

/// The line a signature takes in the agreement's `signatures` list.
pub fn signature_entry(organisation: &str, at: DateTime<Utc>, signature: &str) -> String {
    format!(
        "{{ organisation = {}, signed = {}, signature = {} }}",
        value(organisation),
        value(&at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        value(signature)
    )
}

/// `text` (a configuration that loads) with each organisation's public
/// key from `key`, and a signature at `at` by every party that has a key
/// and that `signs` the agreement: what the demo and tests run on, as the
/// parties' `glasshouse agreement keygen` and `sign` would make it.
pub fn sign_config(
    text: &str,
    file: &str,
    key: impl Fn(&str) -> Option<SigningKey>,
    signs: impl Fn(&Agreement, &str) -> bool,
    at: DateTime<Utc>,
) -> Result<String, crate::config::ConfigError> {
    let config = crate::Config::parse(text, file)?;
    let mut out = text.to_string();
    for o in &config.organisations {
        if let Some(k) = key(&o.id) {
            let line = format!("id = {}\n", value(&o.id));
            let with = format!("{line}signing_key = {}\n", value(&public_key_string(&k)));
            out = replace_in_tables(&out, "[[organisations]]", &line, &with);
        }
    }
    for a in &config.agreements {
        let entries: Vec<String> = a
            .parties
            .iter()
            .filter(|p| signs(a, p))
            .filter_map(|p| key(p).map(|k| signature_entry(p, at, &sign(&k, a, p, at))))
            .collect();
        let line = format!("id = {}\n", value(&a.id));
        let with = format!("{line}signatures = [{}]\n", entries.join(", "));
        out = replace_in_tables(&out, "[[agreements]]", &line, &with);
    }
    Ok(out)
}

/// Replaces `line` with `with` where it is a line of a `header` table.
fn replace_in_tables(text: &str, header: &str, line: &str, with: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for l in text.split_inclusive('\n') {
        let t = l.trim_start();
        if t.starts_with('[') {
            in_table = t.trim_end() == header;
        }
        if in_table && l == line {
            out += with;
            in_table = false;
        } else {
            out += l;
        }
    }
    out
}
