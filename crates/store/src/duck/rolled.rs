//! Roll-up rows already read, kept until the roll-ups next change.
//!
//! A dashboard asks the same questions of the same closed days all day:
//! every card, every person looking at it, every refresh. Summing a month
//! of daily rows per page is most of what such an answer costs, and those
//! rows change only when a day is rolled up, replaced, imported or deleted
//! by retention. Only this process writes the file (one writer per data
//! directory), so each of those writes moves the store to a new
//! generation ([`Rolled::changed`], after its commit), and a read is kept
//! under the generation it began in: a read that overlapped a write is
//! kept under a generation no one asks for again, and ages out.
//!
//! The rows hold no visitor ids, only the daily totals any reader of the
//! roll-ups may see; every question still passes the gate before it gets
//! here. ClickHouse keeps no such copy: other servers may write its tables.

use crate::rollup::RollupRow;
use chrono::NaiveDate;
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Most rows kept, over every read (about 250 bytes each, 50 MiB): the page rows
/// of a few dashboards' periods.
const MAX_ROWS: u64 = 200_000;

/// What was read: (generation, site, first day, day after the last, dim, summed).
type Key = (u64, String, NaiveDate, NaiveDate, String, bool);

#[derive(Clone)]
struct ByRows;

impl Weighter<Key, Arc<Vec<RollupRow>>> for ByRows {
    fn weight(&self, _: &Key, rows: &Arc<Vec<RollupRow>>) -> u64 {
        rows.len() as u64 + 1
    }
}

/// The kept reads.
pub(super) struct Rolled {
    generation: AtomicU64,
    kept: Cache<Key, Arc<Vec<RollupRow>>, ByRows>,
}

impl Rolled {
    pub(super) fn new() -> Rolled {
        Rolled {
            generation: AtomicU64::new(0),
            // One shard: an entry must fit in a shard, and a month of a
            // large site's pages is tens of thousands of rows.
            kept: Cache::with_options(
                OptionsBuilder::new()
                    .estimated_items_capacity(256)
                    .weight_capacity(MAX_ROWS)
                    .shards(1)
                    .build()
                    .expect("valid cache options"),
                ByRows,
                Default::default(),
                Default::default(),
            ),
        }
    }

    /// The rows of a read, from the copy kept or from `read` (then kept).
    pub(super) fn get_or_read<E>(
        &self,
        (site, from, until, dim, summed): (&str, NaiveDate, NaiveDate, &str, bool),
        read: impl FnOnce() -> Result<Vec<RollupRow>, E>,
    ) -> Result<Vec<RollupRow>, E> {
        let generation = self.generation.load(Ordering::SeqCst);
        let key = (
            generation,
            site.to_string(),
            from,
            until,
            dim.to_string(),
            summed,
        );
        if let Some(rows) = self.kept.get(&key) {
            return Ok(rows.as_ref().clone());
        }
        let rows = read()?;
        self.kept.insert(key, Arc::new(rows.clone()));
        Ok(rows)
    }

    /// Called after every commit that may have changed a roll-up table
    /// (and after one that failed): reads from now on are read afresh.
    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_read_is_kept_until_a_change_even_a_large_one() {
        let rolled = Rolled::new();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
        let reads = Cell::new(0);
        let rows = |n: usize| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>(vec![RollupRow::zero("a.example", day, "page", "/"); n])
        };
        let key = (
            "a.example",
            day,
            day + chrono::Duration::days(30),
            "page",
            true,
        );
        for _ in 0..3 {
            assert_eq!(
                rolled.get_or_read(key, || rows(100_000)).unwrap().len(),
                100_000
            );
        }
        assert_eq!(reads.get(), 1, "a month of a large site's pages is kept");
        rolled.changed();
        rolled.get_or_read(key, || rows(3)).unwrap();
        assert_eq!(rolled.get_or_read(key, || rows(3)).unwrap().len(), 3);
        assert_eq!(reads.get(), 2, "read again after a change, then kept");
        let other = (
            "a.example",
            day,
            day + chrono::Duration::days(7),
            "page",
            true,
        );
        rolled.get_or_read(other, || rows(1)).unwrap();
        assert_eq!(reads.get(), 3, "another period is another read");
    }
}
