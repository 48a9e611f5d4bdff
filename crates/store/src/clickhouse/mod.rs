//! The scale-out back end: a ClickHouse server (or cluster) over its HTTP
//! interface.
//!
//! The same statements as DuckDB's, from `sql.rs` and `journeys.rs` through
//! [`ClickHouseDialect`], pass two rewrites before they are sent:
//! common table expressions become nested sub-queries (`cte.rs`; ClickHouse
//! before 20.x has no CTEs), then each `$n` placeholder becomes an escaped
//! literal (`params.rs`; 18.16 has no server-side parameters). Answers come
//! back as `JSONCompact`. Tested against ClickHouse 18.16 (Debian's
//! package); the SQL is also what current versions accept.
//!
//! Every call blocks its thread on a `reqwest` blocking client, like the
//! DuckDB store blocks on its file: the server calls the store from
//! `spawn_blocking`, the ingest queue from its own thread.
//!
//! Error messages are cut before anything the server quotes back from a
//! statement, so they never carry values that came from events or queries.

mod append;
pub mod cte;
mod dialect;
mod fresh;
pub mod params;
mod rollup;
pub mod schema;

pub use dialect::ClickHouseDialect;
pub use schema::Layout;

use crate::journeys::{FunnelRow, Paths};
use crate::questions::{self, Cell, Execute};
use crate::row::AsRow;
use crate::sessions::{JourneyState, SessionState};
use crate::sql::{Dialect, Param, Sql};
use crate::{RollupRow, RowBatch, Store, StoreError, StoredEvent, Totals};
use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_model::journey::{FunnelQuery, PathQuery};
use glasshouse_model::query::{Dimension, Interval, Query};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

/// Where the server is and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// Base URL of the HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding the `events` table; created when missing.
    pub database: String,
    /// User name (ClickHouse's `default` when empty).
    pub user: String,
    /// Password of that user.
    pub password: String,
    /// Cluster name: replicated local tables behind a `Distributed` table.
    pub cluster: Option<String>,
    /// Longest a statement may take.
    pub timeout: Duration,
}

/// Written by hand so the password is never printed.
impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClickHouseConfig {
    /// A server at `url` (`http://host:port`), database `database`, user `default`.
    pub fn new(url: &str, database: &str) -> ClickHouseConfig {
        ClickHouseConfig {
            url: url.trim_end_matches('/').to_string(),
            database: database.to_string(),
            user: String::new(),
            password: String::new(),
            cluster: None,
            timeout: Duration::from_secs(120),
        }
    }

    /// Reads `clickhouse://[user[:password]@]host:port/database[?cluster=name]`,
    /// the form the command line takes (`--store`), over the HTTP interface.
    /// TLS is not built in (it would add a second TLS stack to the binary):
    /// reach ClickHouse over a private network or a local TLS tunnel.
    pub fn from_url(s: &str) -> Result<ClickHouseConfig, StoreError> {
        let bad = |why: &str| StoreError::Database(format!("invalid ClickHouse address: {why}"));
        let url = reqwest::Url::parse(s).map_err(|_| bad("not a URL"))?;
        let scheme = match url.scheme() {
            "clickhouse" | "http" => "http",
            _ => return Err(bad("the scheme must be clickhouse:// (plain HTTP)")),
        };
        let host = url.host_str().ok_or_else(|| bad("no host"))?;
        let port = url.port().unwrap_or(8123);
        let database = url.path().trim_matches('/');
        let database = if database.is_empty() {
            "glasshouse"
        } else {
            database
        };
        let mut config = ClickHouseConfig::new(&format!("{scheme}://{host}:{port}"), database);
        config.user = percent_decoded(url.username());
        config.password = percent_decoded(url.password().unwrap_or_default());
        for (k, v) in url.query_pairs() {
            if k == "cluster" {
                config.cluster = Some(v.into_owned());
            }
        }
        Ok(config)
    }
}

