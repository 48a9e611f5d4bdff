//! The server's log with `log_format = "json"`: one JSON object per line,
//! with no IP address, User-Agent or token in any of it; and every answer
//! carries a request id that error answers repeat.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "logs-test-token-7f3a";
const IP: &str = "203.0.113.77";
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 LogProbe/9";

#[test]
fn json_logs_hold_no_address_agent_or_token_and_errors_name_their_request() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("glasshouse.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:{port}"
data_dir = {:?}
trusted_proxies = ["127.0.0.1/32"]
log_format = "json"
[[organisations]]
id = "test-org"
name = "Test"
[[sites]]
host = "test.example"
organisation = "test-org"
[[api_tokens]]
name = "api"
organisation = "test-org"
sha256 = "{}"
"#,
            dir.path().join("data"),
            hex::encode(Sha256::digest(TOKEN))
        ),
    )
    .unwrap();
    let log = dir.path().join("server.log");
    let mut child = Running::new(
        Command::new(env!("CARGO_BIN_EXE_glasshouse"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("GLASSHOUSE_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/health")).send().is_err() {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let event = r#"{"n":"pageview","u":"https://test.example/","d":"test.example"}"#;
    let r = http
        .post(format!("{base}/api/event"))
        .header("user-agent", AGENT)
        .header("x-forwarded-for", IP)
        .header("content-type", "text/plain")
        .body(event)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);

    // An error answer names its request, as the header does; a proxy's
    // plain id is kept.
    let r = http
        .get(format!(
            "{base}/api/v1/stats/aggregate?site_id=test.example&period=nonsense"
        ))
        .bearer_auth(TOKEN)
        .header("x-request-id", "proxy-42")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-request-id"], "proxy-42");
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["request_id"], "proxy-42", "{body}");
    let r = http
        .get(format!("{base}/api/v1/stats/aggregate"))
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["request_id"], id.as_str());

    assert!(
        child.terminate(Duration::from_secs(30)),
        "the server did not stop on SIGTERM"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    for secret in [IP, AGENT, "LogProbe", TOKEN] {
        assert!(!text.contains(secret), "{secret} is in the log:\n{text}");
    }
}
