//! Properties of a whole visit (`visit:exit_page`, and the hosts of its
//! first and last page views): alone, as filters, and beside other
//! dimensions, over visits that cross between two hosts of one site.

use super::aggregates::{first_day, query, site, HOST};
use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::query::Dimension;
use glasshouse_model::ManualClock;
use glasshouse_privacy::{Anonymiser, Salts};
use glasshouse_store::{Sessionizer, Store, StoredEvent};
use glasshouse_testkit::traffic;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A visit: its referrer (if any) and its page views, host and path.
type Sent = (Option<&'static str>, Vec<(&'static str, &'static str)>);

/// The visits, thirteen days after the loaded traffic: one visitor each.
fn visits() -> Vec<Sent> {
    vec![
        (
            Some("https://www.google.com/"),
            vec![("www", "/a"), ("apply", "/form"), ("apply", "/done")],
        ),
        (None, vec![("apply", "/form")]),
        (None, vec![("www", "/a"), ("www", "/b")]),
        (None, vec![("www", "/a"), ("apply", "/form"), ("www", "/a")]),
    ]
}

fn host(sub: &str) -> String {
    format!("{sub}.{HOST}")
}

/// Stores the visits, a minute between page views.
fn load(store: &dyn Store) {
    let start = Utc.from_utc_datetime(
        &(first_day() + Duration::days(13))
            .and_hms_opt(10, 0, 0)
            .unwrap(),
    );
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(ManualClock::new(start))), None);
    let mut visits_of = Sessionizer::default();
    let mut events: Vec<StoredEvent> = Vec::new();
    for (i, (referrer, views)) in visits().into_iter().enumerate() {
        for (j, (sub, path)) in views.into_iter().enumerate() {
            let raw = glasshouse_privacy::RawEvent {
                ip: format!("192.0.2.{}", 60 + i).parse().unwrap(),
                user_agent: traffic::AGENTS[0].0.to_string(),
                name: "pageview".into(),
                url: format!("https://{}{path}", host(sub)),
                referrer: if j == 0 {
                    referrer.map(str::to_string)
                } else {
                    None
                },
                title: None,
                props: vec![],
                interactive: true,
                revenue: None,
                engagement: None,
                timestamp: start + Duration::minutes(j as i64) + Duration::seconds(i as i64),
            };
            let event = anonymiser
                .anonymise(raw, &site(), HOST)
                .expect("anonymised");
            events.push(visits_of.assign(event));
        }
    }
    store.append(&events).unwrap();
}

/// Visitors per key, as the oracle counts them from `visits()`: each
/// visit once under `key` of it (`None`: not listed).
fn per_visit(key: impl Fn(&Sent) -> Option<String>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for v in &visits() {
        if let Some(k) = key(v) {
            *out.entry(k).or_default() += 1;
        }
    }
    out
}

fn visitors(store: &dyn Store, by: Dimension, filters: &str) -> BTreeMap<String, u64> {
    store
        .breakdown(&query((13, 13), filters), &by, 100, 0)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.visitors))
        .collect()
}

/// Every case, against the oracle.
pub fn whole_visit(store: &dyn Store) {
    load(store);
    let entry_host = |v: &Sent| host(v.1[0].0);
    let exit_host = |v: &Sent| host(v.1[v.1.len() - 1].0);
    let exit_page = |v: &Sent| v.1[v.1.len() - 1].1.to_string();
    let source = |v: &Sent| match v.0 {
        Some(_) => "Google".to_string(),
        None => "Direct / None".to_string(),
    };
    let tuple = |parts: &[Dimension]| Dimension::Tuple(parts.to_vec());
    let key = |parts: &[String]| Dimension::join_key(parts);

    assert_eq!(
        visitors(store, Dimension::EntryPageHostname, ""),
        per_visit(|v| Some(entry_host(v))),
        "by entry page host"
    );
    assert_eq!(
        visitors(store, Dimension::ExitPageHostname, ""),
        per_visit(|v| Some(exit_host(v))),
        "by exit page host"
    );
    let apply = host("apply");
    assert_eq!(
        visitors(
            store,
            Dimension::ExitPage,
            &format!("visit:exit_page_hostname=={apply}")
        ),
        per_visit(|v| (exit_host(v) == apply).then(|| exit_page(v))),
        "exit pages of visits that left from the apply host"
    );
    assert_eq!(
        visitors(
            store,
            Dimension::Source,
            &format!("visit:entry_page_hostname!={apply}")
        ),
        per_visit(|v| (entry_host(v) != apply).then(|| source(v))),
        "sources of visits that entered elsewhere"
    );
    assert_eq!(
        visitors(store, tuple(&[Dimension::ExitPage, Dimension::Source]), ""),
        per_visit(|v| Some(key(&[exit_page(v), source(v)]))),
        "exit page and source"
    );
    assert_eq!(
        visitors(
            store,
            tuple(&[
                Dimension::Source,
                Dimension::EntryPageHostname,
                Dimension::ExitPageHostname
            ]),
            ""
        ),
        per_visit(|v| Some(key(&[source(v), entry_host(v), exit_host(v)]))),
        "source and the hosts of entry and exit"
    );
    // Beside an event property: a row per page viewed, with the visit's
    // exit page; a visitor counts once per row.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for v in &visits() {
        let mut rows: Vec<String> =
            v.1.iter()
                .map(|(_, p)| key(&[p.to_string(), exit_page(v)]))
                .collect();
        rows.dedup();
        rows.sort();
        rows.dedup();
        for r in rows {
            *expected.entry(r).or_default() += 1;
        }
    }
    assert_eq!(
        visitors(store, tuple(&[Dimension::Page, Dimension::ExitPage]), ""),
        expected,
        "page and exit page"
    );
}
