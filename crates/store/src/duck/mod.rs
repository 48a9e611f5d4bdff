//! The embedded back end: one DuckDB file in the data directory.
//!
//! Zero set-up is the point: `glasshouse demo` and small installations need
//! nothing but this binary. One writer connection takes the ingest queue's
//! batches (appended as Arrow record batches); a bulk load (`bulk.rs`) is
//! one transaction read by DuckDB's own Arrow scan (`raw.rs`);
//! readers take a connection from a small pool, so dashboards do not wait
//! behind a commit. Extension auto-install and auto-load are off: the server
//! runs offline and loads no code it did not ship with.

mod append;
mod bulk;
mod dialect;
mod raw;
mod rolled;
mod schema;

pub use dialect::DuckDialect;

use crate::journeys::{FunnelRow, Paths};
use crate::questions::{self, Cell, Execute};
use crate::row::AsRow;
use crate::sessions::{JourneyState, SessionState};
use crate::sql::{Dialect, Param, Sql};
use crate::{RollupRow, Row, RowBatch, Store, StoreError, StoredEvent, Totals};
use chrono::{DateTime, Utc};
use duckdb::types::{TimeUnit, Value};
use duckdb::Connection;
use glasshouse_model::journey::{FunnelQuery, PathQuery};
use glasshouse_model::query::{Dimension, Interval, Query};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "glasshouse.duckdb";

/// Takes one (site, day) out of `rollup_fresh`: bound to the site and the
/// day as `YYYY-MM-DD`.
const UNMARK_FRESH: &str = "DELETE FROM rollup_fresh WHERE site = $1 AND day = CAST($2 AS DATE)";

/// The database's name in SQL, which DuckDB takes from the file's.
const CATALOG: &str = "glasshouse";

/// Readers kept open. A served answer over fresh roll-ups reads with up to
/// six at once (`beside`: the raw part and its engagement, the roll-ups,
/// the three statements of the live correction), and the dashboard asks
/// for its cards together; a reader beyond these is cloned from the
/// writer, which waits for the writer's lock.
const READERS: usize = 12;

/// The table of fresh days (`crate::fresh`); a day is listed only while its
/// roll-up holds every raw event of it.
const FRESH_TABLE: &str = "
CREATE TABLE IF NOT EXISTS rollup_fresh (
    site VARCHAR NOT NULL,
    day  DATE    NOT NULL
);
";

/// The DuckDB store.
pub struct DuckStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    fresh: crate::fresh::Freshness,
    /// Roll-up reads kept until the roll-ups change.
    rolled: rolled::Rolled,
    /// The events table's columns in the file's order.
    order: Vec<String>,
    /// The database handle; last, so that it closes after the connections.
    raw: raw::RawDb,
}

impl std::fmt::Debug for DuckStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckStore")
            .field("path", &self.path)
            .finish()
    }
}

fn db_err(e: duckdb::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Runs the migrations from the file's recorded version to
/// [`crate::SCHEMA_VERSION`], each with its version in one transaction;
/// refuses a file of a newer version.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(schema::CREATE_VERSION).map_err(db_err)?;
    let found: Option<u32> = conn
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .map_err(db_err)?;
    let found = found.unwrap_or(0);
    if found > crate::SCHEMA_VERSION {
        return Err(StoreError::Newer {
            found,
            known: crate::SCHEMA_VERSION,
        });
    }
    for v in found..crate::SCHEMA_VERSION {
        let step = format!(
            "BEGIN TRANSACTION;\n{}\nDELETE FROM schema_version;\nINSERT INTO schema_version VALUES ({});\nCOMMIT;",
            schema::migration(v + 1),
            v + 1
        );
        conn.execute_batch(&step).map_err(db_err)?;
    }
    Ok(())
}

