//! Journeys conformance: paths and funnels over several sites, compared with
//! `glasshouse_testkit::journeys`, which computes them by plain loops. Two
//! sites share a visitor scope (as an agreement that links journeys makes
//! them); the third does not, and its visitors are never linked.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use glasshouse_model::journey::{FunnelQuery, FunnelStep, PathQuery};
use glasshouse_model::query::{Filter, Metric, Query};
use glasshouse_model::{ManualClock, Site};
use glasshouse_privacy::{Anonymiser, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{Ingestor, Sessionizer, Store};
use glasshouse_testkit::journeys::{self, Hop};
use std::collections::BTreeMap;
use std::sync::Arc;

const A: &str = "a.example";
const B: &str = "b.example";
const C: &str = "c.example";

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn site(host: &str) -> Site {
    Site {
        host: host.into(),
        organisation: "test".into(),
        query_params: vec![],
        props: None,
        raw_retention_days: 30,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    }
}

/// A and B link journeys; C stands alone.
fn scope(host: &str) -> &'static str {
    if host == C {
        C
    } else {
        "agreement:ab"
    }
}

fn group(host: &str) -> usize {
    usize::from(host == C)
}

fn load(store: Arc<dyn Store>) -> Vec<Hop> {
    let (people, hops) = journeys::generate(11, first_day(), &[A, B, C], 900);
    let clock = ManualClock::new(Utc.from_utc_datetime(&first_day().and_hms_opt(0, 0, 0).unwrap()));
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(clock)), None);
    let ingestor = Ingestor::start(store, Sessionizer::default(), IngestOptions::default());
    for chunk in hops.chunks(53) {
        let events = chunk
            .iter()
            .map(|h| {
                let p = &people[h.person];
                let raw = glasshouse_privacy::RawEvent {
                    ip: p.ip,
                    user_agent: p.user_agent().to_string(),
                    name: h.name.to_string(),
                    url: format!("https://{}{}", h.host, h.path),
                    referrer: None,
                    title: None,
                    props: vec![],
                    interactive: true,
                    revenue: None,
                    engagement: None,
                    timestamp: h.ts,
                };
                anonymiser
                    .anonymise(raw, &site(h.host), scope(h.host))
                    .expect("anonymised")
            })
            .collect();
        ingestor.ingest_blocking(events).expect("stored");
    }
    ingestor.shutdown();
    hops
}

fn two_days(host: &str) -> Query {
    let from = Utc.from_utc_datetime(&first_day().and_hms_opt(0, 0, 0).unwrap());
    Query {
        conditions: Vec::new(),
        order: Vec::new(),
        site: host.into(),
        from,
        until: from + Duration::days(2),
        tz: glasshouse_model::query::Tz::UTC,
        metrics: vec![Metric::Visits, Metric::Visitors],
        filters: Filter::parse_list(None).unwrap(),
    }
}

fn sites_for(host: &str) -> Vec<String> {
    if host == C {
        vec![C.into()]
    } else {
        vec![host.into(), if host == A { B } else { A }.into()]
    }
}

/// Checks paths and funnels of `store` against the truth.
pub fn journeys_conformance(store: Arc<dyn Store>) {
    let hops = load(store.clone());
    let all = journeys::journeys(&hops, &group);
    let q = two_days(A);
    let (from, until) = (q.from, q.until);

    for host in [A, B, C] {
        for page in journeys::PAGES {
            let pq = PathQuery {
                query: two_days(host),
                sites: sites_for(host),
                page: page.into(),
                depth: 2,
            };
            let paths = store.paths(&pq).unwrap();
            let visible: Vec<&str> = pq.sites.iter().map(String::as_str).collect();
            for (step, position) in [(1, 0), (-1, -1)] {
                let expected = journeys::neighbours(&all, host, page, from, until, &visible, step);
                let actual: BTreeMap<(String, String), (u64, u64)> = paths
                    .links
                    .iter()
                    .filter(|l| l.position == position)
                    .map(|l| {
                        let key = if step == 1 {
                            (l.to_site.clone(), l.to_page.clone())
                        } else {
                            (l.from_site.clone(), l.from_page.clone())
                        };
                        (key, (l.visits, l.visitors))
                    })
                    .collect();
                assert_eq!(actual, expected, "{host}{page} step {step}");
            }
            // Without an agreement, no journey leaves C; with one, some cross.
            if host == C {
                assert!(paths.nodes.iter().all(|n| n.site == C), "C is never linked");
            }
            // Every journey through the page is at position 0, once.
            let anchor: u64 = paths
                .nodes
                .iter()
                .filter(|n| n.position == 0)
                .map(|n| n.visits)
                .sum();
            let next: u64 = paths
                .links
                .iter()
                .filter(|l| l.position == 0)
                .map(|l| l.visits)
                .sum();
            let exits: u64 = paths
                .nodes
                .iter()
                .filter(|n| n.position == 0)
                .map(|n| n.exits)
                .sum();
            assert!(
                next + exits <= anchor,
                "{host}{page}: {next} + {exits} > {anchor}"
            );
        }
    }
    let crossing = all
        .iter()
        .filter(|j| j.iter().any(|h| h.host == A) && j.iter().any(|h| h.host == B))
        .count();
    assert!(
        crossing > 20,
        "the traffic has cross-site journeys ({crossing})"
    );

    let funnels: Vec<(Vec<FunnelStep>, Vec<journeys::Step>)> = vec![
        (
            vec![
                page("/guide", None),
                page("/apply", Some(B)),
                page("/apply/done", None),
            ],
            vec![(A, "/guide"), (B, "/apply"), (A, "/apply/done")],
        ),
        (
            vec![
                page("/apply/**", None),
                FunnelStep::Event {
                    event: "Submitted".into(),
                },
            ],
            vec![(A, "/apply/**"), ("", "Submitted")],
        ),
        (
            vec![
                page("/", None),
                page("/guide", None),
                page("/apply", None),
                page("/apply/details", None),
                page("/apply/done", None),
            ],
            vec![
                (A, "/"),
                (A, "/guide"),
                (A, "/apply"),
                (A, "/apply/details"),
                (A, "/apply/done"),
            ],
        ),
    ];
    for (steps, truth_steps) in funnels {
        let fq = FunnelQuery {
            query: two_days(A),
            sites: sites_for(A),
            steps,
        };
        let rows = store.funnel(&fq).unwrap();
        let expected = journeys::funnel(&all, &truth_steps, from, until);
        assert_eq!(rows.len(), expected.len());
        for (row, (visits, visitors, median)) in rows.iter().zip(&expected) {
            assert_eq!(
                (row.visits, row.visitors),
                (*visits, *visitors),
                "step {} of {truth_steps:?}",
                row.step
            );
            match (row.median_seconds, median) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 0.01, "median {a} vs {b}"),
                (a, b) => assert_eq!(a.is_some(), b.is_some(), "median {a:?} vs {b:?}"),
            }
        }
        assert!(expected[0].0 > 0, "{truth_steps:?} has traffic");
    }
    // A funnel over C cannot see steps on A: C's visitors are not linked.
    let fq = FunnelQuery {
        query: two_days(C),
        sites: sites_for(C),
        steps: vec![page("/guide", None), page("/apply", Some(A))],
    };
    assert_eq!(store.funnel(&fq).unwrap()[1].visits, 0);
}

fn page(p: &str, site: Option<&str>) -> FunnelStep {
    FunnelStep::Page {
        page: p.into(),
        site: site.map(String::from),
    }
}
