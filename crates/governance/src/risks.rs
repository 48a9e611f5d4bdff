//! The risk register of the DPIA (ICO template, steps 5 and 6): each risk
//! to people, how likely and how severe it is as the processing is
//! configured, the safeguards in force against it — read from the live
//! configuration and inventory, never written by hand — and what is left.
//!
//! Likelihood and severity use the ICO's words; the overall rating follows
//! the ICO's matrix ([`overall`]).

use crate::collected::{SALT_DAYS_KEPT, SCRUBBED};
use crate::format;
use crate::inventory::Inventory;
use crate::scope::Scope;
use chrono::Duration;
use glasshouse_model::{Config, PurposeCategory};
use serde::Serialize;

/// How likely harm is (ICO template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Could happen only in exceptional circumstances.
    Remote,
    /// Could happen.
    Possible,
    /// Is more likely than not.
    Probable,
}

/// How severe the harm would be (ICO template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Little or no impact on people.
    Minimal,
    /// Real impact, e.g. distress or loss of control over information.
    Significant,
    /// Serious or lasting impact.
    Severe,
}

/// The overall risk rating (ICO template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk: the ICO must be consulted before processing if it cannot be reduced.
    High,
}

/// What the safeguards do to a risk (ICO template, step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The safeguards remove the risk.
    Eliminated,
    /// The safeguards make it less likely or less severe.
    Reduced,
    /// The risk is accepted as it is.
    Accepted,
}

macro_rules! words {
    ($t:ty { $($v:ident => $w:literal),* $(,)? }) => {
        impl $t {
            /// The word the ICO template uses.
            pub fn word(self) -> &'static str {
                match self { $(<$t>::$v => $w),* }
            }
        }
    };
}
words!(Likelihood { Remote => "Remote", Possible => "Possible", Probable => "Probable" });
words!(Severity { Minimal => "Minimal", Significant => "Significant", Severe => "Severe" });
words!(Rating { Low => "Low", Medium => "Medium", High => "High" });
words!(Effect { Eliminated => "Eliminated", Reduced => "Reduced", Accepted => "Accepted" });

/// The ICO matrix: likelihood × severity → overall risk.
pub fn overall(likelihood: Likelihood, severity: Severity) -> Rating {
    use Likelihood::*;
    use Severity::*;
    match (likelihood, severity) {
        (_, Minimal) | (Remote, Significant) => Rating::Low,
        (Remote, Severe) | (Possible, Significant) => Rating::Medium,
        (Possible, Severe) | (Probable, Significant) | (Probable, Severe) => Rating::High,
    }
}

/// One risk to people, assessed against the live configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// A stable slug, so reviewers can refer to a risk across versions.
    pub id: &'static str,
    /// The risk in a few words.
    pub title: &'static str,
    /// The source of the risk and the harm it could do to people.
    pub description: String,
    /// How likely harm is without the safeguards below.
    pub likelihood: Likelihood,
    /// How severe the harm would be.
    pub severity: Severity,
    /// The safeguards in force, from the live configuration and inventory.
    pub measures: Vec<String>,
    /// What the safeguards do to the risk.
    pub effect: Effect,
    /// The risk that remains with the safeguards in force.
    pub residual: Rating,
}

impl Risk {
    /// The overall rating before the safeguards.
    pub fn overall(&self) -> Rating {
        overall(self.likelihood, self.severity)
    }
}

