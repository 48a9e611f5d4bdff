//! Signed agreements for test configurations: every organisation gets a
//! key made from its id, and every party signs every agreement, as
//! `glasshouse agreement keygen` and `sign` would.

use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

/// The signing key of organisation `id` in tests (made once per id).
pub fn key(id: &str) -> ed25519_dalek::SigningKey {
    static KEYS: std::sync::Mutex<Vec<(String, ed25519_dalek::SigningKey)>> =
        std::sync::Mutex::new(Vec::new());
    let mut keys = KEYS.lock().expect("test keys");
    if let Some((_, k)) = keys.iter().find(|(i, _)| i == id) {
        return k.clone();
    }
    let k =
        ed25519_dalek::SigningKey::from_bytes(&Sha256::digest(format!("test key of {id}")).into());
    keys.push((id.to_string(), k.clone()));
    k
}

/// `text` with a `signing_key` for each organisation and every party's
/// signature on each agreement, except those `skip(agreement, party)`
/// leaves out. `text` must load as it is.
pub fn signed_except(text: &str, skip: impl Fn(&str, &str) -> bool) -> String {
    let at = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    glasshouse_model::signing::sign_config(
        text,
        "test.toml",
        |o| Some(key(o)),
        |a, p| !skip(&a.id, p),
        at,
    )
    .expect("the unsigned configuration loads")
}

/// `text` with every party's signature on each agreement.
pub fn signed(text: &str) -> String {
    signed_except(text, |_, _| false)
}
