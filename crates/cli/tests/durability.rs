//! "202 means durable", tested on the real binary and real servers: events
//! are sent concurrently, each with its own path so each acknowledged event
//! can be found, then the glasshouse process is killed with SIGKILL (or the
//! ClickHouse server is killed and started again) in the middle of the run.
//! Afterwards every event that was answered 202 must be in the store
//! exactly once, and no event may be there twice. Events whose request was
//! cut off by the kill were never acknowledged: they may or may not be
//! there, but never twice either.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "durability-operator-token";
const SITE: &str = "test.example";
const THREADS: usize = 4;
const PER_THREAD: usize = 2500;

struct Glasshouse {
    child: Running,
    url: String,
}

impl Glasshouse {
    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Writes the configuration (a ClickHouse URL, or DuckDB when `None`).
fn write_config(dir: &Path, clickhouse: Option<&str>) -> PathBuf {
    let port = free_port();
    let data = dir.join("data");
    let store = match clickhouse {
        Some(url) => format!("[store]\nbackend = \"clickhouse\"\nurl = \"{url}\"\n"),
        None => String::new(),
    };
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
data_dir = {data:?}
trusted_proxies = ["127.0.0.1/32"]
{store}
[[organisations]]
id = "test-org"
name = "Test"
[[sites]]
host = "{SITE}"
organisation = "test-org"
[[api_tokens]]
name = "operator"
organisation = "test-org"
sha256 = "{}"
all_sites = true
"#,
        hex::encode(Sha256::digest(TOKEN))
    );
    let path = dir.join("glasshouse.toml");
    std::fs::write(&path, config).unwrap();
    path
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path, config: &Path) -> Glasshouse {
    let text = std::fs::read_to_string(config).unwrap();
    let listen = text
        .lines()
        .find_map(|l| l.strip_prefix("listen = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let server = Glasshouse {
        child: Running::new(child),
        url: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("{}/health", server.url))
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "glasshouse did not become healthy: {}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

/// A path made of letters only, so no scrubbing rule can touch it.
fn path_of(thread: usize, i: usize) -> String {
    let mut tag = String::new();
    let mut n = i;
    for _ in 0..4 {
        tag.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    format!("/load/t{}/{tag}", (b'a' + thread as u8) as char)
}

fn user_agent(thread: usize) -> String {
    format!(
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 Zqxdurable{thread}"
    )
}

fn ip_of(thread: usize) -> String {
    format!("198.51.100.{}", 41 + thread * 17)
}

/// Posts a page view of `path` as client `thread` (its address and browser).
fn post_page_view(
    client: &reqwest::blocking::Client,
    url: &str,
    thread: usize,
    path: &str,
) -> reqwest::Result<reqwest::blocking::Response> {
    let body = serde_json::json!({"name": "pageview", "url": format!("https://{SITE}{path}"), "domain": SITE});
    client
        .post(format!("{url}/api/event"))
        .header("user-agent", user_agent(thread))
        .header("x-forwarded-for", ip_of(thread))
        .body(body.to_string())
        .send()
}

/// Sends one page view from the load's first client; the answer's status.
fn send_one(url: &str, path: &str) -> u16 {
    post_page_view(&reqwest::blocking::Client::new(), url, 0, path)
        .unwrap()
        .status()
        .as_u16()
}

/// What a load run saw.
#[derive(Default)]
struct Outcome {
    /// Paths answered 202.
    acked: BTreeSet<String>,
    /// Paths sent whose answer never came (the process died) or was not 202.
    unanswered: BTreeSet<String>,
    /// Answers other than 202, by status.
    refused: BTreeMap<u16, usize>,
}

/// Sends `PER_THREAD` events from each of `THREADS` threads until done or
/// until a request fails to connect (the process was killed).
struct Load {
    acked: Arc<AtomicUsize>,
    outcome: Arc<Mutex<Outcome>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str) -> Load {
        let acked = Arc::new(AtomicUsize::new(0));
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let dead = Arc::new(AtomicBool::new(false));
        let threads = (0..THREADS)
            .map(|t| {
                let (url, acked, outcome, dead) = (
                    url.to_string(),
                    acked.clone(),
                    outcome.clone(),
                    dead.clone(),
                );
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(20))
                        .build()
                        .unwrap();
                    for i in 0..PER_THREAD {
                        if dead.load(Ordering::Relaxed) {
                            return;
                        }
                        let path = path_of(t, i);
                        let answer = post_page_view(&client, &url, t, &path);
                        let mut o = outcome.lock().unwrap();
                        match answer {
                            Ok(r) if r.status().as_u16() == 202 => {
                                o.acked.insert(path);
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => {
                                *o.refused.entry(r.status().as_u16()).or_default() += 1;
                                o.unanswered.insert(path);
                            }
                            Err(_) => {
                                o.unanswered.insert(path);
                                dead.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            outcome,
            threads,
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    fn wait_for(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.acked() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} events acknowledged in {within:?}",
                self.acked()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(self) -> Outcome {
        for t in self.threads {
            t.join().unwrap();
        }
        Arc::try_unwrap(self.outcome)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Page views per path, all pages, through the Stats API.
fn stored_paths(url: &str) -> BTreeMap<String, u64> {
    let client = reqwest::blocking::Client::new();
    let mut out = BTreeMap::new();
    for page in 1.. {
        let body: serde_json::Value = client
            .get(format!(
                "{url}/api/v1/stats/breakdown?site_id={SITE}&period=7d&metrics=pageviews&property=event:page&limit=1000&page={page}"
            ))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let rows = body["results"].as_array().expect("results").clone();
        for row in &rows {
            let path = row["page"].as_str().expect("a page").to_string();
            let n = row["pageviews"].as_u64().expect("pageviews");
            assert!(out.insert(path, n).is_none(), "a page listed twice");
        }
        if rows.len() < 1000 {
            break;
        }
    }
    out
}

/// A gauge from `/metrics`.
fn gauge(url: &str, name: &str) -> Option<i64> {
    let text = reqwest::blocking::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("glasshouse_{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// Waits until the write-ahead log has shipped everything.
fn wait_until_drained(url: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if gauge(url, "wal_batches") == Some(0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the write-ahead log did not drain within {within:?} (wal_batches = {:?})",
            gauge(url, "wal_batches")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every acknowledged path exactly once; nothing twice; nothing unsent.
fn check_exactly_once(what: &str, outcome: &Outcome, stored: &BTreeMap<String, u64>) {
    let missing: Vec<&String> = outcome
        .acked
        .iter()
        .filter(|p| !stored.contains_key(*p))
        .collect();
    let doubled: Vec<(&String, &u64)> = stored.iter().filter(|(_, n)| **n != 1).collect();
    let unsent: Vec<&String> = stored
        .keys()
        .filter(|p| !outcome.acked.contains(*p) && !outcome.unanswered.contains(*p))
        .collect();
    let unanswered_found = outcome
        .unanswered
        .iter()
        .filter(|p| stored.contains_key(*p))
        .count();
    eprintln!(
        "{what}: sent {}, acknowledged {}, unanswered {} (of which stored {unanswered_found}), refused {:?}, found {} distinct paths, {} page views",
        outcome.acked.len() + outcome.unanswered.len(),
        outcome.acked.len(),
        outcome.unanswered.len(),
        outcome.refused,
        stored.len(),
        stored.values().sum::<u64>()
    );
    assert!(
        missing.is_empty(),
        "{what}: {} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        doubled.is_empty(),
        "{what}: {} events stored more than once, e.g. {:?}",
        doubled.len(),
        &doubled[..doubled.len().min(5)]
    );
    assert!(unsent.is_empty(), "{what}: paths never sent: {unsent:?}");
}

/// Sends, kills glasshouse with SIGKILL once a third is acknowledged,
/// restarts it on the same data, and counts.
fn kill_during_load(what: &str, dir: &Path, config: &Path) {
    let mut server = start(dir, config);
    let load = Load::start(&server.url);
    load.wait_for(THREADS * PER_THREAD / 3, Duration::from_secs(120));
    server.kill9();
    let outcome = load.finish();
    assert!(
        !outcome.unanswered.is_empty() && outcome.acked.len() < THREADS * PER_THREAD,
        "the kill came in the middle of the run"
    );
    let server = start(dir, config);
    // With ClickHouse, what was logged but not shipped goes out now (the
    // gauge is 0 on DuckDB, which has no log).
    wait_until_drained(&server.url, Duration::from_secs(120));
    check_exactly_once(what, &outcome, &stored_paths(&server.url));
}

#[test]
fn kill_9_during_a_load_run_loses_no_acknowledged_event_on_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), None);
    kill_during_load("DuckDB, kill -9", dir.path(), &config);
}

#[test]
fn kill_9_during_a_load_run_loses_no_acknowledged_event_on_clickhouse() {
    let Some(clickhouse) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("clickhouse://127.0.0.1:{}/killed", clickhouse.http_port);
    let config = write_config(dir.path(), Some(&url));
    kill_during_load("ClickHouse, kill -9 glasshouse", dir.path(), &config);
}

#[test]
fn kill_9_while_clickhouse_is_down_replays_the_log_once_both_are_back() {
    // Also: glasshouse starts while ClickHouse is down, and collects.
    let Some(mut clickhouse) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("clickhouse://127.0.0.1:{}/both", clickhouse.http_port);
    let config = write_config(dir.path(), Some(&url));
    let mut server = start(dir.path(), &config);
    let load = Load::start(&server.url);
    let total = THREADS * PER_THREAD;
    load.wait_for(total / 5, Duration::from_secs(120));
    clickhouse.stop();
    let before_outage = load.acked();
    load.wait_for(before_outage + total / 5, Duration::from_secs(120));
    let logged = gauge(&server.url, "wal_batches").unwrap();
    server.kill9();
    let mut outcome = load.finish();
    // glasshouse starts again while ClickHouse is still down, and collects.
    let server = start(dir.path(), &config);
    let after: Vec<String> = (0..200).map(|i| path_of(THREADS + 1, i)).collect();
    for path in &after {
        assert_eq!(
            send_one(&server.url, path),
            202,
            "collected while ClickHouse is down"
        );
        outcome.acked.insert(path.clone());
    }
    let stats = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/stats/aggregate?site_id={SITE}&period=7d",
            server.url
        ))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(stats.status().as_u16(), 503, "questions wait for the store");
    let reason: serde_json::Value = stats.json().unwrap();
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{reason}"
    );
    clickhouse.restart();
    let replayed = std::fs::read_to_string(dir.path().join("server.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("replaying them"))
        .map(String::from)
        .collect::<Vec<_>>();
    assert_eq!(replayed.len(), 1, "the restart replayed the log");
    eprintln!(
        "{} events acknowledged into the log while ClickHouse was down ({logged} batches before the kill); at restart: {}",
        outcome.acked.len() - before_outage,
        replayed[0]
    );
    wait_until_drained(&server.url, Duration::from_secs(120));
    check_exactly_once(
        "ClickHouse down, then kill -9 glasshouse",
        &outcome,
        &stored_paths(&server.url),
    );
}

#[test]
fn an_outage_of_clickhouse_during_a_load_run_loses_no_acknowledged_event() {
    let Some(mut clickhouse) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("clickhouse://127.0.0.1:{}/outage", clickhouse.http_port);
    let config = write_config(dir.path(), Some(&url));
    let server = start(dir.path(), &config);
    let load = Load::start(&server.url);
    let total = THREADS * PER_THREAD;
    load.wait_for(total / 5, Duration::from_secs(120));
    clickhouse.stop();
    let before_outage = load.acked();
    // Acknowledgements go on while ClickHouse is down: into the log.
    load.wait_for(before_outage + total / 3, Duration::from_secs(120));
    let during_outage = load.acked() - before_outage;
    let logged = gauge(&server.url, "wal_batches").unwrap();
    let logged_bytes = gauge(&server.url, "wal_bytes").unwrap();
    assert!(logged > 0 && logged_bytes > 0, "the log holds the outage");
    // What the log holds are stored rows: no address, no User-Agent.
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for t in 0..THREADS {
        let ip: std::net::Ipv4Addr = ip_of(t).parse().unwrap();
        needles.push(ip.to_string().into_bytes());
        needles.push(ip.octets().to_vec());
        needles.push(user_agent(t).into_bytes());
        needles.push(format!("Zqxdurable{t}").into_bytes());
    }
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir.path().join("data/wal")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        for n in &needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_slice()),
                "the write-ahead log holds an address or a User-Agent"
            );
        }
    }
    assert!(scanned > 0, "the log was scanned");
    clickhouse.restart();
    let outcome = load.finish();
    wait_until_drained(&server.url, Duration::from_secs(120));
    // The operator sees the outage as failed inserts, then inserts again.
    let failures = gauge(&server.url, "store_insert_failures_total").unwrap();
    assert!(failures > 0, "failed inserts counted: {failures}");
    assert!(gauge(&server.url, "store_inserts_total").unwrap() > 0);
    eprintln!(
        "outage: {during_outage} events acknowledged while ClickHouse was down; the log then held {logged} batches, {logged_bytes} bytes ({scanned} bytes on disk, scanned)"
    );
    assert!(
        outcome.refused.is_empty() && outcome.unanswered.is_empty(),
        "every request was answered 202 through the outage: {:?}",
        outcome.refused
    );
    check_exactly_once(
        "ClickHouse stopped and restarted",
        &outcome,
        &stored_paths(&server.url),
    );
}

#[test]
fn the_configured_log_limit_refuses_with_503_and_loses_nothing_acknowledged() {
    let Some(mut clickhouse) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("clickhouse://127.0.0.1:{}/limit", clickhouse.http_port);
    let config = write_config(dir.path(), Some(&url));
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "backend = \"clickhouse\"",
        "backend = \"clickhouse\"\nwal_limit_mb = 1",
    );
    std::fs::write(&config, text).unwrap();
    clickhouse.stop();
    let server = start(dir.path(), &config);
    let mut outcome = Outcome::default();
    let mut refused_at = None;
    for i in 0..40_000 {
        let path = path_of(THREADS + 2, i);
        match send_one(&server.url, &path) {
            202 => {
                outcome.acked.insert(path);
            }
            503 => {
                refused_at = Some(i);
                break;
            }
            other => panic!("unexpected answer {other}"),
        }
    }
    let refused_at = refused_at.expect("the 1 MiB log filled and the collector refused");
    let bytes = gauge(&server.url, "wal_bytes").unwrap();
    eprintln!("the 1 MiB log refused event {refused_at}, holding {bytes} bytes");
    assert!(bytes > (1 << 20) * 9 / 10 && bytes < 2 << 20, "{bytes}");
    clickhouse.restart();
    wait_until_drained(&server.url, Duration::from_secs(120));
    // Room again: collected as before.
    let next = path_of(THREADS + 3, 0);
    assert_eq!(send_one(&server.url, &next), 202);
    outcome.acked.insert(next);
    wait_until_drained(&server.url, Duration::from_secs(60));
    check_exactly_once("log limit", &outcome, &stored_paths(&server.url));
}
