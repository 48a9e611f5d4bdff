//! The gate's invariants over random configurations, callers and questions
//! (proptest), held against an oracle written independently: plain loops
//! over every day and every condition, not the gate's own code.

use super::*;
use chrono::Duration;
use glasshouse_model::journey::FunnelStep;
use glasshouse_model::query::{Condition, DateRange, Filter, FilterOp, Interval, Metric, Query};
use proptest::prelude::*;
use std::sync::Mutex;

const ORGS: [&str; 3] = ["a-org", "b-org", "c-org"];
/// Sites and their owners.
const SITES: [(&str, usize); 4] = [
    ("a1.example", 0),
    ("b1.example", 1),
    ("c1.example", 2),
    ("a2.example", 0),
];
const PURPOSES: [&str; 2] = ["service-improvement", "statistics"];
/// Properties drawn: stored ones, and one worked out when asked (the channel).
const BREAKDOWNS: [&str; 5] = [
    "event:page",
    "visit:source",
    "event:name",
    "visit:country",
    "visit:channel",
];

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(n)
}

#[derive(Debug, Clone)]
struct AgreementSpec {
    parties: Vec<usize>,
    sites: Vec<usize>,
    purposes: Vec<usize>,
    metrics: Vec<usize>,
    breakdowns: Vec<usize>,
    journeys: bool,
    publish: bool,
    /// A party whose signature is left out (index into `parties`).
    unsigned: Option<usize>,
    k: u32,
    epsilon: Option<f64>,
    start: i64,
    length: Option<i64>,
}

fn agreement_spec() -> impl Strategy<Value = AgreementSpec> {
    (
        proptest::sample::subsequence(vec![0usize, 1, 2], 2..=3),
        proptest::sample::subsequence(vec![0usize, 1, 2, 3], 1..=4),
        // Generous agreements half the time, so that shared grants are common.
        prop_oneof![
            Just(vec![0usize, 1]),
            proptest::sample::subsequence(vec![0usize, 1], 1..=2)
        ],
        prop_oneof![
            Just((0..shareable()).collect::<Vec<_>>()),
            proptest::sample::subsequence((0..shareable()).collect::<Vec<_>>(), 0..=4)
        ],
        prop_oneof![
            Just(vec![0usize, 1, 2, 3, 4]),
            proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4], 0..=5)
        ],
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::weighted(0.15, 0usize..3),
        ),
        2u32..20,
        proptest::option::weighted(0.3, 1.0f64..20.0),
        0i64..120,
        proptest::option::weighted(0.5, 10i64..200),
    )
        .prop_map(
            |(
                parties,
                sites,
                purposes,
                metrics,
                breakdowns,
                (journeys, publish, unsigned),
                k,
                epsilon,
                start,
                length,
            )| {
                // Only the parties' own sites can be covered.
                let sites = sites
                    .into_iter()
                    .filter(|s| parties.contains(&SITES[*s].1))
                    .collect();
                // The configuration allows only visitors under an ε budget.
                let metrics = if epsilon.is_some() {
                    metrics.into_iter().filter(|m| *m == 0).collect()
                } else {
                    metrics
                };
                let unsigned = unsigned.filter(|u| *u < parties.len());
                AgreementSpec {
                    parties,
                    sites,
                    purposes,
                    metrics,
                    breakdowns,
                    journeys,
                    publish,
                    unsigned,
                    k,
                    epsilon,
                    start,
                    length,
                }
            },
        )
}

