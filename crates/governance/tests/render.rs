//! The register and the DPIA rendered from a real configuration file: each
//! test fails if a published promise stops following the configuration.

use chrono::{DateTime, TimeZone, Utc};
use glasshouse_governance::{
    dpia, transparency, AuditPage, AuditRow, Inventory, PublicCount, SiteInventory,
};
use glasshouse_model::Config;
use serde_json::Value;

const CONFIG: &str = r#"
public_url = "https://analytics.example.gov.uk"

[[organisations]]
id = "cabinet-office"
name = "Cabinet Office"
dpo = "dpo@cabinetoffice.gov.uk"
privacy_notice = "https://www.gov.uk/help/privacy-notice"

[[organisations]]
id = "welsh-government"
name = "Welsh Government"
dpo = "https://www.gov.wales/contact-data-protection-officer"

[[organisations]]
id = "scottish-government"
name = "Scottish Government"

[[purposes]]
id = "service-improvement"
description = "Finding where people struggle so that journeys can be improved."
lawful_basis = "Public task (UK GDPR Article 6(1)(e))"
category = "service-improvement"

[[purposes]]
id = "performance"
description = "Publishing how many people use each service."
lawful_basis = "Public task"
category = "performance-reporting"

[[sites]]
host = "www.gov.uk"
organisation = "cabinet-office"
query_params = ["q"]
props = ["url"]
purposes = ["service-improvement", "performance"]
raw_retention_days = 30
aggregate_retention_days = 761

[[sites]]
host = "gov.wales"
organisation = "welsh-government"
raw_retention_days = 7
aggregate_retention_days = 400

[[sites]]
host = "www.mygov.scot"
organisation = "scottish-government"
purposes = ["performance"]
raw_retention_days = 60
aggregate_retention_days = 365

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
signatories = ["Director of Digital, Cabinet Office", "Chief Digital Officer, Welsh Government"]
"#;

const SECOND_AGREEMENT: &str = r#"
[[agreements]]
id = "scot-wales-figures"
title = "Figures shared between Scotland and Wales"
parties = ["scottish-government", "welsh-government"]
sites = ["www.mygov.scot", "gov.wales"]
purposes = ["performance"]
metrics = ["visitors"]
k = 15
start = "2026-01-01"
"#;

fn agreement_block() -> &'static str {
    let start = CONFIG.find("[[agreements]]").unwrap();
    &CONFIG[start..]
}

fn config(text: &str) -> Config {
    Config::parse(&glasshouse_testkit::signing::signed(text), "t.toml").unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 5, 0).unwrap()
}

fn inventory() -> Inventory {
    Inventory {
        sites: vec![
            SiteInventory {
                host: "www.gov.uk".into(),
                events_stored: PublicCount::About(1_200_000),
                oldest_event: Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 1).unwrap()),
                visitors_last_30_days: PublicCount::About(46_000),
            },
            SiteInventory {
                host: "gov.wales".into(),
                events_stored: PublicCount::About(1_000),
                oldest_event: Some(Utc.with_ymd_and_hms(2026, 2, 24, 8, 0, 0).unwrap()),
                visitors_last_30_days: PublicCount::FewerThan(10),
            },
        ],
        audit_log_size: 95,
        audit_checkpoint: Some("analytics.example.gov.uk/glasshouse-audit\n95\nq1w2e3=\n\n— analytics.example.gov.uk/glasshouse-audit abc=\n".into()),
        audit_public_key: Some("analytics.example.gov.uk/glasshouse-audit+1a2b3c4d+AQID".into()),
        generated_at: now(),
        store_backend: "DuckDB (embedded)".into(),
        links: Vec::new(),
    }
}

fn row(i: u64, host: &str) -> AuditRow {
    AuditRow {
        time: format!("2026-03-01T10:{:02}:00Z", i % 60),
        kind: "query".into(),
        organisation: "cabinet-office".into(),
        role: "analyst".into(),
        purpose: "service-improvement".into(),
        query: format!("GET /api/v1/stats/aggregate?metrics=visitors&site_id={host}"),
        rows: i,
        decision: if i.is_multiple_of(2) {
            "allowed".into()
        } else {
            "refused".into()
        },
        reason: if i.is_multiple_of(2) {
            String::new()
        } else {
            "purpose not allowed".into()
        },
    }
}

