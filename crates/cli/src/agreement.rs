//! `glasshouse agreement keygen` and `sign`: each organisation keeps its
//! own signing key and signs the agreements it enters into, so an
//! agreement is in force only when every party has signed its exact terms
//! (`glasshouse_model::signing`, docs/governance.md).

use anyhow::{bail, Context};
use glasshouse_model::signing::{self, SigningKey};
use glasshouse_model::Config;
use std::path::Path;

/// A new random signing key.
pub fn new_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// Writes `key` to `path`, readable by its owner only.
pub fn write_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| {
        format!(
            "{}: cannot create it (it must not exist yet)",
            path.display()
        )
    })?;
    writeln!(f, "{}", signing::signing_key_string(key))?;
    Ok(())
}

/// `glasshouse agreement keygen --organisation ORG --out FILE`.
pub fn keygen(organisation: &str, out: &Path) -> anyhow::Result<()> {
    let key = new_key();
    write_key(out, &key)?;
    println!(
        "# Keep {} secret: it signs {organisation}'s agreements.",
        out.display()
    );
    println!("# Put this line under the [[organisations]] entry with id = \"{organisation}\":");
    println!("signing_key = \"{}\"", signing::public_key_string(&key));
    Ok(())
}

/// `glasshouse agreement sign --config FILE --agreement ID --organisation ORG --key FILE`.
pub fn sign(config: &Path, id: &str, organisation: &str, key_file: &Path) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let a = config
        .agreements
        .iter()
        .find(|a| a.id == id)
        .with_context(|| format!("--agreement: no agreement {id:?} in the configuration"))?;
    if !a.parties.iter().any(|p| p == organisation) {
        bail!("--organisation: {organisation:?} is not a party to {id:?}");
    }
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("--key: reading {}", key_file.display()))?;
    let key = signing::signing_key(&text)
        .map_err(|e| anyhow::anyhow!("--key {}: {e}", key_file.display()))?;
    let published = config
        .organisation(organisation)
        .and_then(|o| o.signing_key.clone())
        .with_context(|| format!("{organisation} has no signing_key in the configuration; add the one keygen printed"))?;
    if published != signing::public_key_string(&key) {
        bail!("--key: this is not the key whose public half {organisation} published (its signing_key)");
    }
    let at = chrono::Utc::now();
    print!("{}", signing::canonical(a));
    println!("\n# {organisation} signs the terms above. Add this entry to the agreement's signatures list:");
    println!(
        "{}",
        signing::signature_entry(organisation, at, &signing::sign(&key, a, organisation, at))
    );
    Ok(())
}
