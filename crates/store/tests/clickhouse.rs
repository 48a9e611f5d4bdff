//! The conformance suites on a real ClickHouse server, started here on
//! 127.0.0.1 with free ports and a temporary data directory, and stopped
//! when the test ends.
//!
//! The server is Debian's `clickhouse-server` (18.16) where `.ci/run`
//! installs it; a newer `clickhouse` binary works too. If none can be
//! started the tests fail, saying why — unless `GLASSHOUSE_SKIP_CLICKHOUSE=1`
//! is set, for machines that deliberately run DuckDB only.
//!
//! `GLASSHOUSE_CLICKHOUSE_PORT=8123` runs them against a server already
//! listening on that HTTP port of 127.0.0.1 instead (another version, or to
//! look at the tables afterwards); each test drops and recreates its
//! database there.

mod suite;

const HOST: &str = "test.example";

use chrono::Utc;
use glasshouse_model::query::{Dimension, Filter, FilterOp};
use glasshouse_store::{ClickHouseConfig, ClickHouseStore, Store};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server the tests use: one of our own (killed and its files removed
/// on drop) or one already running.
struct Server {
    child: Option<Child>,
    http_port: u16,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The server program and the arguments before `--config-file`.
fn server_program() -> Option<(PathBuf, Vec<&'static str>)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .collect();
    for dir in &dirs {
        let p = dir.join("clickhouse-server");
        if p.is_file() {
            return Some((p, vec![]));
        }
    }
    for dir in &dirs {
        let p = dir.join("clickhouse");
        if p.is_file() {
            return Some((p, vec!["server"]));
        }
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn write_config(dir: &Path, http_port: u16, tcp_port: u16) -> PathBuf {
    let d = dir.display();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/log/server.log</log><errorlog>{d}/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>
"#
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#;
    std::fs::create_dir_all(dir.join("log")).unwrap();
    std::fs::write(dir.join("users.xml"), users).unwrap();
    let path = dir.join("config.xml");
    std::fs::write(&path, config).unwrap();
    path
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.contains(" 200 ") && answer.ends_with("Ok.\n")
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Starts a server, or returns None when the environment asks to skip.
fn start() -> Option<Server> {
    if std::env::var("GLASSHOUSE_SKIP_CLICKHOUSE").as_deref() == Ok("1") {
        eprintln!("GLASSHOUSE_SKIP_CLICKHOUSE=1: the ClickHouse suites are not run");
        return None;
    }
    if let Ok(port) = std::env::var("GLASSHOUSE_CLICKHOUSE_PORT") {
        let http_port = port
            .parse()
            .expect("GLASSHOUSE_CLICKHOUSE_PORT is a port number");
        assert!(
            ping(http_port),
            "no ClickHouse answers /ping on 127.0.0.1:{http_port}"
        );
        return Some(Server {
            child: None,
            http_port,
            _dir: None,
        });
    }
    let Some((program, args)) = server_program() else {
        panic!(
            "no ClickHouse server found (clickhouse-server or clickhouse on PATH or in /usr/sbin): \
             install it (`apt-get install clickhouse-server`, as .ci/run does) \
             or set GLASSHOUSE_SKIP_CLICKHOUSE=1 to run the DuckDB suites only"
        );
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut last_error = String::new();
    // A port found free can be taken before the server binds it: try again.
    for _ in 0..3 {
        let (http_port, tcp_port) = (free_port(), free_port());
        let config = write_config(dir.path(), http_port, tcp_port);
        let stdout = std::fs::File::create(dir.path().join("log/stdout.log")).unwrap();
        let stderr = stdout.try_clone().unwrap();
        let mut child = Command::new(&program)
            .args(&args)
            .arg(format!("--config-file={}", config.display()))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", program.display()));
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = child.try_wait() {
                last_error = format!(
                    "{} exited with {status}:\n{}\n{}",
                    program.display(),
                    tail(&dir.path().join("log/stdout.log")),
                    tail(&dir.path().join("log/error.log"))
                );
                break;
            }
            if ping(http_port) {
                return Some(Server {
                    child: Some(child),
                    http_port,
                    _dir: Some(dir),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
            last_error = format!(
                "{} did not answer /ping within 60 s:\n{}",
                program.display(),
                tail(&dir.path().join("log/error.log"))
            );
        }
    }
    panic!("the ClickHouse server could not be started: {last_error}");
}

/// A store on a new, empty database.
fn fresh(server: &Server, database: &str) -> ClickHouseStore {
    drop_database(server.http_port, database);
    open(server, database)
}

fn open(server: &Server, database: &str) -> ClickHouseStore {
    let url = format!("clickhouse://127.0.0.1:{}/{database}", server.http_port);
    ClickHouseStore::open(ClickHouseConfig::from_url(&url).unwrap()).expect("store opens")
}

fn drop_database(port: u16, database: &str) {
    use std::io::{Read, Write};
    let statement = format!("DROP DATABASE IF EXISTS {database}");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{statement}",
        statement.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.contains(" 200 "), "{statement}: {answer}");
}

#[test]
fn clickhouse_passes_the_conformance_suite() {
    let Some(server) = start() else { return };
    let store = fresh(&server, "conformance");
    eprintln!("ClickHouse {}", store.server_version().unwrap());
    suite::aggregates::conformance(Arc::new(store));
}

#[test]
fn clickhouse_passes_the_rollup_suite() {
    let Some(server) = start() else { return };
    suite::rollup::rollup_conformance(Arc::new(fresh(&server, "rollup")));
}

#[test]
fn clickhouse_passes_the_journeys_suite() {
    let Some(server) = start() else { return };
    suite::journeys::journeys_conformance(Arc::new(fresh(&server, "journeys")));
}

#[test]
fn clickhouse_keeps_data_across_reopen_and_counts_a_retried_batch_once() {
    let Some(server) = start() else { return };
    let store: Arc<dyn Store> = Arc::new(fresh(&server, "retries"));
    let (_, sent) = suite::aggregates::load(store.clone());
    let n = sent.len() as u64;
    assert_eq!(store.count().unwrap(), n);

    // A second store on the same database (a restart) sees the same rows.
    let again = open(&server, "retries");
    assert_eq!(again.count().unwrap(), n);

    // The same batch sent twice — a retry after a lost answer — is stored once.
    let batch = suite::aggregates::stored_batch(20);
    again.append(&batch).unwrap();
    again.append(&batch).unwrap();
    store.append(&batch).unwrap();
    assert_eq!(again.count().unwrap(), n + 20);
    // A batch that is cut short is completed by its retry, not doubled.
    let longer = suite::aggregates::stored_batch(30);
    again.append(&longer[..10]).unwrap();
    again.append(&longer).unwrap();
    again.append(&longer).unwrap();
    assert_eq!(again.count().unwrap(), n + 20 + 10 + 30);
}

#[test]
fn clickhouse_binds_hostile_values_as_plain_text() {
    let Some(server) = start() else { return };
    let store = fresh(&server, "hostile");
    let hostile = [
        "'; DROP TABLE events; --",
        "\\",
        "\\'",
        "a\nb\tc\0d",
        "Ünïcödé ✓ 漢字",
        "$1",
        "/x' OR '1'='1",
    ];
    // Stored values come back as they went in, and match themselves only.
    let mut stored = 0;
    for (i, value) in hostile.iter().enumerate() {
        let batch =
            suite::aggregates::stored_batch_at(i + 1, &format!("https://{HOST}/p{i}"), value);
        store.append(&batch).unwrap();
        stored += i as u64 + 1;
    }
    let rows = store
        .breakdown(
            &suite::aggregates::batch_day_query(vec![]),
            &Dimension::EventProp("form".into()),
            100,
            0,
        )
        .unwrap();
    let by_value: BTreeMap<String, u64> = rows.into_iter().map(|(k, t)| (k, t.events)).collect();
    for (i, value) in hostile.iter().enumerate() {
        let scrubbed = by_value
            .iter()
            .find(|(_, n)| **n == i as u64 + 1)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| panic!("{value:?} stored: {by_value:?}"));
        let only = |op, v: &str| Filter {
            dimension: Dimension::EventProp("form".into()),
            op,
            values: vec![v.to_string()],
        };
        let q = suite::aggregates::batch_day_query(vec![only(FilterOp::Is, &scrubbed)]);
        assert_eq!(
            store.aggregate(&q).unwrap().events,
            i as u64 + 1,
            "{value:?}"
        );
    }
    // As query values they match nothing and break nothing.
    for value in hostile {
        let filters = [
            (Dimension::Page, FilterOp::Is, value.to_string()),
            (Dimension::Page, FilterOp::Is, format!("{value}*")),
            (Dimension::Page, FilterOp::Contains, value.to_string()),
            (
                Dimension::EventProp(value.into()),
                FilterOp::Is,
                value.to_string(),
            ),
        ];
        for (dimension, op, v) in filters {
            let f = Filter {
                dimension,
                op,
                values: vec![v],
            };
            let q = suite::aggregates::batch_day_query(vec![f]);
            assert_eq!(store.aggregate(&q).unwrap().events, 0, "{value:?}");
        }
        assert_eq!(store.current_visitors(value, Utc::now()).unwrap(), 0);
        assert_eq!(store.delete_before(value, Utc::now()).unwrap(), 0);
    }
    assert_eq!(store.count().unwrap(), stored, "the table is intact");
}