fn audit() -> AuditPage {
    let rows: Vec<AuditRow> = (0..95).map(|i| row(i, "www.gov.uk")).collect();
    AuditPage::from_rows(&rows, 1, 10, Some(true))
}

fn render_all(c: &Config) -> (Value, String, String, String) {
    let inv = inventory();
    (
        transparency::json(c, &inv, &audit()),
        transparency::html(c, &inv, &audit(), None),
        dpia::markdown(c, &inv, None),
        dpia::html(c, &inv, None),
    )
}

#[test]
fn json_lists_purposes_with_categories_and_agreements_in_full() {
    let (j, ..) = render_all(&config(CONFIG));
    assert_eq!(j["format"], "glasshouse-transparency-v1");
    assert_eq!(j["installation"]["generated_at"], "2026-03-02T14:05:00Z");
    assert_eq!(j["installation"]["store"], "DuckDB (embedded)");

    let purposes = j["purposes"]["declared"].as_array().unwrap();
    assert_eq!(purposes.len(), 2);
    assert_eq!(purposes[0]["id"], "service-improvement");
    assert_eq!(purposes[0]["category"], "service-improvement");
    assert_eq!(purposes[0]["category_label"], "Service improvement");
    assert_eq!(
        purposes[0]["lawful_basis"],
        "Public task (UK GDPR Article 6(1)(e))"
    );
    assert_eq!(purposes[1]["id"], "performance");
    assert_eq!(purposes[1]["category"], "performance-reporting");
    assert_eq!(purposes[1]["category_label"], "Performance reporting");
    let allowed: Vec<&str> = j["purposes"]["allowed_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        allowed,
        [
            "service-improvement",
            "performance-reporting",
            "accessibility",
            "security",
            "statistics"
        ]
    );
    assert!(j["purposes"]["note"]
        .as_str()
        .unwrap()
        .contains("no category for political or campaigning use"));

    let agreements = j["agreements"].as_array().unwrap();
    assert_eq!(agreements.len(), 1);
    let a = &agreements[0];
    assert_eq!(a["id"], "uk-wales");
    assert_eq!(
        a["parties"],
        serde_json::json!(["cabinet-office", "welsh-government"])
    );
    assert_eq!(a["sites"], serde_json::json!(["www.gov.uk", "gov.wales"]));
    assert_eq!(a["k"], 10);
    assert_eq!(a["epsilon_per_month"], 2.0);
    assert_eq!(a["journeys"], true);
    assert_eq!(a["metrics"], serde_json::json!(["visitors"]));
    assert_eq!(a["breakdowns"], serde_json::json!(["event:page"]));
    assert_eq!(a["start"], "2026-01-01");
    assert_eq!(a["end"], "2027-12-31");
    assert_eq!(a["signatories"].as_array().unwrap().len(), 2);
    assert_eq!(a["in_force"], true);

    let sites = j["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 3);
    assert_eq!(sites[0]["host"], "www.gov.uk");
    assert_eq!(sites[0]["raw_retention_days"], 30);
    assert_eq!(sites[0]["aggregate_retention_days"], 761);
    assert_eq!(sites[0]["query_params"], serde_json::json!(["q"]));
    assert_eq!(sites[0]["props"], serde_json::json!(["url"]));
    assert_eq!(sites[0]["visitor_scope"]["kind"], "agreement");
    assert_eq!(sites[0]["visitor_scope"]["agreement"], "uk-wales");
    assert_eq!(sites[0]["inventory"]["events_stored"]["about"], 1_200_000);
    assert_eq!(sites[2]["visitor_scope"]["description"], "this site only");
    assert_eq!(sites[2]["props"], Value::Null);
    assert_eq!(sites[2]["inventory"]["events_stored"]["fewer_than"], 10);

    let orgs = j["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 3);
    assert_eq!(orgs[0]["dpo"], "dpo@cabinetoffice.gov.uk");
    assert_eq!(orgs[2]["privacy_notice"], Value::Null);

    let collected: Vec<&str> = j["collected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "site",
        "time",
        "visitor_id",
        "visit_id",
        "journey",
        "pathname",
        "referrer",
        "country",
        "props",
        "revenue",
    ] {
        assert!(collected.contains(&name), "{name} missing from collected");
    }
    let visitor = j["collected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "visitor_id")
        .unwrap();
    assert_eq!(visitor["tier"], "raw-only");
    let not: Vec<&str> = j["not_collected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "ip_address",
        "user_agent",
        "cookies_and_identifiers",
        "page_title",
        "do_not_track",
    ] {
        assert!(not.contains(&name), "{name} missing from not_collected");
    }
    assert_eq!(j["visitor_counting"]["salt"]["days_kept"], 2);
    assert_eq!(j["visitor_counting"]["visitor_id_bits"], 64);
    assert!(j["visitor_counting"]["pseudonymisation"]
        .as_str()
        .unwrap()
        .contains("pseudonymisation, not anonymisation"));

    assert_eq!(j["audit_log"]["size"], 95);
    assert_eq!(j["audit_log"]["verified"], true);
    assert_eq!(j["audit_log"]["pages"], 10);
    assert_eq!(j["audit_log"]["entries"].as_array().unwrap().len(), 10);
    assert!(j["audit_log"]["public_key"]
        .as_str()
        .unwrap()
        .ends_with("+AQID"));
    assert_eq!(j["dpia"], "/transparency/dpia");
}

#[test]
fn an_agreement_not_yet_started_is_not_in_force() {
    let c = config(&CONFIG.replace("start = \"2026-01-01\"", "start = \"2026-06-01\""));
    let inv = inventory();
    let j = transparency::json(&c, &inv, &audit());
    assert_eq!(j["agreements"][0]["in_force"], false);
    // Not in force, so visitors are not linked yet.
    assert_eq!(j["sites"][0]["visitor_scope"]["kind"], "site");
    assert!(transparency::html(&c, &inv, &audit(), None).contains("Not yet in force"));
}

#[test]
fn changing_k_changes_every_output() {
    let (j10, h10, m10, d10) = render_all(&config(CONFIG));
    let (j25, h25, m25, d25) = render_all(&config(&CONFIG.replace("k = 10", "k = 25")));
    assert_eq!(j10["agreements"][0]["k"], 10);
    assert_eq!(j25["agreements"][0]["k"], 25);
    for (before, after) in [(&h10, &h25), (&m10, &m25), (&d10, &d25)] {
        assert!(before.contains("k = 10") && !before.contains("k = 25"));
        assert!(
            after.contains("k = 25") && !after.contains("k = 10"),
            "{after}"
        );
    }
}

#[test]
fn changing_retention_changes_every_output() {
    let (j30, h30, m30, d30) = render_all(&config(CONFIG));
    let (j14, h14, m14, d14) = render_all(&config(
        &CONFIG.replace("raw_retention_days = 30", "raw_retention_days = 14"),
    ));
    assert_eq!(j30["sites"][0]["raw_retention_days"], 30);
    assert_eq!(j14["sites"][0]["raw_retention_days"], 14);
    for (before, after) in [(&h30, &h14), (&m30, &m14), (&d30, &d14)] {
        // "30 days before today" labels the visitor figures; it is not a retention.
        let (before, after) = (
            before.replace("30 days before today", ""),
            after.replace("30 days before today", ""),
        );
        assert!(before.contains("30 days") && !before.contains("14 days"));
        assert!(
            after.contains("14 days") && !after.contains("30 days"),
            "{after}"
        );
    }
}

#[test]
fn removing_the_agreement_changes_every_output() {
    let without = CONFIG.replace(agreement_block(), "");
    let (j, h, m, d) = render_all(&config(&without));
    assert_eq!(j["agreements"], serde_json::json!([]));
    assert_eq!(j["sites"][0]["visitor_scope"]["kind"], "site");
    assert_eq!(j["sites"][0]["agreements"], serde_json::json!([]));
    assert!(h.contains("We have no agreements"));
    assert!(m.contains("No data is shared with another organisation."));
    assert!(d.contains("No data is shared with another organisation."));
    for out in [&h, &m, &d] {
        assert!(
            !out.contains("uk-wales") && !out.contains("Journeys between GOV.UK"),
            "{out}"
        );
    }
    // With the agreement, all three name it.
    let (_, h, m, d) = render_all(&config(CONFIG));
    for out in [&h, &m, &d] {
        assert!(out.contains("uk-wales"));
    }
}

fn heading_texts(markdown: &str, prefix: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| l.replace('\\', ""))
        .collect()
}

#[test]
fn the_dpia_has_the_seven_ico_sections_in_order() {
    let c = config(CONFIG);
    let inv = inventory();
    let expected = [
        "1. Identify the need for a DPIA",
        "2. Describe the processing",
        "3. Consultation process",
        "4. Assess necessity and proportionality",
        "5. Identify and assess risks",
        "6. Identify measures to reduce risk",
        "7. Sign off and outcomes",
    ];
    for site in [None, Some("www.gov.uk")] {
        let md = dpia::markdown(&c, &inv, site);
        assert_eq!(heading_texts(&md, "## "), expected);
        let html = dpia::html(&c, &inv, site);
        let h2: Vec<&str> = html
            .split("<h2 class=\"govuk-heading-l\">")
            .skip(1)
            .map(|s| s.split("</h2>").next().unwrap())
            .collect();
        assert_eq!(h2, expected);
        assert!(html.contains("govuk-warning-text"));
    }
    let md = dpia::markdown(&c, &inv, None);
    // The subsections of step 2 of the ICO template.
    assert_eq!(
        heading_texts(&md, "### ")[..4],
        [
            "Nature of the processing",
            "Scope of the processing",
            "Context of the processing",
            "Purposes of the processing"
        ]
    );
}

#[test]
fn the_dpia_is_filled_from_the_live_configuration_and_inventory() {
    let c = config(CONFIG);
    let md = dpia::markdown(&c, &inventory(), None);
    // Sites, volumes, retention.
    assert!(md.contains("| www.gov.uk | Cabinet Office | about 1,200,000 | 1 February 2026 at 00:00 UTC | about 46,000 | 30 days | 761 days |"), "{md}");
    assert!(
        md.contains("| www.mygov.scot | Scottish Government | fewer than 10 | none | fewer than 10 | 60 days | 365 days |")
    );
    // Agreements with k and ε.
    assert!(md.contains("k = 10") && md.contains("ε = 2 per month"));
    assert!(md.contains(
        "signed by: Director of Digital, Cabinet Office; Chief Digital Officer, Welsh Government."
    ));
    // Purposes with lawful bases.
    assert!(md.contains("Public task (UK GDPR Article 6(1)(e))"));
    // The risks the brief requires, each rated.
    for risk in [
        "Re-identification through the daily visitor id",
        "Linking one person's visits across organisations",
        "Function creep beyond the declared purposes",
        "Personal information leaking through addresses",
        "Keeping data longer than needed",
        "Unauthorised access to the data",
        "Disclosure through small numbers",
        "Tampering with the audit log",
    ] {
        assert!(
            md.contains(&format!("| **{risk}")),
            "{risk} not in the risk table"
        );
    }
    // A journey agreement is in force: cross-organisation linking is probable before safeguards.
    assert!(md.contains("| **Linking one person's visits across organisations**: "));
    let line = md
        .lines()
        .find(|l| l.starts_with("| **Linking one person"))
        .unwrap();
    assert!(
        line.ends_with("| Probable | Significant | High |"),
        "{line}"
    );
    // Safeguards named from the config: salts, scrubbing, DNT/GPC, audit log.
    assert!(md.contains("erased from memory and disk, daily"));
    assert!(md.contains("UK postcodes") && md.contains("National Insurance numbers"));
    assert!(md.contains("Do Not Track and Global Privacy Control are honoured"));
    assert!(md.contains("The log holds 95 entries now."));
    // Missing privacy notice is called out.
    assert!(md.contains("Scottish Government: no privacy notice is configured"));
    // The parts only a person can write are marked.
    assert!(md.matches("**To be completed by a person:**").count() >= 8);
    assert!(md.contains("DPO advice provided"));

    let without = config(&CONFIG.replace(agreement_block(), ""));
    let md = dpia::markdown(&without, &inventory(), None);
    let line = md
        .lines()
        .find(|l| l.starts_with("| **Linking one person"))
        .unwrap();
    assert!(line.ends_with("| Remote | Significant | Low |"), "{line}");
}

#[test]
fn overdue_raw_events_raise_the_retention_risk() {
    let c = config(CONFIG);
    let mut inv = inventory();
    inv.sites[1].oldest_event = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    let md = dpia::markdown(&c, &inv, None);
    assert!(md.contains("raw events older than the limit are still stored for gov.wales"));
    assert!(
        md.contains("| Keeping data longer than needed | Reduced | High |"),
        "{md}"
    );
    assert!(dpia::markdown(&c, &inventory(), None)
        .contains("no site holds raw events older than its limit"));
}

#[test]
fn markdown_tables_are_well_formed() {
    let md = dpia::markdown(&config(CONFIG), &inventory(), None);
    let lines: Vec<&str> = md.lines().collect();
    let mut tables = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("| --- |") {
            tables += 1;
            let cells = |l: &str| l.replace("\\|", "").matches('|').count();
            let width = cells(lines[i - 1]);
            assert_eq!(cells(line), width, "separator of table at line {i}");
            assert!(
                i >= 2 && lines[i - 2].is_empty(),
                "a table must follow a blank line"
            );
            for row in lines[i + 1..].iter().take_while(|l| l.starts_with('|')) {
                assert_eq!(cells(row), width, "row {row}");
            }
        }
    }
    assert_eq!(tables, 5);
    assert!(md.ends_with('\n') && !md.ends_with("\n\n"));
}

#[test]
fn config_strings_are_escaped_everywhere() {
    let hostile = CONFIG
        .replace(
            "name = \"Cabinet Office\"",
            "name = \"<script>alert('org')</script> & Co\"",
        )
        .replace(
            "description = \"Publishing how many people use each service.\"",
            "description = \"<script>alert(\\\"purpose\\\")</script> | *bold* [x](javascript:y)\"",
        )
        .replace(
            "title = \"Journeys between GOV.UK and GOV.WALES\"",
            "title = \"<img src=x onerror=alert(1)>\"",
        )
        .replace(
            "dpo = \"dpo@cabinetoffice.gov.uk\"",
            "dpo = \"javascript:alert(1)\"",
        );
    let c = config(&hostile);
    let inv = inventory();
    let mut page = audit();
    page.entries[0].query = "<script>alert('audit')</script>".into();
    page.entries[0].reason = "<b>why</b>".into();
    for html in [
        transparency::html(&c, &inv, &page, None),
        transparency::html(&c, &inv, &page, Some("www.gov.uk")),
        transparency::html(&c, &inv, &page, Some("www.mygov.scot")),
        dpia::html(&c, &inv, None),
        dpia::html(&c, &inv, Some("www.gov.uk")),
    ] {
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("href=\"javascript"));
        assert!(html.contains("&lt;script&gt;"));
    }
    let full = transparency::html(&c, &inv, &page, None);
    assert!(full.contains("&lt;script&gt;alert(&#39;org&#39;)&lt;/script&gt; &amp; Co"));
    assert!(full.contains("&lt;script&gt;alert(&quot;purpose&quot;)&lt;/script&gt;"));
    assert!(full.contains("&lt;script&gt;alert(&#39;audit&#39;)&lt;/script&gt;"));
    // An unknown site name asked for in the URL is escaped too.
    let unknown = transparency::html(&c, &inv, &page, Some("<script>x</script>"));
    assert!(
        !unknown.contains("<script") && unknown.contains("There is no site called &lt;script&gt;")
    );
    // Markdown: no raw HTML and no injected table cells, emphasis or links.
    let md = dpia::markdown(&c, &inv, None);
    assert!(md.contains("\\<script\\>"));
    assert!(
        !md.replace("\\<", "").contains('<'),
        "raw HTML in the Markdown"
    );
    assert!(md.contains("\\| \\*bold\\* \\[x\\](javascript:y)"));
    // The JSON keeps the text as it is: escaping is the reader's job there.
    let j = transparency::json(&c, &inv, &page);
    assert_eq!(
        j["organisations"][0]["name"],
        "<script>alert('org')</script> & Co"
    );
}

