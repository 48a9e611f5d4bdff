//! The DuckDB schema. One wide table of events: DuckDB's columnar storage
//! compresses the repeated visit columns to almost nothing, and every query
//! reads only the columns it names.
//!
//! The journey columns (`journey_id`, `seq`, `prev_site`, `prev_page`) are
//! written at ingest so that path and funnel questions need no window
//! function over the whole range (see `sessions.rs`).
//!
//! Nothing here can hold an IP address or a User-Agent: there is no column
//! for them, and the rows come only from `AnonymousEvent`s.

/// Statements run at every start; all are idempotent.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS events (
    site             VARCHAR   NOT NULL,
    ts               TIMESTAMP NOT NULL,
    visitor_id       UBIGINT   NOT NULL,
    session_id       UBIGINT   NOT NULL,
    name             VARCHAR   NOT NULL,
    hostname         VARCHAR   NOT NULL,
    pathname         VARCHAR   NOT NULL,
    query            VARCHAR   NOT NULL,
    title            VARCHAR   NOT NULL,
    entry_page       VARCHAR   NOT NULL,
    source           VARCHAR   NOT NULL,
    referrer         VARCHAR   NOT NULL,
    utm_source       VARCHAR   NOT NULL,
    utm_medium       VARCHAR   NOT NULL,
    utm_campaign     VARCHAR   NOT NULL,
    utm_content      VARCHAR   NOT NULL,
    utm_term         VARCHAR   NOT NULL,
    browser          VARCHAR   NOT NULL,
    browser_version  VARCHAR   NOT NULL,
    os               VARCHAR   NOT NULL,
    os_version       VARCHAR   NOT NULL,
    device           VARCHAR   NOT NULL,
    country          VARCHAR   NOT NULL,
    prop_keys        VARCHAR[] NOT NULL,
    prop_values      VARCHAR[] NOT NULL,
    interactive      BOOLEAN   NOT NULL,
    revenue_amount   DOUBLE,
    revenue_currency VARCHAR,
    journey_id       UBIGINT,
    seq              UINTEGER,
    prev_site        VARCHAR,
    prev_page        VARCHAR
);
";

/// The aggregate tier: one day's figures per value, without any visitor id.
pub const CREATE_ROLLUP: &str = "
CREATE TABLE IF NOT EXISTS rollup (
    site         VARCHAR  NOT NULL,
    day          DATE     NOT NULL,
    dim          VARCHAR  NOT NULL,
    value        VARCHAR  NOT NULL,
    visitors     UBIGINT  NOT NULL,
    visits       UBIGINT  NOT NULL,
    pageviews    UBIGINT  NOT NULL,
    events       UBIGINT  NOT NULL,
    bounces      UBIGINT  NOT NULL,
    duration_sum DOUBLE   NOT NULL
);
";

/// The write-ahead log's position, committed in the same transaction as
/// the rows it shipped, so a replay after a crash skips exactly what DuckDB
/// already has. One row, updated in place (no key to maintain).
pub const CREATE_WAL_MARK: &str = "
CREATE TABLE IF NOT EXISTS wal_mark (seq UBIGINT NOT NULL);
INSERT INTO wal_mark SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM wal_mark);
";

/// The version of the tables in this file (one row; none before versions
/// were recorded, which reads as 0).
pub const CREATE_VERSION: &str = "
CREATE TABLE IF NOT EXISTS schema_version (version UINTEGER NOT NULL);
";

/// The numbered migrations: `MIGRATIONS[i]` takes version `i` to `i + 1`.
/// Each runs once, in the transaction that records its version. `CREATE`
/// already has every column, so on a new file they find nothing to do.
pub const MIGRATIONS: [&str; crate::SCHEMA_VERSION as usize] = [MIGRATE];

/// Brings a file written before journeys were stored up to date: adds the
/// journey columns and fills them from the visits already stored (each old
/// visit becomes a journey of one site). Idempotent; a no-op on new files.
pub const MIGRATE: &str = "
ALTER TABLE events ADD COLUMN IF NOT EXISTS journey_id UBIGINT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS seq UINTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS prev_site VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS prev_page VARCHAR;
UPDATE events SET journey_id = m.session_id, seq = m.seq, prev_site = m.prev_site, prev_page = m.prev_page
FROM (
    SELECT rowid AS rid, session_id,
        (count(*) FILTER (WHERE name = 'pageview')
            OVER (PARTITION BY session_id ORDER BY ts, rowid ROWS UNBOUNDED PRECEDING))::UINTEGER AS seq,
        CASE WHEN name = 'pageview' THEN coalesce(lag(site) OVER pv, '') ELSE '' END AS prev_site,
        CASE WHEN name = 'pageview' THEN coalesce(lag(pathname) OVER pv, '') ELSE '' END AS prev_page
    FROM events
    WHERE journey_id IS NULL
    WINDOW pv AS (PARTITION BY session_id, name = 'pageview' ORDER BY ts, rowid)
) m
WHERE events.rowid = m.rid;
";
