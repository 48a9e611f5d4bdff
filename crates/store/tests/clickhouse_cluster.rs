//! The conformance suites on a live ClickHouse cluster: ZooKeeper and two
//! shards of two replicas each, all started here on 127.0.0.1 (Debian's
//! `clickhouse-server` and `zookeeper`, which `.ci/run` installs).
//!
//! The store is opened with `?cluster=gh`, so it creates replicated local
//! tables on every server behind `Distributed` tables, and every answer
//! must be the one a single server gives: journeys sharded apart, each
//! shard's rows on both its replicas.

mod suite;

use glasshouse_store::{ClickHouseConfig, ClickHouseStore, Store};
use glasshouse_testkit::clickhouse::execute;
use glasshouse_testkit::cluster::{self, Cluster};
use std::sync::Arc;

fn open(cluster: &Cluster, database: &str) -> ClickHouseStore {
    ClickHouseStore::open(ClickHouseConfig::from_url(&cluster.url(database)).unwrap())
        .expect("store opens on the cluster")
}

/// Rows of `database.table_local` on each server, in cluster order, once
/// every replica has caught up.
fn local_counts(cluster: &Cluster, database: &str, table: &str) -> Vec<u64> {
    cluster
        .nodes
        .iter()
        .map(|node| {
            execute(
                node.http_port,
                &format!("SYSTEM SYNC REPLICA {database}.{table}_local"),
            );
            execute(
                node.http_port,
                &format!("SELECT count() FROM {database}.{table}_local"),
            )
            .trim()
            .parse()
            .unwrap()
        })
        .collect()
}

#[test]
fn a_cluster_of_replicated_shards_passes_the_suites() {
    let Some(cluster) = cluster::start(2, 2) else {
        return;
    };
    let store = Arc::new(open(&cluster, "conformance"));
    eprintln!("ClickHouse {} cluster", store.server_version().unwrap());
    suite::aggregates::conformance(store.clone());
    let total = store.count().unwrap();

    // Sharded by journey: both shards hold rows, together all of them, and
    // a shard's two replicas hold the same ones.
    let counts = local_counts(&cluster, "conformance", "events");
    assert_eq!(counts.len(), 4);
    assert_eq!(counts[0], counts[1], "shard 1's replicas agree: {counts:?}");
    assert_eq!(counts[2], counts[3], "shard 2's replicas agree: {counts:?}");
    assert!(
        counts[0] > 0 && counts[2] > 0,
        "both shards hold rows: {counts:?}"
    );
    assert_eq!(counts[0] + counts[2], total);

    // A retried batch is stored once across the shards.
    let batch = suite::aggregates::stored_batch(20);
    store.append(&batch).unwrap();
    store.append(&batch).unwrap();
    assert_eq!(store.count().unwrap(), total + 20);

    // Four processes start at once, one on each server, on a new database:
    // one migrates the schema, the others wait for it, and the version is
    // recorded once.
    let url = cluster.url("together");
    let opened: Vec<_> = cluster
        .nodes
        .iter()
        .map(|node| {
            let url = url.replace(
                &format!(":{}/", cluster.nodes[0].http_port),
                &format!(":{}/", node.http_port),
            );
            std::thread::spawn(move || {
                ClickHouseStore::open(ClickHouseConfig::from_url(&url).unwrap())
            })
        })
        .collect();
    for t in opened {
        t.join().unwrap().expect("each process opens the store");
    }
    let recorded = execute(
        cluster.nodes[0].http_port,
        "SELECT count(), uniqExact(version), max(version) FROM together.schema_version FORMAT TSV",
    );
    let v = glasshouse_store::SCHEMA_VERSION;
    assert_eq!(
        recorded.trim(),
        format!("{v}\t{v}\t{v}"),
        "each version is recorded once"
    );

    suite::rollup::rollup_conformance(Arc::new(open(&cluster, "rollup")));
    suite::rollup::fresh_conformance(Arc::new(open(&cluster, "fresh")));
    suite::journeys::journeys_conformance(Arc::new(open(&cluster, "journeys")));
}
