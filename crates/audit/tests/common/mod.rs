//! Helpers shared by the integration tests: sample entries and a tiny HTTP
//! server exposing an `AuditLog` at the paths the real server uses.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use glasshouse_audit::{AuditLog, Entry};

pub const ORIGIN: &str = "glasshouse.example/audit";

/// The i-th sample entry; all different.
pub fn entry(i: u64) -> Entry {
    Entry::query(
        "council",
        "analyst",
        &format!("acct-{:04x}", i * 7919 % 65536),
        "service-improvement",
        &format!("pageviews site=council.example day={i}"),
    )
    .at(Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(i as i64))
    .rows(i * 3)
}

/// A log in `dir` with entries 0..n.
pub fn log_with(dir: &Path, n: u64) -> AuditLog {
    let log = AuditLog::open(dir, ORIGIN).unwrap();
    for i in 0..n {
        assert_eq!(log.append(&entry(i)).unwrap(), i);
    }
    log
}

/// A server whose log can be swapped, to show a client another history.
pub struct Server {
    pub url: String,
    pub log: Arc<Mutex<Arc<AuditLog>>>,
    /// When set, the server lies about this entry's row count.
    pub tamper: Arc<Mutex<Option<u64>>>,
}

impl Server {
    pub fn swap(&self, log: impl Into<Arc<AuditLog>>) {
        *self.log.lock().unwrap() = log.into();
    }
}

fn query(q: &str, name: &str) -> u64 {
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Serves `log` on 127.0.0.1 at the transparency endpoints.
pub fn serve(log: AuditLog) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shared = Arc::new(Mutex::new(Arc::new(log)));
    let state = shared.clone();
    let tamper = Arc::new(Mutex::new(None::<u64>));
    let lie = tamper.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = state.lock().unwrap().clone();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let target = request.split(' ').nth(1).unwrap_or("/").to_owned();
            let (path, q) = target.split_once('?').unwrap_or((&target, ""));
            let (status, ctype, body) = match path {
                "/transparency/log/checkpoint" => (200, "text/plain", log.checkpoint().unwrap()),
                "/transparency/log/key" => (200, "text/plain", log.verifier_key()),
                "/transparency/log/entries" => {
                    let mut v = log.entries_json(query(q, "start"), query(q, "count"));
                    if let (Ok(v), Some(bad)) = (&mut v, *lie.lock().unwrap()) {
                        for item in v["entries"].as_array_mut().unwrap() {
                            if item["index"] == bad {
                                let rows = item["entry"]["rows"].as_u64().unwrap();
                                item["entry"]["rows"] = (rows + 1).into();
                            }
                        }
                    }
                    json(v)
                }
                "/transparency/log/proof/inclusion" => {
                    json(log.inclusion_json(query(q, "index"), query(q, "size")))
                }
                "/transparency/log/proof/consistency" => {
                    json(log.consistency_json(query(q, "old"), query(q, "new")))
                }
                _ => (404, "text/plain", "not found".into()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Server {
        url,
        log: shared,
        tamper,
    }
}

fn json(v: Result<serde_json::Value, glasshouse_audit::AuditError>) -> (u16, &'static str, String) {
    match v {
        Ok(v) => (200, "application/json", v.to_string()),
        Err(e) => (400, "text/plain", e.to_string()),
    }
}
