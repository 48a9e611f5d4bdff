//! Daily salts: the secret that makes visitor ids die at the site's local
//! midnight.
//!
//! A visitor id is a keyed hash under the salt of the event's local day in
//! the site's time zone (see `visitor.rs`). Salts are 32 random bytes, one
//! per calendar day, and exist only for **today and yesterday** in the
//! configured time zones ([`Salts::set_zones`]; UTC alone by default): when
//! the clock shows a new day in one of them the next call makes that day's
//! salt and erases every older one, from memory (the bytes are overwritten)
//! and from disk. Ids die at local midnight so that a site's day counts its
//! visitors once each (at 00:30 and 10:00 BST one person is one visitor of
//! the day), and the daily roll-ups, which add days, add distinct people. Yesterday's salt is kept one more day only so
//! that a visit running across midnight can still be joined up
//! ([`AnonymousEvent::previous_visitor_id`](crate::AnonymousEvent::previous_visitor_id)).
//! Once a salt is gone, nobody, operators included, can recompute the ids
//! made with it, so two days' visitors can never be linked.
//!
//! Two kinds:
//!
//! - [`Salts::open`] keeps them in `dir/salts.json` (mode 0600), rewritten
//!   atomically (temporary file in the same directory, fsync, rename, fsync
//!   of the directory) on every change, so a restart in the middle of the day
//!   keeps today's ids and does not count everybody twice. After a rotation
//!   the old salt is in no file of `dir` (the filesystem may still hold the
//!   freed blocks; secure erasure of the medium is out of scope).
//! - [`Salts::ephemeral`] is for importing past days: a random salt per day,
//!   made on first use, held in memory only, forgotten when dropped.
//!
//! Rotation is lazy and cheap: each call compares the clock's day number with
//! one atomic; only the first call of a new day takes the write lock. The
//! server can also call [`Salts::check_rotation`] from a timer so old salts
//! are erased at midnight even when no traffic arrives.

use crate::visitor::AgentDigest;
use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_model::Clock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use zeroize::Zeroize;

/// Name of the salts file inside the data directory.
pub const SALTS_FILE: &str = "salts.json";
/// Where a salts file is written before it replaces the old one
/// (`durable::temp_of`); a leftover one is erased at start.
const TEMP_FILE: &str = ".salts.json.tmp";
const FORMAT: &str = "glasshouse-salts-v1";
const SECONDS_PER_DAY: i64 = 86_400;
const NEVER: i64 = i64::MIN;

/// The daily salts, shared by every request handler through the
/// [`Anonymiser`](crate::Anonymiser). See the module documentation for the
/// lifecycle.
pub struct Salts {
    clock: Arc<dyn Clock>,
    /// `Some(file)` when persistent.
    file: Option<PathBuf>,
    /// The instants (seconds) between which the salts last made are the
    /// right ones: from the latest zone's midnight passed to the earliest
    /// one coming (persistent only). Outside them, rotation is checked.
    valid_from: AtomicI64,
    valid_until: AtomicI64,
    /// The time zones whose today and yesterday have salts.
    zones: RwLock<Vec<chrono_tz::Tz>>,
    keys: RwLock<BTreeMap<i64, Salt>>,
}

/// 32 secret bytes, overwritten when dropped so an erased salt does not
/// linger in freed memory.
struct Salt([u8; 32]);

impl Drop for Salt {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Salt {
    fn random() -> io::Result<Salt> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| {
            io::Error::other(format!("the operating system gave no random bytes: {e}"))
        })?;
        Ok(Salt(bytes))
    }
}

