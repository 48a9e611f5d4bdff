//! A real SMTP server for tests: Debian's `python3-aiosmtpd` on 127.0.0.1,
//! with STARTTLS required under a certificate authority made for the test
//! (`openssl`), sign-in over TLS, and a first answer of 451 to prove that
//! senders try again. Messages it accepts are read back from files.

use crate::process::free_port;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The account the server accepts.
pub const USER: &str = "glasshouse";
/// Its password.
pub const PASSWORD: &str = "relay password for tests";

/// A running server; stopped on drop.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The test's certificate authority (PEM), for the sender to trust.
    pub ca_file: PathBuf,
    /// A file holding [`PASSWORD`], for `password_file`.
    pub password_file: PathBuf,
    child: Child,
    _stdin: ChildStdin,
    dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=glasshouse test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        dir,
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
        dir,
    );
}

/// Starts the server. Panics, saying what to install, if it cannot.
pub fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/smtp_server.py");
    std::fs::create_dir(dir.path().join("mail")).unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let port = free_port();
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path().join("server.pem"))
        .arg(dir.path().join("server.key"))
        .arg(dir.path().join("mail"))
        .args([USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 with python3-aiosmtpd (apt-get install python3-aiosmtpd)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "the SMTP server did not start (is python3-aiosmtpd installed?)"
    );
    let stdin = child.stdin.take().unwrap();
    Server {
        port,
        ca_file: dir.path().join("ca.pem"),
        password_file,
        child,
        _stdin: stdin,
        dir,
    }
}

impl Server {
    /// The messages accepted so far, in order, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The `[smtp]` table that sends through this server.
    pub fn config(&self) -> String {
        format!(
            "[smtp]\nhost = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nusername = \"{USER}\"\npassword_file = {:?}\nfrom = \"glasshouse <analytics@test.example>\"\nca_file = {:?}\n",
            self.port, self.password_file, self.ca_file
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
