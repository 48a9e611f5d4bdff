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

/// The statement creating the events table, columns from the table of
/// fields (`row.rs`); idempotent, run at every start.
pub fn create() -> String {
    let columns: Vec<String> = crate::row::sql_columns()
        .into_iter()
        .map(|(_, c)| {
            let null = if c.not_null { " NOT NULL" } else { "" };
            format!("    {} {}{null}", c.name, c.duck)
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS events (\n{}\n);",
        columns.join(",\n")
    )
}

/// The aggregate tier: one day's figures per value, without any visitor id,
/// in two tables of the same columns ([`rollup_table`]).
pub fn create_rollup() -> String {
    ROLLUP_TABLES
        .iter()
        .map(|t| ROLLUP_COLUMNS.replace("{table}", t))
        .collect()
}

const ROLLUP_COLUMNS: &str = "
CREATE TABLE IF NOT EXISTS {table} (
    site         VARCHAR  NOT NULL,
    day          DATE     NOT NULL,
    dim          VARCHAR  NOT NULL,
    value        VARCHAR  NOT NULL,
    visitors     UBIGINT  NOT NULL,
    visits       UBIGINT  NOT NULL,
    pageviews    UBIGINT  NOT NULL,
    events       UBIGINT  NOT NULL,
    bounces      UBIGINT  NOT NULL,
    duration_sum DOUBLE   NOT NULL,
    engaged      UBIGINT  NOT NULL DEFAULT 0,
    scroll_sum   DOUBLE   NOT NULL DEFAULT 0,
    engaged_seconds DOUBLE NOT NULL DEFAULT 0
);
";

/// The roll-up tables: every other property, and the page-level ones.
pub const ROLLUP_TABLES: [&str; 2] = ["rollup", "rollup_pages"];

/// The properties with a value per page, tens of thousands a day, which
/// make up nearly all of the roll-up rows (2.7 of 2.75 million for a month
/// of 10 M events). DuckDB reads a table by scanning it, so they have a
/// table of their own: a day's totals, its sources or the corrections for
/// visits over midnight are then read without scanning every page's row.
const PAGE_LEVEL: [&str; 4] = ["page", "entry_page", "exit_page", "transition"];

/// The roll-up table that holds property `dim`.
pub fn rollup_table(dim: &str) -> &'static str {
    if PAGE_LEVEL.contains(&dim) {
        ROLLUP_TABLES[1]
    } else {
        ROLLUP_TABLES[0]
    }
}

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

/// Hand-written steps of the numbered migrations: `STEPS[i]` runs in the
/// step from version `i` to `i + 1`, after the columns of the fields that
/// version added are added (see [`migration`]).
const STEPS: [&str; crate::SCHEMA_VERSION as usize] = [MIGRATE, ROLLUP_ENGAGEMENT, ROLLUP_PAGES];

/// Version 3: the page-level roll-ups move to their own table
/// ([`rollup_table`]), which `create_rollup` made before this runs.
const ROLLUP_PAGES: &str = "
INSERT INTO rollup_pages BY NAME SELECT * FROM rollup WHERE dim IN ({page_level});
DELETE FROM rollup WHERE dim IN ({page_level});
";

/// Version 2: how pages were read, kept in the daily roll-ups too.
const ROLLUP_ENGAGEMENT: &str = "
ALTER TABLE rollup ADD COLUMN IF NOT EXISTS engaged UBIGINT DEFAULT 0;
ALTER TABLE rollup ADD COLUMN IF NOT EXISTS scroll_sum DOUBLE DEFAULT 0;
ALTER TABLE rollup ADD COLUMN IF NOT EXISTS engaged_seconds DOUBLE DEFAULT 0;
";

/// The statements taking a file from version `to - 1` to `to`: the
/// columns of the fields added in `to`, each read as its default in rows
/// stored before, then any hand-written step. Each runs once, in the
/// transaction that records its version; `create` already has every
/// column, so on a new file they find nothing to do.
pub fn migration(to: u32) -> String {
    let mut out = String::new();
    for (since, c) in crate::row::sql_columns() {
        if since == to && to > 1 {
            out.push_str(&format!(
                "ALTER TABLE events ADD COLUMN IF NOT EXISTS {} {} DEFAULT {};\n",
                c.name, c.duck, c.duck_default
            ));
        }
    }
    let page_level: Vec<String> = PAGE_LEVEL.iter().map(|d| format!("'{d}'")).collect();
    out.push_str(&STEPS[to as usize - 1].replace("{page_level}", &page_level.join(", ")));
    out
}

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
