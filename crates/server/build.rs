//! Builds the dashboard front end (web/, Vite + TypeScript) into web/dist,
//! which `web_assets` embeds into the binary.
//!
//! - `npm ci` runs when web/node_modules is missing or web/package-lock.json
//!   differs from the stamp web/node_modules/.installed-from-lock (the same
//!   stamp and rule as scripts/test.sh, so the two never fight);
//! - then `npm run build`.
//!
//! `GLASSHOUSE_SKIP_WEB_BUILD=1` skips both when web/dist already exists (for
//! machines without Node.js that build from a prepared tree).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let web = web.canonicalize().unwrap_or(web);

    for path in [
        "src",
        "dashboard.html",
        "login.html",
        "vite.config.ts",
        "vite.config.js",
        "vite.config.mjs",
        "tsconfig.json",
        "package.json",
        "package-lock.json",
    ] {
        // Only paths that exist: a missing one would make every build rerun this.
        if web.join(path).exists() {
            println!("cargo:rerun-if-changed={}", web.join(path).display());
        }
    }
    // Region names for the dashboard come from the model crate's table.
    println!(
        "cargo:rerun-if-changed={}",
        web.join("../crates/model/data/regions.tsv").display()
    );
    println!("cargo:rerun-if-env-changed=GLASSHOUSE_SKIP_WEB_BUILD");

    let dist = web.join("dist");
    let skip = std::env::var("GLASSHOUSE_SKIP_WEB_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        if dist.join("dashboard.html").is_file() && dist.join("login.html").is_file() {
            println!("cargo:warning=GLASSHOUSE_SKIP_WEB_BUILD is set: embedding web/dist as it is");
            return;
        }
        fail(&format!(
            "GLASSHOUSE_SKIP_WEB_BUILD is set but {} has no built pages; build them first with `npm ci && npm run build` in {}",
            dist.display(),
            web.display()
        ));
    }

    let lock = web.join("package-lock.json");
    let stamp = web.join("node_modules/.installed-from-lock");
    let installed = web.join("node_modules").is_dir() && same_contents(&lock, &stamp);
    if !installed {
        npm(&web, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        if let Err(e) = std::fs::copy(&lock, &stamp) {
            fail(&format!("could not write {}: {e}", stamp.display()));
        }
    }
    npm(&web, &["run", "build"]);
    if !dist.join("dashboard.html").is_file() {
        fail(&format!(
            "`npm run build` did not produce {}",
            dist.join("dashboard.html").display()
        ));
    }
}

fn same_contents(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn npm(dir: &Path, args: &[&str]) {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(program).args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("`npm {}` in {} failed ({s})", args.join(" "), dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(
            "npm was not found. The dashboard is built with Node.js: install Node.js and npm (Node 20.19 or later), \
             or set GLASSHOUSE_SKIP_WEB_BUILD=1 with a web/dist built elsewhere",
        ),
        Err(e) => fail(&format!("could not run npm: {e}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    panic!("{message}");
}
