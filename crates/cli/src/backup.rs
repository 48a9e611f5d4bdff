//! `glasshouse backup` and `glasshouse restore`.
//!
//! A backup is a copy of the data directory without the daily salts (a copy
//! of them would outlive their erasure, promise 2 of docs/architecture.md)
//! and without the lock, plus `backup.json` saying what it holds. It is
//! consistent: the store's files are copied while no write reaches them
//! (`Store::hold_writes`), the write-ahead log with them, and the audit
//! log's checkpoints before its entries, so every checkpoint copied has its
//! entries. Every event acknowledged before the backup began is in it.
//!
//! While a server runs on the directory, DuckDB's lock and ours keep a
//! second process out, so `backup` asks the running server, over a Unix
//! socket in the data directory that only the directory's owner can open
//! (`control.sock`), to make the copy itself.
//!
//! `restore` refuses a directory that is not empty, checks that the copy's
//! audit log verifies and that its layout is one this binary knows, copies
//! it, and appends a signed `restore` entry to the audit log naming the
//! checkpoint it was restored from: a partner who witnessed a larger log
//! sees why this one is smaller, and a truncation cannot pass for a restore.

use anyhow::{bail, Context};
use glasshouse_store::datadir::{self, DataDir, DataDirError};
use glasshouse_store::Store;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The socket a running server takes backup requests on.
pub const CONTROL_SOCKET: &str = "control.sock";

/// What `backup.json` records.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The glasshouse version that made it.
    pub glasshouse: String,
    /// The data directory's layout version.
    pub layout_version: u32,
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// Entries in the audit log copied.
    pub audit_size: u64,
    /// The audit log's signed checkpoint copied.
    pub audit_checkpoint: String,
    /// Where the events are: in the copy (DuckDB), or in ClickHouse, whose
    /// own backup must be taken alongside.
    pub store: String,
}

/// Files never copied: the salts (erased daily), the lock, the socket and
/// the write-ahead log's spare segment (zeros, made again when needed).
const NOT_COPIED: [&str; 6] = [
    "salts.json",
    datadir::LOCK_FILE,
    CONTROL_SOCKET,
    "backup.json",
    glasshouse_store::wal::SPARE,
    glasshouse_store::wal::SPARE_WRITING,
];

/// `glasshouse backup --data DIR --to OUT`.
pub fn backup(data: &Path, to: &Path) -> anyhow::Result<()> {
    check_target(to)?;
    let manifest = match DataDir::lock(data) {
        Ok(_held) => {
            // No server: nothing writes, and DuckDB replays its own log.
            let held = Held::None;
            copy_data_dir(data, to, &held)?
        }
        Err(DataDirError::InUse(..)) => ask_server(data, to)?,
        Err(e) => return Err(e.into()),
    };
    println!(
        "backed up {} to {} ({} audit entries; the daily salts are not copied)",
        data.display(),
        to.display(),
        manifest.audit_size
    );
    Ok(())
}

/// What is held while copying.
pub enum Held<'a> {
    /// Nothing runs on the directory.
    None,
    /// The running server's store, whose writes wait while it is copied.
    Store(&'a dyn Store, String),
}

fn check_target(to: &Path) -> anyhow::Result<()> {
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        bail!(
            "--to: {} is not empty; back up into a new directory",
            to.display()
        );
    }
    Ok(())
}

