//! The link ids of the visitors who did a figure's step here, per
//! agreement and day, with the first and last hour they did it: the only
//! thing a node keeps for a figure, until the day's figures are computed,
//! when the file is deleted (docs/federation.md, "What each node keeps").
//!
//! One append-only file per agreement and day
//! (`federation/marks/AGREEMENT/DAY`), 36-byte records: figure (2 bytes),
//! step, hour, link id. A record is written only when a visitor's first
//! hour is new or its last hour moves on, so a busy visitor adds at most
//! one record an hour.

use crate::linkkey::LINK_ID_BYTES;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const RECORD: usize = 4 + LINK_ID_BYTES;

/// First and last hour (0–23, local) a link id did a step.
type Hours = (u8, u8);

#[derive(Default)]
struct Day {
    file: Option<File>,
    /// (figure index, step) → link id → hours.
    steps: HashMap<(u16, u8), HashMap<[u8; LINK_ID_BYTES], Hours>>,
}

/// Every open day's marks, in memory and on disk.
pub struct Marks {
    dir: PathBuf,
    days: Mutex<HashMap<(String, NaiveDate), Day>>,
}

impl Marks {
    /// Opens the marks kept in `dir` (`DATA/federation/marks`).
    pub fn open(dir: &Path) -> io::Result<Marks> {
        std::fs::create_dir_all(dir)?;
        let mut days = HashMap::new();
        for agreement in std::fs::read_dir(dir)? {
            let agreement = agreement?;
            let name = agreement.file_name().to_string_lossy().to_string();
            for f in std::fs::read_dir(agreement.path())? {
                let f = f?;
                let Ok(day) = f.file_name().to_string_lossy().parse::<NaiveDate>() else {
                    continue;
                };
                let mut bytes = Vec::new();
                File::open(f.path())?.read_to_end(&mut bytes)?;
                let mut d = Day::default();
                // A record cut short by a crash is dropped.
                for r in bytes.chunks_exact(RECORD) {
                    let id: [u8; LINK_ID_BYTES] = r[4..].try_into().expect("record");
                    let figure = u16::from_be_bytes([r[0], r[1]]);
                    merge(d.steps.entry((figure, r[2])).or_default(), id, r[3]);
                }
                days.insert((name.clone(), day), d);
            }
        }
        Ok(Marks {
            dir: dir.to_path_buf(),
            days: Mutex::new(days),
        })
    }

    fn file(&self, agreement: &str, day: NaiveDate) -> PathBuf {
        self.dir.join(agreement).join(day.to_string())
    }

    /// Records that `id` did step `step` of figure `figure` at `hour`.
    pub fn mark(
        &self,
        agreement: &str,
        day: NaiveDate,
        figure: u16,
        step: u8,
        hour: u8,
        id: [u8; LINK_ID_BYTES],
    ) -> io::Result<()> {
        let mut days = self.days.lock().expect("marks");
        let d = days.entry((agreement.to_string(), day)).or_default();
        if !merge(d.steps.entry((figure, step)).or_default(), id, hour) {
            return Ok(());
        }
        if d.file.is_none() {
            let path = self.file(agreement, day);
            std::fs::create_dir_all(path.parent().expect("a directory"))?;
            d.file = Some(private_append(&path)?);
        }
        let mut record = [0u8; RECORD];
        record[..2].copy_from_slice(&figure.to_be_bytes());
        record[2] = step;
        record[3] = hour;
        record[4..].copy_from_slice(&id);
        d.file.as_mut().expect("opened").write_all(&record)
    }

    /// The ids that did a step on `day`, with their first and last hours.
    pub fn ids(
        &self,
        agreement: &str,
        day: NaiveDate,
        figure: u16,
        step: u8,
    ) -> Vec<([u8; LINK_ID_BYTES], Hours)> {
        let days = self.days.lock().expect("marks");
        days.get(&(agreement.to_string(), day))
            .and_then(|d| d.steps.get(&(figure, step)))
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    /// Whether any link id was kept for `day` under `agreement`.
    pub fn has_day(&self, agreement: &str, day: NaiveDate) -> bool {
        self.days
            .lock()
            .expect("marks")
            .contains_key(&(agreement.to_string(), day))
    }

    /// The days with marks under `agreement`.
    pub fn days(&self, agreement: &str) -> Vec<NaiveDate> {
        let days = self.days.lock().expect("marks");
        let mut out: Vec<NaiveDate> = days
            .keys()
            .filter(|(a, _)| a == agreement)
            .map(|(_, d)| *d)
            .collect();
        out.sort();
        out
    }

    /// Deletes a day's marks, in memory and on disk.
    pub fn erase(&self, agreement: &str, day: NaiveDate) -> io::Result<()> {
        self.days
            .lock()
            .expect("marks")
            .remove(&(agreement.to_string(), day));
        match std::fs::remove_file(self.file(agreement, day)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Flushes every open day's file to disk.
    pub fn sync(&self) -> io::Result<()> {
        for d in self.days.lock().expect("marks").values() {
            if let Some(f) = &d.file {
                f.sync_data()?;
            }
        }
        Ok(())
    }
}

/// Widens `id`'s hours with `hour`; whether anything changed.
fn merge(m: &mut HashMap<[u8; LINK_ID_BYTES], Hours>, id: [u8; LINK_ID_BYTES], hour: u8) -> bool {
    match m.get_mut(&id) {
        None => {
            m.insert(id, (hour, hour));
            true
        }
        Some((first, last)) if hour < *first || hour > *last => {
            *first = (*first).min(hour);
            *last = (*last).max(hour);
            true
        }
        Some(_) => false,
    }
}

fn private_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_a_restart_and_are_erased() {
        let dir = tempfile::tempdir().unwrap();
        let day: NaiveDate = "2026-12-04".parse().unwrap();
        let m = Marks::open(dir.path()).unwrap();
        m.mark("a", day, 0, 0, 9, [1; 32]).unwrap();
        m.mark("a", day, 0, 0, 14, [1; 32]).unwrap();
        m.mark("a", day, 0, 0, 11, [1; 32]).unwrap();
        m.mark("a", day, 0, 1, 10, [2; 32]).unwrap();
        drop(m);
        let m = Marks::open(dir.path()).unwrap();
        assert_eq!(m.ids("a", day, 0, 0), vec![([1; 32], (9, 14))]);
        assert_eq!(m.days("a"), vec![day]);
        m.erase("a", day).unwrap();
        assert!(m.ids("a", day, 0, 0).is_empty());
        assert!(!dir.path().join("a").join("2026-12-04").exists());
    }
}
