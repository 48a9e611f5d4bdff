//! `glasshouse dpia`: the data protection impact assessment, rendered from
//! the configuration and what is actually stored, as Markdown (or HTML).
//!
//! The inventory is read from the data directory when it can be opened; a
//! running server holds the database, and then the figures are left out and
//! the reader is told so (the server's `/transparency/dpia` has them).

use glasshouse_governance::{dpia, Inventory, SiteInventory};
use glasshouse_model::{Clock, Config, StoreChoice, SystemClock};
use std::path::Path;

/// Prints the DPIA for the installation or one site.
pub fn run(config_path: &Path, site: Option<&str>, html: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    if let Some(host) = site {
        if config.site(host).is_none() {
            anyhow::bail!(
                "--site: {host:?} is not a site in {}",
                config_path.display()
            );
        }
    }
    let inventory = inventory(&config);
    let out = if html {
        dpia::html(&config, &inventory, site)
    } else {
        dpia::markdown(&config, &inventory, site)
    };
    print!("{out}");
    Ok(())
}

fn inventory(config: &Config) -> Inventory {
    let now = SystemClock.now();
    let mut sites: Vec<SiteInventory> = config
        .sites
        .iter()
        .map(|s| SiteInventory::empty(&s.host))
        .collect();
    let db = config.data_dir.join(glasshouse_store::duck::DATABASE_FILE);
    let opened = match config.store {
        // Opening creates the file: only open one that exists.
        StoreChoice::DuckDb if !db.exists() => None,
        _ => Some(crate::runtime::open_store(config)),
    };
    if let Some(opened) = opened {
        match opened {
            Ok(store) => {
                for (inv, site) in sites.iter_mut().zip(&config.sites) {
                    let today = now.date_naive();
                    if let Ok(f) = glasshouse_store::inventory::site_figures(store.as_ref(), site, today) {
                        *inv = SiteInventory::counted(
                            &site.host,
                            f.events_stored,
                            f.visitors_last_30_days,
                            f.oldest_event,
                            config.register_threshold,
                        );
                    }
                }
            }
            Err(e) => eprintln!(
                "note: the figures of what is stored are left out: {e:#} (is the server running? its /transparency/dpia has them)"
            ),
        }
    }
    let audit = glasshouse_audit::verify_dir(&config.data_dir.join("audit"), None).ok();
    Inventory {
        sites,
        audit_log_size: audit.as_ref().map(|r| r.size).unwrap_or(0),
        audit_checkpoint: audit.as_ref().map(|r| r.checkpoint.clone()),
        audit_public_key: audit.map(|r| r.key),
        generated_at: now,
        store_backend: config.store.describe(),
        // The assessment describes what links may do, not which exist:
        // the live register lists them.
        links: Vec::new(),
    }
}
