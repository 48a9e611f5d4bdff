//! `glasshouse migrate --from duckdb --to clickhouse://…`: after it, the
//! ClickHouse store answers every site's questions exactly as DuckDB did;
//! running it again (or after losing its progress file) copies nothing twice.

use chrono::{Duration, Utc};
use glasshouse_model::query::{Dimension, Metric, Query};
use glasshouse_store::{ClickHouseConfig, ClickHouseStore, DuckStore, Store};
use std::process::{Command, Stdio};

fn glasshouse(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Figures as text; averages to 6 decimals (the two engines sum floats in
/// different orders).
fn shown(t: &glasshouse_store::Totals) -> String {
    format!(
        "{} {} {} {} {:.6} {:.6}",
        t.visitors, t.visits, t.pageviews, t.events, t.bounce_rate, t.visit_duration
    )
}

fn answers(store: &dyn Store) -> Vec<String> {
    let now = Utc::now();
    let mut out = Vec::new();
    for site in ["www.gov.uk", "www.mygov.scot", "gov.wales"] {
        let q = Query {
            conditions: Vec::new(),
            order: Vec::new(),
            site: site.into(),
            from: now - Duration::days(10),
            until: now + Duration::days(1),
            tz: glasshouse_model::query::Tz::UTC,
            metrics: Metric::COUNTS.to_vec(),
            filters: vec![],
        };
        out.push(shown(&store.aggregate(&q).unwrap()));
        for dim in [Dimension::Page, Dimension::Source] {
            for (value, t) in store.breakdown(&q, &dim, 20, 0).unwrap() {
                out.push(format!("{value} {}", shown(&t)));
            }
        }
    }
    out
}

#[test]
fn migrate_copies_everything_once_and_resumes() {
    let Some(server) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let port = server.http_port;
    glasshouse_testkit::clickhouse::execute(port, "DROP DATABASE IF EXISTS migrated");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A demo installation: it loads, serves, and is stopped.
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args([
            "demo",
            "--days",
            "5",
            "--events",
            "8000",
            "--listen",
            &listen.to_string(),
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::net::TcpStream::connect(listen).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Command::new("kill")
        .arg("-TERM")
        .arg(demo.id().to_string())
        .status()
        .unwrap();
    demo.wait().unwrap();

    let config = data.join("glasshouse.toml");
    let to = format!("clickhouse://127.0.0.1:{port}/migrated");
    let (ok, text) = glasshouse(&["migrate", "--config", config.to_str().unwrap(), "--to", &to]);
    assert!(ok, "{text}");
    assert!(text.contains("copied "), "{text}");

    let duck = DuckStore::open(&data).unwrap();
    let expected = answers(&duck);
    let total = duck.count().unwrap();
    drop(duck);
    let ch = ClickHouseStore::open(ClickHouseConfig::from_url(&to).unwrap()).unwrap();
    assert_eq!(ch.count().unwrap(), total);
    assert_eq!(answers(&ch), expected, "ClickHouse answers as DuckDB did");

    // Again: nothing left. Without the progress file: copied again, stored once.
    let (ok, text) = glasshouse(&["migrate", "--config", config.to_str().unwrap(), "--to", &to]);
    assert!(ok, "{text}");
    for f in std::fs::read_dir(&data).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("migrate-")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let (ok, text) = glasshouse(&["migrate", "--config", config.to_str().unwrap(), "--to", &to]);
    assert!(ok, "{text}");
    assert_eq!(
        ch.count().unwrap(),
        total,
        "a batch sent twice is stored once"
    );
    assert_eq!(answers(&ch), expected);

    // Bad targets are named.
    let (ok, text) = glasshouse(&[
        "migrate",
        "--config",
        config.to_str().unwrap(),
        "--to",
        "postgres://x",
    ]);
    assert!(!ok && text.contains("--to"), "{text}");
    drop(server);
}