/// Why no visitor id could be made.
#[derive(Debug)]
pub(crate) enum SaltError {
    /// A persistent `Salts` has no salt for this day (older than yesterday or in the future).
    NoSalt(NaiveDate),
    /// Rotation could not write the salts file.
    Io(io::Error),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaltsFile {
    format: String,
    salts: Vec<SaltEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaltEntry {
    day: NaiveDate,
    key: String,
}

impl Drop for SaltEntry {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// The UTC day number (days since 1970-01-01) of an instant.
pub(crate) fn day_number(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(SECONDS_PER_DAY)
}

fn date_of(day: i64) -> NaiveDate {
    DateTime::from_timestamp(day.saturating_mul(SECONDS_PER_DAY), 0)
        .map(|t| t.date_naive())
        .unwrap_or(NaiveDate::MIN)
}

fn day_of_date(date: NaiveDate) -> i64 {
    day_number(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

impl Salts {
    /// Persistent salts kept in `dir/salts.json`, so a restart keeps today's
    /// visitor ids. Creates `dir` if needed, reuses today's and yesterday's
    /// salts from the file, drops older ones, makes today's if missing, and
    /// rewrites the file. A file that is not a valid salts file is an
    /// `InvalidData` error naming the file (never a panic, never silently
    /// replaced: replacing it would double-count today's visitors).
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> io::Result<Salts> {
        fs::create_dir_all(dir)?;
        let file = dir.join(SALTS_FILE);
        // A crash between writing and renaming may have left a temporary
        // file holding an old salt.
        match fs::remove_file(dir.join(TEMP_FILE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let keys = match fs::read(&file) {
            Ok(mut bytes) => {
                let parsed = parse_file(&bytes, &file);
                bytes.zeroize();
                parsed?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", file.display()),
                ))
            }
        };
        let salts = Salts {
            clock,
            file: Some(file),
            valid_from: AtomicI64::new(NEVER),
            valid_until: AtomicI64::new(NEVER),
            zones: RwLock::new(vec![chrono_tz::Tz::UTC]),
            keys: RwLock::new(keys),
        };
        salts.check_rotation()?;
        Ok(salts)
    }

    /// Ephemeral salts for bulk import of past days: a random salt per UTC
    /// day, made on demand, never written anywhere, gone when dropped. Ids
    /// made with them match no live id, so an import never links to live
    /// traffic.
    pub fn ephemeral(clock: Arc<dyn Clock>) -> Salts {
        Salts {
            clock,
            file: None,
            valid_from: AtomicI64::new(NEVER),
            valid_until: AtomicI64::new(NEVER),
            zones: RwLock::new(vec![chrono_tz::Tz::UTC]),
            keys: RwLock::new(BTreeMap::new()),
        }
    }

    /// Sets the time zones whose days have salts (the sites'), and rotates
    /// for them at once. Called at start and on every configuration reload.
    pub fn set_zones(&self, zones: &[chrono_tz::Tz]) -> io::Result<()> {
        let mut z: Vec<chrono_tz::Tz> = zones.to_vec();
        if z.is_empty() {
            z.push(chrono_tz::Tz::UTC);
        }
        z.sort_by_key(|t| t.name());
        z.dedup();
        *self.zones.write().unwrap_or_else(PoisonError::into_inner) = z;
        self.valid_until.store(NEVER, Ordering::Release);
        self.check_rotation()
    }

    /// The local days that are "today" in some configured zone at `now`,
    /// as day numbers (at most three, since zones span 26 hours), and the
    /// instants (seconds) between which that stays so.
    fn todays(&self, now: DateTime<Utc>) -> (Vec<i64>, i64, i64) {
        use glasshouse_model::query::day_start;
        let (mut out, mut from, mut until) = (Vec::new(), i64::MIN, i64::MAX);
        for z in self
            .zones
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let today = now.with_timezone(z).date_naive();
            out.push(day_of_date(today));
            from = from.max(day_start(today, *z).timestamp());
            let next = today.succ_opt().unwrap_or(today);
            until = until.min(day_start(next, *z).timestamp());
        }
        out.sort_unstable();
        out.dedup();
        (out, from, until)
    }

    /// True when the salts live in a file (from [`Salts::open`]).
    pub fn is_persistent(&self) -> bool {
        self.file.is_some()
    }

    /// The UTC days that currently have a salt, oldest first. For a
    /// persistent `Salts` this is at most yesterday and today; it lets tests
    /// and the transparency page show that nothing older exists.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.read_keys().keys().map(|d| date_of(*d)).collect()
    }

    /// Makes today's salt and erases older ones if the clock has moved to a
    /// new day in a configured zone since the last check; otherwise does
    /// nothing (two atomic loads). Called on every event; the server may also call it from a timer
    /// so that salts are erased at midnight even without traffic. A failed
    /// file write is returned and retried at the next call. No-op for
    /// ephemeral salts.
    pub fn check_rotation(&self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let now = self.clock.now();
        let valid = |t: i64| {
            self.valid_from.load(Ordering::Acquire) <= t
                && t < self.valid_until.load(Ordering::Acquire)
        };
        if valid(now.timestamp()) {
            return Ok(());
        }
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if valid(now.timestamp()) {
            return Ok(());
        }
        let (todays, from, until) = self.todays(now);
        // Keep only each zone's yesterday and today. A salt "from the
        // future" (the clock was moved back) is erased too: it would be
        // today's salt of a day that has not happened yet, and nothing may
        // outlive its two days.
        keys.retain(|day, _| todays.iter().any(|t| *day == *t || *day == *t - 1));
        for today in &todays {
            if let std::collections::btree_map::Entry::Vacant(e) = keys.entry(*today) {
                e.insert(Salt::random()?);
            }
        }
        write_file(file, &keys)?;
        self.valid_from.store(from, Ordering::Release);
        self.valid_until.store(until, Ordering::Release);
        Ok(())
    }

    /// Visitor ids of one person for the event's day and the day before:
    /// `(id under the event day's salt, id under the previous day's salt if
    /// it exists)`.
    pub(crate) fn visitor_ids(
        &self,
        at: DateTime<Utc>,
        tz: chrono_tz::Tz,
        scope: &str,
        ip: IpAddr,
        agent: &AgentDigest,
    ) -> Result<(u64, Option<u64>), SaltError> {
        let day = day_of_date(at.with_timezone(&tz).date_naive());
        if self.file.is_some() {
            self.check_rotation().map_err(SaltError::Io)?;
        } else {
            self.ensure_ephemeral(day).map_err(SaltError::Io)?;
        }
        let keys = self.read_keys();
        let Some(salt) = keys.get(&day) else {
            return Err(SaltError::NoSalt(date_of(day)));
        };
        let id = crate::visitor::visitor_id(&salt.0, scope, ip, agent);
        let previous = keys
            .get(&(day - 1))
            .map(|salt| crate::visitor::visitor_id(&salt.0, scope, ip, agent));
        Ok((id, previous))
    }

    /// Ephemeral salts: make the day's and the previous day's salt if missing.
    fn ensure_ephemeral(&self, day: i64) -> io::Result<()> {
        {
            let keys = self.read_keys();
            if keys.contains_key(&day) && keys.contains_key(&(day - 1)) {
                return Ok(());
            }
        }
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        for d in [day - 1, day] {
            if let std::collections::btree_map::Entry::Vacant(e) = keys.entry(d) {
                e.insert(Salt::random()?);
            }
        }
        Ok(())
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<i64, Salt>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn salt_bytes(&self, date: NaiveDate) -> Option<[u8; 32]> {
        self.read_keys().get(&day_of_date(date)).map(|s| s.0)
    }
}

/// Never shows the salts themselves.
impl fmt::Debug for Salts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Salts")
            .field("file", &self.file)
            .field("days", &self.days())
            .finish()
    }
}

fn corrupt(file: &Path, why: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} is not a valid glasshouse salts file ({why}); move it away to start new salts \
             (visitors already counted today would then be counted again)",
            file.display()
        ),
    )
}

