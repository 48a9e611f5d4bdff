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
