//! A real ClickHouse server for tests, started on 127.0.0.1 with free ports
//! and a temporary data directory, and stopped when dropped.
//!
//! The server is Debian's `clickhouse-server` (18.16) where `.ci/run`
//! installs it; a newer `clickhouse` binary works too. If none can be
//! started, `start` panics saying why — unless `GLASSHOUSE_SKIP_CLICKHOUSE=1`
//! is set, for machines that deliberately run DuckDB only.
//! `GLASSHOUSE_CLICKHOUSE_PORT=8123` uses a server already listening there.

use crate::process::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server the tests use: one of our own (killed and its files removed
/// on drop) or one already running.
pub struct Server {
    child: Option<Child>,
    /// The HTTP port on 127.0.0.1.
    pub http_port: u16,
    /// How to start it again: program, arguments, configuration file.
    command: Option<(PathBuf, Vec<&'static str>, PathBuf)>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Kills the server (SIGKILL, as a crash or a lost machine would),
    /// keeping its data directory and ports, so tests can see what happens
    /// while ClickHouse is unreachable. Panics for a server it did not start.
    pub fn stop(&mut self) {
        assert!(
            self.command.is_some(),
            "a server already running (GLASSHOUSE_CLICKHOUSE_PORT) is not stopped by tests"
        );
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped server again on the same data and ports, and waits
    /// until it answers `/ping`.
    pub fn restart(&mut self) {
        self.stop();
        let (program, args, config) = self.command.clone().expect("checked by stop");
        let dir = config.parent().expect("the configuration's directory");
        let mut child = spawn(&program, &args, &config, dir);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} exited with {status} on restart:\n{}",
                    program.display(),
                    tail(&dir.join("log/error.log"))
                );
            }
            if ping(self.http_port) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("ClickHouse did not answer /ping within 60 s of a restart");
    }
}

pub(crate) fn spawn(program: &Path, args: &[&str], config: &Path, dir: &Path) -> Child {
    let stdout = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log/stdout.log"))
        .unwrap();
    let stderr = stdout.try_clone().unwrap();
    Command::new(program)
        .args(args)
        .arg(format!("--config-file={}", config.display()))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", program.display()))
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
pub(crate) fn server_program() -> Option<(PathBuf, Vec<&'static str>)> {
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

/// Writes a server's configuration into `dir`; `extra` is XML placed inside
/// the root element (a cluster's servers, ZooKeeper and macros).
pub(crate) fn write_config(dir: &Path, http_port: u16, tcp_port: u16, extra: &str) -> PathBuf {
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
{extra}
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

/// Whether a ClickHouse server answers `/ping` on the port.
pub fn ping(port: u16) -> bool {
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

pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Starts a server, or returns None when the environment asks to skip.
pub fn start() -> Option<Server> {
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
            command: None,
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
        let config = write_config(dir.path(), http_port, tcp_port, "");
        let mut child = spawn(&program, &args, &config, dir.path());
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
                    command: Some((program, args, config)),
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

/// Runs one statement over HTTP; panics with the server's answer if it fails.
pub fn execute(port: u16, statement: &str) -> String {
    let answer = post(port, statement, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    assert!(answer.contains(" 200 "), "{statement}: {answer}");
    answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

/// Sends one statement over HTTP; the whole answer, status line included.
pub(crate) fn post(port: u16, statement: &str, timeout: Duration) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{statement}",
        statement.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}
