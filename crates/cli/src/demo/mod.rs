//! `glasshouse demo`: a working installation in one command.
//!
//! On first run it writes a demo configuration (three organisations, one
//! site each) and its secrets into the data directory, generates realistic
//! traffic and sends it through the real ingestion path (the anonymiser, with
//! ephemeral salts for past days, then the ingest queue), and serves it.
//! On later runs with the same directory it serves what is there, unchanged.

mod federated;
mod governance;
mod history;
mod sites;
mod traffic;

use crate::runtime;
use crate::token;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use glasshouse_model::{Config, StoreChoice};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Demo secrets, kept beside the demo's data so a restart prints the same logins.
/// A real installation never stores tokens or passwords in clear.
#[derive(Serialize, Deserialize)]
struct Secrets {
    username: String,
    password: String,
    api_token: String,
    organisation_tokens: Vec<(String, String)>,
}

const SECRETS_FILE: &str = "demo-secrets.toml";
const CONFIG_FILE: &str = "glasshouse.toml";

/// Runs the demo.
pub fn run(
    data: &Path,
    listen: SocketAddr,
    days: u32,
    events: u64,
    store: Option<StoreChoice>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let data = data.canonicalize()?;
    // Before anything is written: a second demo on this directory stops here.
    let dir = glasshouse_store::datadir::DataDir::lock(&data)?;
    let config_path = data.join(CONFIG_FILE);
    let secrets_path = data.join(SECRETS_FILE);
    let fresh = !config_path.exists();
    if fresh {
        let secrets = new_secrets();
        write_private(&secrets_path, &toml::to_string(&secrets)?)?;
        let text = demo_config(&secrets, listen, &data, store.as_ref(), None)?;
        std::fs::write(&config_path, sign_agreements(&data, &text)?)?;
    }
    let secrets: Secrets =
        toml::from_str(&std::fs::read_to_string(&secrets_path).with_context(|| {
            format!(
                "reading {}; delete {} to start the demo afresh",
                secrets_path.display(),
                data.display()
            )
        })?)?;
    let mut config = Config::load(&config_path)?;
    config.listen = listen;
    if let Some(store) = store {
        config.store = store;
    }
    if fresh {
        let started = std::time::Instant::now();
        let n = traffic::load(&config, days, events, None)?;
        eprintln!(
            "loaded {n} demo events for {} sites over {days} days in {:.1} s",
            config.sites.len(),
            started.elapsed().as_secs_f64()
        );
        for line in history::import(&config, &data)? {
            eprintln!("{line}");
        }
    }
    runtime::serve(dir, config, &config_path, move |config| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "dashboard: http://{}/", config.listen);
        let _ = writeln!(out, "login: {} {}", secrets.username, secrets.password);
        let _ = writeln!(out, "api token: {}", secrets.api_token);
        for (org, token) in &secrets.organisation_tokens {
            let _ = writeln!(out, "token {org}: {token}");
        }
        let _ = writeln!(out, "tracker: <script defer data-site=\"www.gov.uk\" src=\"http://{}/js/glasshouse.js\"></script>", config.listen);
        let _ = out.flush();
    })
}

/// Runs the federated demo: one node per organisation (`federated.rs`).
pub fn run_federated(
    data: &Path,
    listen: SocketAddr,
    days: u32,
    events: u64,
) -> anyhow::Result<()> {
    federated::run(data, listen, days, events)
}

fn random_string(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn new_secrets() -> Secrets {
    Secrets {
        username: "analyst".into(),
        password: random_string(20),
        api_token: token::new_token(),
        organisation_tokens: sites::ORGANISATIONS
            .iter()
            .map(|(id, _)| (id.to_string(), token::new_token()))
            .collect(),
    }
}

/// Each demo organisation's own signing key (in `DATA/keys/`, as each
/// would keep its own), and every party's signature on the agreements:
/// without them no agreement is in force.
fn sign_agreements(data: &Path, text: &str) -> anyhow::Result<String> {
    let keys = org_keys(data)?;
    Ok(glasshouse_model::signing::sign_config(
        text,
        CONFIG_FILE,
        |org| keys.get(org).cloned(),
        |_, _| true,
        chrono::Utc::now(),
    )?)
}

/// Each demo organisation's signing key in `DATA/keys/ORG.key`, made on
/// first use.
fn org_keys(
    data: &Path,
) -> anyhow::Result<std::collections::HashMap<String, glasshouse_model::signing::SigningKey>> {
    let dir = data.join("keys");
    std::fs::create_dir_all(&dir)?;
    let mut keys = std::collections::HashMap::new();
    for (id, _) in sites::ORGANISATIONS {
        keys.insert(id.to_string(), key_file(&dir.join(format!("{id}.key")))?);
    }
    Ok(keys)
}

/// The key in `path`, made there first if there is none.
fn key_file(path: &Path) -> anyhow::Result<glasshouse_model::signing::SigningKey> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return glasshouse_model::signing::signing_key(&text).map_err(anyhow::Error::msg);
    }
    let key = crate::agreement::new_key();
    crate::agreement::write_key(path, &key)?;
    Ok(key)
}

fn write_private(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// One node of the federated demo: its organisation, the agreements
/// between the nodes, and its node key.
struct NodeLayout<'a> {
    organisation: &'a str,
    agreements: &'a str,
    key_file: &'a Path,
}