impl DuckStore {
    /// Opens (creating if needed) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<DuckStore, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let raw = raw::RawDb::open(
            &path,
            &[
                ("duckdb_api", "rust"),
                ("autoinstall_known_extensions", "false"),
                ("autoload_known_extensions", "false"),
                ("enable_external_access", "false"),
                // Checkpoints rewrite and compress the table; with DuckDB's 16 MB
                // default they happen every few seconds under load and stall the
                // commit that triggers them. The log is replayed at start either way.
                ("checkpoint_threshold", "256MB"),
            ],
        )?;
        let writer = raw.connection()?;
        writer.execute_batch(&schema::create()).map_err(db_err)?;
        writer
            .execute_batch(&schema::create_rollup())
            .map_err(db_err)?;
        writer
            .execute_batch(schema::CREATE_WAL_MARK)
            .map_err(db_err)?;
        writer.execute_batch(FRESH_TABLE).map_err(db_err)?;
        // After every table exists: a step may change any of them.
        migrate(&writer)?;
        let newest: Option<i64> = writer
            .query_row("SELECT epoch_us(max(ts)) FROM events", [], |r| r.get(0))
            .map_err(db_err)?;
        let order = {
            let mut stmt = writer
                .prepare("SELECT name FROM pragma_table_info('events') ORDER BY cid")
                .map_err(db_err)?;
            let names = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?;
            names.collect::<Result<Vec<_>, _>>().map_err(db_err)?
        };
        let readers = (0..READERS)
            .map(|_| writer.try_clone())
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        Ok(DuckStore {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
            fresh: crate::fresh::Freshness::new(newest.map(crate::fresh::day_of)),
            rolled: rolled::Rolled::new(),
            order,
            raw,
        })
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => self
                .writer
                .lock()
                .expect("writer")
                .try_clone()
                .map_err(db_err)?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }
}

impl Execute for DuckStore {
    fn dialect(&self) -> &dyn Dialect {
        &DuckDialect
    }

    fn cells(&self, sql: &Sql) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&sql.text).map_err(db_err)?;
            let mut rows = stmt
                .query(duckdb::params_from_iter(sql.params.iter().map(to_value)))
                .map_err(db_err)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_err)? {
                let n = row.as_ref().column_count();
                let cells = (0..n)
                    .map(|i| row.get::<_, Value>(i).map(cell))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db_err)?;
                out.push(cells);
            }
            Ok(out)
        })
    }
}

/// A DuckDB value as the shared questions read it.
fn cell(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Boolean(b) => Cell::Int(i64::from(b)),
        Value::TinyInt(i) => Cell::Int(i.into()),
        Value::SmallInt(i) => Cell::Int(i.into()),
        Value::Int(i) => Cell::Int(i.into()),
        Value::BigInt(i) => Cell::Int(i),
        Value::HugeInt(i) => Cell::Int(i.clamp(i64::MIN.into(), i64::MAX.into()) as i64),
        Value::UTinyInt(i) => Cell::Int(i.into()),
        Value::USmallInt(i) => Cell::Int(i.into()),
        Value::UInt(i) => Cell::Int(i.into()),
        Value::UBigInt(i) => Cell::Int(i as i64),
        Value::Float(f) => Cell::Float(f.into()),
        Value::Double(f) => Cell::Float(f),
        Value::Timestamp(_, us) => Cell::Int(us),
        Value::Text(s) => Cell::Text(s),
        other => Cell::Text(format!("{other:?}")),
    }
}

fn to_value(p: &Param) -> Value {
    match p {
        Param::Text(s) => Value::Text(s.clone()),
        Param::Time(t) => Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros()),
        Param::Int(i) => Value::BigInt(*i),
    }
}

fn micros(t: DateTime<Utc>) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