fn parse_file(bytes: &[u8], file: &Path) -> io::Result<BTreeMap<i64, Salt>> {
    let parsed: SaltsFile = serde_json::from_slice(bytes).map_err(|e| corrupt(file, e))?;
    if parsed.format != FORMAT {
        return Err(corrupt(
            file,
            format!("format {:?}, expected {FORMAT:?}", parsed.format),
        ));
    }
    let mut keys = BTreeMap::new();
    for entry in &parsed.salts {
        let salt = decode_hex(&entry.key).ok_or_else(|| {
            corrupt(
                file,
                format!("the key for {} is not 64 hex digits", entry.day),
            )
        })?;
        if keys.insert(day_of_date(entry.day), salt).is_some() {
            return Err(corrupt(file, format!("{} appears twice", entry.day)));
        }
    }
    Ok(keys)
}

fn decode_hex(text: &str) -> Option<Salt> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut salt = Salt([0; 32]);
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        salt.0[i] = (hi * 16 + lo) as u8;
    }
    Some(salt)
}

fn encode_hex(bytes: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Atomically replaces `file` with the given salts, readable by the owner
/// only (`durable.rs`), and overwrites the serialised keys in memory.
fn write_file(file: &Path, keys: &BTreeMap<i64, Salt>) -> io::Result<()> {
    let contents = SaltsFile {
        format: FORMAT.to_string(),
        salts: keys
            .iter()
            .map(|(day, salt)| SaltEntry {
                day: date_of(*day),
                key: encode_hex(&salt.0),
            })
            .collect(),
    };
    let mut text = serde_json::to_vec_pretty(&contents).map_err(io::Error::other)?;
    drop(contents);
    text.push(b'\n');
    let result = crate::durable::replace_private(file, &text);
    text.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use glasshouse_model::ManualClock;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Every byte of every file under `dir`, recursively.
    fn all_file_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(all_file_bytes(&path));
            } else {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_temporary_file_is_the_one_durable_writes() {
        assert_eq!(
            crate::durable::temp_of(Path::new("/d").join(SALTS_FILE).as_path()),
            Path::new("/d").join(TEMP_FILE)
        );
    }

    #[test]
    fn old_salts_are_erased_from_every_file_two_days_later() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(at(2026, 3, 1, 12, 0, 0));
        let salts = Salts::open(dir.path(), Arc::new(clock.clone())).unwrap();
        let first = salts.salt_bytes(date(2026, 3, 1)).expect("today's salt");
        let first_hex = encode_hex(&first);
        let files = all_file_bytes(dir.path());
        assert!(
            files.iter().any(|(_, b)| contains(b, first_hex.as_bytes())),
            "the salt is persisted in hex"
        );

        clock.set(at(2026, 3, 2, 0, 0, 1));
        salts.check_rotation().unwrap();
        assert_eq!(salts.days(), vec![date(2026, 3, 1), date(2026, 3, 2)]);

        clock.set(at(2026, 3, 3, 0, 0, 1));
        salts.check_rotation().unwrap();
        assert_eq!(salts.days(), vec![date(2026, 3, 2), date(2026, 3, 3)]);
        assert!(salts.salt_bytes(date(2026, 3, 1)).is_none());
        for (path, bytes) in all_file_bytes(dir.path()) {
            assert!(
                !contains(&bytes, &first),
                "raw salt still in {}",
                path.display()
            );
            assert!(
                !contains(&bytes, first_hex.as_bytes()),
                "hex salt still in {}",
                path.display()
            );
            assert!(
                !contains(&bytes, first_hex.to_uppercase().as_bytes()),
                "upper-case hex salt still in {}",
                path.display()
            );
        }
        // Only the salts file is left, readable by its owner only.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(SALTS_FILE)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(SALTS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn reopening_on_the_same_day_reuses_the_salt_and_a_later_day_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(at(2026, 3, 1, 9, 0, 0));
        let a = Salts::open(dir.path(), Arc::new(clock.clone())).unwrap();
        let today = a.salt_bytes(date(2026, 3, 1)).unwrap();
        drop(a);
        let b = Salts::open(dir.path(), Arc::new(clock.clone())).unwrap();
        assert_eq!(b.salt_bytes(date(2026, 3, 1)), Some(today));
        drop(b);
        // Restarting three days later: the old salt is not revived.
        clock.set(at(2026, 3, 4, 9, 0, 0));
        let c = Salts::open(dir.path(), Arc::new(clock)).unwrap();
        assert_eq!(c.days(), vec![date(2026, 3, 4)]);
        let text = fs::read_to_string(dir.path().join(SALTS_FILE)).unwrap();
        assert!(!text.contains(&encode_hex(&today)));
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at(2026, 3, 1, 9, 0, 0)));
        for bad in [
            "not json",
            "{}",
            r#"{"format":"other","salts":[]}"#,
            r#"{"format":"glasshouse-salts-v1","salts":[{"day":"2026-03-01","key":"abc"}]}"#,
            r#"{"format":"glasshouse-salts-v1","salts":[{"day":"2026-13-01","key":"00"}]}"#,
        ] {
            fs::write(dir.path().join(SALTS_FILE), bad).unwrap();
            let e = Salts::open(dir.path(), clock.clone()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{bad}");
            let message = e.to_string();
            assert!(
                message.contains("salts.json") && message.contains("not a valid"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_stale_temporary_file_is_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(TEMP_FILE), "old secret").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at(2026, 3, 1, 9, 0, 0)));
        Salts::open(dir.path(), clock).unwrap();
        assert!(!dir.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn persistent_salts_refuse_days_they_do_not_have() {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at(2026, 3, 10, 9, 0, 0)));
        let salts = Salts::open(dir.path(), clock).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for t in [at(2026, 3, 8, 23, 59, 59), at(2026, 3, 11, 0, 0, 0)] {
            match salts.visitor_ids(t, chrono_tz::Tz::UTC, "s", ip, &AgentDigest::of("ua")) {
                Err(SaltError::NoSalt(d)) => assert_eq!(d, t.date_naive()),
                other => panic!("expected NoSalt, got {other:?}"),
            }
        }
        let (_, previous) = salts
            .visitor_ids(
                at(2026, 3, 10, 12, 0, 0),
                chrono_tz::Tz::UTC,
                "s",
                ip,
                &AgentDigest::of("ua"),
            )
            .unwrap();
        assert_eq!(previous, None, "the 9th's salt never existed");
        match salts.visitor_ids(
            at(2026, 3, 9, 12, 0, 0),
            chrono_tz::Tz::UTC,
            "s",
            ip,
            &AgentDigest::of("ua"),
        ) {
            Err(SaltError::NoSalt(_)) => {}
            other => panic!("a fresh Salts has no salt for yesterday, got {other:?}"),
        }
    }

    #[test]
    fn ids_live_for_the_site_s_local_day() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at(2026, 7, 1, 22, 0, 0)));
        let salts = Salts::open(dir.path(), clock.clone()).unwrap();
        let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
        salts.set_zones(&[london]).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let id = |t| {
            salts
                .visitor_ids(t, london, "s", ip, &AgentDigest::of("ua"))
                .unwrap()
        };
        // 23:30 BST and the next morning are two local days: two ids.
        let evening = id(at(2026, 7, 1, 22, 30, 0));
        clock.set(at(2026, 7, 1, 23, 30, 0)); // 00:30 BST on 2 July
        let after_midnight = id(at(2026, 7, 1, 23, 30, 0));
        assert_ne!(evening.0, after_midnight.0);
        assert_eq!(
            after_midnight.1,
            Some(evening.0),
            "a visit over midnight continues"
        );
        // 00:30 BST and 10:00 BST on 2 July: one person, one id.
        clock.set(at(2026, 7, 2, 9, 0, 0));
        assert_eq!(id(at(2026, 7, 2, 9, 0, 0)).0, after_midnight.0);
        // Only London's today and yesterday have salts.
        assert_eq!(
            salts.days(),
            vec![
                NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 7, 2).unwrap()
            ]
        );
    }

    #[test]
    fn ephemeral_salts_make_any_day_and_stay_stable() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at(2026, 3, 10, 9, 0, 0)));
        let salts = Salts::ephemeral(clock);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let (a, pa) = salts
            .visitor_ids(
                at(2020, 1, 1, 10, 0, 0),
                chrono_tz::Tz::UTC,
                "s",
                ip,
                &AgentDigest::of("ua"),
            )
            .unwrap();
        let (b, _) = salts
            .visitor_ids(
                at(2020, 1, 1, 23, 0, 0),
                chrono_tz::Tz::UTC,
                "s",
                ip,
                &AgentDigest::of("ua"),
            )
            .unwrap();
        let (c, pc) = salts
            .visitor_ids(
                at(2020, 1, 2, 1, 0, 0),
                chrono_tz::Tz::UTC,
                "s",
                ip,
                &AgentDigest::of("ua"),
            )
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(pc, Some(a));
        assert!(pa.is_some());
        assert!(!salts.is_persistent());
    }

    #[test]
    fn hex_round_trips() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i * 37 + 5) as u8;
        }
        assert_eq!(decode_hex(&encode_hex(&bytes)).unwrap().0, bytes);
        assert!(decode_hex(&"zz".repeat(32)).is_none());
        assert!(decode_hex("ééé").is_none());
    }
}
