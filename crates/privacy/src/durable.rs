//! Replacing a small file so that a crash leaves the old or the new
//! contents, never half of either, and the new contents survive a power
//! cut once the call returns: temporary file in the same directory, fsync,
//! rename over the old file, fsync the directory. Used for the ε ledger,
//! saved definitions and (readable by the owner only) the salts.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Durably replaces `file` with `bytes`.
pub fn replace(file: &Path, bytes: &[u8]) -> io::Result<()> {
    write(file, bytes, false)
}

/// Durably replaces `file` with `bytes`, readable by its owner only (0600).
pub fn replace_private(file: &Path, bytes: &[u8]) -> io::Result<()> {
    write(file, bytes, true)
}

/// The temporary file `replace` writes first (`.NAME.tmp`, hidden), for
/// callers that clear a leftover one at start.
pub fn temp_of(file: &Path) -> std::path::PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(file.file_name().unwrap_or_default());
    name.push(".tmp");
    file.with_file_name(name)
}

fn write(file: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let temp = temp_of(file);
    let result = (|| {
        let _ = fs::remove_file(&temp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut out = options.open(&temp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        drop(out);
        fs::rename(&temp, file)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", file.display())))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_new_contents_replace_the_old_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ledger.json");
        super::replace(&f, b"one").unwrap();
        super::replace(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