impl DuckStore {
    /// Writes batches of rows through one appender in one transaction: all
    /// of them or none. With `mark`, the write-ahead log's position is
    /// committed in the same transaction; rows on closed days take their
    /// day's fresh mark away in it too (`fresh.rs`).
    fn write<T: AsRow>(&self, batches: &[&[T]], mark: Option<u64>) -> Result<(), StoreError> {
        let record_batch = if batches.iter().any(|b| !b.is_empty()) {
            Some(append::record_batch_in(batches, &self.order).map_err(arrow_err)?)
        } else {
            None
        };
        if record_batch.is_none() && mark.is_none() {
            return Ok(());
        }
        let conn = self.writer.lock().expect("writer");
        let (late, newest) = self.fresh.late_in(batches.iter().copied());
        let append = |conn: &Connection| -> Result<(), StoreError> {
            let mut app = conn.appender("events").map_err(db_err)?;
            if let Some(batch) = record_batch {
                app.append_record_batch(batch).map_err(db_err)?;
            }
            app.flush().map_err(db_err)
        };
        if mark.is_none() && late.is_empty() {
            // One appender flush is one transaction already.
            append(&conn)?;
            self.fresh.stored(newest, false);
            return Ok(());
        }
        // Prepared once: DuckDB parses every statement it is sent afresh.
        conn.prepare_cached("BEGIN TRANSACTION")
            .and_then(|mut s| s.execute([]))
            .map_err(db_err)?;
        let written = (|| {
            append(&conn)?;
            if let Some(seq) = mark {
                conn.prepare_cached("UPDATE wal_mark SET seq = ?")
                    .and_then(|mut s| s.execute(duckdb::params![seq]))
                    .map_err(db_err)?;
            }
            for (site, day) in &late {
                conn.execute(UNMARK_FRESH, duckdb::params![site, day.to_string()])
                    .map_err(db_err)?;
            }
            conn.prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
                .map(|_| ())
                .map_err(db_err)
        })();
        match written {
            Ok(()) => self.fresh.stored(newest, !late.is_empty()),
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        written
    }
}

impl DuckStore {
    /// Runs `write` in a transaction of the writer and commits it. Every
    /// change to the roll-up tables goes through here, so that the reads
    /// kept of them are dropped (`rolled.rs`).
    fn write_rollups<T>(
        &self,
        write: impl FnOnce(&duckdb::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock().expect("writer");
        let out = conn.transaction().map_err(db_err).and_then(|tx| {
            let out = write(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        });
        self.rolled.changed();
        out
    }

    /// Roll-up rows from `sql`, which takes (site, from, until, dim) and
    /// selects the table's columns in order, the day as `YYYY-MM-DD`.
    fn rollup_rows(
        &self,
        sql: &str,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(sql).map_err(db_err)?;
            let rows = stmt
                .query_map(
                    duckdb::params![site, from.to_string(), until.to_string(), dim],
                    |r| {
                        let day: String = r.get(1)?;
                        Ok(RollupRow {
                            site: r.get(0)?,
                            day: chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                                .unwrap_or_default(),
                            dim: r.get(2)?,
                            value: r.get(3)?,
                            visitors: r.get(4)?,
                            visits: r.get(5)?,
                            pageviews: r.get(6)?,
                            events: r.get(7)?,
                            bounces: r.get(8)?,
                            duration_sum: r.get(9)?,
                            engaged: r.get(10)?,
                            scroll_sum: r.get(11)?,
                            engaged_seconds: r.get(12)?,
                        })
                    },
                )
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }
}

/// Replaces one day's roll-up of a site inside `tx`.
fn put_rollup(
    tx: &duckdb::Transaction<'_>,
    site: &str,
    day: chrono::NaiveDate,
    rows: &[RollupRow],
) -> Result<(), StoreError> {
    delete_rollups(tx, site, Some(day), day + chrono::Duration::days(1))?;
    append_rollup(tx, rows)
}

/// Deletes `site`'s roll-ups of days in `[from, until)` (every day before
/// `until` without `from`) from every roll-up table inside `tx`; returns
/// how many rows went.
fn delete_rollups(
    tx: &duckdb::Transaction<'_>,
    site: &str,
    from: Option<chrono::NaiveDate>,
    until: chrono::NaiveDate,
) -> Result<u64, StoreError> {
    let from = from.unwrap_or(crate::rollup::all_days().0);
    let mut deleted = 0;
    for table in schema::ROLLUP_TABLES {
        deleted += tx
            .execute(
                &format!("DELETE FROM {table} WHERE site = $1 AND day >= CAST($2 AS DATE) AND day < CAST($3 AS DATE)"),
                duckdb::params![site, from.to_string(), until.to_string()],
            )
            .map_err(db_err)? as u64;
    }
    Ok(deleted)
}

/// Appends roll-up rows inside `tx`, each to its property's table.
fn append_rollup(tx: &duckdb::Transaction<'_>, rows: &[RollupRow]) -> Result<(), StoreError> {
    for table in schema::ROLLUP_TABLES {
        let rows = rows
            .iter()
            .filter(|r| schema::rollup_table(&r.dim) == table);
        append_rollup_to(tx, table, rows)?;
    }
    Ok(())
}

fn append_rollup_to<'a>(
    tx: &duckdb::Transaction<'_>,
    table: &str,
    rows: impl Iterator<Item = &'a RollupRow>,
) -> Result<(), StoreError> {
    let mut app = tx.appender(table).map_err(db_err)?;
    for r in rows {
        app.append_row(duckdb::params![
            r.site,
            r.day.to_string(),
            r.dim,
            r.value,
            r.visitors,
            r.visits,
            r.pageviews,
            r.events,
            r.bounces,
            r.duration_sum,
            r.engaged,
            r.scroll_sum,
            r.engaged_seconds
        ])
        .map_err(db_err)?;
    }
    app.flush().map_err(db_err)
}

fn arrow_err(e: duckdb::arrow::error::ArrowError) -> StoreError {
    StoreError::Database(e.to_string())
}

impl Store for DuckStore {
    fn append(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        self.write(&[events], None)
    }