/// Copies `data` into `to` (see the module documentation).
pub fn copy_data_dir(data: &Path, to: &Path, held: &Held) -> anyhow::Result<Manifest> {
    check_target(to)?;
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut copied = Ok(());
    let mut copy = || {
        copied = copy_tree(data, to);
        Ok(())
    };
    let store = match held {
        Held::None => {
            copy()?;
            "DuckDB (in the copy)".to_string()
        }
        Held::Store(store, described) => {
            store.hold_writes(&mut copy)?;
            described.clone()
        }
    };
    copied?;
    let audit = glasshouse_audit::verify_dir(&to.join("audit"), None)
        .context("the copied audit log does not verify")?;
    let manifest = Manifest {
        glasshouse: env!("CARGO_PKG_VERSION").to_string(),
        layout_version: datadir::layout_version(to)?,
        made_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        audit_size: audit.size,
        audit_checkpoint: audit.checkpoint,
        store,
    };
    glasshouse_privacy::durable::replace(
        &to.join("backup.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// Copies a directory tree, leaving out [`NOT_COPIED`]; in each directory
/// `checkpoints` goes before the rest, so a copied audit log never has a
/// checkpoint without its entries.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| (e.file_name() != "checkpoints", e.file_name()));
    for e in entries {
        let name = e.file_name();
        if NOT_COPIED.iter().any(|n| name == *n) {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        let kind = e.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&dst)?;
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
            std::fs::File::open(&dst)?.sync_all()?;
        }
    }
    Ok(())
}

/// Asks the server running on `data` to make the copy.
fn ask_server(data: &Path, to: &Path) -> anyhow::Result<Manifest> {
    let to = std::path::absolute(to)?;
    let answer = ask_control(data, &serde_json::json!({ "backup": to }))?;
    if let Some(e) = answer["error"].as_str() {
        bail!("the running server could not make the backup: {e}");
    }
    Ok(serde_json::from_value(answer["manifest"].clone())?)
}

/// Sends one request to the server running on `data` (its control
/// socket) and reads its answer.
pub fn ask_control(data: &Path, request: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    use std::io::{BufRead, BufReader, Write};
    let socket = data.join(CONTROL_SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).with_context(|| {
        format!(
            "{} is in use, and its server does not answer on {}",
            data.display(),
            socket.display()
        )
    })?;
    writeln!(stream, "{request}")?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    serde_json::from_str(&line).context("the server's answer is not JSON")
}

/// One request on the control socket, answered by the running server.
pub fn answer_control(line: &str, data: &Path, store: &dyn Store, described: &str) -> String {
    let request: Result<serde_json::Value, _> = serde_json::from_str(line);
    let to = match request.as_ref().map(|r| r["backup"].as_str()) {
        Ok(Some(to)) => PathBuf::from(to),
        _ => return serde_json::json!({"error": "expected {\"backup\": PATH}"}).to_string(),
    };
    match copy_data_dir(data, &to, &Held::Store(store, described.to_string())) {
        Ok(manifest) => serde_json::json!({ "manifest": manifest }).to_string(),
        Err(e) => serde_json::json!({ "error": format!("{e:#}") }).to_string(),
    }
}

/// `glasshouse restore --from OUT --data DIR`.
pub fn restore(from: &Path, data: &Path) -> anyhow::Result<()> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(from.join("backup.json"))
            .with_context(|| format!("{} is not a glasshouse backup", from.display()))?,
    )
    .with_context(|| format!("reading {}", from.join("backup.json").display()))?;
    if manifest.layout_version > datadir::LAYOUT_VERSION {
        bail!(
            "the backup has layout version {}, newer than this glasshouse knows ({}); restore it with the release that made it ({})",
            manifest.layout_version,
            datadir::LAYOUT_VERSION,
            manifest.glasshouse
        );
    }
    let report = glasshouse_audit::verify_dir(&from.join("audit"), None)
        .context("the backup's audit log does not verify; not restored")?;
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "--data: {} is not empty; restore into a new, empty directory (a live data directory is never overwritten)",
            data.display()
        );
    }
    let held = DataDir::lock(data)?;
    copy_tree(from, data)?;
    let origin = std::fs::read_to_string(data.join("audit/origin"))
        .context("the backup has no audit/origin")?;
    let log = glasshouse_audit::AuditLog::open(&data.join("audit"), origin.trim())?;
    let note = format!(
        "restore: restored from a backup made {} at checkpoint {} (size {}); entries the original log gained after that checkpoint are not in this log",
        manifest.made_at, report.size, report.size
    );
    log.append(&glasshouse_audit::Entry::config(
        "installation",
        "operator",
        "cli:restore",
        &note,
    ))?;
    drop(held);
    println!(
        "restored {} into {} at audit checkpoint {}; new daily salts are made at start, so today's visitors are counted afresh from now on",
        from.display(),
        data.display(),
        report.size
    );
    if !manifest.store.starts_with("DuckDB") {
        println!(
            "the events are in {}: restore its own backup as well",
            manifest.store
        );
    }
    Ok(())
}
