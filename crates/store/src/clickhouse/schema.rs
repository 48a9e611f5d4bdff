//! The ClickHouse schema: the same wide table of events as DuckDB's
//! (`duck/schema.rs`), with the types ClickHouse 18.16 has.
//!
//! - `ts` is `Int64` microseconds since the epoch: 18.16 has no `DateTime64`,
//!   and one integer keeps microsecond order and arithmetic exact.
//! - `journey_id`, `prev_site` and `prev_page` are never NULL here (every
//!   stored event has a journey); `seq` is `UInt32` as in DuckDB.
//! - `batch_id` and `batch_row` make an append idempotent: a batch written
//!   again (a retry after a timeout, a replayed log) finds its rows and adds
//!   only the missing ones (`append.rs`).
//! - Rows are ordered by `(site, ts)`, so every query, which names a site and
//!   a range, reads only that site's slice of the range; parts are
//!   partitioned by UTC month, so old months can be dropped whole.
//!
//! With a cluster name, each server holds a `ReplicatedMergeTree` table
//! `events_local` and `events` is a `Distributed` table over them, sharded
//! by journey, so a journey's events (and its visits', which never leave
//! it) are on one shard.

/// How the table is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One server, one `MergeTree` table.
    Single,
    /// Replicated local tables on every node of the named cluster, behind a
    /// `Distributed` table.
    Cluster(String),
}

/// Columns in insert order, with their types: the table of fields
/// (`row.rs`), then the batch columns that make an append idempotent.
pub fn columns_typed() -> Vec<(String, &'static str)> {
    crate::row::sql_columns()
        .into_iter()
        .map(|(_, c)| (c.name, c.clickhouse))
        .chain([
            ("batch_id".to_string(), "UInt64"),
            ("batch_row".to_string(), "UInt32"),
        ])
        .collect()
}

/// Partitions: UTC months of `ts`.
const PARTITION: &str = "toYYYYMM(toDateTime(intDiv(ts, 1000000), 'UTC'))";

fn columns() -> String {
    columns_typed()
        .iter()
        .map(|(n, t)| format!("    {n} {t}"))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// Statements creating the database and tables; all are idempotent. The
/// database name must already be checked (`valid_identifier`).
pub fn create(database: &str, layout: &Layout) -> Vec<String> {
    match layout {
        Layout::Single => vec![
            format!("CREATE DATABASE IF NOT EXISTS {database}"),
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.events (\n{}\n) ENGINE = MergeTree \
                 PARTITION BY {PARTITION} ORDER BY (site, ts)",
                columns()
            ),
        ],
        Layout::Cluster(cluster) => vec![
            format!("CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}"),
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.events_local ON CLUSTER {cluster} (\n{}\n) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{database}/events', '{{replica}}') \
                 PARTITION BY {PARTITION} ORDER BY (site, ts)",
                columns()
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.events ON CLUSTER {cluster} AS {database}.events_local \
                 ENGINE = Distributed({cluster}, {database}, events_local, journey_id)"
            ),
        ],
    }
}

/// Statements creating the table recording the schema's version: one row
/// per migration run (the version is their maximum; none reads as 0).
pub fn create_version(database: &str, layout: &Layout) -> Vec<String> {
    match layout {
        Layout::Single => vec![format!(
            "CREATE TABLE IF NOT EXISTS {database}.schema_version (version UInt32) \
             ENGINE = MergeTree ORDER BY version"
        )],
        Layout::Cluster(c) => vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.schema_version_local ON CLUSTER {c} (version UInt32) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{database}/schema_version', '{{replica}}') \
                 ORDER BY version"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.schema_version ON CLUSTER {c} AS {database}.schema_version_local \
                 ENGINE = Distributed({c}, {database}, schema_version_local, version)"
            ),
        ],
    }
}

/// Hand-written steps of the numbered migrations, `STEPS[i]` running in
/// the step from version `i` to `i + 1` after the columns that version
/// added: statements with `{database}` and `{on_cluster}` to fill in.
/// Version 1 is the tables as `create` makes them, so it has none;
/// version 2 only adds the engagement columns; version 3 changed DuckDB's
/// roll-up tables only.
const STEPS: [&[&str]; crate::SCHEMA_VERSION as usize] = [&[], &[], &[]];

/// A column a migration adds: the table, its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddColumn {
    /// `events`, or on a cluster `events_local` and then `events`.
    pub table: &'static str,
    /// The column.
    pub name: String,
    /// Its ClickHouse type.
    pub kind: &'static str,
}

impl AddColumn {
    /// The statement adding it (18.16 has no `ADD COLUMN IF NOT EXISTS`:
    /// the store asks `system.columns` first).
    pub fn statement(&self, database: &str, layout: &Layout) -> String {
        let on_cluster = match layout {
            Layout::Single => String::new(),
            Layout::Cluster(c) => format!(" ON CLUSTER {c}"),
        };
        format!(
            "ALTER TABLE {database}.{}{on_cluster} ADD COLUMN {} {}",
            self.table, self.name, self.kind
        )
    }
}

