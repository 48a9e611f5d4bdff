//! Conditions (v2's `or` across properties, `not` over `and`/`or`,
//! `has_done` and `has_not_done`): each
//! read on every event with its visit, against the oracle, in totals and in
//! breakdowns by a visit property and by an event property, which the
//! store answers by different paths.

use super::aggregates::{on_days, query, same, same_rows, shown_source};
use glasshouse_model::query::Dimension;
use glasshouse_store::Store;
use glasshouse_testkit::traffic::{Person, Sent};
use glasshouse_testkit::truth::{self, Visit};
use serde_json::{json, Value};

/// Which events (each with its visit) a condition should pick.
type Picks<'a> = Box<dyn Fn(&Visit, &Sent) -> bool + 'a>;

/// Every case over days 1 and 2 of the loaded traffic.
pub fn conditions(store: &dyn Store, all: &[Visit], people: &[Person]) {
    let kept = on_days(all, (1, 2));
    let cases: Vec<(Value, Picks)> = vec![
        (
            json!([
                "or",
                [
                    ["is", "event:page", ["/contact"]],
                    ["is", "visit:source", ["Google"]]
                ]
            ]),
            Box::new(|v, e| e.path == "/contact" || v.source() == "Google"),
        ),
        (
            json!([
                "not",
                [
                    "and",
                    [
                        ["contains", "event:page", ["credit"]],
                        ["is", "visit:browser", ["Firefox"]]
                    ]
                ]
            ]),
            Box::new(|v, e| !(e.path.contains("credit") && v.browser(people) == "Firefox")),
        ),
        (
            json!([
                "or",
                [
                    ["is", "visit:source", ["Bing"]],
                    ["is", "visit:exit_page", ["/contact"]]
                ]
            ]),
            Box::new(|v, _| v.source() == "Bing" || v.exit_page() == Some("/contact")),
        ),
        (
            json!([
                "or",
                [
                    ["is", "event:name", ["Form submitted"]],
                    [
                        "and",
                        [
                            ["is", "visit:country", ["GB"]],
                            ["not", ["is", "event:page", ["/"]]]
                        ]
                    ]
                ]
            ]),
            Box::new(|v, e| {
                e.name == "Form submitted" || (v.country(people) == "GB" && e.path != "/")
            }),
        ),
        (
            // Never merged into one `is_not`: each event is on one page, so
            // every event is picked.
            json!([
                "or",
                [
                    ["is_not", "event:page", ["/"]],
                    ["is_not", "event:page", ["/apply"]]
                ]
            ]),
            Box::new(|_, _| true),
        ),
        (
            json!([
                "or",
                [
                    ["is", "visit:entry_page", ["/"]],
                    ["is", "visit:exit_page", ["/apply"]]
                ]
            ]),
            Box::new(|v, _| v.entry_page() == "/" || v.exit_page() == Some("/apply")),
        ),
        (
            // Whole visits that have done something, or have not.
            json!([
                "has_done",
                [
                    "or",
                    [
                        ["is", "event:name", ["Form submitted"]],
                        ["is", "event:page", ["/apply"]]
                    ]
                ]
            ]),
            Box::new(|v, _| {
                v.events
                    .iter()
                    .any(|e| e.name == "Form submitted" || e.path == "/apply")
            }),
        ),
        (
            json!([
                "and",
                [
                    ["has_not_done", ["is", "event:page", ["/contact"]]],
                    ["is", "event:page", ["/apply"]]
                ]
            ]),
            Box::new(|v, e| e.path == "/apply" && !v.events.iter().any(|x| x.path == "/contact")),
        ),
    ];
    for (tree, picks) in &cases {
        let said = glasshouse_model::v2::filters(std::slice::from_ref(tree)).unwrap();
        assert!(!said.conditions.is_empty(), "{tree} is a condition");
        let mut q = query((1, 2), "");
        (q.filters, q.conditions) = (said.filters, said.conditions);
        let what = tree.to_string();
        same(
            &store.aggregate(&q).unwrap(),
            &truth::totals_where(&kept, picks),
            &what,
        );
        same_rows(
            store.breakdown(&q, &Dimension::Source, 1000, 0).unwrap(),
            truth::by_visit_and_event(&kept, |v, e| picks(v, e).then(|| shown_source(v))),
            &format!("{what} by source"),
        );
        same_rows(
            store.breakdown(&q, &Dimension::Page, 1000, 0).unwrap(),
            truth::by_visit_and_event(&kept, |v, e| picks(v, e).then(|| e.path.clone())),
            &format!("{what} by page"),
        );
    }
}

