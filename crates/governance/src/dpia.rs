//! The data protection impact assessment (docs/architecture.md, promise 8), following
//! the ICO's DPIA template, rendered from the live configuration and the
//! data inventory so it cannot go stale: `glasshouse dpia` prints the
//! Markdown, `GET /transparency/dpia` serves the HTML.
//!
//! What the software knows — the processing, the sites, volumes, retention,
//! agreements, purposes, the safeguards in force and the risks they leave —
//! is filled in. What only people can supply — consultation, the DPO's
//! advice, approval of measures and residual risks, sign-off — is marked
//! "To be completed by a person", so a generated DPIA is never mistaken
//! for an approved one.

use crate::collected::{
    COLLECTED, NOT_COLLECTED, OPTOUT_PATH, PSEUDONYMISATION, SALT_LIFETIME, SCRUBBED,
    VISITOR_COUNTING,
};
use crate::doc::{b, code, para, t, text, to_html, to_markdown, Block, Inline};
use crate::format;
use crate::inventory::Inventory;
use crate::risks::{assess, Rating};
use crate::scope::{agreement_status, Scope};
use glasshouse_model::Config;

/// The seven section headings of the ICO template, in order; every DPIA
/// has all of them, so a reviewer always finds each step.
pub const SECTIONS: [&str; 7] = [
    "1. Identify the need for a DPIA",
    "2. Describe the processing",
    "3. Consultation process",
    "4. Assess necessity and proportionality",
    "5. Identify and assess risks",
    "6. Identify measures to reduce risk",
    "7. Sign off and outcomes",
];

/// The DPIA as CommonMark with pipe tables, for `glasshouse dpia`, for
/// review in a pull request, or for pasting into an organisation's own
/// template. `site` scopes it to one site and what touches it.
pub fn markdown(config: &Config, inventory: &Inventory, site: Option<&str>) -> String {
    to_markdown(&document(config, inventory, site))
}

/// The DPIA as an HTML fragment in GOV.UK Design System markup, for
/// `GET /transparency/dpia` inside the site's layout; parts a person must
/// write are shown as warnings.
pub fn html(config: &Config, inventory: &Inventory, site: Option<&str>) -> String {
    to_html(&document(config, inventory, site))
}

