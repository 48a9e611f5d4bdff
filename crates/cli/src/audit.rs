//! `glasshouse audit verify` and `glasshouse audit witness`: anyone can check
//! the transparency log, locally or through a server's public endpoints, and
//! a partner organisation can witness it so that a log showing different
//! histories to different people is caught.

use anyhow::{bail, Context};
use std::path::Path;

/// Verifies the log in `DATA/audit` or at `url`; with `checkpoint`, also that
/// the checkpoint saved earlier is a prefix of today's log. Prints the new
/// checkpoint so it can be saved for next time.
pub fn verify(
    data: Option<&Path>,
    url: Option<&str>,
    checkpoint: Option<&Path>,
) -> anyhow::Result<()> {
    let saved = checkpoint
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let report = match (data, url) {
        (Some(dir), None) => {
            let dir = dir.join("audit");
            if !dir.join("entries.jsonl").exists() && !dir.join("checkpoints").exists() {
                bail!("{} holds no audit log", dir.display());
            }
            glasshouse_audit::verify_dir(&dir, saved.as_deref())
        }
        (None, Some(url)) => {
            glasshouse_audit::verify_remote(url.trim_end_matches('/'), saved.as_deref(), None)
        }
        _ => bail!("give either --data DIR or --url URL"),
    };
    match report {
        Ok(r) => {
            println!(
                "ok: {} entries, {} signed checkpoints, all consistent",
                r.size, r.checkpoints
            );
            if let Some(n) = r.saved_size {
                println!("the saved checkpoint (size {n}) is a prefix of this log");
            }
            println!(
                "latest checkpoint (save it to check against next time):\n{}",
                r.checkpoint
            );
            Ok(())
        }
        Err(e) => bail!("the audit log does NOT verify: {e}"),
    }
}

/// Witnesses the log at `url`, keeping state in `state`.
pub fn witness(url: &str, state: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
    match glasshouse_audit::witness(url.trim_end_matches('/'), state, name) {
        Ok(r) => {
            match r.old_size {
                Some(old) => println!(
                    "ok: {} grew from {old} to {} entries consistently; cosigned",
                    r.origin, r.size
                ),
                None => println!(
                    "ok: first visit to {}; {} entries; its key is now pinned; cosigned",
                    r.origin, r.size
                ),
            }
            println!("{}", r.cosignature);
            println!("witness key: {}", r.witness_key);
            Ok(())
        }
        Err(e) => bail!("refused to witness: {e}"),
    }
}
