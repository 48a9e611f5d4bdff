//! A real ClickHouse cluster for tests: one ZooKeeper and a server per
//! replica of each shard, all on 127.0.0.1 with free ports and temporary
//! directories, stopped when dropped.
//!
//! The servers are the same program as [`crate::clickhouse`]'s; ZooKeeper is
//! Debian's `zookeeper` package (`/usr/share/java/zookeeper.jar`, run with
//! `java`), which `.ci/run` installs. Without it `start` panics saying what
//! to install, unless `GLASSHOUSE_SKIP_CLICKHOUSE=1` is set.

use crate::clickhouse::{ping, post, server_program, spawn, tail, write_config};
use crate::process::free_port;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The jar Debian's `zookeeper` package installs.
const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The cluster's name in every server's `remote_servers`.
pub const NAME: &str = "gh";

/// One server of the cluster.
pub struct Node {
    child: Child,
    /// The HTTP port on 127.0.0.1.
    pub http_port: u16,
    /// Its shard, counted from 1 as in the `{shard}` macro.
    pub shard: usize,
}

/// The running cluster: ZooKeeper and its servers, shard by shard.
pub struct Cluster {
    zookeeper: Child,
    /// Every server, shard 1's replicas first.
    pub nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// The `clickhouse://` address of the first server, with the cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "clickhouse://127.0.0.1:{}/{database}?cluster={NAME}",
            self.nodes[0].http_port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the servers said, before their files go.
            let dir = self._dir.path();
            eprintln!("ZooKeeper:\n{}", tail(&dir.join("zookeeper/zookeeper.log")));
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let log = entry.path().join("log/error.log");
                if log.is_file() {
                    eprintln!("{}:\n{}", entry.path().display(), tail(&log));
                }
            }
        }
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = self.zookeeper.kill();
        let _ = self.zookeeper.wait();
    }
}

/// Starts ZooKeeper and `shards × replicas` servers, or returns None when
/// the environment asks to skip ClickHouse.
pub fn start(shards: usize, replicas: usize) -> Option<Cluster> {
    if std::env::var("GLASSHOUSE_SKIP_CLICKHOUSE").as_deref() == Ok("1") {
        eprintln!("GLASSHOUSE_SKIP_CLICKHOUSE=1: the ClickHouse cluster suite is not run");
        return None;
    }
    let (program, args) = server_program().expect(
        "no ClickHouse server found: install it (`apt-get install clickhouse-server`, \
         as .ci/run does) or set GLASSHOUSE_SKIP_CLICKHOUSE=1",
    );
    assert!(
        Path::new(ZOOKEEPER_JAR).is_file(),
        "no ZooKeeper at {ZOOKEEPER_JAR}: install it (`apt-get install zookeeper`, as \
         .ci/run does) or set GLASSHOUSE_SKIP_CLICKHOUSE=1"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (zookeeper, zk_port) = start_zookeeper(dir.path());

    let ports: Vec<Vec<(u16, u16, u16)>> = (0..shards)
        .map(|_| {
            (0..replicas)
                .map(|_| (free_port(), free_port(), free_port()))
                .collect()
        })
        .collect();
    let remote: String = ports
        .iter()
        .map(|shard| {
            let replicas: String = shard
                .iter()
                .map(|(_, tcp, _)| {
                    format!("<replica><host>127.0.0.1</host><port>{tcp}</port></replica>")
                })
                .collect();
            format!("<shard><internal_replication>true</internal_replication>{replicas}</shard>")
        })
        .collect();
    let mut nodes = Vec::new();
    let mut cluster = Cluster {
        zookeeper,
        nodes: Vec::new(),
        _dir: dir,
    };
    for (s, shard) in ports.iter().enumerate() {
        for (r, &(http_port, tcp_port, interserver)) in shard.iter().enumerate() {
            let node_dir = cluster._dir.path().join(format!("s{}r{}", s + 1, r + 1));
            std::fs::create_dir_all(&node_dir).unwrap();
            let extra = format!(
                "<interserver_http_host>127.0.0.1</interserver_http_host>\
                 <interserver_http_port>{interserver}</interserver_http_port>\
                 <remote_servers><{NAME}>{remote}</{NAME}></remote_servers>\
                 <zookeeper><node><host>127.0.0.1</host><port>{zk_port}</port></node></zookeeper>\
                 <macros><shard>{}</shard><replica>s{}r{}</replica></macros>\
                 <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>",
                s + 1,
                s + 1,
                r + 1
            );
            let config = write_config(&node_dir, http_port, tcp_port, &extra);
            let child = spawn(&program, &args, &config, &node_dir);
            nodes.push((
                Node {
                    child,
                    http_port,
                    shard: s + 1,
                },
                node_dir,
            ));
        }
    }
    let started = Instant::now();
    for (mut node, node_dir) in nodes {
        let mut restarts = 0;
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                // 18.16's DDL worker now and then crashes when its first
                // ZooKeeper session is dropped at start-up: start it again.
                if restarts < 2 {
                    restarts += 1;
                    eprintln!(
                        "a cluster server exited with {status} at start-up; starting it again"
                    );
                    node.child = spawn(&program, &args, &node_dir.join("config.xml"), &node_dir);
                    continue;
                }
                panic!(
                    "{} exited with {status}:\n{}\n{}",
                    program.display(),
                    tail(&node_dir.join("log/stdout.log")),
                    tail(&node_dir.join("log/error.log"))
                );
            }
            if ping(node.http_port) && reaches_zookeeper(node.http_port) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "a cluster server did not answer /ping within 90 s:\n{}",
                tail(&node_dir.join("log/error.log"))
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster.nodes.push(node);
    }
    Some(cluster)
}

/// Starts a standalone ZooKeeper in `dir/zookeeper` and waits until it
/// says it is serving (`srvr`: a ZooKeeper still loading answers `ruok`
/// but drops clients, and 18.16's DDL worker crashes on that).
fn start_zookeeper(dir: &Path) -> (Child, u16) {
    let zk = dir.join("zookeeper");
    std::fs::create_dir_all(zk.join("data")).unwrap();
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        std::fs::write(
            zk.join("zoo.cfg"),
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\nmaxClientCnxns=0\n4lw.commands.whitelist=srvr\n",
                zk.join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(zk.join("zookeeper.log")).unwrap();
        let mut child = Command::new("java")
            .args(["-Xmx256m", "-cp", ZOOKEEPER_JAR])
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(zk.join("zoo.cfg"))
            .current_dir(&zk)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("java starts (Debian's default-jre-headless)");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = child.try_wait() {
                last = format!(
                    "ZooKeeper exited with {status}: {}",
                    tail(&zk.join("zookeeper.log"))
                );
                break;
            }
            if serving(port) {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        if last.is_empty() {
            last = format!(
                "ZooKeeper did not answer within 60 s: {}",
                tail(&zk.join("zookeeper.log"))
            );
        }
    }
    panic!("{last}");
}

fn serving(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"srvr").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.contains("Mode: standalone")
}

/// Whether the server at `port` answers a question that needs ZooKeeper.
fn reaches_zookeeper(port: u16) -> bool {
    let statement = "SELECT count() FROM system.zookeeper WHERE path = '/'";
    post(port, statement, Duration::from_secs(10))
        .is_ok_and(|answer| answer.starts_with("HTTP/1.") && answer.contains(" 200 "))
}