/// The columns of the fields added in version `to` (and of the roll-ups,
/// by hand), on the local tables and the `Distributed` one on a cluster;
/// rows stored before read as the type's default.
pub fn added_columns(layout: &Layout, to: u32) -> Vec<AddColumn> {
    let tables: &[&'static str] = match layout {
        Layout::Single => &["events"],
        Layout::Cluster(_) => &["events_local", "events"],
    };
    let mut out = Vec::new();
    for (since, c) in crate::row::sql_columns() {
        if since != to || to == 1 {
            continue;
        }
        for table in tables {
            out.push(AddColumn {
                table,
                name: c.name.clone(),
                kind: c.clickhouse,
            });
        }
    }
    if to == 2 {
        let rollup: &[&'static str] = match layout {
            Layout::Single => &["rollup"],
            Layout::Cluster(_) => &["rollup_local", "rollup"],
        };
        for (name, kind) in super::rollup::ADDED_IN_2 {
            for table in rollup {
                out.push(AddColumn {
                    table,
                    name: name.to_string(),
                    kind,
                });
            }
        }
    }
    out
}

/// The hand-written statements of the step to version `to`, run after its
/// columns are added.
pub fn steps(database: &str, layout: &Layout, to: u32) -> Vec<String> {
    let on_cluster = match layout {
        Layout::Single => String::new(),
        Layout::Cluster(c) => format!("ON CLUSTER {c}"),
    };
    STEPS[to as usize - 1]
        .iter()
        .map(|s| {
            s.replace("{database}", database)
                .replace("{on_cluster}", &on_cluster)
        })
        .collect()
}

/// Statements creating a small table of the aggregate tier (`columns`,
/// then `PARTITION BY … ORDER BY …` in `order`): one MergeTree table, or on
/// a cluster a replicated local table behind a `Distributed` one sharded by
/// site. Idempotent.
pub fn aggregate_table(
    database: &str,
    layout: &Layout,
    table: &str,
    columns: &str,
    order: &str,
) -> Vec<String> {
    match layout {
        Layout::Single => vec![format!(
            "CREATE TABLE IF NOT EXISTS {database}.{table} ({columns}) ENGINE = MergeTree {order}"
        )],
        Layout::Cluster(c) => vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.{table}_local ON CLUSTER {c} ({columns}) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{database}/{table}', '{{replica}}') {order}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {c} AS {database}.{table}_local \
                 ENGINE = Distributed({c}, {database}, {table}_local, cityHash64(site))"
            ),
        ],
    }
}

/// The statement deleting rows of `table` (`events`, `rollup`) matching
/// `condition` (a mutation; on a cluster, of the local tables, which hold
/// the rows).
pub fn delete(database: &str, layout: &Layout, table: &str, condition: &str) -> String {
    match layout {
        Layout::Single => format!("ALTER TABLE {database}.{table} DELETE WHERE {condition}"),
        Layout::Cluster(c) => {
            format!("ALTER TABLE {database}.{table}_local ON CLUSTER {c} DELETE WHERE {condition}")
        }
    }
}

/// The table holding `table`'s rows on this server, whose mutations are waited for.
/// The statement setting a TTL of `days` on the events table (of the local
/// tables, on a cluster): ClickHouse then drops older rows in its merges.
pub fn ttl(database: &str, layout: &Layout, days: u32) -> String {
    let expression = format!("toDateTime(intDiv(ts, 1000000)) + INTERVAL {days} DAY");
    match layout {
        Layout::Single => format!("ALTER TABLE {database}.events MODIFY TTL {expression}"),
        Layout::Cluster(c) => {
            format!("ALTER TABLE {database}.events_local ON CLUSTER {c} MODIFY TTL {expression}")
        }
    }
}

/// Whether a server version (`major.minor.…`) has table TTLs (19.6 and later).
pub fn has_ttl(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (19, 6)
}

pub fn local_table(layout: &Layout, table: &str) -> String {
    match layout {
        Layout::Single => table.to_string(),
        Layout::Cluster(_) => format!("{table}_local"),
    }
}

/// True for names that can be spliced into DDL as they are: ASCII letters,
/// digits and `_`, not starting with a digit.
pub fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        for ok in ["glasshouse", "gh_test_1", "_x"] {
            assert!(valid_identifier(ok), "{ok}");
        }
        for bad in [
            "",
            "1db",
            "a-b",
            "a.b",
            "a b",
            "x;DROP",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(!valid_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn a_ttl_backstop_needs_19_6() {
        assert!(!has_ttl("18.16.1"));
        assert!(!has_ttl("19.5.3.8"));
        assert!(has_ttl("19.6.2.11"));
        assert!(has_ttl("24.8.4.13"));
        assert_eq!(
            ttl("gh", &Layout::Single, 37),
            "ALTER TABLE gh.events MODIFY TTL toDateTime(intDiv(ts, 1000000)) + INTERVAL 37 DAY"
        );
        assert!(ttl("gh", &Layout::Cluster("c3".into()), 37)
            .starts_with("ALTER TABLE gh.events_local ON CLUSTER c3"));
    }

    #[test]
    fn a_cluster_gets_replicated_local_tables_behind_a_distributed_one() {
        let ddl = create("gh", &Layout::Cluster("c3".into())).join("\n");
        assert!(ddl.contains("gh.events_local ON CLUSTER c3"));
        assert!(ddl
            .contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/gh/events', '{replica}')"));
        assert!(ddl.contains("ENGINE = Distributed(c3, gh, events_local, journey_id)"));
        assert_eq!(
            delete("gh", &Layout::Cluster("c3".into()), "events", "x = 1"),
            "ALTER TABLE gh.events_local ON CLUSTER c3 DELETE WHERE x = 1"
        );
    }
}
