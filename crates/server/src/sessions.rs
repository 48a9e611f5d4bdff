//! Dashboard sign-in sessions.
//!
//! A session is a random 256-bit token in a cookie (HttpOnly, Secure,
//! SameSite=Strict); the server keeps only the token's SHA-256, in memory,
//! so a memory dump does not hand out live sessions and a restart signs
//! everyone out. Each session has its own CSRF token for the forms it posts.
//!
//! Sign-in attempts are limited per account name and per client address
//! (kept in memory only, for the window below), so passwords cannot be
//! guessed at speed.

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "glasshouse_session";
/// Name of the cookie that carries the sign-in form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "glasshouse_login_csrf";
/// How long a session lasts without being used.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins allowed per account name or address within `WINDOW`.
pub const MAX_FAILURES: u32 = 5;
/// The window over which failures are counted.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Longest a session lives however busy it is: a stolen cookie dies with it.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account name.
    pub username: String,
    /// Slug of the account's organisation.
    pub organisation: String,
    /// viewer, analyst or admin.
    pub role: String,
    /// Token the session's forms must carry.
    pub csrf: String,
    last_used: Instant,
    created: Instant,
}

/// All live sessions, and recent failed sign-ins.
impl Session {
    fn alive(&self) -> bool {
        self.last_used.elapsed() < IDLE && self.created.elapsed() < ABSOLUTE
    }
}

#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// A fresh random token, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// Starts a session; returns the cookie token.
    pub fn create(&self, username: &str, organisation: &str, role: &str) -> String {
        let token = random_token();
        let session = Session {
            username: username.to_string(),
            organisation: organisation.to_string(),
            role: role.to_string(),
            csrf: random_token(),
            last_used: Instant::now(),
            created: Instant::now(),
        };
        let mut live = self.live.lock().expect("sessions");
        live.retain(|_, s| s.alive());
        live.insert(key(&token), session);
        token
    }

    /// The session a cookie token names, if it is live.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut live = self.live.lock().expect("sessions");
        let k = key(token);
        match live.get_mut(&k) {
            Some(s) if s.alive() => {
                s.last_used = Instant::now();
                Some(s.clone())
            }
            Some(_) => {
                live.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    /// Ends every session of one account; the number ended.
    pub fn revoke(&self, username: &str, organisation: &str) -> usize {
        let mut live = self.live.lock().expect("sessions");
        let before = live.len();
        live.retain(|_, s| !(s.username == username && s.organisation == organisation));
        before - live.len()
    }

    pub fn remove(&self, token: &str) {
        self.live.lock().expect("sessions").remove(&key(token));
    }

    fn keys(username: &str, ip: IpAddr) -> [String; 2] {
        [
            format!("user:{}", username.to_lowercase()),
            format!("ip:{ip}"),
        ]
    }

    /// True when this name or address has failed too often recently.
    /// Counts a sign-in attempt before its password is checked, or refuses
    /// it when the name or the address is locked out: one check and count
    /// under one lock, so attempts sent at once cannot slip past the limit.
    /// A successful sign-in clears the name's count (`succeeded`).
    pub fn attempt(&self, username: &str, ip: IpAddr) -> bool {
        let mut failures = self.failures.lock().expect("failures");
        failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        let keys = Self::keys(username, ip);
        if keys
            .iter()
            .any(|k| failures.get(k).is_some_and(|(n, _)| *n >= MAX_FAILURES))
        {
            return false;
        }
        for k in keys {
            failures.entry(k).or_insert((0, Instant::now())).0 += 1;
        }
        true
    }

    /// A sign-in succeeded: the name's failures are forgiven, and this
    /// attempt no longer counts against the address.
    pub fn succeeded(&self, username: &str, ip: IpAddr) {
        let [user, address] = Self::keys(username, ip);
        let mut failures = self.failures.lock().expect("failures");
        failures.remove(&user);
        if let Some((n, _)) = failures.get_mut(&address) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The value of cookie `name` in the request, if present.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares secrets without leaking where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_removed_and_lockout_counts() {
        let s = Sessions::default();
        let t = s.create("ana", "org", "viewer");
        assert_eq!(s.get(&t).unwrap().username, "ana");
        assert!(s.get("nonsense").is_none());
        s.remove(&t);
        assert!(s.get(&t).is_none());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(s.attempt("ana", ip));
        }
        assert!(!s.attempt("ANA", "192.0.2.9".parse().unwrap()), "by name");
        assert!(!s.attempt("bob", ip), "by address");
        // Successful sign-ins do not lock an address out.
        let office: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..3 * MAX_FAILURES {
            assert!(s.attempt(&format!("user{i}"), office));
            s.succeeded(&format!("user{i}"), office);
        }
    }
}