    fn append_rows(&self, batches: &[RowBatch]) -> Result<(), StoreError> {
        let rows: Vec<&[Row]> = batches.iter().map(|b| b.rows.as_slice()).collect();
        self.write(&rows, None)
    }

    fn bulk_load(&self) -> Result<Box<dyn crate::BulkLoad + '_>, StoreError> {
        Ok(Box::new(bulk::DuckBulk::begin(self)?))
    }

    fn append_logged(&self, batches: &[RowBatch], through: u64) -> Result<(), StoreError> {
        let rows: Vec<&[Row]> = batches.iter().map(|b| b.rows.as_slice()).collect();
        self.write(&rows, Some(through))
    }

    fn logged_through(&self) -> Result<u64, StoreError> {
        let conn = self.writer.lock().expect("writer");
        let seq: Option<u64> = conn
            .query_row("SELECT max(seq) FROM wal_mark", [], |r| r.get(0))
            .map_err(db_err)?;
        Ok(seq.unwrap_or(0))
    }

    fn aggregate(&self, q: &Query) -> Result<Totals, StoreError> {
        questions::aggregate(self, q)
    }

    fn timeseries(
        &self,
        q: &Query,
        interval: Interval,
    ) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
        questions::timeseries(self, q, interval)
    }

    fn breakdown(
        &self,
        q: &Query,
        by: &Dimension,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<(String, Totals)>, StoreError> {
        questions::breakdown(self, q, by, limit, offset)
    }

    fn current_visitors(&self, site: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        questions::current_visitors(self, site, since)
    }

    fn recent_sessions(&self, since: DateTime<Utc>) -> Result<Vec<SessionState>, StoreError> {
        questions::recent_sessions(self, since)
    }

    fn recent_journeys(&self, since: DateTime<Utc>) -> Result<Vec<JourneyState>, StoreError> {
        questions::recent_journeys(self, since)
    }

    fn paths(&self, q: &PathQuery) -> Result<Paths, StoreError> {
        questions::paths(self, q)
    }

    fn funnel(&self, q: &FunnelQuery) -> Result<Vec<FunnelRow>, StoreError> {
        questions::funnel(self, q)
    }

    fn delete_before(&self, site: &str, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let conn = self.writer.lock().expect("writer");
        // Days whose raw events are gone are answered by the aggregate
        // tier, no longer as a stand-in for raw events.
        conn.execute(
            "DELETE FROM rollup_fresh WHERE site = $1 AND day < CAST($2 AS DATE)",
            duckdb::params![site, cutoff.date_naive().to_string()],
        )
        .map_err(db_err)?;
        conn.execute(
            "DELETE FROM events WHERE site = $1 AND ts < $2",
            duckdb::params![site, micros(cutoff)],
        )
        .map(|n| n as u64)
        .map_err(db_err)
    }

    fn scan_rows(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Row)>, StoreError> {
        let columns: Vec<String> = crate::row::sql_columns()
            .into_iter()
            .map(|(_, c)| c.name)
            .collect();
        let statement = format!(
            "SELECT rowid, {} FROM events WHERE rowid > $1 ORDER BY rowid LIMIT $2",
            columns.join(", ")
        );
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(&statement).map_err(db_err)?;
            let after = after.map(|a| a as i64).unwrap_or(-1);
            let rows = stmt
                .query_map(duckdb::params![after, limit as i64], |r| {
                    let mut row = Row::read_duck(r, 1)?;
                    if row.journey_id == 0 {
                        // Rows from before journeys were stored: a visit each.
                        row.journey_id = row.session_id;
                    }
                    Ok((r.get::<_, i64>(0)? as u64, row))
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn oldest_event(
        &self,
        site: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.with_reader(|conn| {
            conn.query_row(
                "SELECT epoch_us(min(ts)) FROM events WHERE site = $1",
                duckdb::params![site],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(db_err)
            .map(|t| t.and_then(chrono::DateTime::from_timestamp_micros))
        })
    }

    fn replace_rollup(
        &self,
        site: &str,
        day: chrono::NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        self.write_rollups(|tx| put_rollup(tx, site, day, rows))
    }

    fn replace_rollup_days(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        self.write_rollups(|tx| {
            delete_rollups(tx, site, Some(from), until)?;
            append_rollup(tx, rows)
        })
    }

    fn replace_fresh_rollup(
        &self,
        site: &str,
        day: chrono::NaiveDate,
        rows: &[RollupRow],
        seen: u64,
    ) -> Result<bool, StoreError> {
        self.write_rollups(|tx| {
            // Under the writer's lock no row can arrive between this check
            // and the commit.
            if self.fresh.late_writes() != seen || self.fresh.newest().is_none_or(|n| day >= n) {
                return Ok(false);
            }
            put_rollup(tx, site, day, rows)?;
            tx.execute(UNMARK_FRESH, duckdb::params![site, day.to_string()])
                .map_err(db_err)?;
            tx.execute(
                "INSERT INTO rollup_fresh VALUES ($1, CAST($2 AS DATE))",
                duckdb::params![site, day.to_string()],
            )
            .map_err(db_err)?;
            Ok(true)
        })
    }

    fn fresh_rollup_days(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
    ) -> Result<Vec<chrono::NaiveDate>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT DISTINCT strftime(day, '%Y-%m-%d') AS d FROM rollup_fresh \
                     WHERE site = $1 AND day >= CAST($2 AS DATE) AND day < CAST($3 AS DATE) ORDER BY d",
                )
                .map_err(db_err)?;
            let days = stmt
                .query_map(
                    duckdb::params![site, from.to_string(), until.to_string()],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db_err)?;
            days.map(|d| {
                d.map_err(db_err).map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").unwrap_or_default()
                })
            })
            .collect()
        })
    }

    fn forget_fresh(&self, site: &str) -> Result<(), StoreError> {
        let conn = self.writer.lock().expect("writer");
        conn.execute(
            "DELETE FROM rollup_fresh WHERE site = $1",
            duckdb::params![site],
        )
        .map(|_| ())
        .map_err(db_err)
    }

    fn set_zones(&self, zones: &[(String, glasshouse_model::query::Tz)]) {
        self.fresh.set_zones(zones);
    }

    fn closed_before(&self) -> Result<Option<chrono::NaiveDate>, StoreError> {
        Ok(self.fresh.newest())
    }

    fn late_writes(&self) -> u64 {
        self.fresh.late_writes()
    }

    fn read_rollup(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let read = (site, from, until, dim, false);
        self.rolled.get_or_read(read, || self.rollup_rows(
            &format!("SELECT site, strftime(day, '%Y-%m-%d'), dim, value, visitors, visits, pageviews, events, bounces, duration_sum, \
             engaged, scroll_sum, engaged_seconds \
             FROM {} WHERE site = $1 AND day >= CAST($2 AS DATE) AND day < CAST($3 AS DATE) AND dim = $4 ORDER BY day, value", schema::rollup_table(dim)),
            site,
            from,
            until,
            dim,
        ))
    }

    fn read_rollup_summed(
        &self,
        site: &str,
        from: chrono::NaiveDate,
        until: chrono::NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let read = (site, from, until, dim, true);
        // Counts are summed as BIGINT: DuckDB sums UBIGINT into 128-bit
        // integers, which made a month of page rows a third slower to sum.
        self.rolled.get_or_read(read, || self.rollup_rows(
            &format!("SELECT $1, $2, $4, value, sum(visitors::BIGINT)::UBIGINT, sum(visits::BIGINT)::UBIGINT, sum(pageviews::BIGINT)::UBIGINT, sum(events::BIGINT)::UBIGINT, sum(bounces::BIGINT)::UBIGINT, sum(duration_sum), \
             sum(engaged::BIGINT)::UBIGINT, sum(scroll_sum), sum(engaged_seconds) \
             FROM {} WHERE site = $1 AND day >= CAST($2 AS DATE) AND day < CAST($3 AS DATE) AND dim = $4 GROUP BY value ORDER BY value", schema::rollup_table(dim)),
            site,
            from,
            until,
            dim,
        ))
    }

    fn delete_rollup_before(&self, site: &str, day: chrono::NaiveDate) -> Result<u64, StoreError> {
        self.write_rollups(|tx| delete_rollups(tx, site, None, day))
    }

    fn count(&self) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(db_err)
        })
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        self.writer
            .lock()
            .expect("writer")
            .execute_batch("CHECKPOINT")
            .map_err(db_err)
    }

    fn hold_writes(
        &self,
        copy: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let writer = self.writer.lock().expect("writer");
        writer.execute_batch("CHECKPOINT").map_err(db_err)?;
        copy()
    }
}