fn list(items: impl Iterator<Item = String>) -> String {
    items
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn config(site_purposes: &[Vec<usize>], agreements: &[AgreementSpec]) -> Option<Config> {
    let mut t = String::new();
    // A site links journeys under one agreement only: later ones do not link.
    let mut linked: Vec<usize> = Vec::new();
    for o in ORGS {
        t += &format!("[[organisations]]\nid = {o:?}\nname = {o:?}\n\n");
    }
    for p in PURPOSES {
        t += &format!("[[purposes]]\nid = {p:?}\ndescription = \"d\"\nlawful_basis = \"l\"\ncategory = {p:?}\n\n");
    }
    for (i, (host, org)) in SITES.iter().enumerate() {
        let purposes = list(site_purposes[i].iter().map(|p| PURPOSES[*p].to_string()));
        t += &format!(
            "[[sites]]\nhost = {host:?}\norganisation = {:?}\npurposes = [{purposes}]\n\n",
            ORGS[*org]
        );
    }
    for (i, a) in agreements.iter().enumerate() {
        if a.sites.is_empty() {
            continue;
        }
        let journeys = a.journeys && a.sites.iter().all(|s| !linked.contains(s));
        if journeys {
            linked.extend(&a.sites);
        }
        t += &format!(
            "[[agreements]]\nid = \"ag-{i}\"\ntitle = \"t\"\nparties = [{}]\nsites = [{}]\npurposes = [{}]\nmetrics = [{}]\nbreakdowns = [{}]\njourneys = {}\npublish = {}\nk = {}\nstart = \"{}\"\nsignatories = [\"x\", \"y\"]\n",
            list(a.parties.iter().map(|p| ORGS[*p].to_string())),
            list(a.sites.iter().map(|s| SITES[*s].0.to_string())),
            list(a.purposes.iter().map(|p| PURPOSES[*p].to_string())),
            list(a.metrics.iter().map(|m| Metric::ALL[*m].name().to_string())),
            list(a.breakdowns.iter().map(|b| BREAKDOWNS[*b].to_string())),
            journeys,
            a.publish,
            a.k,
            day(a.start),
        );
        if let Some(e) = a.epsilon {
            t += &format!("epsilon_per_month = {e}\n");
        }
        if let Some(l) = a.length {
            t += &format!("end = \"{}\"\n", day(a.start + l));
        }
        t += "\n";
    }
    // Every party signs, except where the case leaves one out.
    let skip = |id: &str, party: &str| {
        let i: usize = id.trim_start_matches("ag-").parse().unwrap_or(usize::MAX);
        agreements
            .get(i)
            .and_then(|a| a.unsigned.map(|u| ORGS[a.parties[u]] == party))
            .unwrap_or(false)
    };
    let t = match Config::parse(&t, "random.toml") {
        Ok(_) => glasshouse_testkit::signing::signed_except(&t, skip),
        Err(_) => t,
    };
    match Config::parse(&t, "random.toml") {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("SHOW").is_ok() {
                eprintln!("{e}");
            }
            None
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        any::<bool>().prop_map(|compare| Shape::Aggregate {
            compare: compare.then_some(glasshouse_model::query::Comparison::PreviousPeriod)
        }),
        Just(Shape::Timeseries {
            compare: None,
            interval: Interval::Day
        }),
        (0usize..BREAKDOWNS.len()).prop_map(|b| Shape::Breakdown {
            compare: None,
            total_rows: false,
            by: Dimension::parse(BREAKDOWNS[b]).unwrap(),
            limit: 10,
            offset: 0
        }),
        // Several dimensions (v2): time, and two properties.
        (0usize..BREAKDOWNS.len(), 0usize..BREAKDOWNS.len()).prop_map(|(a, b)| Shape::Breakdown {
            compare: None,
            total_rows: false,
            by: Dimension::Tuple(vec![
                Dimension::Time(Interval::Day),
                Dimension::parse(BREAKDOWNS[a]).unwrap(),
                Dimension::parse(BREAKDOWNS[b]).unwrap(),
            ]),
            limit: 10,
            offset: 0
        }),
        Just(Shape::Realtime),
        Just(Shape::NextPages { page: "/a".into() }),
        Just(Shape::Paths {
            page: "/a".into(),
            depth: 2,
            branches: 5
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(event, compare)| Shape::Funnel {
            steps: vec![
                FunnelStep::Page {
                    page: "/a".into(),
                    site: None
                },
                if event {
                    FunnelStep::Event {
                        event: "Sent".into(),
                    }
                } else {
                    FunnelStep::Page {
                        page: "/b".into(),
                        site: None,
                    }
                },
            ],
            compare,
        }),
    ]
}

prop_compose! {
    fn question()(
        site in 0usize..4,
        extra in proptest::sample::subsequence(vec![0usize, 1, 2, 3], 0..=2),
        purpose in prop_oneof![4 => 0usize..2, 1 => Just(2usize)],
        metrics in prop_oneof![Just(vec![0usize]), proptest::sample::subsequence((0..Metric::ALL.len()).collect::<Vec<_>>(), 1..=3)],
        filters in proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4], 0..=2),
        either in proptest::option::weighted(0.3, prop_oneof![Just((0usize, 1usize)), (0usize..5, 0usize..5)]),
        first in 0i64..150,
        days in 1i64..60,
        shape in shape(),
    ) -> Question {
        let host = SITES[site].0.to_string();
        let mut sites = vec![host.clone()];
        for e in extra {
            if e != site {
                sites.push(SITES[e].0.to_string());
            }
        }
        let range = DateRange { first: day(first), last: day(first + days - 1) };
        let filters = filters.into_iter().map(is_x).collect();
        let mut query = Query::for_range(&host, range, metrics.into_iter().map(|m| Metric::ALL[m]).collect(), filters);
        // An `or` across two properties (v2's filter tree).
        query.conditions = either.map(either_x).into_iter().collect();
        Question {
            query,
            purpose: ["service-improvement", "statistics", "campaigning"][purpose].to_string(),
            sites,
            shape,
            imports: false,
        }
    }
}