fn document(config: &Config, inventory: &Inventory, site: Option<&str>) -> Vec<Block> {
    let scope = Scope::new(config, site, inventory.generated_at);
    let mut d = Vec::new();
    let subject = match site {
        Some(host) => host.to_string(),
        None => "glasshouse web analytics".to_string(),
    };
    d.push(Block::Heading(
        1,
        format!("Data protection impact assessment: {subject}"),
    ));
    if scope.unknown_site() {
        d.push(text(format!(
            "There is no site called {} in this configuration, so there is nothing to assess.",
            site.unwrap_or_default()
        )));
        return d;
    }
    d.push(para(vec![
        t(format!(
            "Generated on {} from the live configuration and data inventory, following the ICO's DPIA template. Parts that only a person can write are marked ",
            format::date_time(inventory.generated_at)
        )),
        b(crate::doc::TO_COMPLETE),
        t(". Regenerate it with "),
        code(match site {
            Some(h) => format!("glasshouse dpia --config FILE --site {h}"),
            None => "glasshouse dpia --config FILE".into(),
        }),
        t(" whenever the configuration changes."),
    ]));
    let controllers: Vec<String> = scope
        .organisations
        .iter()
        .map(|o| {
            format!(
                "{} (data protection officer: {})",
                o.name,
                o.dpo.as_deref().unwrap_or("not configured")
            )
        })
        .collect();
    d.push(text(format!(
        "Organisations covered: {}.",
        list_or(&controllers, "none")
    )));

    need(&mut d, &scope, inventory);
    processing(&mut d, &scope, inventory);
    consultation(&mut d, &scope);
    necessity(&mut d, &scope);
    let risks = assess(config, inventory, site);
    d.push(Block::Heading(2, SECTIONS[4].into()));
    d.push(text("Each risk to people as the processing is designed, before the safeguards in section 6. Likelihood, severity and overall risk use the ICO's scales (remote, possible, probable; minimal, significant, severe; low, medium, high)."));
    d.push(Block::Table {
        caption: "Risks to individuals".into(),
        head: vec![
            "Source of risk and potential impact".into(),
            "Likelihood of harm".into(),
            "Severity of harm".into(),
            "Overall risk".into(),
        ],
        rows: risks
            .iter()
            .map(|r| {
                vec![
                    vec![b(r.title), t(format!(": {}", r.description))],
                    vec![t(r.likelihood.word())],
                    vec![t(r.severity.word())],
                    vec![t(r.overall().word())],
                ]
            })
            .collect(),
    });

    d.push(Block::Heading(2, SECTIONS[5].into()));
    d.push(text("The safeguards in force against each risk, read from the configuration and the data as they are now."));
    for r in &risks {
        d.push(Block::Heading(3, r.title.into()));
        d.push(Block::List(
            r.measures.iter().map(|m| vec![t(m.clone())]).collect(),
        ));
        d.push(para(vec![
            t("Effect on risk: "),
            b(r.effect.word()),
            t(". Residual risk: "),
            b(r.residual.word()),
            t("."),
        ]));
    }
    d.push(Block::Table {
        caption: "Measures and residual risk".into(),
        head: vec![
            "Risk".into(),
            "Effect on risk".into(),
            "Residual risk".into(),
            "Measure approved".into(),
        ],
        rows: risks
            .iter()
            .map(|r| {
                vec![
                    vec![t(r.title)],
                    vec![t(r.effect.word())],
                    vec![t(r.residual.word())],
                    vec![b(crate::doc::TO_COMPLETE), t(" yes or no")],
                ]
            })
            .collect(),
    });
    d.push(Block::ToComplete(
        "approve or reject each measure above, and add any further measures you will take.".into(),
    ));

    d.push(Block::Heading(2, SECTIONS[6].into()));
    let highest = risks
        .iter()
        .map(|r| r.residual)
        .max()
        .unwrap_or(Rating::Low);
    d.push(para(vec![
        t("Highest residual risk as configured: "),
        b(highest.word()),
        t(if highest == Rating::High {
            ". A high residual risk must be reduced, or the ICO consulted before the processing goes ahead (UK GDPR Article 36)."
        } else {
            ". No residual risk is high as configured; a person must still confirm this assessment."
        }),
    ]));
    for a in &scope.agreements {
        d.push(text(format!(
            "Agreement {} ({}) is signed by: {}.",
            a.id,
            a.title,
            if a.signatories.is_empty() {
                "nobody is listed".to_string()
            } else {
                a.signatories.join("; ")
            }
        )));
    }
    for item in [
        "Measures approved by (name, role, date); integrate the actions into the project plan with dates and owners.",
        "Residual risks approved by (name, role, date); if accepting any high residual risk, consult the ICO before going ahead.",
        "DPO advice provided (name, date) and a summary of the advice: whether the processing complies with UK GDPR and can proceed.",
        "DPO advice accepted or overruled by (name, date); if overruled, give reasons.",
        "Consultation responses reviewed by (name, date); if your decision departs from individuals' views, give reasons.",
        "This DPIA will be kept under review by (name, role), and when it will next be reviewed.",
    ] {
        d.push(Block::ToComplete(item.into()));
    }
    d
}

