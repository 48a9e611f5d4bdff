//! A client that never finishes its request headers is cut off after the
//! header-read timeout, and others are served meanwhile.

mod support;

use chrono::{TimeZone, Utc};
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let s = TestServer::start(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()).await;
    let address = s.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    // Others are answered meanwhile.
    let r = s
        .http
        .get(format!("{}/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read(&mut buf))
        .await
        .expect("the server closes the connection before 20 s");
    let waited = started.elapsed();
    assert!(
        matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).contains("408"),
        "{read:?}"
    );
    assert!(
        waited >= glasshouse_server::listen::HEADER_READ_TIMEOUT - Duration::from_secs(1)
            && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
}
