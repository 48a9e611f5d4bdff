//! DESIGN promise 1, tested on the real binary: after events with known IP
//! addresses and User-Agents went in over HTTP, no file in the data
//! directory (database, write-ahead log, salts) and no line the server
//! logged contains any of them, as text or in binary form.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "privacy-test-token";

struct Server {
    child: Running,
    url: String,
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path) -> Server {
    let port = free_port();
    let data = dir.join("data");
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
data_dir = {data:?}
trusted_proxies = ["127.0.0.1/32"]
[[organisations]]
id = "test-org"
name = "Test"
[[sites]]
host = "test.example"
organisation = "test-org"
[[api_tokens]]
name = "t"
organisation = "test-org"
sha256 = "{}"
"#,
        hex::encode(Sha256::digest(TOKEN))
    );
    std::fs::write(dir.join("glasshouse.toml"), config).unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(dir.join("glasshouse.toml"))
        .env("GLASSHOUSE_LOG", "debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    // Owned by the guard at once, so a failed start still stops the process.
    let server = Server {
        child: Running::new(child),
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("{}/health", server.url))
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the server did not become healthy: {}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

/// Every byte form in which an address could have been written.
fn forms_of_ip(ip: IpAddr) -> Vec<Vec<u8>> {
    let mut forms = vec![ip.to_string().into_bytes()];
    match ip {
        IpAddr::V4(v4) => {
            forms.push(v4.octets().to_vec());
            let mut le = v4.octets();
            le.reverse();
            forms.push(le.to_vec());
        }
        IpAddr::V6(v6) => {
            forms.push(v6.octets().to_vec());
            forms.push(
                format!(
                    "{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                    v6.segments()[0],
                    v6.segments()[1],
                    v6.segments()[2],
                    v6.segments()[3],
                    v6.segments()[4],
                    v6.segments()[5],
                    v6.segments()[6],
                    v6.segments()[7]
                )
                .into_bytes(),
            );
        }
    }
    forms
}

fn forms_of_text(s: &str) -> Vec<Vec<u8>> {
    vec![
        s.as_bytes().to_vec(),
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
    ]
}

fn assert_nothing_personal(dir: &Path, needles: &[(String, Vec<u8>)], when: &str) {
    let all = glasshouse_testkit::files::under(dir);
    assert!(
        all.iter().any(|p| p.to_string_lossy().ends_with(".duckdb")),
        "the database exists"
    );
    let mut scanned = 0;
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for (what, needle) in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{when}: {} contains {what}",
                path.display()
            );
        }
    }
    assert!(scanned > 0);
}

#[test]
fn no_ip_address_or_user_agent_is_ever_stored_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let client = reqwest::blocking::Client::new();
    // Twelve addresses (a few IPv6): few enough that a 4-byte pattern
    // cannot turn up in the database by chance.
    let ips: Vec<IpAddr> = (0..8)
        .map(|i| format!("203.0.113.{}", 17 + i * 29).parse().unwrap())
        .chain((0..4).map(|i| {
            format!("2001:db8:4a7f:{:x}::be{i}", 0x100 + i)
                .parse()
                .unwrap()
        }))
        .collect();
    let agents: Vec<String> = (0..4)
        .map(|i| format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.{i}.0 Safari/537.36 Edg/125.0.{i}.77 Zqxmarker{i}"))
        .collect();
    let mut stored = 0;
    for (i, ip) in ips.iter().enumerate() {
        for (j, ua) in agents.iter().enumerate() {
            let body = serde_json::json!({"name": "pageview", "url": format!("https://test.example/page-{i}-{j}"), "domain": "test.example", "referrer": "https://www.google.com/"});
            let r = client
                .post(format!("{}/api/event", server.url))
                .header("user-agent", ua)
                .header("x-forwarded-for", ip.to_string())
                .body(body.to_string())
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 202);
            stored += 1;
        }
        // Dropped requests carry personal data too; it must not linger either.
        let bot = client
            .post(format!("{}/api/event", server.url))
            .header(
                "user-agent",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            )
            .header("x-forwarded-for", ip.to_string())
            .body(r#"{"n":"pageview","u":"https://test.example/","d":"test.example"}"#)
            .send()
            .unwrap();
        assert_eq!(bot.headers()["x-glasshouse-dropped"], "bot");
        let bad = client
            .post(format!("{}/api/event", server.url))
            .header("user-agent", &agents[0])
            .header("x-forwarded-for", ip.to_string())
            .body(r#"{"n":"pageview","u":"not a url","d":"test.example"}"#)
            .send()
            .unwrap();
        assert_eq!(bad.status().as_u16(), 400);
    }
    let count: serde_json::Value = client
        .get(format!(
            "{}/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=pageviews,visitors",
            server.url
        ))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        count["results"]["pageviews"]["value"], stored,
        "the events were stored"
    );
    assert_eq!(
        count["results"]["visitors"]["value"],
        ips.len() * agents.len(),
        "each address and agent is its own visitor"
    );

    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for ip in &ips {
        for f in forms_of_ip(*ip) {
            needles.push((format!("the address {ip}"), f));
        }
    }
    for ua in &agents {
        for f in forms_of_text(ua) {
            needles.push(("a User-Agent".into(), f));
        }
        let marker = &ua[ua.find("Zqxmarker").unwrap()..];
        needles.push((
            format!("the User-Agent fragment {marker}"),
            marker.as_bytes().to_vec(),
        ));
    }
    needles.push((
        "the bot's User-Agent".into(),
        b"Googlebot/2.1; +http".to_vec(),
    ));

    // While running: the database and its write-ahead log, and the log so far.
    assert_nothing_personal(dir.path(), &needles, "while running");
    // After a clean stop (which checkpoints the log into the database).
    terminate(&mut server);
    assert_nothing_personal(dir.path(), &needles, "after stopping");
}

fn terminate(server: &mut Server) {
    assert!(
        server.child.terminate(Duration::from_secs(30)),
        "the server did not stop on SIGTERM"
    );
}
