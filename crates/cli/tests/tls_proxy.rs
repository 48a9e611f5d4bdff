//! glasshouse behind Debian's nginx with TLS, configured from the shipped
//! `deploy/nginx.conf`: the visitor's address is the one nginx saw, so two
//! addresses are two visitors, and a visitor who sends its own
//! `X-Forwarded-For` cannot pass for someone else.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "tls-proxy-test-token";
const NGINX: &str = "/usr/sbin/nginx";

fn wait_for(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shipped TLS server block, pointed at this test's ports and files.
fn nginx_config(dir: &Path, https: u16, upstream: u16) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"),
    )
    .unwrap();
    let tls = &shipped[shipped.rfind("server {").unwrap()..];
    let server = tls
        .replace(
            "listen 443 ssl http2;",
            &format!("listen 127.0.0.1:{https} ssl http2;"),
        )
        .replace("listen [::]:443 ssl http2;", "")
        .replace(
            "/etc/ssl/certs/analytics.example.gov.uk.pem",
            dir.join("cert.pem").to_str().unwrap(),
        )
        .replace(
            "/etc/ssl/private/analytics.example.gov.uk.key",
            dir.join("key.pem").to_str().unwrap(),
        )
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{upstream}"));
    assert!(server.contains("proxy_set_header X-Forwarded-For $remote_addr;"));
    let d = dir.display();
    format!(
        "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
         events {{}}\nhttp {{\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         {server}\n}}\n"
    )
}

/// Posts a page view through nginx from `from` (a loopback address).
fn visit(https: u16, from: &str, forged: Option<&str>) {
    let mut curl = Command::new("curl");
    curl.args([
        "-sS",
        "-k",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--interface",
        from,
    ])
    .args([
        "-H",
        "Content-Type: text/plain",
        "-A",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    ])
    .args([
        "--data",
        r#"{"n":"pageview","u":"https://test.example/","d":"test.example"}"#,
    ]);
    if let Some(ip) = forged {
        curl.args(["-H", &format!("X-Forwarded-For: {ip}")]);
    }
    let out = curl
        .arg(format!("https://127.0.0.1:{https}/api/event"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "202",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn visitors(https: u16) -> u64 {
    let out = Command::new("curl")
        .args(["-sS", "-k", "-H", &format!("Authorization: Bearer {TOKEN}")])
        .arg(format!(
            "https://127.0.0.1:{https}/api/v1/stats/aggregate?site_id=test.example&period=day&metrics=visitors"
        ))
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    body["results"]["visitors"]["value"].as_u64().unwrap()
}

#[test]
fn behind_nginx_with_tls_visitors_are_told_apart_by_the_address_nginx_saw() {
    assert!(
        Path::new(NGINX).exists(),
        "Debian's nginx is needed (apt-get install nginx); .ci/run installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(d.join("key.pem"))
        .arg("-out")
        .arg(d.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let (upstream, https) = (free_port(), free_port());
    let config = d.join("glasshouse.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{upstream}\"\ndata_dir = {:?}\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
             [[organisations]]\nid = \"o\"\nname = \"O\"\n[[sites]]\nhost = \"test.example\"\norganisation = \"o\"\n\
             [[api_tokens]]\nname = \"t\"\norganisation = \"o\"\nsha256 = \"{}\"\n",
            d.join("data"),
            hex::encode(Sha256::digest(TOKEN))
        ),
    )
    .unwrap();
    let log = d.join("glasshouse.log");
    let _glasshouse = Running::new(
        Command::new(env!("CARGO_BIN_EXE_glasshouse"))
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    wait_for(upstream, "glasshouse", &log);
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(d.join(temp)).unwrap();
    }
    std::fs::write(d.join("nginx.conf"), nginx_config(d, https, upstream)).unwrap();
    let _nginx = Running::new(
        Command::new(NGINX)
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("nginx.out")).unwrap(),
            ))
            .spawn()
            .unwrap(),
    );
    wait_for(https, "nginx", &d.join("nginx.out"));

    visit(https, "127.0.0.2", None);
    visit(https, "127.0.0.3", None);
    assert_eq!(visitors(https), 2, "two addresses, two visitors");
    // 127.0.0.2 again, claiming to be someone else: nginx replaces the
    // header with the address it saw, so it is the same visitor.
    visit(https, "127.0.0.2", Some("198.51.100.99"));
    visit(https, "127.0.0.3", Some("198.51.100.99, 203.0.113.5"));
    assert_eq!(
        visitors(https),
        2,
        "a forged X-Forwarded-For adds no visitor"
    );
}
