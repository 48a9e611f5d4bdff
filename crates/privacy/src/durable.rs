//! Replacing a small file so that a crash leaves the old or the new
//! contents, never half of either, and the new contents survive a power
//! cut once the call returns: temporary file in the same directory, fsync,
//! rename over the old file, fsync the directory. Used for the ε ledger and
//! saved definitions; the salts file does the same with its own zeroising.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Durably replaces `file` with `bytes`.
pub fn replace(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut temp_name = file.file_name().unwrap_or_default().to_os_string();
    temp_name.push(".tmp");
    let temp = dir.join(temp_name);
    let result = (|| {
        let mut out = fs::File::create(&temp)?;
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