/// `BREAKDOWNS[f] is x`.
fn is_x(f: usize) -> Filter {
    Filter {
        dimension: Dimension::parse(BREAKDOWNS[f]).unwrap(),
        op: FilterOp::Is,
        values: vec!["x".into()],
    }
}

/// `BREAKDOWNS[a] is x or BREAKDOWNS[b] is x`.
fn either_x((a, b): (usize, usize)) -> Condition {
    Condition::Any(vec![Condition::One(is_x(a)), Condition::One(is_x(b))])
}

/// Whether a link (if the caller is one) may read `q` at all: its site,
/// its purpose and every filter and condition of its segment.
fn link_allows(who: &Principal, q: &Question) -> bool {
    let Some(l) = &who.link else { return true };
    if q.query.site != l.site || q.purpose != l.purpose {
        return false;
    }
    l.filters
        .iter()
        .all(|f| q.query.filters.iter().any(|g| g == f))
        && l.conditions
            .iter()
            .all(|c| q.query.conditions.iter().any(|d| d == c))
}

/// Whether agreement `a` lets `who` see `q` on `today`, checked condition
/// by condition and day by day.
fn oracle_allows(
    config: &Config,
    a: &Agreement,
    who: &Principal,
    q: &Question,
    today: NaiveDate,
) -> bool {
    if !a.parties.contains(&who.organisation) || !q.sites.iter().all(|s| a.covers(s)) {
        return false;
    }
    if who.link.is_some() && !a.publish {
        return false;
    }
    // Every party's signature, checked here by its own loop.
    for party in &a.parties {
        if !a
            .signatures
            .iter()
            .any(|s| &s.organisation == party && s.verified)
        {
            return false;
        }
    }
    let (first, last) = q.days_read();
    let mut d = first;
    while d <= last {
        if !a.in_force(d) {
            return false;
        }
        d += Duration::days(1);
    }
    let journey = matches!(
        q.shape,
        Shape::NextPages { .. }
            | Shape::PreviousPages { .. }
            | Shape::Paths { .. }
            | Shape::Funnel { .. }
    );
    let mut metrics = q.query.metrics.clone();
    if journey {
        metrics.extend([Metric::Visitors, Metric::Visits]);
    }
    let mut props: Vec<Dimension> = q
        .query
        .filters
        .iter()
        .map(|f| f.dimension.clone())
        .collect();
    // Each side of an `or` reveals its property as a filter does.
    for c in &q.query.conditions {
        if let Condition::Any(parts) = c {
            for p in parts {
                if let Condition::One(f) = p {
                    props.push(f.dimension.clone());
                }
            }
        }
    }
    match &q.shape {
        // Time is no property; each other part of a tuple is one.
        Shape::Breakdown {
            by: Dimension::Tuple(parts),
            ..
        } => props.extend(
            parts
                .iter()
                .filter(|p| !matches!(p, Dimension::Time(_)))
                .cloned(),
        ),
        Shape::Breakdown { by, .. } => props.push(by.clone()),
        Shape::Funnel { steps, .. } => {
            props.push(Dimension::Page);
            for s in steps {
                if let FunnelStep::Event { .. } = s {
                    props.push(Dimension::EventName);
                }
            }
        }
        Shape::NextPages { .. } | Shape::PreviousPages { .. } | Shape::Paths { .. } => {
            props.push(Dimension::Page)
        }
        _ => {}
    }
    a.in_force(today)
        && q.shape != Shape::Realtime
        && a.purposes.contains(&q.purpose)
        && config.purpose(&q.purpose).is_some()
        && q.sites
            .iter()
            .all(|s| config.site(s).unwrap().purposes.contains(&q.purpose))
        && (!journey || (a.journeys && a.epsilon_per_month.is_none()))
        && metrics
            .iter()
            .all(|m| a.metrics.iter().any(|n| n == m.name()))
        && (a.epsilon_per_month.is_none() || metrics.iter().all(|m| *m == Metric::Visitors))
        && props
            .iter()
            .all(|p| a.breakdowns.iter().any(|b| *b == p.to_string()))
}