/// A filter tree drawn at random, with the oracle's reading of it.
#[derive(Debug, Clone)]
enum Tree {
    /// `event:page` is (or, negated, is not) the path.
    Page(bool, &'static str),
    /// `event:page` contains the text (case heeded, as v2's default).
    PagePart(bool, &'static str),
    /// `visit:source` ("" for `Direct / None`).
    Source(bool, &'static str),
    /// `visit:browser`.
    Browser(bool, &'static str),
    /// `event:name`.
    Name(bool, &'static str),
    /// `visit:exit_page`.
    Exit(bool, &'static str),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
    /// `has_done` (or, negated, `has_not_done`) over event filters.
    Done(bool, Box<Tree>),
}

impl Tree {
    fn json(&self) -> Value {
        let one = |neg: bool, yes: &str, no: &str, dim: &str, v: &str| {
            json!([if neg { no } else { yes }, dim, [v]])
        };
        let list = |word: &str, parts: &[Tree]| {
            json!([word, parts.iter().map(Tree::json).collect::<Vec<_>>()])
        };
        match self {
            Tree::Page(n, p) => one(*n, "is", "is_not", "event:page", p),
            Tree::PagePart(n, p) => one(*n, "contains", "contains_not", "event:page", p),
            Tree::Source(n, s) => {
                let s = if s.is_empty() { "Direct / None" } else { s };
                one(*n, "is", "is_not", "visit:source", s)
            }
            Tree::Browser(n, b) => one(*n, "is", "is_not", "visit:browser", b),
            Tree::Name(n, x) => one(*n, "is", "is_not", "event:name", x),
            Tree::Exit(n, p) => one(*n, "is", "is_not", "visit:exit_page", p),
            Tree::And(parts) => list("and", parts),
            Tree::Or(parts) => list("or", parts),
            Tree::Not(t) => json!(["not", t.json()]),
            Tree::Done(n, t) => json!([if *n { "has_not_done" } else { "has_done" }, t.json()]),
        }
    }

    fn holds(&self, v: &Visit, e: &Sent, people: &[Person]) -> bool {
        match self {
            Tree::Page(n, p) => (e.path == *p) != *n,
            Tree::PagePart(n, p) => e.path.contains(p) != *n,
            Tree::Source(n, s) => (v.source() == *s) != *n,
            Tree::Browser(n, b) => (v.browser(people) == *b) != *n,
            Tree::Name(n, x) => (e.name == *x) != *n,
            Tree::Exit(n, p) => (v.exit_page() == Some(*p)) != *n,
            Tree::And(parts) => parts.iter().all(|t| t.holds(v, e, people)),
            Tree::Or(parts) => parts.iter().any(|t| t.holds(v, e, people)),
            Tree::Not(t) => !t.holds(v, e, people),
            Tree::Done(n, t) => v.events.iter().any(|x| t.holds(v, x, people)) != *n,
        }
    }
}

fn trees() -> impl proptest::strategy::Strategy<Value = Tree> {
    use glasshouse_testkit::traffic::PAGES;
    use proptest::prelude::*;
    use proptest::sample::select;
    let page = || select(PAGES.to_vec());
    let events = prop_oneof![
        (any::<bool>(), page()).prop_map(|(n, p)| Tree::Page(n, p)),
        (any::<bool>(), select(vec!["credit", "apply", "how"]))
            .prop_map(|(n, p)| Tree::PagePart(n, p)),
        (
            any::<bool>(),
            select(vec!["pageview", "Form submitted", "Scrolled"])
        )
            .prop_map(|(n, x)| Tree::Name(n, x)),
    ];
    let done = (any::<bool>(), prop::collection::vec(events.clone(), 1..3))
        .prop_map(|(n, parts)| Tree::Done(n, Box::new(Tree::Or(parts))));
    let leaf = prop_oneof![
        3 => events,
        1 => (any::<bool>(), select(vec!["", "Google", "Bing"])).prop_map(|(n, s)| Tree::Source(n, s)),
        1 => (any::<bool>(), select(vec!["Chrome", "Firefox", "Safari"])).prop_map(|(n, b)| Tree::Browser(n, b)),
        1 => (any::<bool>(), page()).prop_map(|(n, p)| Tree::Exit(n, p)),
        1 => done,
    ];
    leaf.prop_recursive(3, 10, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::Or),
            inner.prop_map(|t| Tree::Not(Box::new(t))),
        ]
    })
}

/// Random trees of `and`, `or`, `not`, `has_done` and `has_not_done` over
/// visit and event properties, each against the oracle's reading, in totals
/// and by page (the store's paths for visits and for events). The draws are
/// the same on every run, so that every back end meets the same trees.
pub fn random_trees(store: &dyn Store, all: &[Visit], people: &[Person]) {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let kept = on_days(all, (1, 2));
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&trees(), |tree| {
            let json = tree.json();
            let said = glasshouse_model::v2::filters(std::slice::from_ref(&json)).unwrap();
            let mut q = query((1, 2), "");
            (q.filters, q.conditions) = (said.filters, said.conditions);
            let picks = |v: &Visit, e: &Sent| tree.holds(v, e, people);
            let what = json.to_string();
            same(
                &store.aggregate(&q).unwrap(),
                &truth::totals_where(&kept, picks),
                &what,
            );
            same_rows(
                store.breakdown(&q, &Dimension::Page, 1000, 0).unwrap(),
                truth::by_visit_and_event(&kept, |v, e| picks(v, e).then(|| e.path.clone())),
                &format!("{what} by page"),
            );
            Ok(())
        })
        .unwrap();
}
