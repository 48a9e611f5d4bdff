//! Every file under a directory: what the privacy tests scan byte by byte.

use std::path::{Path, PathBuf};

/// The regular files under `dir`, in every subdirectory (a socket, such as
/// a running server's control socket, holds no bytes to scan).
pub fn under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}