/// A ledger that records every spend and refuses past the limit.
#[derive(Default)]
struct TestLedger {
    spent: Mutex<Vec<f64>>,
    refuse: bool,
}

impl Ledger for TestLedger {
    fn spend(
        &self,
        agreement: &str,
        party: &str,
        month: &str,
        epsilon: f64,
        limit: f64,
    ) -> Result<f64, glasshouse_privacy::budget::BudgetError> {
        let mut spent = self.spent.lock().unwrap();
        let total: f64 = spent.iter().sum();
        if self.refuse || total + epsilon > limit * (1.0 + 1e-9) {
            return Err(glasshouse_privacy::budget::BudgetError::Spent {
                agreement: agreement.into(),
                party: party.into(),
                month: month.into(),
                spent: total,
                limit,
            });
        }
        spent.push(epsilon);
        Ok(total + epsilon)
    }
}

/// How the random cases fell: configurations refused, own grants, shared
/// grants, refusals. Checked after the run, so the property cannot pass by
/// never reaching a shared grant.
static OUTCOMES: Mutex<[u32; 4]> = Mutex::new([0; 4]);

#[test]
fn the_random_cases_reach_every_outcome() {
    nothing_about_another_organisation_without_one_agreement_covering_every_condition();
    let o = *OUTCOMES.lock().unwrap();
    eprintln!(
        "configurations refused {}, own {}, shared {}, refused {}",
        o[0], o[1], o[2], o[3]
    );
    assert!(o[1] > 50 && o[2] > 5 && o[3] > 50, "{o:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn nothing_about_another_organisation_without_one_agreement_covering_every_condition(
        site_purposes in proptest::collection::vec(proptest::sample::subsequence(vec![0usize, 1], 1..=2), 4),
        agreements in proptest::collection::vec(agreement_spec(), 0..4),
        org in 0usize..3,
        role in 0usize..3,
        operator in any::<bool>(),
        link in proptest::option::weighted(0.3, (0usize..4, 0usize..2, 0usize..3)),
        q in question(),
        today in 0i64..250,
    ) {
        let Some(config) = config(&site_purposes, &agreements) else {
            OUTCOMES.lock().unwrap()[0] += 1;
            return Ok(());
        };
        let link = link.map(|(site, purpose, segment)| LinkScope {
            site: SITES[site].0.into(),
            purpose: PURPOSES[purpose].into(),
            // No segment, a segment of one filter, or one of an `or` across two properties.
            filters: if segment == 1 { vec![is_x(0)] } else { vec![] },
            conditions: if segment == 2 { vec![either_x((0, 1))] } else { vec![] },
        });
        let who = Principal { organisation: ORGS[org].into(), role: Role::ALL[role], operator, link };
        let today = day(today);
        let own = q.sites.iter().all(|s| config.site(s).unwrap().organisation == who.organisation);
        let allowed_by: Vec<&Agreement> = config.agreements.iter().filter(|a| oracle_allows(&config, a, &who, &q, today)).collect();
        match authorise(&config, &who, &q, today) {
            Ok(grant) => {
                OUTCOMES.lock().unwrap()[if own { 1 } else { 2 }] += 1;
                prop_assert_eq!(&grant.purpose, &q.purpose);
                prop_assert!(link_allows(&who, &q), "a link read outside its scope: {q:?}");
                match &grant.ground {
                    Ground::Own => {
                        prop_assert!(own, "own ground for a partner's site");
                        prop_assert!(config.purpose(&q.purpose).is_some());
                    }
                    Ground::Agreement { id, k, epsilon_per_month } => {
                        prop_assert!(!own);
                        let a = config.agreements.iter().find(|a| &a.id == id).unwrap();
                        prop_assert!(oracle_allows(&config, a, &who, &q, today), "{id} granted {q:?}");
                        prop_assert_eq!(*k, u64::from(a.k));
                        prop_assert_eq!(*epsilon_per_month, a.epsilon_per_month);
                    }
                }
            }
            Err(refusal) => {
                OUTCOMES.lock().unwrap()[3] += 1;
                prop_assert!(!refusal.reason.is_empty());
                if !own && link_allows(&who, &q) {
                    prop_assert!(allowed_by.is_empty(), "refused {refusal} though {} allows it", allowed_by[0].id);
                }
            }
        }
    }

    #[test]
    fn no_released_figure_about_a_partner_is_under_k_and_budget_is_charged_first(
        k in 1u64..30,
        epsilon in proptest::option::of(0.5f64..20.0),
        counts in proptest::collection::vec(0u64..60, 0..40),
        refuse in any::<bool>(),
    ) {
        let grant = Grant {
            organisation: "a-org".into(),
            role: Role::Viewer,
            purpose: "statistics".into(),
            ground: Ground::Agreement { id: "ag".into(), k, epsilon_per_month: epsilon },
        };
        let ledger = TestLedger { refuse, ..TestLedger::default() };
        match grant.release(&ledger, day(0), &counts) {
            Ok(released) => {
                prop_assert_eq!(released.len(), counts.len());
                prop_assert!(released.iter().flatten().all(|v| *v >= k));
                if epsilon.is_some() {
                    prop_assert!(!refuse);
                    prop_assert_eq!(ledger.spent.lock().unwrap().len(), 1, "charged once, before release");
                } else {
                    prop_assert!(ledger.spent.lock().unwrap().is_empty());
                    for (r, c) in released.iter().zip(&counts) {
                        prop_assert_eq!(*r, (*c >= k).then_some(*c));
                    }
                }
            }
            Err(ReleaseError::Refused(_)) => prop_assert!(epsilon.is_some() && refuse),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

#[test]
fn the_budget_refuses_past_the_month() {
    let grant = Grant {
        organisation: "a-org".into(),
        role: Role::Viewer,
        purpose: "statistics".into(),
        ground: Ground::Agreement {
            id: "ag".into(),
            k: 1,
            epsilon_per_month: Some(2.0),
        },
    };
    let ledger = TestLedger::default();
    for _ in 0..SHARED_QUERIES_PER_MONTH as usize {
        grant.release(&ledger, day(0), &[100]).unwrap();
    }
    assert!(matches!(
        grant.release(&ledger, day(0), &[100]),
        Err(ReleaseError::Refused(_))
    ));
}

#[test]
fn a_noisy_answer_is_served_again_the_same_day_only() {
    let grant = Grant {
        organisation: "a-org".into(),
        role: Role::Viewer,
        purpose: "statistics".into(),
        ground: Ground::Agreement {
            id: "ag".into(),
            k: 1,
            epsilon_per_month: Some(2.0),
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let releases = Releases::open(dir.path()).unwrap();
    let answer = serde_json::json!({"results": [1]});
    releases.keep(&grant, "q", day(0), &answer).unwrap();
    assert_eq!(releases.get(&grant, "q", day(0)), Some(answer));
    assert_eq!(releases.get(&grant, "other q", day(0)), None);
    assert_eq!(releases.get(&grant, "q", day(1)), None);
}

/// Agreements list the metrics before the revenue ones, which are never
/// shared (the configuration refuses them).
fn shareable() -> usize {
    Metric::ALL.iter().take_while(|m| !m.is_revenue()).count()
}

#[test]
fn an_agreement_missing_a_signature_is_refused_by_name() {
    let spec = AgreementSpec {
        parties: vec![0, 1],
        sites: vec![0, 1],
        purposes: vec![0],
        metrics: vec![0],
        breakdowns: vec![],
        journeys: false,
        publish: false,
        unsigned: Some(1),
        k: 2,
        epsilon: None,
        start: 0,
        length: None,
    };
    let config = config(&[vec![0], vec![0], vec![0], vec![0]], &[spec]).unwrap();
    let who = Principal {
        organisation: ORGS[0].into(),
        role: Role::Viewer,
        operator: false,
        link: None,
    };
    let q = Question {
        query: Query::for_range(
            SITES[1].0,
            DateRange {
                first: day(10),
                last: day(10),
            },
            vec![Metric::Visitors],
            vec![],
        ),
        purpose: PURPOSES[0].into(),
        sites: vec![SITES[1].0.into()],
        shape: Shape::Aggregate { compare: None },
        imports: false,
    };
    let refusal = authorise(&config, &who, &q, day(11)).unwrap_err();
    assert!(
        refusal
            .reason
            .contains("lacks a verified signature of b-org"),
        "{refusal}"
    );
}