fn agreements_shown(html: &str) -> Vec<&'static str> {
    [
        "Journeys between GOV.UK and GOV.WALES",
        "Figures shared between Scotland and Wales",
    ]
    .into_iter()
    .filter(|t| html.contains(t))
    .collect()
}

#[test]
fn the_site_filter_shows_only_that_sites_agreements() {
    let c = config(&format!("{CONFIG}{SECOND_AGREEMENT}"));
    let inv = inventory();
    let page = AuditPage::from_rows(&[], 1, 10, None);
    let html = |site| transparency::html(&c, &inv, &page, site);
    assert_eq!(agreements_shown(&html(None)).len(), 2);
    assert_eq!(
        agreements_shown(&html(Some("www.gov.uk"))),
        ["Journeys between GOV.UK and GOV.WALES"]
    );
    assert_eq!(
        agreements_shown(&html(Some("WWW.MYGOV.SCOT"))),
        ["Figures shared between Scotland and Wales"]
    );
    assert_eq!(agreements_shown(&html(Some("gov.wales"))).len(), 2);

    let scot = html(Some("www.mygov.scot"));
    assert!(scot.contains("How we use analytics data on www.mygov.scot"));
    assert!(
        scot.contains("60 days") && !scot.contains("761 days"),
        "other sites' retention shown"
    );
    assert!(
        !scot.contains("Cabinet Office"),
        "an organisation with no part in this site is shown"
    );
    assert!(scot.contains("k = 15") && !scot.contains("k = 10"));
    assert!(scot.contains("No differential-privacy budget is set"));
    assert!(scot.contains("This site only"));
    assert!(scot.contains("href=\"/transparency/dpia?site=www.mygov.scot\""));

    let md = |site| dpia::markdown(&c, &inv, site);
    let scot = md(Some("www.mygov.scot"));
    assert!(scot.contains("scot-wales-figures") && !scot.contains("uk-wales"));
    assert!(scot.contains("k = 15") && !scot.contains("k = 10"));
    assert!(
        md(Some("www.gov.uk")).contains("uk-wales")
            && !md(Some("www.gov.uk")).contains("scot-wales-figures")
    );

    let site_only = config(CONFIG);
    let alone = transparency::html(&site_only, &inv, &page, Some("www.mygov.scot"));
    assert!(alone.contains("This site is in no agreement"));
    assert!(agreements_shown(&alone).is_empty());
}