/// `s` with `%XX` escapes decoded (user names and passwords in a URL).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Roll-up rows from statements answering the columns of `rollup::read_sql`.
fn rollup_rows(rows: Vec<Vec<Value>>) -> Vec<RollupRow> {
    rows.iter()
        .map(|r| RollupRow {
            site: text(cell(r, 0)),
            day: NaiveDate::parse_from_str(&text(cell(r, 1)), "%Y-%m-%d").unwrap_or_default(),
            dim: text(cell(r, 2)),
            value: text(cell(r, 3)),
            visitors: count(cell(r, 4)),
            visits: count(cell(r, 5)),
            pageviews: count(cell(r, 6)),
            events: count(cell(r, 7)),
            bounces: count(cell(r, 8)),
            duration_sum: float(cell(r, 9)).unwrap_or(0.0),
            engaged: count(cell(r, 10)),
            scroll_sum: float(cell(r, 11)).unwrap_or(0.0),
            engaged_seconds: float(cell(r, 12)).unwrap_or(0.0),
        })
        .collect()
}

/// The ClickHouse store.
pub struct ClickHouseStore {
    config: ClickHouseConfig,
    layout: Layout,
    http: reqwest::blocking::Client,
    schema: SchemaState,
    /// The newest stored day, known once the tables are (`crate::fresh`).
    freshness: std::sync::OnceLock<crate::fresh::Freshness>,
    /// Each site's time zone, handed to `freshness` once it exists.
    zones: std::sync::RwLock<Vec<(String, glasshouse_model::query::Tz)>>,
}

/// Whether the tables have been created, and a lock so they are created by
/// one caller at a time.
#[derive(Default)]
struct SchemaState {
    ready: AtomicBool,
    creating: std::sync::Mutex<()>,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Most bytes of a statement; inlined CTEs of a long funnel grow past
/// ClickHouse's default of 256 KiB.
const MAX_QUERY_SIZE: usize = 16 << 20;

/// Roll-up rows sent in one insert when many days are written at once
/// (about 20 MB of `JSONEachRow`).
const ROLLUP_ROWS_PER_INSERT: usize = 100_000;

fn db_err(what: &str) -> StoreError {
    StoreError::Database(what.to_string())
}

/// The server's message, without the statement text some messages quote
/// ("failed at position …: <statement>") and without the stack trace.
fn server_message(status: u16, body: &str) -> StoreError {
    let mut msg = body.lines().next().unwrap_or_default().to_string();
    for cut in [", e.what()", "failed at position", "Stack trace"] {
        if let Some(i) = msg.find(cut) {
            msg.truncate(i);
        }
    }
    let msg: String = msg.chars().take(300).collect();
    StoreError::Database(format!("ClickHouse answered {status}: {}", msg.trim()))
}

/// Longest a process waits for another to finish a schema migration.
const MIGRATION_WAIT: Duration = Duration::from_secs(30 * 60);

impl ClickHouseStore {
    /// Connects, checks the server answers, and creates the database and
    /// table when missing.
    pub fn open(config: ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        if !schema::valid_identifier(&config.database) {
            return Err(db_err("the database name must be letters, digits and _"));
        }
        let layout = match &config.cluster {
            Some(c) if !schema::valid_identifier(c) => {
                return Err(db_err("the cluster name must be letters, digits and _"))
            }
            Some(c) => Layout::Cluster(c.clone()),
            None => Layout::Single,
        };
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.timeout)
            .build()
            .map_err(|e| StoreError::Database(format!("HTTP client: {e}")))?;
        let store = ClickHouseStore {
            config,
            layout,
            http,
            schema: Default::default(),
            freshness: Default::default(),
            zones: Default::default(),
        };
        match store.ensure_schema() {
            // Down for now: the collector still starts, logging events
            // locally, and the first statement that reaches the server
            // creates the tables.
            Ok(()) | Err(StoreError::Unreachable(_)) => Ok(store),
            Err(e) => Err(e),
        }
    }