fn demo_config(
    secrets: &Secrets,
    listen: SocketAddr,
    data: &Path,
    store: Option<&StoreChoice>,
    node: Option<&NodeLayout>,
) -> anyhow::Result<String> {
    let hash = argon2::Argon2::default()
        .hash_password(
            secrets.password.as_bytes(),
            &SaltString::generate(&mut OsRng),
        )
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?
        .to_string();
    let geo = sites::find_geoip();
    let mut c = String::new();
    c.push_str("# The glasshouse demo configuration, written by `glasshouse demo`.\n");
    c.push_str("# See glasshouse.example.toml in the repository for every option.\n\n");
    c.push_str(&format!("listen = \"{listen}\"\n"));
    c.push_str(&format!("data_dir = {:?}\n", data.display().to_string()));
    c.push_str(
        "# The demo runs behind no proxy but trusts loopback, so tests can send X-Forwarded-For.\n",
    );
    c.push_str("trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n");

    if geo.is_empty() {
        c.push_str("# No country database was found, so countries are unknown.\n# geoip_database = \"dbip-country.mmdb\"\n");
    } else {
        let files: Vec<String> = geo.iter().map(|p| p.display().to_string()).collect();
        c.push_str(&format!("# Country and region data: DB-IP Lite (CC BY 4.0), https://db-ip.com\ngeoip_database = {files:?}\n"));
    }
    // A table: after every top-level key.
    if let Some(StoreChoice::ClickHouse { url }) = store {
        c.push_str(&format!(
            "\n[store]\nbackend = \"clickhouse\"\nurl = {url:?}\n"
        ));
    }
    for (id, name) in sites::ORGANISATIONS {
        let (_, dpo, notice) = governance::CONTACTS
            .iter()
            .find(|(org, _, _)| *org == id)
            .expect("every demo organisation has contacts");
        c.push_str(&format!(
            "\n[[organisations]]\nid = \"{id}\"\nname = \"{name}\"\ndpo = \"{dpo}\"\nprivacy_notice = \"{notice}\"\n"
        ));
    }
    c.push_str(governance::PURPOSES);
    for site in sites::SITES {
        c.push_str(&format!(
            "\n[[sites]]\nhost = \"{}\"\norganisation = \"{}\"\ntimezone = \"Europe/London\"\nquery_params = [\"q\", \"page\"]\npurposes = [\"service-improvement\", \"performance-reporting\", \"accessibility\"]\ndated_slugs = [\"/government/news\", \"/government/speeches\", \"/government/publications\", \"/news\"]\nraw_retention_days = 400\naggregate_retention_days = 761\n",
            site.host, site.organisation
        ));
        c.push_str(demo_goals(site.host));
    }
    c.push_str(node.map_or(governance::AGREEMENT, |n| n.agreements));
    let ours = |org: &str| node.is_none_or(|n| n.organisation == org);
    if ours("cabinet-office") {
        c.push_str(&format!(
        "\n[[users]]\nusername = \"{}\"\norganisation = \"cabinet-office\"\nrole = \"admin\"\npassword_hash = \"{hash}\"\n",
        secrets.username
    ));
        c.push_str(&format!(
        "\n# The installation operator's token: it administers the installation\n# (reload, metrics) and reads data as a member of the Cabinet Office.\n[[api_tokens]]\nname = \"demo operator\"\norganisation = \"cabinet-office\"\nall_sites = true\nrole = \"analyst\"\nsha256 = \"{}\"\n",
        token::sha256_hex(&secrets.api_token)
    ));
    }
    for (org, t) in secrets.organisation_tokens.iter().filter(|(o, _)| ours(o)) {
        c.push_str(&format!(
            "\n[[api_tokens]]\nname = \"{org} analyst\"\norganisation = \"{org}\"\nrole = \"analyst\"\nsha256 = \"{}\"\n",
            token::sha256_hex(t)
        ));
    }
    if let Some(n) = node {
        c.push_str(&format!(
            "\n# This installation is the {} node: it holds its own sites' events only.\n[node]\norganisation = \"{}\"\nkey_file = {:?}\n",
            n.organisation, n.organisation, n.key_file.display().to_string()
        ));
    }
    Ok(c)
}

/// What each demo site counts as conversions (`[[sites.goals]]`).
fn demo_goals(host: &str) -> &'static str {
    match host {
        "www.gov.uk" => concat!(
            "\n[[sites.goals]]\nevent = \"Start now\"\nname = \"Started a service\"\n",
            "\n[[sites.goals]]\nevent = \"Form submitted\"\nprops = { form = \"universal-credit\" }\nname = \"Universal Credit claim\"\n",
            "\n[[sites.goals]]\npage = \"/renew-driving-licence/**\"\n",
            "\n[[sites.goals]]\nevent = \"File Download\"\n",
            "\n[[sites.goals]]\nevent = \"Payment\"\nname = \"Passport fee paid\"\ncurrency = \"GBP\"\n",
        ),
        "www.mygov.scot" => concat!(
            "\n[[sites.goals]]\nevent = \"Start now\"\nname = \"Started a service\"\n",
            "\n[[sites.goals]]\nevent = \"Form submitted\"\n",
            "\n[[sites.goals]]\npage = \"/apply-blue-badge/**\"\n",
        ),
        _ => concat!(
            "\n[[sites.goals]]\nevent = \"Form submitted\"\n",
            "\n[[sites.goals]]\nevent = \"File Download\"\n",
            "\n[[sites.goals]]\npage = \"/council-tax-reduction/**\"\n",
        ),
    }
}
