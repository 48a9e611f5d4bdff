//! `GET /transparency`: the register as citizens read it, in plain words,
//! as an HTML fragment in GOV.UK Design System markup that the server puts
//! inside its page layout.
//!
//! Every string from the configuration or the audit log goes through
//! [`escape`]; the page's own words are constants.

use crate::collected::{
    COLLECTED, NOT_COLLECTED, OPTOUT_PATH, PSEUDONYMISATION, SALT_LIFETIME, SCRUBBED,
    VISITOR_COUNTING,
};
use crate::escape::{escape, safe_href, url_component};
use crate::format;
use crate::inventory::{AuditPage, AuditRow, Inventory};
use crate::scope::{agreement_status, Scope};
use crate::transparency_json::NO_POLITICAL_CATEGORY;
use crate::{DPIA_PATH, JSON_PATH};
use glasshouse_model::{Agreement, Config, PurposeCategory};
use std::fmt::Write;

/// The register as an HTML fragment. With `site`, the page is that site's
/// view: its purposes, retention and agreements, and the audit entries the
/// caller selected for it (see [`AuditRow::is_about`]); pagination links
/// keep the `site` parameter.
pub fn html(
    config: &Config,
    inventory: &Inventory,
    audit: &AuditPage,
    site: Option<&str>,
) -> String {
    let scope = Scope::new(config, site, inventory.generated_at);
    let mut h = String::new();
    intro(&mut h, &scope, inventory);
    if scope.unknown_site() {
        return h;
    }
    responsible(&mut h, &scope);
    collected(&mut h, &scope);
    never(&mut h);
    counting(&mut h, &scope);
    purposes(&mut h, &scope);
    retention(&mut h, &scope, inventory);
    agreements(&mut h, &scope);
    links(&mut h, &scope, inventory);
    audit_log(&mut h, &scope, inventory, audit);
    dpia(&mut h, &scope);
    check(&mut h, &scope, inventory);
    h
}

fn h2(h: &mut String, id: &str, title: &str) {
    let _ = writeln!(
        h,
        "<h2 class=\"govuk-heading-l\" id=\"{id}\">{}</h2>",
        escape(title)
    );
}

fn p(h: &mut String, html: &str) {
    let _ = writeln!(h, "<p class=\"govuk-body\">{html}</p>");
}

fn inset(h: &mut String, html: &str) {
    let _ = writeln!(h, "<div class=\"govuk-inset-text\">{html}</div>");
}

fn tag(text: &str, colour: &str) -> String {
    format!(
        "<strong class=\"govuk-tag {colour}\">{}</strong>",
        escape(text)
    )
}

fn link(text: &str, href: &str) -> String {
    format!(
        "<a class=\"govuk-link\" href=\"{}\">{}</a>",
        escape(href),
        escape(text)
    )
}

/// A link if the target is a safe web or mail address, else plain text.
fn maybe_link(target: &str) -> String {
    match safe_href(target) {
        Some(href) => format!(
            "<a class=\"govuk-link\" href=\"{href}\">{}</a>",
            escape(target)
        ),
        None => escape(target),
    }
}

/// A `govuk-summary-list` from (key, value HTML) pairs; keys are escaped here.
fn summary_list(h: &mut String, rows: &[(&str, String)]) {
    h.push_str("<dl class=\"govuk-summary-list\">\n");
    for (key, value) in rows {
        let _ = writeln!(
            h,
            "<div class=\"govuk-summary-list__row\"><dt class=\"govuk-summary-list__key\">{}</dt><dd class=\"govuk-summary-list__value\">{value}</dd></div>",
            escape(key)
        );
    }
    h.push_str("</dl>\n");
}

