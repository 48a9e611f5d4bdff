//! The README's first command: `glasshouse demo` loads realistic traffic for
//! three sites, prints its logins, serves the Stats API, and on a second run
//! with the same directory serves the same data without loading again.

use glasshouse_testkit::process::{free_port, Running};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Demo {
    /// Stopped when the demo is dropped.
    _child: Running,
    lines: Vec<String>,
}

impl Demo {
    fn value(&self, prefix: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {:?}", self.lines))
            .trim()
            .to_string()
    }
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn start(data: &std::path::Path, port: u16) -> Demo {
    start_with(data, port, &[])
}

#[allow(clippy::zombie_processes)]
fn start_with(data: &std::path::Path, port: u16, extra: &[&str]) -> Demo {
    let (days, events) = if extra.contains(&"--federated") {
        ("8", "120000")
    } else {
        ("7", "20000")
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["demo", "--days", days, "--events", events, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Owned by the guard at once, so a failed start still stops the process.
    let mut demo = Demo {
        _child: Running::new(child),
        lines: Vec::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            demo.lines.push(line);
            if demo.lines.iter().any(|l| l.starts_with("tracker: ")) {
                return demo;
            }
        }
    }
    panic!(
        "the demo did not print its logins in time: {:?}",
        demo.lines
    );
}

fn stat(base: &str, token: &str, q: &str) -> (u16, serde_json::Value) {
    let r = reqwest::blocking::Client::new()
        .get(format!("{base}{q}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

/// The demo's sites and the organisations that run them.
const SITES: [(&str, &str); 3] = [
    ("www.gov.uk", "cabinet-office"),
    ("www.mygov.scot", "scottish-government"),
    ("gov.wales", "welsh-government"),
];

#[test]
fn demo_prints_logins_serves_three_sites_and_restarts_without_reloading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let totals;
    {
        let demo = start(&data, port);
        assert_eq!(demo.value("dashboard: "), format!("{base}/"));
        // A second process on the same data directory refuses to start.
        let listen = format!("127.0.0.1:{}", free_port());
        let config = data.join("glasshouse.toml");
        let second_demo = [
            "demo",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &listen,
        ];
        let second_serve = ["serve", "--config", config.to_str().unwrap()];
        // Nor do the commands that write a data directory or copy it whole.
        let import = [
            "import",
            "--config",
            config.to_str().unwrap(),
            "no-such-file.ndjson",
        ];
        let migrate = [
            "migrate",
            "--config",
            config.to_str().unwrap(),
            "--to",
            "clickhouse://127.0.0.1:9/glasshouse",
        ];
        for args in [
            &second_demo[..],
            &second_serve[..],
            &import[..],
            &migrate[..],
        ] {
            let second = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
                .args(args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&second.stderr);
            assert!(!second.status.success(), "{args:?}: {err}");
            let canonical = data.canonicalize().unwrap();
            assert!(
                err.contains("in use") && err.contains(&canonical.display().to_string()),
                "{args:?}: {err}"
            );
        }
        let login = demo.value("login: ");
        assert_eq!(login.split(' ').count(), 2, "login: USER PASSWORD");
        let token = demo.value("api token: ");
        let mut all = Vec::new();
        for (site, org) in SITES {
            // Each organisation reads its own site with its own token.
            let own = demo.value(&format!("token {org}: "));
            let (status, body) = stat(&base, &own, &format!("/api/v1/stats/aggregate?site_id={site}&period=7d&metrics=visitors,visits,pageviews,bounce_rate,visit_duration"));
            assert_eq!(status, 200, "{body}");
            let visitors = body["results"]["visitors"]["value"].as_u64().unwrap();
            assert!(visitors > 50, "{site} has traffic: {body}");
            assert!(body["results"]["visits"]["value"].as_u64().unwrap() >= visitors);
            all.push(body);
        }
        // Realistic: several sources, pages and devices, and a weekly rhythm.
        let (_, sources) = stat(
            &base,
            &token,
            "/api/v1/stats/breakdown?site_id=www.gov.uk&period=7d&property=visit:source",
        );
        let names: Vec<&str> = sources["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["source"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"Google") && names.contains(&"Direct / None"),
            "{names:?}"
        );
        let (_, devices) = stat(
            &base,
            &token,
            "/api/v1/stats/breakdown?site_id=www.gov.uk&period=7d&property=visit:device",
        );
        assert!(
            devices["results"].as_array().unwrap().len() >= 3,
            "{devices}"
        );
        // Searches that carried a postcode were scrubbed before storage.
        let (_, pages) = stat(
            &base,
            &token,
            "/api/v1/stats/breakdown?site_id=www.gov.uk&period=7d&property=event:page&limit=1000",
        );
        assert!(pages["results"].as_array().unwrap().len() > 10);
        // Organisation tokens see only their own site.
        let scot = demo.value("token scottish-government: ");
        assert_eq!(
            stat(
                &base,
                &scot,
                "/api/v1/stats/aggregate?site_id=www.mygov.scot&period=7d"
            )
            .0,
            200
        );
        assert_eq!(
            stat(
                &base,
                &scot,
                "/api/v1/stats/aggregate?site_id=www.gov.uk&period=7d"
            )
            .0,
            403
        );
        // The operator's token reads as the Cabinet Office: another
        // organisation's site only under an agreement.
        let (status, e) = stat(
            &base,
            &token,
            "/api/v1/stats/aggregate?site_id=www.mygov.scot&period=7d",
        );
        assert_eq!(status, 403, "{e}");
        assert!(data.join("glasshouse.toml").is_file());
        totals = all;
    }
    // Second run: same directory, nothing loaded again, the same numbers.
    let demo = start(&data, port);
    for (i, (site, org)) in SITES.iter().enumerate() {
        let own = demo.value(&format!("token {org}: "));
        let (_, body) = stat(&base, &own, &format!("/api/v1/stats/aggregate?site_id={site}&period=7d&metrics=visitors,visits,pageviews,bounce_rate,visit_duration"));
        assert_eq!(body, totals[i], "{site} unchanged after restart");
    }
}

/// `glasshouse demo --store clickhouse://HOST:PORT/DATABASE`: the same demo
/// and contract on a real ClickHouse server, which then holds the events.
#[test]
fn the_demo_runs_on_clickhouse() {
    let Some(server) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let port = server.http_port;
    glasshouse_testkit::clickhouse::execute(port, "DROP DATABASE IF EXISTS glasshouse_demo");
    let dir = tempfile::tempdir().unwrap();
    let web = free_port();
    let url = format!("clickhouse://127.0.0.1:{port}/glasshouse_demo");
    let demo = start_with(&dir.path().join("data"), web, &["--store", &url]);
    let token = demo.value("api token:");
    assert!(demo
        .lines
        .iter()
        .any(|l| l.starts_with("token welsh-government: ")));
    let client = reqwest::blocking::Client::new();
    let body: serde_json::Value = client
        .get(format!("http://127.0.0.1:{web}/api/v1/stats/aggregate?site_id=www.gov.uk&period=7d&metrics=visitors,pageviews"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let pageviews = body["results"]["pageviews"]["value"].as_u64().unwrap();
    assert!(pageviews > 1000, "{body}");
    // The events are in ClickHouse, not in a DuckDB file.
    let stored: u64 = glasshouse_testkit::clickhouse::execute(port, "SELECT count() FROM glasshouse_demo.events WHERE site = 'www.gov.uk' AND name = 'pageview'")
        .trim()
        .parse()
        .unwrap();
    assert!(stored >= pageviews, "{stored} < {pageviews}");
    assert!(!dir.path().join("data/glasshouse.duckdb").exists());
    let config = std::fs::read_to_string(dir.path().join("data/glasshouse.toml")).unwrap();
    assert!(config.contains("backend = \"clickhouse\""), "{config}");
    let register: serde_json::Value = client
        .get(format!("http://127.0.0.1:{web}/transparency.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        register.to_string().contains("ClickHouse"),
        "the register names the store"
    );
    drop(demo);
    drop(server);
}

/// Three free ports in a row, for the federated demo's nodes.
fn free_ports() -> u16 {
    loop {
        let p = free_port();
        if p < 65000 && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
}

fn days_of(base: &str, token: &str, site: &str, agreement: &str) -> Vec<serde_json::Value> {
    let (status, body) = stat(
        base,
        token,
        &format!("/api/v1/federation/figures?site_id={site}&agreement={agreement}&period=7d"),
    );
    assert_eq!(status, 200, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["days"].as_array().unwrap().iter().map(|d| {
                let mut d = d.clone();
                d["figure"] = f["id"].clone();
                d
            })
        })
        .collect()
}

#[test]
fn the_federated_demo_runs_one_node_per_organisation_and_computes_figures_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_with(dir.path(), free_ports(), &["--federated"]);
    assert!(demo.value("dashboard:").starts_with("http://"));
    assert!(!demo.value("login:").is_empty());
    let node = |org: &str| {
        (
            demo.value(&format!("node {org}:")),
            demo.value(&format!("token {org}:")),
        )
    };
    // Each node counts its own organisation's site only.
    for (i, (_, org)) in SITES.iter().enumerate() {
        let (url, _) = node(org);
        let other = SITES[(i + 1) % 3].0;
        let r = reqwest::blocking::Client::new()
            .post(format!("{url}/api/event"))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            )
            .body(format!(
                r#"{{"n":"pageview","u":"https://{other}/","d":"{other}"}}"#
            ))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{org} refuses {other}'s events");
    }
    let (uk, uk_token) = node("cabinet-office");
    let (scot, scot_token) = node("scottish-government");
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let computed = |days: &[serde_json::Value]| {
        days.iter()
            .filter(|d| d["date"] == yesterday.as_str())
            .all(|d| d["status"] == "released" || d["status"] == "withheld")
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let a = days_of(&uk, &uk_token, "www.gov.uk", "gov-uk-mygov-scot-federated");
        let b = days_of(&uk, &uk_token, "www.gov.uk", "gov-uk-gov-wales-federated");
        if computed(&a) && computed(&b) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "yesterday's figures: {a:?} {b:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The week's figures: some shown, the Scottish node showing the same.
    let ours = days_of(&uk, &uk_token, "www.gov.uk", "gov-uk-mygov-scot-federated");
    let theirs = days_of(
        &scot,
        &scot_token,
        "www.mygov.scot",
        "gov-uk-mygov-scot-federated",
    );
    assert!(
        ours.iter()
            .any(|d| d["status"] == "released" && d["visitors"].as_u64() > Some(0)),
        "{ours:?}"
    );
    for d in ours.iter().filter(|d| d["status"] == "released") {
        let same = theirs
            .iter()
            .find(|t| t["date"] == d["date"] && t["figure"] == d["figure"]);
        assert!(
            same.is_some_and(|t| t["visitors"] == d["visitors"]),
            "{d} {theirs:?}"
        );
    }
}