    /// Creates the database and tables once, when missing.
    fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.schema.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let _one_at_a_time = self
            .schema
            .creating
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if self.schema.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Layout::Cluster(cluster) = &self.layout {
            self.check_cluster(cluster)?;
        }
        let mut ddl = schema::create(&self.config.database, &self.layout);
        ddl.extend(rollup::create(&self.config.database, &self.layout));
        ddl.extend(fresh::create(&self.config.database, &self.layout));
        ddl.extend(schema::create_version(&self.config.database, &self.layout));
        for ddl in ddl {
            self.send(&ddl, None, false)?;
        }
        self.migrate()?;
        let answer: Value = serde_json::from_str(&self.send(
            &format!("{} FORMAT JSONCompact", fresh::NEWEST_DAY),
            None,
            true,
        )?)
        .map_err(|_| db_err("ClickHouse sent an answer that is not JSON"))?;
        let row = &answer["data"][0];
        let newest = (count(&row[0]) > 0)
            .then(|| crate::fresh::day_of(int(&row[1]).saturating_mul(86_400_000_000)));
        let fresh = crate::fresh::Freshness::new(newest);
        fresh.set_zones(&self.zones.read().unwrap_or_else(|e| e.into_inner()));
        let _ = self.freshness.set(fresh);
        self.schema.ready.store(true, Ordering::Release);
        Ok(())
    }

    /// The version `schema_version` records (0 before any).
    fn recorded_version(&self) -> Result<u32, StoreError> {
        let db = &self.config.database;
        let answer: Value = serde_json::from_str(&self.send(
            &format!("SELECT max(version) FROM {db}.schema_version FORMAT JSONCompact"),
            None,
            true,
        )?)
        .map_err(|_| db_err("ClickHouse sent an answer that is not JSON"))?;
        Ok(u32::try_from(int(&answer["data"][0][0])).unwrap_or(u32::MAX))
    }

    /// Runs the migrations from the recorded version to
    /// [`crate::SCHEMA_VERSION`] (on a cluster, `ON CLUSTER`), recording
    /// each; refuses tables of a newer version. One process migrates: each
    /// step is claimed by creating a table named after it, which only one
    /// `CREATE` can ever do (ClickHouse's DDL queue orders them on a
    /// cluster, and the table is kept); the others wait until the step is
    /// recorded.
    fn migrate(&self) -> Result<(), StoreError> {
        let db = &self.config.database;
        let on_cluster = match &self.layout {
            Layout::Single => String::new(),
            Layout::Cluster(c) => format!("ON CLUSTER {c}"),
        };
        loop {
            let found = self.recorded_version()?;
            if found > crate::SCHEMA_VERSION {
                return Err(StoreError::Newer {
                    found,
                    known: crate::SCHEMA_VERSION,
                });
            }
            if found == crate::SCHEMA_VERSION {
                return Ok(());
            }
            let next = found + 1;
            let claim = format!("{db}.migrating_to_{next}");
            match self.send(
                &format!("CREATE TABLE {claim} {on_cluster} (pid UInt32) ENGINE = Memory"),
                None,
                false,
            ) {
                Ok(_) => {}
                Err(StoreError::Database(e)) if e.contains("already exists") => {
                    self.wait_for_version(next, &claim)?;
                    continue;
                }
                Err(e) => return Err(e),
            }
            for column in schema::added_columns(&self.layout, next) {
                if !self.has_column(column.table, &column.name)? {
                    self.send(&column.statement(db, &self.layout), None, false)?;
                }
            }
            for sql in schema::steps(db, &self.layout, next) {
                self.send(&sql, None, false)?;
            }
            // Into this server's table, synchronously (a `Distributed`
            // insert would reach the shards later).
            let table = schema::local_table(&self.layout, "schema_version");
            self.send(
                &format!("INSERT INTO {db}.{table} (version) VALUES ({next})"),
                None,
                false,
            )?;
            // The claim stays: a process that read the version before it
            // was recorded must not win a new claim and run the step again
            // (the version it then waits for is recorded).
            tracing::info!(version = next, "ClickHouse schema migrated");
        }
    }

    /// Whether this server's `table` has `column` (tables made by this
    /// release have every column; a migration adds them to older ones).
    fn has_column(&self, table: &str, column: &str) -> Result<bool, StoreError> {
        let answer: Value = serde_json::from_str(&self.send(
            &format!(
                "SELECT count() FROM system.columns WHERE database = '{}' AND table = '{table}' AND name = '{column}' FORMAT JSONCompact",
                self.config.database
            ),
            None,
            false,
        )?)
        .map_err(|_| db_err("ClickHouse sent an answer that is not JSON"))?;
        Ok(count(&answer["data"][0][0]) > 0)
    }

    /// Waits while another process runs migration `version`.
    fn wait_for_version(&self, version: u32, claim: &str) -> Result<(), StoreError> {
        tracing::info!(
            version,
            "another process is migrating the ClickHouse schema; waiting"
        );
        let deadline = std::time::Instant::now() + MIGRATION_WAIT;
        while self.recorded_version()? < version {
            if std::time::Instant::now() > deadline {
                return Err(db_err(&format!(
                    "the ClickHouse schema's migration to version {version} has not finished after {} minutes; if no glasshouse process is migrating it, drop the table {claim} (ON CLUSTER) and start again",
                    MIGRATION_WAIT.as_secs() / 60
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    /// What this process knows of closed days; the tables exist once it
    /// answers.
    fn freshness(&self) -> Result<&crate::fresh::Freshness, StoreError> {
        self.ensure_schema()?;
        self.freshness
            .get()
            .ok_or_else(|| db_err("the newest stored day is not known"))
    }

    /// Stores a batch; rows for closed days unmark those days' roll-ups
    /// (see `fresh.rs`), before the insert and again after it.
    fn write_noting<'a, T: AsRow + 'a>(
        &self,
        batch: append::Batch,
        rows: impl IntoIterator<Item = &'a [T]>,
    ) -> Result<(), StoreError> {
        let (late, newest) = self.freshness()?.late_in(rows);
        let unmark = |late: &BTreeSet<(String, NaiveDate)>| {
            let (statement, body) = fresh::mark(late, false, Utc::now().timestamp_micros() as u64);
            self.post(&statement, Some(body), true).map(|_| ())
        };
        if !late.is_empty() {
            unmark(&late)?;
        }
        self.write(batch)?;
        if !late.is_empty() {
            unmark(&late)?;
        }
        self.freshness()?.stored(newest, !late.is_empty());
        Ok(())
    }

    /// Whether the tables are known to exist: false after an open while
    /// the server could not be reached, until it can.
    pub fn schema_ready(&self) -> bool {
        self.schema.ready.load(Ordering::Acquire)
    }

    /// Fails, naming the cluster, when the server's `remote_servers` does not
    /// define it (the DDL would otherwise wait on it until the timeout).
    fn check_cluster(&self, cluster: &str) -> Result<(), StoreError> {
        let sql = Self::statement(&Sql {
            text: "SELECT count() FROM system.clusters WHERE cluster = $1 \
                   FORMAT JSONCompact"
                .into(),
            params: vec![Param::Text(cluster.to_string())],
        })?;
        // Not in the database, which may not exist yet.
        let answer: Value = serde_json::from_str(&self.send(&sql, None, false)?)
            .map_err(|_| db_err("ClickHouse sent an answer that is not JSON"))?;
        let row = &answer["data"][0];
        match count(&row[0]) {
            n if n > 0 => Ok(()),
            _ => Err(db_err(&format!(
                "the cluster {cluster} is not in the server's remote_servers configuration"
            ))),
        }
    }

    /// The server's version, e.g. `18.16.1`.
    pub fn server_version(&self) -> Result<String, StoreError> {
        let rows = self.select(&Sql {
            text: "SELECT version()".into(),
            params: vec![],
        })?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .map(text)
            .unwrap_or_default())
    }

    /// Sends one statement. With `data`, the statement goes in the URL and
    /// the data in the body (an insert); otherwise the statement is the body.
    fn post(
        &self,
        statement: &str,
        data: Option<String>,
        in_db: bool,
    ) -> Result<String, StoreError> {
        self.ensure_schema()?;
        self.send(statement, data, in_db)
    }

    /// [`Self::post`] without first making sure the tables exist.
    fn send(
        &self,
        statement: &str,
        data: Option<String>,
        in_db: bool,
    ) -> Result<String, StoreError> {
        let mut query: Vec<(&str, String)> = vec![
            ("join_use_nulls", "1".into()),
            ("max_query_size", MAX_QUERY_SIZE.to_string()),
        ];
        if in_db {
            query.push(("database", self.config.database.clone()));
        }
        if matches!(self.layout, Layout::Cluster(_)) {
            // An insert into a Distributed table is otherwise queued locally
            // and acknowledged before any shard has it.
            query.push(("insert_distributed_sync", "1".into()));
            // Inserts and questions go to the first healthy replica of each
            // shard, so a question counts what was just written even before
            // the other replicas have fetched it.
            query.push(("load_balancing", "in_order".into()));
            // A sub-query over `events` inside a query the shards run is
            // computed once, on the server asked, and sent to every shard
            // (`GLOBAL IN`): right whatever it is keyed by (a breakdown's top
            // values are not per shard) and whatever a planner pushes down.
            query.push(("distributed_product_mode", "global".into()));
        }
        let body = match data {
            Some(d) => {
                query.push(("query", statement.to_string()));
                d
            }
            None => statement.to_string(),
        };
        let mut req = self
            .http
            .post(format!("{}/", self.config.url))
            .query(&query)
            .body(body);
        if !self.config.user.is_empty() {
            req = req.basic_auth(&self.config.user, Some(&self.config.password));
        }
        let resp = req
            .send()
            .map_err(|e| StoreError::Unreachable(format!("ClickHouse: {}", e.without_url())))?;
        let status = resp.status();
        let text = resp
            .text()
            .map_err(|e| StoreError::Database(format!("ClickHouse answer: {}", e.without_url())))?;
        if !status.is_success() {
            return Err(server_message(status.as_u16(), &text));
        }
        Ok(text)
    }

    /// The final text of a generated statement: CTEs inlined, then bound.
    fn statement(sql: &Sql) -> Result<String, StoreError> {
        let text = cte::inline(&sql.text).map_err(|e| StoreError::Database(e.to_string()))?;
        params::bind(&Sql {
            text,
            params: sql.params.clone(),
        })
        .map_err(|e| StoreError::Database(e.to_string()))
    }

    /// Runs a query; rows of JSON values.
    fn select(&self, sql: &Sql) -> Result<Vec<Vec<Value>>, StoreError> {
        let text = format!("{} FORMAT JSONCompact", Self::statement(sql)?);
        let answer = self.post(&text, None, true)?;
        let mut doc: Value = serde_json::from_str(&answer)
            .map_err(|_| db_err("ClickHouse sent an answer that is not JSON"))?;
        match doc.get_mut("data").map(Value::take) {
            Some(Value::Array(rows)) => Ok(rows
                .into_iter()
                .map(|r| match r {
                    Value::Array(cells) => cells,
                    other => vec![other],
                })
                .collect()),
            _ => Err(db_err("ClickHouse sent an answer without rows")),
        }
    }

    /// Runs a statement that returns nothing.
    fn execute(&self, sql: &Sql) -> Result<(), StoreError> {
        self.post(&Self::statement(sql)?, None, true).map(|_| ())
    }

    /// Deletes the rows of `table` matching `condition` (a mutation) and
    /// waits until it has been applied, so they are gone on return.
    fn delete_where(
        &self,
        table: &str,
        condition: &str,
        params: Vec<Param>,
    ) -> Result<(), StoreError> {
        self.execute(&Sql {
            text: schema::delete(&self.config.database, &self.layout, table, condition),
            params,
        })?;
        self.wait_for_mutations(table)
    }

    /// Waits until the mutations of `table` have been applied.
    fn wait_for_mutations(&self, table: &str) -> Result<(), StoreError> {
        let started = Instant::now();
        let sql = Sql {
            text: "SELECT count() FROM system.mutations WHERE database = $1 AND table = $2 AND is_done = 0"
                .into(),
            params: vec![
                Param::Text(self.config.database.clone()),
                Param::Text(schema::local_table(&self.layout, table)),
            ],
        };
        loop {
            let pending = self
                .select(&sql)?
                .first()
                .and_then(|r| r.first())
                .map(count)
                .unwrap_or(0);
            if pending == 0 {
                return Ok(());
            }
            if started.elapsed() > self.config.timeout {
                return Err(db_err("a deletion is still running in ClickHouse"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// A count: ClickHouse quotes 64-bit integers in JSON.
fn count(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cell(r: &[Value], i: usize) -> &Value {
    r.get(i).unwrap_or(&Value::Null)
}

impl Execute for ClickHouseStore {
    fn dialect(&self) -> &dyn Dialect {
        &ClickHouseDialect
    }

    fn cells(&self, sql: &Sql) -> Result<Vec<Vec<Cell>>, StoreError> {
        Ok(self
            .select(sql)?
            .into_iter()
            .map(|r| r.into_iter().map(cell_of).collect())
            .collect())
    }
}

/// A JSON value of ClickHouse's answer as the shared questions read it.
fn cell_of(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Int(i64::from(b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => match n.as_u64() {
                Some(u) => Cell::Int(u as i64),
                None => Cell::Float(n.as_f64().unwrap_or(0.0)),
            },
        },
        Value::String(s) => Cell::Text(s),
        other => Cell::Text(other.to_string()),
    }
}

impl ClickHouseStore {
    /// Writes the rows of `batch` that are not stored yet, in one insert:
    /// one part per monthly partition, each all or nothing.
    fn write(&self, batch: append::Batch) -> Result<(), StoreError> {
        if batch.len() == 0 {
            return Ok(());
        }
        let stored: BTreeSet<(u64, u32)> = self
            .select(&batch.stored_rows_sql())?
            .iter()
            .map(|r| (count(cell(r, 0)), count(cell(r, 1)) as u32))
            .collect();
        let body = batch.body(&stored);
        if body.is_empty() {
            return Ok(());
        }
        self.post(&append::insert_statement(), Some(body), true)
            .map(|_| ())
    }
}

impl Store for ClickHouseStore {
    fn set_retention_backstop(&self, days: u32) -> Result<bool, StoreError> {
        if !schema::has_ttl(&self.server_version()?) {
            return Ok(false);
        }
        self.post(
            &schema::ttl(&self.config.database, &self.layout, days),
            None,
            false,
        )?;
        Ok(true)
    }

    fn append(&self, events: &[StoredEvent]) -> Result<(), StoreError> {
        self.write_noting(append::Batch::new(events), std::iter::once(events))
    }

    fn append_rows(&self, batches: &[RowBatch]) -> Result<(), StoreError> {
        self.write_noting(
            append::Batch::of(batches),
            batches.iter().map(|b| b.rows.as_slice()),
        )
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
        let condition = "site = $1 AND ts < $2";
        let params = vec![Param::Text(site.into()), Param::Time(cutoff)];
        let n = self
            .select(&Sql {
                text: format!("SELECT count() FROM events WHERE {condition}"),
                params: params.clone(),
            })?
            .first()
            .map(|r| count(cell(r, 0)))
            .unwrap_or(0);
        if n == 0 {
            // A mutation rewrites parts; none is needed.
            return Ok(0);
        }
        self.delete_where("events", condition, params)?;
        Ok(n)
    }

    fn oldest_event(&self, site: &str) -> Result<Option<DateTime<chrono::Utc>>, StoreError> {
        let rows = self.select(&Sql {
            text: "SELECT count(), min(ts) FROM events WHERE site = $1".into(),
            params: vec![Param::Text(site.into())],
        })?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        if count(cell(r, 0)) == 0 {
            return Ok(None);
        }
        Ok(DateTime::from_timestamp_micros(int(cell(r, 1))))
    }

    fn replace_rollup(
        &self,
        site: &str,
        day: NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        // Later writes win; microseconds keep two replacements apart.
        let version = Utc::now().timestamp_micros().max(1) as u64;
        if !rows.is_empty() {
            let (statement, body) = rollup::insert(rows, version);
            self.post(&statement, Some(body), true)?;
        }
        let older = self
            .select(&rollup::count_older_sql(site, day, version))?
            .first()
            .map(|r| count(cell(r, 0)))
            .unwrap_or(0);
        if older > 0 {
            let (condition, params) = rollup::older(site, day, version);
            if rows.is_empty() {
                // Nothing newer hides the old rows: they must be gone now.
                self.delete_where("rollup", &condition, params)?;
            } else {
                // Readers already see only the new version; tidy up behind them.
                self.execute(&Sql {
                    text: schema::delete(&self.config.database, &self.layout, "rollup", &condition),
                    params,
                })?;
            }
        }
        Ok(())
    }

    fn replace_rollup_days(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
        rows: &[RollupRow],
    ) -> Result<(), StoreError> {
        let version = Utc::now().timestamp_micros().max(1) as u64;
        // One insert per run of whole days: a day lands in one part, so it
        // appears all at once under its new version.
        let mut start = 0;
        while start < rows.len() {
            let mut end = (start + ROLLUP_ROWS_PER_INSERT).min(rows.len());
            while end < rows.len() && rows[end].day == rows[end - 1].day {
                end += 1;
            }
            let (statement, body) = rollup::insert(&rows[start..end], version);
            self.post(&statement, Some(body), true)?;
            start = end;
        }
        let (condition, params) = rollup::older_between(site, from, until, version);
        self.delete_where("rollup", &condition, params)
    }

    fn read_rollup(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        Ok(rollup_rows(
            self.select(&rollup::read_sql(site, from, until, dim))?,
        ))
    }

    fn replace_fresh_rollup(
        &self,
        site: &str,
        day: NaiveDate,
        rows: &[RollupRow],
        seen: u64,
    ) -> Result<bool, StoreError> {
        if self
            .freshness()?
            .newest()
            .is_none_or(|newest| day >= newest)
        {
            return Ok(false);
        }
        self.replace_rollup(site, day, rows)?;
        let days = BTreeSet::from([(site.to_string(), day)]);
        let (statement, body) = fresh::mark(&days, true, seen);
        self.post(&statement, Some(body), true)?;
        // A row of the day stored after `seen` left a newer unmark.
        let now = self.select(&fresh::is_fresh_sql(site, day))?;
        Ok(now.first().is_some_and(|r| count(cell(r, 0)) == 1))
    }

    fn fresh_rollup_days(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        Ok(self
            .select(&fresh::days_sql(site, from, until))?
            .iter()
            .filter_map(|r| NaiveDate::parse_from_str(&text(cell(r, 0)), "%Y-%m-%d").ok())
            .collect())
    }

    fn forget_fresh(&self, site: &str) -> Result<(), StoreError> {
        use glasshouse_model::query::EARLIEST_DAY;
        // ClickHouse's Date ends in 2106 (in 2149 in later releases).
        let end = NaiveDate::from_ymd_opt(2100, 1, 1).expect("a date");
        let days: BTreeSet<(String, NaiveDate)> = self
            .fresh_rollup_days(site, EARLIEST_DAY, end)?
            .into_iter()
            .map(|d| (site.to_string(), d))
            .collect();
        if days.is_empty() {
            return Ok(());
        }
        let (statement, body) = fresh::mark(&days, false, Utc::now().timestamp_micros() as u64);
        self.post(&statement, Some(body), true).map(|_| ())
    }

    fn set_zones(&self, zones: &[(String, glasshouse_model::query::Tz)]) {
        *self.zones.write().unwrap_or_else(|e| e.into_inner()) = zones.to_vec();
        if let Some(f) = self.freshness.get() {
            f.set_zones(zones);
        }
    }

    fn closed_before(&self) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self.freshness()?.newest())
    }

    /// The time now, in microseconds: a mark written with it loses to the
    /// unmark of any row stored after it (`fresh.rs`).
    fn late_writes(&self) -> u64 {
        Utc::now().timestamp_micros().max(1) as u64
    }

    fn read_rollup_summed(
        &self,
        site: &str,
        from: NaiveDate,
        until: NaiveDate,
        dim: &str,
    ) -> Result<Vec<RollupRow>, StoreError> {
        Ok(rollup_rows(
            self.select(&fresh::summed_sql(site, from, until, dim))?,
        ))
    }

    fn delete_rollup_before(&self, site: &str, day: NaiveDate) -> Result<u64, StoreError> {
        let n = self
            .select(&rollup::count_before_sql(site, day))?
            .first()
            .map(|r| count(cell(r, 0)))
            .unwrap_or(0);
        let (condition, params) = rollup::before(site, day);
        // Superseded versions go too, so this runs even when n is 0 but
        // something is stored; when nothing is, no mutation is needed.
        let stored = self
            .select(&Sql {
                text: format!("SELECT count() FROM rollup WHERE {condition}"),
                params: params.clone(),
            })?
            .first()
            .map(|r| count(cell(r, 0)))
            .unwrap_or(0);
        if stored > 0 {
            self.delete_where("rollup", &condition, params)?;
        }
        Ok(n)
    }

    fn count(&self) -> Result<u64, StoreError> {
        let rows = self.select(&Sql {
            text: "SELECT count() FROM events".into(),
            params: vec![],
        })?;
        Ok(rows.first().map(|r| count(cell(r, 0))).unwrap_or(0))
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        // An acknowledged insert is already in the table's parts on disk.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_the_command_line_form() {
        let c = ClickHouseConfig::from_url("clickhouse://127.0.0.1:8123/gh").unwrap();
        assert_eq!(
            (c.url.as_str(), c.database.as_str()),
            ("http://127.0.0.1:8123", "gh")
        );
        let c = ClickHouseConfig::from_url("clickhouse://u:p%40ss@ch.internal/stats?cluster=c3")
            .unwrap();
        assert_eq!(c.url, "http://ch.internal:8123");
        assert_eq!((c.user.as_str(), c.database.as_str()), ("u", "stats"));
        assert_eq!(c.password, "p@ss");
        assert_eq!(c.cluster.as_deref(), Some("c3"));
        assert!(!format!("{c:?}").contains("p%40ss"), "no password in Debug");
        assert!(ClickHouseConfig::from_url("postgres://x/y").is_err());
    }

    #[test]
    fn server_errors_do_not_quote_the_statement() {
        let e = server_message(
            400,
            "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 8: 'secret' FROM x, e.what() = DB::Exception\n",
        );
        let msg = e.to_string();
        assert!(msg.contains("Code: 62"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
    }
}
