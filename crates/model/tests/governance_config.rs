//! The governance parts of the configuration: purposes, site purposes and
//! retention tiers, agreements. Each kind of mistake is refused with the
//! file, line and field that need fixing.

use chrono::NaiveDate;
use glasshouse_model::{Config, PurposeCategory};

const GOOD: &str = r#"
[[organisations]]
id = "cabinet-office"
name = "Cabinet Office"
dpo = "dpo@cabinetoffice.gov.uk"
privacy_notice = "https://www.gov.uk/help/privacy-notice"

[[organisations]]
id = "welsh-government"
name = "Welsh Government"

[[organisations]]
id = "scottish-government"
name = "Scottish Government"

[[purposes]]
id = "service-improvement"
description = "Improve services"
lawful_basis = "Public task"
category = "service-improvement"

[[purposes]]
id = "performance"
description = "Publish performance"
lawful_basis = "Public task"
category = "performance-reporting"

[[sites]]
host = "www.gov.uk"
organisation = "cabinet-office"
purposes = ["service-improvement", "performance"]
raw_retention_days = 30
aggregate_retention_days = 761

[[sites]]
host = "gov.wales"
organisation = "welsh-government"

[[sites]]
host = "www.mygov.scot"
organisation = "scottish-government"

[[agreements]]
id = "uk-wales"
title = "Journeys between GOV.UK and GOV.WALES"
parties = ["cabinet-office", "welsh-government"]
sites = ["www.gov.uk", "gov.wales"]
purposes = ["service-improvement"]
metrics = ["visitors"]
breakdowns = ["event:page"]
journeys = true
k = 10
epsilon_per_month = 2.0
start = "2026-01-01"
end = "2027-12-31"
signatories = ["A Person, Director, Cabinet Office"]
"#;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn a_full_governance_file_parses() {
    let c = Config::parse(&glasshouse_testkit::signing::signed(GOOD), "g.toml").unwrap();
    assert_eq!(c.purposes.len(), 2);
    assert_eq!(
        c.purposes[1].category,
        PurposeCategory::PerformanceReporting
    );
    let wales = c.site("gov.wales").unwrap();
    assert_eq!(wales.purposes, vec!["service-improvement", "performance"]);
    assert_eq!(wales.aggregate_retention_days, 761);
    let a = &c.agreements[0];
    assert_eq!(a.k, 10);
    assert_eq!(a.epsilon_per_month, Some(2.0));
    assert_eq!(
        c.organisation("cabinet-office").unwrap().dpo.as_deref(),
        Some("dpo@cabinetoffice.gov.uk")
    );
}

#[test]
fn only_sites_in_a_journey_agreement_share_a_visitor_scope() {
    let c = Config::parse(&glasshouse_testkit::signing::signed(GOOD), "g.toml").unwrap();
    let d = day("2026-06-01");
    assert_eq!(
        c.visitor_scope("www.gov.uk", d),
        c.visitor_scope("gov.wales", d)
    );
    assert_eq!(c.visitor_scope("www.mygov.scot", d), "www.mygov.scot");
    assert_ne!(
        c.visitor_scope("www.gov.uk", d),
        c.visitor_scope("www.mygov.scot", d)
    );
    assert_eq!(
        c.journey_sites("www.gov.uk", d),
        vec!["www.gov.uk", "gov.wales"]
    );
    // Before the agreement starts and after it ends, nothing is linked.
    assert_eq!(
        c.visitor_scope("www.gov.uk", day("2025-12-31")),
        "www.gov.uk"
    );
    assert_eq!(c.visitor_scope("gov.wales", day("2028-01-01")), "gov.wales");
}

#[test]
fn a_file_without_purposes_gets_one_narrow_default() {
    let text = "[[organisations]]\nid = \"o\"\nname = \"O\"\n[[sites]]\nhost = \"a.example\"\norganisation = \"o\"\n";
    let c = Config::parse(text, "g.toml").unwrap();
    assert_eq!(c.purposes.len(), 1);
    assert_eq!(c.purposes[0].category, PurposeCategory::ServiceImprovement);
    assert_eq!(
        c.site("a.example").unwrap().purposes,
        vec!["service-improvement"]
    );
}

