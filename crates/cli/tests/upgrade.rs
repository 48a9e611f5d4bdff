//! Upgrades: a data directory written by an earlier release (committed
//! under `tests/fixtures/`) is opened by this binary, upgraded in place,
//! and answers as that release did; its audit log still verifies. A
//! directory or store of a newer release is refused.

use glasshouse_testkit::process::{free_port, Running};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixture(release: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/data-{release}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of a release's directory, its configuration pointed at it.
fn copy_of(release: &str, dir: &Path) -> (PathBuf, u16) {
    let data = dir.join("data");
    copy_dir(&fixture(release), &data);
    let port = free_port();
    let config = data.join("glasshouse.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("@DATA_DIR@", data.to_str().unwrap())
        .replace("@LISTEN@", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, text).unwrap();
    (data, port)
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn serve(config: &Path, port: u16, log: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    let server = Running::new(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::blocking::get(format!("http://127.0.0.1:{port}/ready"))
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "not ready: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[test]
fn a_data_directory_of_0_1_0_is_opened_and_answers_as_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let (data, port) = copy_of("0.1.0", dir.path());
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("0.1.0").join("expected.json")).unwrap(),
    )
    .unwrap();
    let secrets: toml::Value =
        toml::from_str(&std::fs::read_to_string(data.join("demo-secrets.toml")).unwrap()).unwrap();
    let token_of = |org: &str| -> String {
        secrets["organisation_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0].as_str() == Some(org))
            .unwrap()[1]
            .as_str()
            .unwrap()
            .to_string()
    };
    let _server = serve(&data.join("glasshouse.toml"), port, &dir.path().join("log"));
    let period = expected["period"].as_str().unwrap();
    for (site, want) in expected["sites"].as_object().unwrap() {
        let token = token_of(want["organisation"].as_str().unwrap());
        let body: serde_json::Value = reqwest::blocking::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/api/v1/stats/aggregate?site_id={site}&period={period}&metrics=visitors,visits,pageviews,events"
            ))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        for metric in ["visitors", "visits", "pageviews", "events"] {
            assert_eq!(
                body["results"][metric]["value"], want[metric],
                "{site} {metric}: {body}"
            );
        }
    }
    drop(_server);
    let verified = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn a_directory_of_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, port) = copy_of("0.1.0", dir.path());
    std::fs::write(data.join("layout-version"), "99\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(data.join("glasshouse.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("layout version 99") && err.contains("newer"),
        "{err}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing serves"
    );
}