#[test]
fn an_unknown_site_is_said_plainly() {
    let c = config(CONFIG);
    let html = transparency::html(&c, &inventory(), &audit(), Some("www.example.com"));
    assert!(html.contains("There is no site called www.example.com here."));
    assert!(!html.contains("What we collect"));
    let md = dpia::markdown(&c, &inventory(), Some("www.example.com"));
    assert!(md.contains("There is no site called www.example.com in this configuration"));
}

#[test]
fn the_html_has_the_sections_a_citizen_needs_in_order() {
    let html = transparency::html(&config(CONFIG), &inventory(), &audit(), None);
    let order = [
        "What we collect",
        "What we never collect",
        "How visitors are counted",
        "Why we use it (purposes)",
        "How long we keep it",
        "Who we share it with (agreements)",
        "Every look at the data (audit log)",
        "Data protection impact assessment",
        "Check it yourself",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|h| {
            html.find(&format!("{h}</h2>"))
                .unwrap_or_else(|| panic!("{h} missing"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(html.contains("glasshouse audit verify --url https://analytics.example.gov.uk"));
    assert!(html.contains("glasshouse audit witness https://analytics.example.gov.uk"));
    assert!(html.contains("analytics.example.gov.uk/glasshouse-audit+1a2b3c4d+AQID"));
    assert!(html.contains("govuk-tag--green\">Verified"));
    assert!(html.contains("href=\"/transparency/dpia\""));
    assert!(html.contains("href=\"mailto:dpo@cabinetoffice.gov.uk\""));
    assert!(html.contains("about 46,000"));
    assert!(html.contains("fewer than 10"), "small figures are withheld");
    assert!(html.contains("no category for political or campaigning use"));
    for class in [
        "govuk-summary-list",
        "govuk-table",
        "govuk-details",
        "govuk-inset-text",
        "govuk-tag",
        "govuk-pagination",
    ] {
        assert!(html.contains(class), "{class} not used");
    }
}

fn hrefs(html: &str, class: &str) -> Vec<String> {
    html.split(class)
        .skip(1)
        .filter_map(|s| s.split("href=\"").nth(1))
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

#[test]
fn audit_pagination_links_are_right() {
    let c = config(CONFIG);
    let inv = inventory();
    let rows: Vec<AuditRow> = (0..95).map(|i| row(i, "www.gov.uk")).collect();

    let page5 = AuditPage::from_rows(&rows, 5, 10, None);
    assert_eq!(page5.entries.len(), 10);
    assert_eq!(page5.entries[0].rows, 40);
    let html = transparency::html(&c, &inv, &page5, None);
    let nav = &html[html.find("<nav class=\"govuk-pagination\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    assert_eq!(hrefs(nav, "govuk-pagination__prev"), ["?page=4"]);
    assert_eq!(hrefs(nav, "govuk-pagination__next"), ["?page=6"]);
    let items: Vec<String> = hrefs(nav, "<li class=\"govuk-pagination__item");
    assert_eq!(
        items,
        ["?page=1", "?page=4", "?page=5", "?page=6", "?page=10"]
    );
    assert_eq!(nav.matches("govuk-pagination__item--ellipses").count(), 2);
    assert!(nav.contains("href=\"?page=5\" aria-label=\"Page 5\" aria-current=\"page\""));
    assert!(html.contains("Page 5 of 10"));
    assert!(html.contains("govuk-tag--grey\">Not checked"));

    let first = transparency::html(
        &c,
        &inv,
        &AuditPage::from_rows(&rows, 1, 10, Some(false)),
        None,
    );
    assert!(!first.contains("govuk-pagination__prev"));
    assert!(first.contains("href=\"?page=2\" rel=\"next\""));
    assert!(first.contains("Verification failed"));
    let last = transparency::html(&c, &inv, &AuditPage::from_rows(&rows, 10, 10, None), None);
    assert!(!last.contains("govuk-pagination__next"));
    assert!(last.contains("href=\"?page=9\" rel=\"prev\""));
    let last_page = AuditPage::from_rows(&rows, 10, 10, None);
    assert_eq!(last_page.entries.len(), 5);

    // Filtered by site, every link keeps the site.
    let filtered = transparency::html(&c, &inv, &page5, Some("www.gov.uk"));
    let nav = &filtered[filtered.find("<nav class=\"govuk-pagination\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    assert_eq!(
        hrefs(nav, "govuk-pagination__next"),
        ["?page=6&amp;site=www.gov.uk"]
    );
    assert!(hrefs(nav, "govuk-pagination__")
        .iter()
        .all(|h| h.ends_with("&amp;site=www.gov.uk")));

    // One page: no pagination at all.
    let one = AuditPage::from_rows(&rows[..7], 1, 10, None);
    assert!(!transparency::html(&c, &inv, &one, None).contains("govuk-pagination"));
    let empty = AuditPage::from_rows(&[], 1, 10, None);
    assert_eq!(empty.pages(), 1);
    assert!(transparency::html(&c, &inv, &empty, None).contains("There are no entries to show."));
}

#[test]
fn audit_rows_are_selected_by_site() {
    let rows: Vec<AuditRow> = (0..6)
        .map(|i| row(i, if i < 4 { "www.gov.uk" } else { "gov.wales" }))
        .collect();
    let about: Vec<AuditRow> = rows
        .iter()
        .filter(|r| r.is_about("gov.wales"))
        .cloned()
        .collect();
    assert_eq!(
        about.len(),
        2,
        "www.gov.uk must not count as gov.wales, nor gov.wales as www.gov.uk"
    );
    assert!(!row(0, "www.gov.uk").is_about("gov.uk"));
    assert!(row(0, "www.gov.uk").is_about("WWW.GOV.UK"));
    assert!(!row(0, "www.gov.uk.evil.example").is_about("www.gov.uk"));
    let page = AuditPage::from_rows(&about, 1, 10, Some(true));
    assert_eq!(page.total, 2);
    let html = transparency::html(&config(CONFIG), &inventory(), &page, Some("gov.wales"));
    assert!(html.contains("Showing the entries about gov.wales."));
    assert_eq!(html.matches("site_id=gov.wales").count(), 2);
    assert!(!html.contains("site_id=www.gov.uk"));
}

#[test]
fn operator_access_to_every_site_is_disclosed() {
    let token = format!(
        "\n[[api_tokens]]\nname = \"operations\"\norganisation = \"cabinet-office\"\nsha256 = \"{}\"\nall_sites = true\n",
        "ab".repeat(32)
    );
    let plain = config(CONFIG);
    let with_operator = config(&format!("{CONFIG}{token}"));
    let inv = inventory();
    let html = |c| transparency::html(c, &inv, &audit(), None);
    assert!(!html(&plain).contains("holds operator access"));
    assert!(html(&with_operator).contains("The organisation that runs this installation (Cabinet Office) holds operator access, to run and check it. That gives it no access to other organisations' figures"));
    assert!(!dpia::markdown(&plain, &inv, None).contains("Operator tokens"));
    assert!(dpia::markdown(&with_operator, &inv, None)
        .contains("Operator tokens of the organisation running the installation reload it and read its health, and see no more data than their organisation: operations (Cabinet Office)."));
}