/// A `govuk-table`; `head` is escaped, row cells are HTML.
fn table(h: &mut String, caption: &str, head: &[&str], rows: &[Vec<String>]) {
    h.push_str("<table class=\"govuk-table\">\n");
    let _ = writeln!(
        h,
        "<caption class=\"govuk-table__caption govuk-table__caption--m\">{}</caption>",
        escape(caption)
    );
    h.push_str("<thead class=\"govuk-table__head\"><tr class=\"govuk-table__row\">");
    for col in head {
        let _ = write!(
            h,
            "<th scope=\"col\" class=\"govuk-table__header\">{}</th>",
            escape(col)
        );
    }
    h.push_str("</tr></thead>\n<tbody class=\"govuk-table__body\">\n");
    for row in rows {
        h.push_str("<tr class=\"govuk-table__row\">");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(
                    h,
                    "<th scope=\"row\" class=\"govuk-table__header\">{cell}</th>"
                );
            } else {
                let _ = write!(h, "<td class=\"govuk-table__cell\">{cell}</td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

fn details(h: &mut String, summary: &str, inner_html: &str) {
    let _ = writeln!(
        h,
        "<details class=\"govuk-details\">\n<summary class=\"govuk-details__summary\"><span class=\"govuk-details__summary-text\">{}</span></summary>\n<div class=\"govuk-details__text\">\n{inner_html}</div>\n</details>",
        escape(summary)
    );
}

fn bullets<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut out = String::from("<ul class=\"govuk-list govuk-list--bullet\">\n");
    for item in items {
        let _ = writeln!(out, "<li>{item}</li>");
    }
    out.push_str("</ul>\n");
    out
}

fn names(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items
            .iter()
            .map(|i| escape(i))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn codes(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items
            .iter()
            .map(|i| format!("<code>{}</code>", escape(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn intro(h: &mut String, scope: &Scope, inventory: &Inventory) {
    match (scope.requested, scope.site()) {
        (Some(requested), None) => {
            h.push_str("<h1 class=\"govuk-heading-xl\">How we use analytics data</h1>\n");
            inset(
                h,
                &format!(
                    "There is no site called {} here. {}",
                    escape(requested),
                    link("See every site", "?")
                ),
            );
            return;
        }
        (_, Some(site)) => {
            let _ = writeln!(
                h,
                "<span class=\"govuk-caption-xl\">{}</span>\n<h1 class=\"govuk-heading-xl\">How we use analytics data on {}</h1>",
                escape(&scope.org_name(&site.organisation)),
                escape(&site.host)
            );
        }
        (None, None) => {
            h.push_str("<h1 class=\"govuk-heading-xl\">How we use analytics data</h1>\n");
        }
    }
    let _ = writeln!(
        h,
        "<p class=\"govuk-body-l\">We count how people use our websites so that we can make the services better. We do it without cookies, without keeping your IP address, and we publish here everything we collect, why, for how long, who we share it with, and every time anyone looks at the data.</p>"
    );
    p(
        h,
        &format!(
            "This page is made from the settings the software actually runs with, on {}. The same information is available as {}.",
            escape(&format::date_time(inventory.generated_at)),
            link("machine-readable JSON", JSON_PATH)
        ),
    );
    if scope.requested.is_none() && scope.sites.len() > 1 {
        let items = scope.sites.iter().map(|s| {
            link(&s.host, &format!("?site={}", url_component(&s.host)))
                + &format!(" ({})", escape(&scope.org_name(&s.organisation)))
        });
        p(h, "See the page for one site:");
        h.push_str(&bullets(items));
    } else if scope.requested.is_some() {
        p(h, &link("See every site", "?"));
    }
}

fn responsible(h: &mut String, scope: &Scope) {
    h2(h, "responsible", "Who is responsible for your data");
    p(h, "Each organisation is the controller of the data from its own sites. You can ask its data protection officer about it.");
    for o in &scope.organisations {
        let _ = writeln!(h, "<h3 class=\"govuk-heading-m\">{}</h3>", escape(&o.name));
        summary_list(
            h,
            &[
                (
                    "Data protection officer",
                    o.dpo
                        .as_deref()
                        .map(maybe_link)
                        .unwrap_or_else(|| "Not published".into()),
                ),
                (
                    "Privacy notice",
                    o.privacy_notice
                        .as_deref()
                        .map(maybe_link)
                        .unwrap_or_else(|| "Not published".into()),
                ),
            ],
        );
    }
}

fn collected(h: &mut String, scope: &Scope) {
    h2(h, "collect", "What we collect");
    p(h, "When you open a page, our script sends us the page address, the address of the page that linked to it, and the name of what happened. Your browser also sends its IP address and User-Agent, as it does to every website. From these we store only the following, for each event:");
    let rows: Vec<Vec<String>> = COLLECTED
        .iter()
        .map(|f| {
            vec![
                escape(f.label),
                escape(f.description),
                escape(f.source),
                escape(f.tier.label()),
            ]
        })
        .collect();
    table(
        h,
        "Stored with each event",
        &["Item", "What it is", "Where it comes from", "How long"],
        &rows,
    );
    if scope.config.geoip_database.is_empty() {
        inset(
            h,
            "No country database is installed, so no country is recorded.",
        );
    }
    details(
        h,
        "The personal information we remove before storing anything",
        &format!(
            "<p class=\"govuk-body\">From page addresses, referrers, event names and properties we remove:</p>\n{}",
            bullets(SCRUBBED.iter().map(|s| escape(s)))
        ),
    );
    if let Some(site) = scope.site() {
        summary_list(
            h,
            &[
                (
                    "Query parameters kept on this site",
                    format!("{} (and utm_ campaign tags)", codes(&site.query_params)),
                ),
                (
                    "Event properties kept on this site",
                    match &site.props {
                        None => "Any property (values have personal information removed)".into(),
                        Some(keys) => codes(keys),
                    },
                ),
            ],
        );
    } else {
        let rows: Vec<Vec<String>> = scope
            .sites
            .iter()
            .map(|s| {
                vec![
                    escape(&s.host),
                    format!("{} (and utm_ tags)", codes(&s.query_params)),
                    match &s.props {
                        None => "any (values scrubbed)".into(),
                        Some(keys) => codes(keys),
                    },
                ]
            })
            .collect();
        table(
            h,
            "What each site allows",
            &["Site", "Query parameters kept", "Event properties kept"],
            &rows,
        );
    }
}

fn never(h: &mut String) {
    h2(h, "never", "What we never collect");
    h.push_str(&bullets(
        NOT_COLLECTED.iter().map(|n| escape(n.description)),
    ));
    inset(
        h,
        &format!(
            "You can tell us not to count you with one click on the {}. Browsers that send Do Not Track or Global Privacy Control are never counted.",
            link("objection page", OPTOUT_PATH)
        ),
    );
}

fn counting(h: &mut String, scope: &Scope) {
    h2(h, "counting", "How visitors are counted");
    p(h, &escape(VISITOR_COUNTING));
    p(h, &escape(SALT_LIFETIME));
    inset(h, &escape(PSEUDONYMISATION));
    let rows: Vec<(&str, String)> = scope
        .sites
        .iter()
        .map(|s| {
            let value = match scope.journey_agreement(&s.host) {
                None => "This site only: visits here are never linked to visits to any other site."
                    .to_string(),
                Some(a) => format!(
                    "Linked on the same day with {} under the agreement {}",
                    names(
                        &a.sites
                            .iter()
                            .filter(|x| **x != s.host)
                            .cloned()
                            .collect::<Vec<_>>()
                    ),
                    escape(&a.title)
                ),
            };
            (s.host.as_str(), value)
        })
        .collect();
    let _ = writeln!(
        h,
        "<h3 class=\"govuk-heading-m\">Which visits can be linked</h3>"
    );
    summary_list(h, &rows);
}

fn purposes(h: &mut String, scope: &Scope) {
    h2(h, "purposes", "Why we use it (purposes)");
    p(h, "Every look at the data is for one of these purposes: the one the person asking names, or else the site's first. The software refuses any purpose the site, or for another organisation's site the agreement, does not allow.");
    let rows: Vec<Vec<String>> = scope
        .purposes
        .iter()
        .map(|pu| {
            vec![
                format!("<code>{}</code>", escape(&pu.id)),
                escape(&pu.description),
                tag(pu.category.label(), "govuk-tag--blue"),
                escape(&pu.lawful_basis),
            ]
        })
        .collect();
    table(
        h,
        "Purposes",
        &["Purpose", "What it is for", "Category", "Lawful basis"],
        &rows,
    );
    if let Some(site) = scope.site() {
        p(
            h,
            &format!(
                "This site's data may be used for: {}.",
                codes(&site.purposes)
            ),
        );
    } else {
        for s in &scope.sites {
            p(h, &format!("{}: {}.", escape(&s.host), codes(&s.purposes)));
        }
    }
    let allowed: Vec<String> = PurposeCategory::ALL
        .iter()
        .map(|c| escape(c.label()))
        .collect();
    inset(
        h,
        &format!(
            "A purpose can only belong to one of these categories: {}. {}",
            allowed.join(", "),
            escape(NO_POLITICAL_CATEGORY)
        ),
    );
}

fn retention(h: &mut String, scope: &Scope, inventory: &Inventory) {
    h2(h, "retention", "How long we keep it");
    p(h, "We keep events in two stages. Raw events, which carry the daily visitor numbers, are deleted after the first period; the server checks every hour. After that we keep at most totals that carry no visitor number, until the second period ends.");
    let rows: Vec<Vec<String>> = scope
        .sites
        .iter()
        .map(|s| {
            let live = inventory.site(&s.host);
            vec![
                escape(&s.host),
                escape(&format::days(s.raw_retention_days)),
                escape(&format::days(s.aggregate_retention_days)),
                escape(&live.events_stored.text()),
                live.oldest_event
                    .map(|t| escape(&format::date_time(t)))
                    .unwrap_or_else(|| "None stored".into()),
                escape(&live.visitors_last_30_days.text()),
            ]
        })
        .collect();
    table(
        h,
        "Retention and what is stored",
        &[
            "Site",
            "Raw events kept",
            "Totals kept",
            "Raw events stored at the end of yesterday",
            "Oldest raw event",
            "Daily visitor numbers, the 30 days before today",
        ],
        &rows,
    );
    p(
        h,
        "Figures are counted once a day, up to the end of yesterday, and rounded; a figure under the publication threshold reads “fewer than”, so that no single visit can be read from this page.",
    );
    p(
        h,
        &format!("Events are stored in {}.", escape(&inventory.store_backend)),
    );
}

fn agreements(h: &mut String, scope: &Scope) {
    h2(h, "sharing", "Who we share it with (agreements)");
    if scope.agreements.is_empty() {
        p(
            h,
            if scope.site().is_some() {
                "This site is in no agreement: its data is not shared with any other organisation, and its visitors are never linked to visits to other organisations' sites."
            } else {
                "We have no agreements: data is not shared between organisations, and visitors are never linked across sites."
            },
        );
        operators(h, scope);
        return;
    }
    p(h, "One organisation can see another's data only under an agreement both have signed, and only as totals.");
    operators(h, scope);
    for a in &scope.agreements {
        agreement(h, scope, a);
    }
}

/// The links that publish a site's figures to people without an account.
fn links(h: &mut String, scope: &Scope, inventory: &Inventory) {
    h2(h, "links", "Figures shared by link");
    let shown: Vec<_> = inventory
        .links
        .iter()
        .filter(|l| scope.site().is_none_or(|s| s.host == l.site))
        .collect();
    if shown.is_empty() {
        p(h, "No organisation shares these figures through a link: only its own accounts, and partners under an agreement above, can see them.");
        return;
    }
    p(h, "An organisation can share a read-only view of its own site's figures through a link, for people without an account. A link shows only what the organisation may see itself; a partner's figures appear only where their agreement allows publication. Every question asked through a link is counted, and each link's questions are written to the audit log once a day.");
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|l| {
            let mut limits = Vec::new();
            if l.password {
                limits.push("password".to_string());
            }
            if let Some(s) = &l.segment {
                limits.push(format!("segment “{}”", escape(s)));
            }
            if !l.embed.is_empty() {
                limits.push(format!("shown in pages of {}", escape(&l.embed.join(", "))));
            }
            vec![
                escape(&l.site),
                escape(&scope.org_name(&l.organisation)),
                format!("<code>{}</code>", escape(&l.purpose)),
                l.expires
                    .map(|e| escape(&format::date(e.date_naive())))
                    .unwrap_or_else(|| "No expiry".into()),
                if limits.is_empty() {
                    "None".into()
                } else {
                    limits.join("; ")
                },
                format!("<code>{}</code>", escape(&l.id)),
            ]
        })
        .collect();
    table(
        h,
        "Links in use",
        &[
            "Site",
            "Shared by",
            "Purpose",
            "Expires",
            "Limits",
            "Link id",
        ],
        &rows,
    );
}

/// Operator tokens administer the installation but read no more data than
/// their organisation; say so wherever sharing is described.
fn operators(h: &mut String, scope: &Scope) {
    let ops: Vec<String> = scope
        .config
        .api_tokens
        .iter()
        .filter(|t| t.all_sites)
        .map(|t| scope.org_name(&t.organisation))
        .collect();
    if !ops.is_empty() {
        p(
            h,
            &format!(
                "The organisation that runs this installation ({}) holds operator access, to run and check it. That gives it no access to other organisations' figures: it sees them only under an agreement, like everyone else, and its queries are in the audit log like everyone else's.",
                names(&ops)
            ),
        );
    }
}

fn agreement(h: &mut String, scope: &Scope, a: &Agreement) {
    let (status, colour) = agreement_status(a, scope.today);
    let _ = writeln!(
        h,
        "<h3 class=\"govuk-heading-m\">{} {}</h3>",
        escape(&a.title),
        tag(status, colour)
    );
    let parties: Vec<String> = a.parties.iter().map(|p| scope.org_name(p)).collect();
    summary_list(
        h,
        &[
            ("Agreement", format!("<code>{}</code>", escape(&a.id))),
            ("Organisations", names(&parties)),
            ("Sites", names(&a.sites)),
            ("Purposes", codes(&a.purposes)),
            ("Figures others may see", codes(&a.metrics)),
            ("Broken down by", codes(&a.breakdowns)),
            (
                "Journeys linked across sites",
                if a.journeys {
                    crate::federation::OPERATOR_HOLDS_IDS.into()
                } else if !a.nodes.is_empty() {
                    "Not linked: each organisation runs its own node, and the figures below are computed between the nodes".into()
                } else {
                    "No".into()
                },
            ),
            (
                "Published through shared links",
                if a.publish {
                    "Yes: the shared figures may appear on a party's read-only links, under the same limits".into()
                } else {
                    "No: shared links never show the other organisations' figures".into()
                },
            ),
            (
                "Smallest group shown",
                format!(
                    "{} visitors: rows about fewer are never shown to another organisation (k = {})",
                    a.k, a.k
                ),
            ),
            (
                "Privacy budget",
                match a.epsilon_per_month {
                    Some(e) => format!(
                        "ε = {} a month: the most that other organisations' questions may reveal in a month, measured with differential privacy",
                        escape(&format::epsilon(e))
                    ),
                    None => "No differential-privacy budget is set".into(),
                },
            ),
            (
                "In force",
                format!(
                    "From {} {}",
                    escape(&format::date(a.start)),
                    a.end
                        .map(|e| format!("to {}", escape(&format::date(e))))
                        .unwrap_or_else(|| "with no end date".into())
                ),
            ),
            ("Signed by", bullets(a.signatories.iter().map(|s| escape(s)))),
            ("Signatures", signatures(scope, a)),
        ],
    );
    crate::federation::html(h, scope, a);
}

/// Each party's signature of the agreement's text, checked against the
/// key it published: an agreement is in force only when all verify.
fn signatures(scope: &Scope, a: &Agreement) -> String {
    bullets(a.parties.iter().map(|p| {
        let name = escape(&scope.org_name(p));
        match a.signatures.iter().find(|s| &s.organisation == p) {
            Some(s) if s.verified => format!(
                "{name}: signed {}, signature verified",
                escape(&format::date(s.signed.date_naive()))
            ),
            Some(_) => format!("{name}: the signature does not verify: the agreement was changed after signing, or the key is not theirs"),
            None => format!("{name}: not signed yet"),
        }
    }))
}

fn audit_log(h: &mut String, scope: &Scope, inventory: &Inventory, audit: &AuditPage) {
    h2(h, "audit-log", "Every look at the data (audit log)");
    p(h, "Every time anyone asks for the data, and every time the software refuses, it is written here: when, by which role in which organisation (never a name), what was asked and for which purpose. The log is built like Certificate Transparency, so that nobody, including us, can quietly change or delete an entry.");
    let status = match audit.verified {
        Some(true) => tag("Verified", "govuk-tag--green"),
        Some(false) => tag("Verification failed", "govuk-tag--red"),
        None => tag("Not checked", "govuk-tag--grey"),
    };
    summary_list(
        h,
        &[
            (
                "Entries in the log",
                format::count(inventory.audit_log_size),
            ),
            ("Checked against its signed checkpoints", status),
        ],
    );
    if let Some(site) = scope.site() {
        p(
            h,
            &format!("Showing the entries about {}.", escape(&site.host)),
        );
    }
    if audit.entries.is_empty() {
        p(h, "There are no entries to show.");
    } else {
        let rows: Vec<Vec<String>> = audit.entries.iter().map(|e| audit_row(scope, e)).collect();
        table(
            h,
            &format!("Page {} of {}", audit.page, audit.pages()),
            &[
                "When",
                "Who",
                "Purpose",
                "What was asked",
                "Rows",
                "Decision",
            ],
            &rows,
        );
    }
    h.push_str(&pagination(audit.page, audit.pages(), scope.requested));
}

/// The table cells of one audit entry.
fn audit_row(scope: &Scope, e: &AuditRow) -> Vec<String> {
    let decision = if e.decision == "allowed" {
        tag("Allowed", "govuk-tag--green")
    } else {
        tag(&capitalise(&e.decision), "govuk-tag--red")
    };
    let reason = if e.reason.is_empty() {
        String::new()
    } else {
        format!(
            "<br><span class=\"govuk-body-s\">{}</span>",
            escape(&e.reason)
        )
    };
    let when = match chrono::DateTime::parse_from_rfc3339(&e.time) {
        Ok(t) => format!(
            "<time datetime=\"{}\">{}</time>",
            escape(&e.time),
            escape(
                &t.with_timezone(&chrono::Utc)
                    .format("%-d %b %Y, %H:%M:%S UTC")
                    .to_string()
            )
        ),
        Err(_) => escape(&e.time),
    };
    vec![
        when,
        format!(
            "{} ({})",
            escape(&scope.org_name(&e.organisation)),
            escape(&e.role)
        ),
        if e.purpose.is_empty() {
            "none".into()
        } else {
            format!("<code>{}</code>", escape(&e.purpose))
        },
        format!(
            "<code>{}</code>{}",
            escape(&e.query),
            if e.kind == "query" {
                String::new()
            } else {
                format!(" ({})", escape(&e.kind))
            }
        ),
        format::count(e.rows),
        decision + &reason,
    ]
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// GOV.UK pagination: previous, the first and last pages, the current page
/// and its neighbours with ellipses between gaps, next. No output for a
/// single page.
fn pagination(page: u64, pages: u64, site: Option<&str>) -> String {
    if pages <= 1 {
        return String::new();
    }
    let page = page.clamp(1, pages);
    let href = |n: u64| match site {
        Some(s) => format!("?page={n}&amp;site={}", escape(&url_component(s))),
        None => format!("?page={n}"),
    };
    let mut h = String::from("<nav class=\"govuk-pagination\" aria-label=\"Audit log pages\">\n");
    if page > 1 {
        let _ = writeln!(
            h,
            "<div class=\"govuk-pagination__prev\"><a class=\"govuk-link govuk-pagination__link\" href=\"{}\" rel=\"prev\"><svg class=\"govuk-pagination__icon govuk-pagination__icon--prev\" xmlns=\"http://www.w3.org/2000/svg\" height=\"13\" width=\"15\" aria-hidden=\"true\" focusable=\"false\" viewBox=\"0 0 15 13\"><path d=\"m6.5938-0.0078125-6.7266 6.7266 6.7441 6.4062 1.377-1.449-4.1856-3.9768h12.896v-2h-12.984l4.2931-4.293-1.414-1.414z\"></path></svg><span class=\"govuk-pagination__link-title\">Previous<span class=\"govuk-visually-hidden\"> page</span></span></a></div>",
            href(page - 1)
        );
    }
    h.push_str("<ul class=\"govuk-pagination__list\">\n");
    let mut last_shown = 0;
    for n in 1..=pages {
        let show = n == 1 || n == pages || n.abs_diff(page) <= 1;
        if !show {
            continue;
        }
        if n > last_shown + 1 {
            h.push_str("<li class=\"govuk-pagination__item govuk-pagination__item--ellipses\">&ctdot;</li>\n");
        }
        last_shown = n;
        if n == page {
            let _ = writeln!(
                h,
                "<li class=\"govuk-pagination__item govuk-pagination__item--current\"><a class=\"govuk-link govuk-pagination__link\" href=\"{}\" aria-label=\"Page {n}\" aria-current=\"page\">{n}</a></li>",
                href(n)
            );
        } else {
            let _ = writeln!(
                h,
                "<li class=\"govuk-pagination__item\"><a class=\"govuk-link govuk-pagination__link\" href=\"{}\" aria-label=\"Page {n}\">{n}</a></li>",
                href(n)
            );
        }
    }
    h.push_str("</ul>\n");
    if page < pages {
        let _ = writeln!(
            h,
            "<div class=\"govuk-pagination__next\"><a class=\"govuk-link govuk-pagination__link\" href=\"{}\" rel=\"next\"><span class=\"govuk-pagination__link-title\">Next<span class=\"govuk-visually-hidden\"> page</span></span><svg class=\"govuk-pagination__icon govuk-pagination__icon--next\" xmlns=\"http://www.w3.org/2000/svg\" height=\"13\" width=\"15\" aria-hidden=\"true\" focusable=\"false\" viewBox=\"0 0 15 13\"><path d=\"m8.107-0.0078125-1.4136 1.414 4.2926 4.293h-12.986v2h12.896l-4.1855 3.9766 1.377 1.4492 6.7441-6.4062-6.7246-6.7266z\"></path></svg></a></div>",
            href(page + 1)
        );
    }
    h.push_str("</nav>\n");
    h
}

fn dpia(h: &mut String, scope: &Scope) {
    h2(h, "dpia", "Data protection impact assessment");
    let href = match scope.site() {
        Some(s) => format!("{DPIA_PATH}?site={}", url_component(&s.host)),
        None => DPIA_PATH.to_string(),
    };
    p(
        h,
        &format!(
            "Before processing data like this, the law asks us to assess the risks to you and how we reduce them. Our {} is made from the same live settings as this page, so it is always up to date. The parts only a person can write, such as the data protection officer's advice and sign-off, are marked.",
            link("data protection impact assessment", &href)
        ),
    );
}

fn check(h: &mut String, scope: &Scope, inventory: &Inventory) {
    h2(h, "check", "Check it yourself");
    p(h, "You do not have to trust us. Anyone can download the whole audit log and check that no entry has been changed, removed or added out of order since it was signed.");
    match &inventory.audit_public_key {
        Some(key) => {
            p(h, "The log's public key:");
            let _ = writeln!(
                h,
                "<pre class=\"govuk-body\"><code>{}</code></pre>",
                escape(key)
            );
        }
        None => p(h, "The log's public key has not been published yet."),
    }
    if let Some(cp) = &inventory.audit_checkpoint {
        p(h, "Its latest signed checkpoint (save it, and check later that the log has only grown since):");
        let _ = writeln!(
            h,
            "<pre class=\"govuk-body\"><code>{}</code></pre>",
            escape(cp)
        );
    }
    let url = scope
        .config
        .public_url
        .as_deref()
        .unwrap_or("https://this-server");
    p(h, "To verify the whole log, run:");
    let _ = writeln!(
        h,
        "<pre class=\"govuk-body\"><code>glasshouse audit verify --url {}</code></pre>",
        escape(url)
    );
    if inventory.audit_checkpoint.is_some() {
        p(h, "If you saved the checkpoint above in a file, check that today's log still contains everything it signed:");
        let _ = writeln!(
            h,
            "<pre class=\"govuk-body\"><code>glasshouse audit verify --url {} --checkpoint FILE</code></pre>",
            escape(url)
        );
    }
    p(h, "Partner organisations can witness the log, checking and cosigning each checkpoint so that even we cannot rewrite its history unnoticed:");
    let _ = writeln!(
        h,
        "<pre class=\"govuk-body\"><code>glasshouse audit witness {}</code></pre>",
        escape(url)
    );
    p(
        h,
        &format!(
            "Everything on this page is also available as {}.",
            link("machine-readable JSON", JSON_PATH)
        ),
    );
}