fn need(d: &mut Vec<Block>, scope: &Scope, inventory: &Inventory) {
    d.push(Block::Heading(2, SECTIONS[0].into()));
    let site_list: Vec<String> = scope
        .sites
        .iter()
        .map(|s| format!("{} ({})", s.host, scope.org_name(&s.organisation)))
        .collect();
    d.push(text(format!(
        "The project measures how people use {} so that the services can be improved, without cookies and without keeping IP addresses or User-Agents. It is web analytics for public services, run by glasshouse with events stored in {}.",
        list_or(&site_list, "no sites"),
        inventory.store_backend
    )));
    let mut why = vec![
        vec![t("It processes pseudonymous personal data: daily visitor ids made from the IP address and User-Agent. ".to_string() + PSEUDONYMISATION)],
        vec![t("It observes people's use of public services, which they often cannot avoid, so the processing must be visible and easy to object to.")],
    ];
    let journeys: Vec<String> = scope
        .agreements
        .iter()
        .filter(|a| a.journeys)
        .map(|a| {
            format!(
                "{} between {}",
                a.id,
                a.parties
                    .iter()
                    .map(|p| scope.org_name(p))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        })
        .collect();
    if journeys.is_empty() {
        why.push(vec![t("No dataset is matched or combined across organisations here: no journey agreement covers these sites.")]);
    } else {
        why.push(vec![t(format!(
            "It matches visits across organisations' sites under journey agreements ({}), which the ICO lists among the kinds of processing likely to be high risk.",
            journeys.join("; ")
        ))]);
    }
    let total: u64 = scope
        .sites
        .iter()
        .map(|s| inventory.site(&s.host).events_stored.shown())
        .sum();
    why.push(vec![t(format!(
        "Its scale: about {} raw events were stored at the end of yesterday across {} site(s).",
        format::count(total),
        scope.sites.len()
    ))]);
    d.push(text("Why a DPIA is needed:"));
    d.push(Block::List(why));
}

fn processing(d: &mut Vec<Block>, scope: &Scope, inventory: &Inventory) {
    d.push(Block::Heading(2, SECTIONS[1].into()));

    d.push(Block::Heading(3, "Nature of the processing".into()));
    d.push(text("A small script on each page (or the site's own code) sends an event to the collector: the event name, the page address, the referrer and optional properties. The collector uses the IP address and User-Agent in memory to derive a daily visitor id, a country and a browser, operating system and device class, removes personal information from the text, and drops the IP address and User-Agent. Only the result is stored; the data is then queried as aggregates through the dashboard and the Stats API."));
    d.push(text(format!(
        "Events are stored in {}.",
        inventory.store_backend
    )));
    d.push(text("Stored with each event:"));
    d.push(Block::List(
        COLLECTED
            .iter()
            .map(|f| {
                vec![
                    b(f.label),
                    t(" ("),
                    code(f.name),
                    t(format!(
                        "): {} Source: {}. Retention: {}.",
                        f.description,
                        f.source,
                        f.tier.label().to_lowercase()
                    )),
                ]
            })
            .collect(),
    ));
    d.push(text("Never collected or stored:"));
    d.push(Block::List(
        NOT_COLLECTED
            .iter()
            .map(|n| vec![t(n.description)])
            .collect(),
    ));
    d.push(text(VISITOR_COUNTING));
    d.push(text(SALT_LIFETIME));
    d.push(Block::ToComplete(
        "name any processors (such as the hosting provider), where the servers are, and whether any data leaves the UK.".into(),
    ));

    d.push(Block::Heading(3, "Scope of the processing".into()));
    d.push(text("No special category or criminal offence data is collected on purpose; personal information that may appear in addresses is removed before storage (section 6). Data about children is not distinguished from data about adults."));
    d.push(Block::Table {
        caption: "Sites, volumes and retention".into(),
        head: vec![
            "Site".into(),
            "Organisation".into(),
            "Raw events stored (end of yesterday, rounded)".into(),
            "Oldest raw event".into(),
            "Daily visitor ids, 30 days before today (rounded)".into(),
            "Raw events kept".into(),
            "Aggregates kept".into(),
        ],
        rows: scope
            .sites
            .iter()
            .map(|s| {
                let live = inventory.site(&s.host);
                vec![
                    vec![t(s.host.clone())],
                    vec![t(scope.org_name(&s.organisation))],
                    vec![t(live.events_stored.text())],
                    vec![t(live
                        .oldest_event
                        .map(format::date_time)
                        .unwrap_or_else(|| "none".into()))],
                    vec![t(live.visitors_last_30_days.text())],
                    vec![t(format::days(s.raw_retention_days))],
                    vec![t(format::days(s.aggregate_retention_days))],
                ]
            })
            .collect(),
    });
    d.push(text("Daily visitor ids are summed over days, so the same person counted on several days is counted several times; the number of people is lower."));

    d.push(Block::Heading(3, "Context of the processing".into()));
    d.push(text(format!(
        "The people concerned are members of the public using public services online. They would not expect to be tracked across days or across organisations, and cannot always choose another service. Counting stores nothing in their device and reads nothing from it beyond the objection marker and, where a site asks for consent first, its own cookie-consent setting. Do Not Track and Global Privacy Control are honoured, and anyone can object with one click at {OPTOUT_PATH}."
    )));
    if scope.agreements.is_empty() {
        d.push(text("No data is shared with another organisation."));
    } else {
        d.push(Block::Table {
            caption: "Agreements between organisations".into(),
            head: vec![
                "Agreement".into(),
                "Parties".into(),
                "Sites".into(),
                "Purposes".into(),
                "Journeys linked".into(),
                "k".into(),
                "ε per month".into(),
                "In force".into(),
            ],
            rows: scope
                .agreements
                .iter()
                .map(|a| {
                    vec![
                        vec![t(format!("{} ({})", a.title, a.id))],
                        vec![t(a
                            .parties
                            .iter()
                            .map(|p| scope.org_name(p))
                            .collect::<Vec<_>>()
                            .join(", "))],
                        vec![t(a.sites.join(", "))],
                        vec![t(a.purposes.join(", "))],
                        vec![t(if a.journeys { "yes" } else { "no" })],
                        vec![t(a.k.to_string())],
                        vec![t(a
                            .epsilon_per_month
                            .map(format::epsilon)
                            .unwrap_or_else(|| "not set".into()))],
                        vec![t(format!(
                            "{}: {} to {}",
                            agreement_status(a, scope.today).0,
                            format::date(a.start),
                            a.end
                                .map(format::date)
                                .unwrap_or_else(|| "no end date".into())
                        ))],
                    ]
                })
                .collect(),
        });
    }
    d.push(Block::ToComplete(
        "record any prior concerns over this type of processing, security flaws, and relevant approved codes of conduct or certification schemes.".into(),
    ));

    d.push(Block::Heading(3, "Purposes of the processing".into()));
    d.push(Block::Table {
        caption: "Declared purposes".into(),
        head: vec![
            "Purpose".into(),
            "What it is for".into(),
            "Category".into(),
            "Lawful basis".into(),
        ],
        rows: scope
            .purposes
            .iter()
            .map(|p| {
                vec![
                    vec![code(p.id.clone())],
                    vec![t(p.description.clone())],
                    vec![t(p.category.label())],
                    vec![t(p.lawful_basis.clone())],
                ]
            })
            .collect(),
    });
    d.push(text(crate::transparency::NO_POLITICAL_CATEGORY));
    d.push(Block::ToComplete(
        "describe the benefits of the processing for the people who use the services, for the organisations and more broadly.".into(),
    ));
}

fn consultation(d: &mut Vec<Block>, scope: &Scope) {
    d.push(Block::Heading(2, SECTIONS[2].into()));
    let mut facts = vec![
        "Everything in this assessment is published for anyone to read and check: the transparency page at /transparency, the machine-readable register at /transparency.json and this DPIA at /transparency/dpia.".to_string(),
    ];
    if !scope.agreements.is_empty() {
        facts.push(format!(
            "The partner organisations in the agreements ({}) can witness the audit log.",
            scope
                .agreements
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for f in facts {
        d.push(text(f));
    }
    d.push(Block::ToComplete(
        "describe when and how you sought the views of the people who use the services or their representatives, the data protection officer, information security, the partner organisations and any processors, and what they said.".into(),
    ));
}

fn necessity(d: &mut Vec<Block>, scope: &Scope) {
    d.push(Block::Heading(2, SECTIONS[3].into()));
    d.push(text("Lawful basis, for each purpose:"));
    d.push(Block::List(
        scope
            .purposes
            .iter()
            .map(|p| vec![code(p.id.clone()), t(format!(": {}", p.lawful_basis))])
            .collect(),
    ));
    d.push(text(format!(
        "Data minimisation: no IP address, User-Agent, cookie or browser identifier is kept; visitor ids die daily; before anything is stored these are removed from addresses, referrers, event names and properties: {}.",
        SCRUBBED.join("; ")
    )));
    let mut per_site: Vec<Vec<Inline>> = Vec::new();
    for s in &scope.sites {
        per_site.push(vec![t(format!(
            "{}: query parameters kept: {}; property keys kept: {}; raw events kept {}, aggregates {}; may be queried for: {}.",
            s.host,
            list_or(&s.query_params, "none besides utm_ tags"),
            match &s.props {
                None => "any (values scrubbed)".to_string(),
                Some(k) => list_or(k, "none"),
            },
            format::days(s.raw_retention_days),
            format::days(s.aggregate_retention_days),
            s.purposes.join(", ")
        ))]);
    }
    d.push(Block::List(per_site));
    d.push(text("Information for individuals: the transparency page lists what is collected and not, purposes, retention, agreements and every query in the audit log. Each organisation's privacy notice:"));
    d.push(Block::List(
        scope
            .organisations
            .iter()
            .map(|o| match &o.privacy_notice {
                Some(n) => vec![
                    t(format!("{}: ", o.name)),
                    Inline::Link {
                        text: n.clone(),
                        href: n.clone(),
                    },
                ],
                None => vec![t(format!(
                    "{}: no privacy notice is configured; one must be added.",
                    o.name
                ))],
            })
            .collect(),
    ));
    d.push(text(format!(
        "Individuals' rights: objection by one click at {OPTOUT_PATH}, and Do Not Track and Global Privacy Control are honoured without asking. Because the operator holds no IP address or User-Agent and erases each day's salt, stored events generally cannot be matched to a person who asks for access or erasure (UK GDPR Article 11)."
    )));
    d.push(Block::ToComplete(
        "confirm that the processing achieves the purposes and that there is no less intrusive way to achieve them; how function creep is prevented in the organisation; how data quality is ensured; how processors' compliance is checked; and the safeguards for any international transfers.".into(),
    ));
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}
