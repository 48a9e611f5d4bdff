//! The Debian package, installed on this machine as an operator would:
//! built by `scripts/package-deb.sh`, installed with `dpkg -i`, its unit
//! checked by `systemd-analyze verify`, the binary started as the unit says
//! (its `ExecStart` and `User`, read from the installed unit), an event sent
//! and read back, then the package removed and purged. Skipped, saying so,
//! only where there is no `dpkg`, the test is not root, or glasshouse is
//! already installed on the machine (it would be replaced and purged).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "package-test-token";
const UNIT: &str = "/lib/systemd/system/glasshouse.service";

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `KEY=value` of the installed unit.
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} in {UNIT}"))
        .to_string()
}

#[test]
fn the_package_installs_serves_as_its_unit_says_and_purges() {
    if Command::new("dpkg").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no dpkg on this machine; the package test needs Debian");
        return;
    }
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: installing a package needs root (CI runs as root)");
        return;
    }
    let installed_already = Command::new("dpkg")
        .args(["-s", "glasshouse"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed_already || Path::new("/var/lib/glasshouse").exists() {
        eprintln!(
            "SKIPPED: glasshouse is installed here (or /var/lib/glasshouse exists); the package test would replace and purge it"
        );
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_glasshouse"));
    let target = bin.parent().unwrap().parent().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let built = Command::new(repo.join("scripts/package-deb.sh"))
        .arg(out.path())
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = String::from_utf8_lossy(&built.stdout).trim().to_string();
    let listed = run("dpkg-deb", &["--contents", &deb]);
    for f in [
        "./usr/bin/glasshouse",
        "./lib/systemd/system/glasshouse.service",
        "./etc/glasshouse/glasshouse.toml",
        "./usr/share/glasshouse/dbip-country.mmdb",
        "./usr/share/doc/glasshouse/copyright",
    ] {
        assert!(listed.contains(f), "{f} in the package:\n{listed}");
    }

    run("dpkg", &["-i", &deb]);
    let installed = Installed;
    run("systemd-analyze", &["verify", UNIT]);
    let unit = std::fs::read_to_string(UNIT).unwrap();
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=glasshouse",
    ] {
        assert!(unit.contains(hardening), "{hardening}");
    }
    let user = unit_value(&unit, "User");
    let exec = unit_value(&unit, "ExecStart");
    let argv: Vec<&str> = exec.split_whitespace().collect();
    let config = argv[argv.iter().position(|a| *a == "--config").unwrap() + 1];
    assert_eq!(
        run("stat", &["-c", "%U %a", "/var/lib/glasshouse"]).trim(),
        format!("{user} 700")
    );
    // The shipped configuration is valid as it is.
    run(argv[0], &["check-config", config]);

    // The operator's configuration: one site, a token.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"/var/lib/glasshouse\"\n\
             geoip_database = \"/usr/share/glasshouse/dbip-country.mmdb\"\n\
             [[organisations]]\nid = \"o\"\nname = \"O\"\n[[sites]]\nhost = \"test.example\"\norganisation = \"o\"\n\
             [[api_tokens]]\nname = \"t\"\norganisation = \"o\"\nsha256 = \"{}\"\n",
            hex::encode(Sha256::digest(TOKEN))
        ),
    )
    .unwrap();
    let mut server = Command::new("runuser")
        .args(["-u", &user, "--"])
        .args(&argv)
        .current_dir("/var/lib/glasshouse")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{base}/ready")).is_ok_and(|r| r.status().is_success()) {
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            let _ = server.kill();
            let out = server.wait_with_output().unwrap();
            panic!("not ready: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let client = reqwest::blocking::Client::new();
    let sent = client
        .post(format!("{base}/api/event"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        )
        .header("content-type", "text/plain")
        .body(r#"{"n":"pageview","u":"https://test.example/installed","d":"test.example"}"#)
        .send()
        .unwrap();
    assert_eq!(sent.status().as_u16(), 202);
    let body: serde_json::Value = client
        .get(format!(
            "{base}/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=pageviews"
        ))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["results"]["pageviews"]["value"], 1, "{body}");
    // Its files belong to the service user.
    assert_eq!(
        run(
            "stat",
            &["-c", "%U", "/var/lib/glasshouse/glasshouse.duckdb"]
        )
        .trim(),
        user
    );
    // runuser passes the signal on; the server stops cleanly.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let stopped = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&stopped.stderr);
    assert!(log.contains("stopped"), "{log}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Command::new("pgrep")
        .args(["-u", &user])
        .output()
        .unwrap()
        .stdout
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "a process of {user} is still running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(installed);
    assert!(!Path::new("/usr/bin/glasshouse").exists());
    assert!(!Path::new(UNIT).exists());
    assert!(Command::new("getent")
        .args(["passwd", &user])
        .output()
        .unwrap()
        .stdout
        .is_empty());
}

/// Removes and purges the package, also when the test fails half-way.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["-r", "glasshouse"]).output();
        let _ = Command::new("dpkg").args(["-P", "glasshouse"]).output();
        let _ = std::fs::remove_dir_all("/var/lib/glasshouse");
    }
}
