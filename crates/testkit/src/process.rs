//! Child processes in end-to-end tests: a port to give each server, and a
//! guard that stops a child when its test ends, passed or panicked, the
//! way a service manager would (SIGTERM, and SIGKILL only if it lingers),
//! so no server outlives its test and its shutdown code is exercised.

use std::net::TcpListener;
use std::process::Child;
use std::time::{Duration, Instant};

/// How long a dropped guard waits after SIGTERM before SIGKILL.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// A port nothing listens on now, never handed out before by this process,
/// and below Linux's ephemeral range (32768 and up), so that neither
/// another server of the same test nor an outgoing connection takes it
/// between this call and the server binding it.
pub fn free_port() -> u16 {
    use std::sync::Mutex;
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..10_000 {
        let port: u16 = rand::Rng::gen_range(&mut rand::thread_rng(), 20_000..32_000);
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// A child process that is stopped when this is dropped. Reach the child
/// itself through `Deref` (`id`, `try_wait`, `stdout`).
pub struct Running(Child);

impl Running {
    /// Guards `child` from here on.
    pub fn new(child: Child) -> Self {
        Self(child)
    }

    /// Sends SIGTERM and waits up to `within` for the child to exit;
    /// false if it was still running then.
    pub fn terminate(&mut self, within: Duration) -> bool {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) && !self.terminate(STOP_WAIT) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn ports_are_not_given_twice() {
        let ports: std::collections::BTreeSet<u16> = (0..50).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 50);
        assert!(ports.iter().all(|p| (20_000..32_000).contains(p)));
    }

    #[test]
    fn a_dropped_guard_stops_its_child_with_sigterm() {
        // The shell records the signal it was stopped by in a file.
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("stopped");
        let script = format!(
            "trap 'echo term > {}; exit 0' TERM; while :; do sleep 0.05; done",
            mark.display()
        );
        let child = Command::new("sh").arg("-c").arg(script).spawn().unwrap();
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(200));
        drop(Running::new(child));
        assert_eq!(std::fs::read_to_string(&mark).unwrap().trim(), "term");
        // Reaped: the pid no longer names a process of ours.
        // SAFETY: signal 0 only asks whether the process exists.
        assert_ne!(unsafe { libc::kill(pid as i32, 0) }, 0);
    }
}
