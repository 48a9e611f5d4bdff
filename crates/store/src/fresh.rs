//! Which closed days' roll-ups may stand in for their raw events.
//!
//! The overview's questions over a month group millions of raw events; the
//! same figures per day are already kept by the aggregate tier
//! (`rollup.rs`), and they add up exactly over days (visitor ids live one
//! day). So once a day is closed its roll-up is computed early and marked
//! *fresh* in `rollup_fresh`, and unfiltered questions read it instead of
//! the day's raw events (Matomo's archives work the same way). Both back
//! ends keep that table; this is what they share about it.
//!
//! A roll-up is only fresh while no raw event of its day arrives after it
//! was computed. Days close by the data: a day is closed once an event of
//! a later day has been stored. A row for a closed day — a late shipment,
//! an import of history — is *late*: its day's mark goes (DuckDB: in the
//! same transaction as the rows; ClickHouse: a newer version of the mark),
//! so a roll-up computed while the row arrived is not used.

use crate::row::AsRow;
use chrono::NaiveDate;
use glasshouse_model::query::Tz;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const DAY_MICROS: i64 = 86_400_000_000;

/// The UTC day of a timestamp in microseconds.
pub fn day_of(ts: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((ts.div_euclid(DAY_MICROS) + 719_163) as i32)
        .unwrap_or_default()
}

/// What the writer knows about closed days. Updated only under the
/// writer's lock (DuckDB) or after each insert (ClickHouse).
#[derive(Debug, Default)]
pub struct Freshness {
    /// The newest day any stored event is on (days before it are closed).
    newest: Mutex<Option<NaiveDate>>,
    /// Moves whenever rows arrive for a closed day.
    late: AtomicU64,
    /// Each site's time zone, whose days its roll-ups are of.
    zones: std::sync::RwLock<std::collections::HashMap<String, Tz>>,
}

impl Freshness {
    /// Starts from the newest day already stored.
    pub fn new(newest: Option<NaiveDate>) -> Freshness {
        Freshness {
            newest: Mutex::new(newest),
            late: AtomicU64::new(0),
            zones: Default::default(),
        }
    }

    /// Sets each site's time zone (UTC for any site not named).
    pub fn set_zones(&self, zones: &[(String, Tz)]) {
        *self.zones.write().expect("zones") = zones.iter().cloned().collect();
    }

    /// The newest day with events.
    pub fn newest(&self) -> Option<NaiveDate> {
        *self.newest.lock().expect("freshness")
    }

    /// The counter of late writes.
    pub fn late_writes(&self) -> u64 {
        self.late.load(Ordering::SeqCst)
    }

    /// The (site, day) pairs of `batches` on closed days, and the newest
    /// day once they are stored (for [`Freshness::stored`]).
    pub fn late_in<'a, T: AsRow + 'a>(
        &self,
        batches: impl IntoIterator<Item = &'a [T]>,
    ) -> (BTreeSet<(String, NaiveDate)>, Option<NaiveDate>) {
        // Read only for a late row, which is rare: no copy per batch.
        let zones = self.zones.read().expect("zones");
        let before = self.newest();
        let mut newest = before;
        let mut late = BTreeSet::new();
        for rows in batches {
            for r in rows {
                let r = r.row();
                let day = day_of(r.ts);
                if before.is_some_and(|n| day < n) {
                    // Roll-ups are per day of the site's time zone, and the
                    // next day's roll-up corrects for visits over the
                    // midnight between them (`rollup::over_midnight`).
                    let tz = zones.get(r.site).copied().unwrap_or(Tz::UTC);
                    let local = chrono::DateTime::from_timestamp_micros(r.ts)
                        .map_or(day, |t| glasshouse_model::query::day_of(t, tz));
                    late.insert((r.site.to_string(), local));
                    late.insert((r.site.to_string(), local.succ_opt().unwrap_or(local)));
                }
                newest = newest.max(Some(day));
            }
        }
        (late, newest)
    }

    /// Records a committed write: the newest day, and whether it was late.
    pub fn stored(&self, newest: Option<NaiveDate>, late: bool) {
        let mut n = self.newest.lock().expect("freshness");
        *n = (*n).max(newest);
        if late {
            self.late.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_days() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let midnight = d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
        assert_eq!(day_of(midnight), d);
        assert_eq!(day_of(midnight - 1), d.pred_opt().unwrap());
        assert_eq!(day_of(midnight + DAY_MICROS - 1), d);
        assert_eq!(day_of(0), NaiveDate::from_ymd_opt(1970, 1, 1).unwrap());
    }
}