/// The risks of the processing, for the whole installation or one site,
/// with the safeguards in force read from `config` and `inventory`.
pub fn assess(config: &Config, inventory: &Inventory, site: Option<&str>) -> Vec<Risk> {
    let scope = Scope::new(config, site, inventory.generated_at);
    let retention_list = scope
        .sites
        .iter()
        .map(|s| format!("{} {}", s.host, format::days(s.raw_retention_days)))
        .collect::<Vec<_>>()
        .join(", ");
    let aggregate_list = scope
        .sites
        .iter()
        .map(|s| format!("{} {}", s.host, format::days(s.aggregate_retention_days)))
        .collect::<Vec<_>>()
        .join(", ");
    let max_raw = scope
        .sites
        .iter()
        .map(|s| s.raw_retention_days)
        .max()
        .unwrap_or(0);
    let sharing = &scope.agreements;
    let journeys: Vec<_> = sharing
        .iter()
        .filter(|a| a.journeys && a.in_force(scope.today))
        .collect();
    let agreement_k = |a: &glasshouse_model::Agreement| {
        format!(
            "Agreement {}: another party sees only aggregates, and rows about fewer than k = {} visitors are withheld from it{}.",
            a.id,
            a.k,
            match a.epsilon_per_month {
                Some(e) => format!(
                    "; the agreement sets a differential-privacy budget of ε = {} per month for the other parties' queries",
                    format::epsilon(e)
                ),
                None => "; the agreement sets no differential-privacy budget".into(),
            }
        )
    };

    let mut risks = Vec::new();

    risks.push(Risk {
        id: "reidentification",
        title: "Re-identification through the daily visitor id while the salt exists",
        description: "While a day's salt exists, anyone holding it and a person's IP address and User-Agent could recompute that person's visitor id for the day and pick out their events, which are pseudonymous personal data.".into(),
        likelihood: Likelihood::Possible,
        severity: Severity::Significant,
        measures: vec![
            format!("Salts are 32 random bytes per UTC day, kept for {SALT_DAYS_KEPT} days only (today and yesterday), then erased from memory and disk, daily."),
            "The visitor id is a keyed BLAKE3 hash cut to 64 bits; the IP address and User-Agent are never stored, logged or written to disk.".into(),
            "No cookie or other identifier is set in the browser, so nothing links a person's days.".into(),
            format!("Raw events, which carry visitor ids, are deleted after: {}.", or_none(&retention_list)),
        ],
        effect: Effect::Reduced,
        residual: Rating::Low,
    });

    let linking_measures = if journeys.is_empty() {
        vec![
            "No journey agreement is in force here: every site's visitor ids are made with the site alone as scope, so the same person gets unrelated ids on different sites.".to_string(),
            "Linking never uses cookies or identifiers added to links.".into(),
        ]
    } else {
        let mut m: Vec<String> = journeys
            .iter()
            .map(|a| {
                format!(
                    "Agreement {}: visitor ids are shared only across its sites ({}), signed by {}, in force from {}{}.",
                    a.id,
                    a.sites.join(", "),
                    a.parties.iter().map(|p| scope.org_name(p)).collect::<Vec<_>>().join(" and "),
                    format::date(a.start),
                    a.end.map(|e| format!(" to {}", format::date(e))).unwrap_or_default()
                )
            })
            .collect();
        m.extend(journeys.iter().map(|a| agreement_k(a)));
        m.push("Links are made only through the same day's salt: journeys cannot be joined across days, and no cookie or link decoration is used.".into());
        let alone: Vec<&str> = scope
            .sites
            .iter()
            .filter(|s| scope.journey_agreement(&s.host).is_none())
            .map(|s| s.host.as_str())
            .collect();
        if !alone.is_empty() {
            m.push(format!(
                "Sites in no journey agreement are never linked: {}.",
                alone.join(", ")
            ));
        }
        m
    };
    let weak_journey = journeys
        .iter()
        .any(|a| a.k < 10 || a.epsilon_per_month.is_none());
    risks.push(Risk {
        id: "cross-organisation-linking",
        title: "Linking one person's visits across organisations",
        description: "Joining up a person's visits to sites run by different organisations builds a fuller picture of them than either holds, and could be used beyond what they would expect.".into(),
        likelihood: if journeys.is_empty() { Likelihood::Remote } else { Likelihood::Probable },
        severity: Severity::Significant,
        measures: linking_measures,
        effect: Effect::Reduced,
        residual: if weak_journey { Rating::Medium } else { Rating::Low },
    });

    let categories: Vec<&str> = PurposeCategory::ALL.iter().map(|c| c.label()).collect();
    let mut creep = vec![
        format!(
            "Purposes can only have one of the fixed categories ({}); there is no category for political or campaigning use.",
            categories.join(", ")
        ),
        format!(
            "Purposes declared here, each with its lawful basis: {}.",
            or_none(
                &scope
                    .purposes
                    .iter()
                    .map(|p| format!("{} ({}; {})", p.id, p.category.label(), p.lawful_basis))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        ),
        "Every query runs under a declared purpose: the one it names, or else the site's first. The gate refuses a purpose the site does not allow, and for another organisation's site one that no agreement in force allows.".into(),
        "Every query and every refusal is written to the public audit log with its purpose.".into(),
    ];
    for s in &scope.sites {
        creep.push(format!(
            "{} may be queried only for: {}.",
            s.host,
            s.purposes.join(", ")
        ));
    }
    risks.push(Risk {
        id: "function-creep",
        title: "Function creep beyond the declared purposes",
        description: "Data collected to improve services could later be used for something people were not told about, such as profiling or political targeting.".into(),
        likelihood: Likelihood::Possible,
        severity: Severity::Severe,
        measures: creep,
        effect: Effect::Reduced,
        residual: Rating::Low,
    });

    let open_params: Vec<String> = scope
        .sites
        .iter()
        .filter(|s| !s.query_params.is_empty())
        .map(|s| format!("{} ({})", s.host, s.query_params.join(", ")))
        .collect();
    let open_props: Vec<&str> = scope
        .sites
        .iter()
        .filter(|s| s.props.is_none())
        .map(|s| s.host.as_str())
        .collect();
    let mut pii = vec![
        format!("Before anything is stored, these are removed from paths, query values, referrers, event names and properties: {}.", SCRUBBED.join("; ")),
        "Query parameters not on the site's allow-list are dropped, name and value; URL fragments and referrer query strings are never kept; page titles are not collected.".into(),
        "Do Not Track and Global Privacy Control are honoured: such visits are not recorded at all; anyone can object with one click on /optout.".into(),
    ];
    pii.push(if open_params.is_empty() {
        "No site here keeps any query parameter other than utm_ tags.".into()
    } else {
        format!(
            "Query parameters kept (values scrubbed): {}.",
            open_params.join("; ")
        )
    });
    for s in &scope.sites {
        pii.push(match &s.props {
            Some(keys) if keys.is_empty() => format!("{}: no custom property is kept.", s.host),
            Some(keys) => format!("{}: only these property keys are kept: {}.", s.host, keys.join(", ")),
            None => format!("{}: any property key is kept (values are scrubbed); listing the allowed keys would narrow this.", s.host),
        });
    }
    risks.push(Risk {
        id: "pii-in-urls",
        title: "Personal information leaking through addresses and properties",
        description: "Page addresses, search terms, referrers and event properties can contain names, e-mail addresses, postcodes, reference numbers or tokens typed or sent by the person or the service.".into(),
        likelihood: Likelihood::Probable,
        severity: Severity::Significant,
        measures: pii,
        effect: Effect::Reduced,
        residual: if open_params.is_empty() && open_props.is_empty() { Rating::Low } else { Rating::Medium },
    });

    let overdue: Vec<String> = scope
        .sites
        .iter()
        .filter_map(|s| {
            let oldest = inventory.site(&s.host).oldest_event?;
            let limit =
                inventory.generated_at - Duration::days(i64::from(s.raw_retention_days) + 1);
            (oldest < limit)
                .then(|| format!("{} (oldest event {})", s.host, format::date_time(oldest)))
        })
        .collect();
    let mut retention = vec![
        format!("Raw events with daily visitor ids are deleted after: {}.", or_none(&retention_list)),
        format!("Aggregates without any visitor id are kept at most: {}.", or_none(&aggregate_list)),
        "Deletion is enforced by the server at start and every hour, and the limits are published on the transparency page.".into(),
    ];
    retention.push(if overdue.is_empty() {
        format!("Checked against the data on {}: no site holds raw events older than its limit.", format::date_time(inventory.generated_at))
    } else {
        format!("Checked against the data on {}: raw events older than the limit are still stored for {}. This must be investigated.", format::date_time(inventory.generated_at), overdue.join(", "))
    });
    risks.push(Risk {
        id: "excessive-retention",
        title: "Keeping data longer than needed",
        description: "The longer raw events with visitor ids are kept, the longer they are pseudonymous personal data that could be misused or breached.".into(),
        likelihood: if max_raw > 90 { Likelihood::Probable } else if max_raw > 30 { Likelihood::Possible } else { Likelihood::Remote },
        severity: Severity::Significant,
        measures: retention,
        effect: Effect::Reduced,
        residual: if !overdue.is_empty() { Rating::High } else if max_raw > 31 { Rating::Medium } else { Rating::Low },
    });

    let orgs_with_users = config.users.len();
    let operators: Vec<String> = config
        .api_tokens
        .iter()
        .filter(|t| t.all_sites)
        .map(|t| format!("{} ({})", t.name, scope.org_name(&t.organisation)))
        .collect();
    let mut access = vec![
        format!("Dashboard accounts ({}) have a role in one organisation (viewer, analyst or admin); passwords are stored only as Argon2 hashes.", orgs_with_users),
        format!("Stats API tokens ({}) are stored only as SHA-256 hashes and belong to one organisation.", config.api_tokens.len()),
        "An organisation sees other organisations' data only through an agreement both signed.".into(),
    ];
    if !operators.is_empty() {
        access.push(format!(
            "Operator tokens of the organisation running the installation reload it and read its health, and see no more data than their organisation: {}. Their queries are audited like any other.",
            operators.join(", ")
        ));
    }
    access.extend([
        "Every query, allowed or refused, is written to the public audit log.".to_string(),
        "The data holds no names, contact details, IP addresses or User-Agents to steal.".into(),
    ]);
    risks.push(Risk {
        id: "unauthorised-access",
        title: "Unauthorised access to the data",
        description:
            "Someone inside or outside the organisations could read data they have no right to see."
                .into(),
        likelihood: Likelihood::Possible,
        severity: Severity::Significant,
        measures: access,
        effect: Effect::Reduced,
        residual: Rating::Low,
    });

    let min_k = sharing.iter().map(|a| a.k).min();
    let mut small = vec![
        "Shared data is only ever aggregates; no other party can see raw events or visitor ids."
            .to_string(),
    ];
    small.extend(sharing.iter().map(|a| agreement_k(a)));
    if sharing.is_empty() {
        small
            .push("No agreement shares data here, so no other organisation sees any of it.".into());
    }
    small.push("An organisation's own analysts see all rows of their own sites, including small ones; they are pseudonymous and limited to the raw retention period.".into());
    risks.push(Risk {
        id: "small-numbers",
        title: "Disclosure through small numbers",
        description: "A row that counts very few visitors (for example, one person from a small country on a rare page) can reveal something about an identifiable person.".into(),
        likelihood: if sharing.is_empty() { Likelihood::Remote } else { Likelihood::Probable },
        severity: Severity::Significant,
        measures: small,
        effect: Effect::Reduced,
        residual: match min_k {
            None => Rating::Low,
            Some(k) if k >= 10 => Rating::Low,
            Some(k) if k >= 5 => Rating::Medium,
            Some(_) => Rating::High,
        },
    });

    let mut audit = vec![
        "The audit log is a Merkle-tree transparency log (RFC 6962) with a signed checkpoint for every entry; editing, deleting, inserting or reordering an entry is detectable by anyone with the command glasshouse audit verify.".to_string(),
        "Partner organisations can witness the log: cosign each checkpoint after checking it extends the last one they saw, so even the key holder cannot rewrite history unnoticed.".into(),
        format!("The log holds {} entries now.", format::count(inventory.audit_log_size)),
    ];
    audit.push(match &inventory.audit_public_key {
        Some(key) => format!("Its public key is published on the transparency page: {key}"),
        None => "No public key is published yet, so nobody outside can verify the log.".into(),
    });
    risks.push(Risk {
        id: "audit-tampering",
        title: "Tampering with the audit log",
        description: "If the record of who looked at the data could be quietly changed, misuse could be hidden.".into(),
        likelihood: Likelihood::Possible,
        severity: Severity::Significant,
        measures: audit,
        effect: Effect::Reduced,
        residual: if inventory.audit_public_key.is_some() { Rating::Low } else { Rating::Medium },
    });

    risks
}

fn or_none(list: &str) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ico_matrix() {
        assert_eq!(overall(Likelihood::Remote, Severity::Minimal), Rating::Low);
        assert_eq!(
            overall(Likelihood::Remote, Severity::Severe),
            Rating::Medium
        );
        assert_eq!(
            overall(Likelihood::Possible, Severity::Significant),
            Rating::Medium
        );
        assert_eq!(
            overall(Likelihood::Possible, Severity::Severe),
            Rating::High
        );
        assert_eq!(
            overall(Likelihood::Probable, Severity::Minimal),
            Rating::Low
        );
        assert_eq!(
            overall(Likelihood::Probable, Severity::Significant),
            Rating::High
        );
    }
}
