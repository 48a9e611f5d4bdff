//! `glasshouse backup` while the server takes events, and `glasshouse
//! restore`: every event acknowledged before the backup began is in the
//! copy, the salts are not, the restored server answers as the original,
//! its audit log verifies and records the restore, and restore refuses a
//! directory in use or not empty and a copy whose audit log was changed.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "backup-test-token";
const SITE: &str = "test.example";

fn config(dir: &Path, data: &Path) -> (PathBuf, String) {
    let port = free_port();
    let path = dir.join(format!("glasshouse-{port}.toml"));
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
             [[organisations]]\nid = \"o\"\nname = \"O\"\n[[sites]]\nhost = \"{SITE}\"\norganisation = \"o\"\n\
             [[api_tokens]]\nname = \"t\"\norganisation = \"o\"\nsha256 = \"{}\"\n",
            hex::encode(Sha256::digest(TOKEN))
        ),
    )
    .unwrap();
    (path, format!("http://127.0.0.1:{port}"))
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn serve(config: &Path, url: &str, log: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    let server = Running::new(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{url}/ready")).is_ok_and(|r| r.status().is_success()) {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn glasshouse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(args)
        .output()
        .unwrap()
}

fn send(client: &reqwest::blocking::Client, url: &str, n: usize) -> bool {
    let body = format!(r#"{{"n":"pageview","u":"https://{SITE}/e{n}","d":"{SITE}"}}"#);
    client
        .post(format!("{url}/api/event"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        )
        .header("x-forwarded-for", "198.51.100.23")
        .body(body)
        .send()
        .is_ok_and(|r| r.status().as_u16() == 202)
}

/// Page views per path, and the aggregate, as the server answers them.
fn answers(url: &str) -> (BTreeMap<String, u64>, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let get = |q: &str| -> serde_json::Value {
        client
            .get(format!("{url}{q}"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let mut pages = BTreeMap::new();
    for page in 1.. {
        let body = get(&format!("/api/v1/stats/breakdown?site_id={SITE}&period=7d&metrics=pageviews&property=event:page&limit=1000&page={page}"));
        let rows = body["results"].as_array().unwrap().clone();
        for r in &rows {
            pages.insert(
                r["page"].as_str().unwrap().to_string(),
                r["pageviews"].as_u64().unwrap(),
            );
        }
        if rows.len() < 1000 {
            break;
        }
    }
    let total = get(&format!(
        "/api/v1/stats/aggregate?site_id={SITE}&period=7d&metrics=visitors,visits,pageviews,events"
    ));
    (pages, total["results"].clone())
}

#[test]
fn a_backup_under_load_restores_to_a_server_that_answers_as_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let (cfg, url) = config(d, &data);
    let original = serve(&cfg, &url, &d.join("original.log"));
    let client = reqwest::blocking::Client::new();
    for n in 0..300 {
        assert!(send(&client, &url, n));
    }
    // Load while the backup is made; note when each event was acknowledged.
    let acked: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop, url) = (acked.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) && n < 3000 {
                if send(&client, &url, n) {
                    acked.lock().unwrap().push((n, Instant::now()));
                }
                n += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let began = Instant::now();
    let out = glasshouse(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        d.join("copy").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let before: Vec<String> = (0..300)
        .map(|n| format!("/e{n}"))
        .chain(
            acked
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, at)| *at < began)
                .map(|(n, _)| format!("/e{n}")),
        )
        .collect();
    assert!(before.len() > 300, "the load ran before the backup");
    assert!(
        !d.join("copy/salts.json").exists(),
        "the salts are never copied"
    );
    assert!(data.join("salts.json").exists());

    // A restore never touches a directory in use, nor one that is not empty.
    let refused = glasshouse(&[
        "restore",
        "--from",
        d.join("copy").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));

    let restored = d.join("restored");
    let out = glasshouse(&[
        "restore",
        "--from",
        d.join("copy").to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (rcfg, rurl) = config(d, &restored);
    {
        let _restored = serve(&rcfg, &rurl, &d.join("restored.log"));
        let (pages, _) = answers(&rurl);
        for p in &before {
            assert_eq!(
                pages.get(p),
                Some(&1),
                "{p}, acknowledged before the backup, is in it"
            );
        }
    }
    let verify = glasshouse(&["audit", "verify", "--data", restored.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let log = std::fs::read_to_string(restored.join("audit/entries.jsonl")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("restore: restored from a backup")),
        "{log}"
    );

    // Without load: the restored server answers exactly as the original
    // (whose audit log now holds these questions).
    let before_quiet = answers(&url);
    let out = glasshouse(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        d.join("quiet").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = answers(&url);
    assert_eq!(want, before_quiet);
    drop(original);
    let again = d.join("again");
    let out = glasshouse(&[
        "restore",
        "--from",
        d.join("quiet").to_str().unwrap(),
        "--data",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (acfg, aurl) = config(d, &again);
    let _again = serve(&acfg, &aurl, &d.join("again.log"));
    assert_eq!(answers(&aurl), want);

    // A copy whose audit log was edited is not restored.
    let entries = d.join("quiet/audit/entries.jsonl");
    let text = std::fs::read_to_string(&entries).unwrap();
    assert!(text.contains("\"allowed\""), "{text}");
    std::fs::write(&entries, text.replacen("\"allowed\"", "\"refused\"", 1)).unwrap();
    let out = glasshouse(&[
        "restore",
        "--from",
        d.join("quiet").to_str().unwrap(),
        "--data",
        d.join("bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
}