fn error_of(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    Config::parse(&GOOD.replacen(from, to, 1), "g.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn each_kind_of_mistake_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "category = \"service-improvement\"",
            "category = \"campaigning\"",
            "g.toml:20: purposes[0].category: \"campaigning\" is not one of the fixed categories",
        ),
        ("lawful_basis = \"Public task\"", "lawful_basis = \" \"", "purposes[0].lawful_basis: must not be empty"),
        (
            "purposes = [\"service-improvement\", \"performance\"]",
            "purposes = [\"marketing\"]",
            "sites[0].purposes[0]: unknown purpose \"marketing\"",
        ),
        (
            "aggregate_retention_days = 761",
            "aggregate_retention_days = 7",
            "sites[0].aggregate_retention_days: must be at least raw_retention_days (30)",
        ),
        (
            "parties = [\"cabinet-office\", \"welsh-government\"]",
            "parties = [\"cabinet-office\"]",
            "agreements[0].parties: an agreement needs at least two",
        ),
        (
            "sites = [\"www.gov.uk\", \"gov.wales\"]",
            "sites = [\"www.gov.uk\", \"www.mygov.scot\"]",
            "agreements[0].sites: \"www.mygov.scot\" belongs to \"scottish-government\", which is not a party",
        ),
        ("metrics = [\"visitors\"]", "metrics = [\"ip\"]", "agreements[0].metrics: \"ip\" is not a metric"),
        ("metrics = [\"visitors\"]", "metrics = [\"visitors\", \"pageviews\"]", "agreements[0].metrics: \"pageviews\" cannot be shared under an ε budget"),
        ("breakdowns = [\"event:page\"]", "breakdowns = [\"visit:ip\"]", "agreements[0].breakdowns"),
        ("k = 10", "k = 1", "agreements[0].k: must be at least 2"),
        ("epsilon_per_month = 2.0", "epsilon_per_month = -1.0", "agreements[0].epsilon_per_month"),
        ("start = \"2026-01-01\"", "start = \"soon\"", "agreements[0].start: \"soon\" is not a date"),
        ("end = \"2027-12-31\"", "end = \"2025-01-01\"", "agreements[0].end: is before start"),
        ("purposes = [\"service-improvement\"]\nmetrics", "purposes = [\"x\"]\nmetrics", "agreements[0].purposes: unknown purpose \"x\""),
    ];
    for (from, to, want) in cases {
        let e = error_of(from, to);
        assert!(e.contains(want), "{to}: got {e}, want {want}");
        assert!(e.starts_with("g.toml:"), "{e}");
    }
}

#[test]
fn a_site_links_journeys_under_one_agreement_only() {
    let second = r#"
[[agreements]]
id = "uk-wales-2"
title = "Again"
parties = ["cabinet-office", "welsh-government"]
sites = ["gov.wales"]
purposes = ["service-improvement"]
journeys = true
k = 5
start = "2026-01-01"
"#;
    let e = Config::parse(&format!("{GOOD}{second}"), "g.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("agreements[1].journeys") && e.contains("under one agreement only"),
        "{e}"
    );
}

#[test]
fn an_agreement_is_in_force_only_signed_by_every_party_and_unaltered() {
    use glasshouse_testkit::signing::{signed, signed_except};
    let d = day("2026-03-01");
    let linked = |c: &Config| c.visitor_scope("www.gov.uk", d) == c.visitor_scope("gov.wales", d);
    let all = Config::parse(&signed(GOOD), "g.toml").unwrap();
    assert!(all.agreements[0].in_force(d) && linked(&all));
    // One party has not signed: not in force, visits not linked.
    let one = Config::parse(
        &signed_except(GOOD, |_, p| p == "welsh-government"),
        "g.toml",
    )
    .unwrap();
    assert_eq!(one.agreements[0].unsigned_by(), ["welsh-government"]);
    assert!(!one.agreements[0].in_force(d) && !linked(&one));
    // Widened after signing: both signatures fail.
    let altered = signed(GOOD).replacen("k = ", "k = 1", 1);
    let altered = Config::parse(&altered, "g.toml").unwrap();
    assert_eq!(
        altered.agreements[0].unsigned_by().len(),
        2,
        "{:?}",
        altered.agreements[0].signatures
    );
    assert!(!linked(&altered));
    // A signature by an organisation outside the agreement is refused at load.
    let outsider = signed(GOOD).replacen(
        "organisation = \"welsh-government\", signed",
        "organisation = \"scottish-government\", signed",
        1,
    );
    let e = Config::parse(&outsider, "g.toml").unwrap_err().to_string();
    assert!(e.contains("signatures") && e.contains("not a party"), "{e}");
}
