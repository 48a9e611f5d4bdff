//! The gate: the one decision about who may see what (docs/governance.md).
//!
//! [`authorise`] is a pure function of the live configuration, the caller
//! ([`Principal`]), the parsed [`Question`] and the day. It answers with a
//! [`Grant`] that names exactly one ground — the caller's own organisation,
//! or one agreement that covers every site asked, the whole period, the
//! purpose, every metric, property and event name the answer reveals, and
//! journeys where the shape needs them — or with a [`Refusal`] that names
//! the field at fault. Callers never re-derive the decision: they run the
//! question the gate saw, and hand every figure about a partner's data to
//! [`Grant::release`] (`release.rs`), which applies the agreement's `k` and
//! ε.
//!
//! The operator is no exception: an operator token administers the
//! installation, and reads event data as a member of its own organisation.

pub mod federation;
mod release;

pub use release::{Ledger, ReleaseError, Releases, SHARED_QUERIES_PER_MONTH};

use chrono::NaiveDate;
use glasshouse_model::query::Dimension;
use glasshouse_model::{Agreement, Config, Question, Role, Shape};
use std::fmt;

/// Who asks: an account or a token, always of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Slug of the caller's organisation.
    pub organisation: String,
    /// What the caller may change in its organisation.
    pub role: Role,
    /// Whether the caller administers the installation (reload, metrics).
    /// It grants no access to any organisation's data.
    pub operator: bool,
    /// Set when the caller is a shared link: what it may read, and that
    /// whatever it reads is published to people without an account.
    pub link: Option<LinkScope>,
}

/// What a shared link may read: one site's dashboard, under the purpose
/// chosen when it was made, within its segment's filters. A partner's
/// figures reach it only under an agreement that allows publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkScope {
    /// Host of the site the link shows.
    pub site: String,
    /// The purpose every question through the link is asked for.
    pub purpose: String,
    /// Filters every question through the link must carry (its segment).
    pub filters: Vec<glasshouse_model::query::Filter>,
    /// Conditions every question through the link must carry (what of
    /// its segment a list of filters cannot say).
    pub conditions: Vec<glasshouse_model::query::Condition>,
}

/// Refuses a question outside what a shared link may read.
fn within_link(link: &LinkScope, q: &Question) -> Result<(), Refusal> {
    if !q.query.site.eq_ignore_ascii_case(&link.site) {
        return Err(refuse(
            "site_id",
            format!("this link shows {} only", link.site),
        ));
    }
    if q.purpose != link.purpose {
        return Err(refuse(
            "purpose",
            format!("this link reads for {:?} only", link.purpose),
        ));
    }
    if let Some(f) = link.filters.iter().find(|f| !q.query.filters.contains(f)) {
        return Err(refuse(
            "filters",
            format!(
                "this link shows its segment only; a filter on {} is missing",
                f.dimension
            ),
        ));
    }
    if link
        .conditions
        .iter()
        .any(|c| !q.query.conditions.contains(c))
    {
        return Err(refuse(
            "filters",
            "this link shows its segment only; one of its conditions is missing",
        ));
    }
    Ok(())
}

/// Why the gate said no, naming the request field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The request parameter the refusal is about.
    pub field: &'static str,
    /// Why, in words the caller can act on.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        field,
        reason: reason.into(),
    }
}

/// The one ground on which a question is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Ground {
    /// Every site asked belongs to the caller's organisation.
    Own,
    /// Some site asked belongs to another organisation; this agreement,
    /// which the caller's organisation signed, covers the whole question.
    Agreement {
        /// The agreement's id.
        id: String,
        /// Fewest visitors a released figure may describe.
        k: u64,
        /// The agreement's monthly ε budget, if it sets one.
        epsilon_per_month: Option<f64>,
    },
}

/// Leave to answer one question, and the rules its release follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The caller's organisation.
    pub organisation: String,
    /// The caller's role.
    pub role: Role,
    /// The purpose the answer is for.
    pub purpose: String,
    /// Why the caller may see it.
    pub ground: Ground,
}

impl Grant {
    /// Whether the answer involves another organisation's data.
    pub fn shared(&self) -> bool {
        matches!(self.ground, Ground::Agreement { .. })
    }

    /// The ground in words, as the audit log records it.
    pub fn ground_text(&self) -> String {
        match &self.ground {
            Ground::Own => format!("own organisation {}", self.organisation),
            Ground::Agreement {
                id,
                k,
                epsilon_per_month,
            } => match epsilon_per_month {
                Some(e) => format!("agreement {id} (k={k}, epsilon {e}/month)"),
                None => format!("agreement {id} (k={k})"),
            },
        }
    }
}

/// Decides whether `who` may have `question` answered on `today`.
pub fn authorise(
    config: &Config,
    who: &Principal,
    question: &Question,
    today: NaiveDate,
) -> Result<Grant, Refusal> {
    if let Some(link) = &who.link {
        within_link(link, question)?;
    }
    let purpose = &question.purpose;
    if config.purpose(purpose).is_none() {
        return Err(refuse(
            "purpose",
            format!("{purpose:?} is not a declared purpose; see /transparency"),
        ));
    }
    let mut partner = None;
    for host in &question.sites {
        let site = config
            .site(host)
            .ok_or_else(|| refuse("site_id", format!("no site {host:?} here")))?;
        if !site.purposes.iter().any(|p| p == purpose) {
            return Err(refuse(
                "purpose",
                format!("{} does not allow {purpose:?}", site.host),
            ));
        }
        if site.organisation != who.organisation && partner.is_none() {
            partner = Some(site.host.as_str());
        }
    }
    let grant = |ground| Grant {
        organisation: who.organisation.clone(),
        role: who.role,
        purpose: purpose.clone(),
        ground,
    };
    let Some(partner) = partner else {
        return Ok(grant(Ground::Own));
    };
    if question.shape == Shape::Realtime {
        return Err(refuse(
            "site_id",
            format!("live figures of {partner} are never shared with another organisation"),
        ));
    }
    let mut first_refusal = None;
    for a in config.agreements.iter().filter(|a| {
        a.parties.contains(&who.organisation) && question.sites.iter().all(|s| a.covers(s))
    }) {
        if who.link.is_some() && !a.publish {
            first_refusal.get_or_insert(refuse(
                "site_id",
                format!(
                    "agreement {:?} does not allow {partner}'s figures on shared links",
                    a.id
                ),
            ));
            continue;
        }
        match covers(a, question, today) {
            Ok(()) => {
                return Ok(grant(Ground::Agreement {
                    id: a.id.clone(),
                    k: u64::from(a.k),
                    epsilon_per_month: a.epsilon_per_month,
                }))
            }
            Err(r) => {
                first_refusal.get_or_insert(r);
            }
        }
    }
    Err(first_refusal.unwrap_or_else(|| {
        refuse(
            "site_id",
            format!(
                "{partner} belongs to another organisation and no agreement your organisation signed shares {}",
                if question.sites.len() > 1 { "all of these sites" } else { "it" }
            ),
        )
    }))
}

/// Whether agreement `a` covers every condition of `q` (its sites and
/// parties are already known to match).
fn covers(a: &Agreement, q: &Question, today: NaiveDate) -> Result<(), Refusal> {
    let unsigned = a.unsigned_by();
    if !unsigned.is_empty() {
        return Err(refuse(
            "site_id",
            format!(
                "agreement {:?} is not in force: it lacks a verified signature of {} (an agreement changed after signing must be signed again)",
                a.id,
                unsigned.join(", ")
            ),
        ));
    }
    let (first, last) = q.days_read();
    let span = match a.end {
        Some(end) => format!("from {} to {end}", a.start),
        None => format!("from {}", a.start),
    };
    if !(a.in_force(first) && a.in_force(last)) {
        return Err(refuse(
            "period",
            format!(
                "agreement {:?} is in force {span}, not for the whole of {first} to {last}",
                a.id
            ),
        ));
    }
    if !a.in_force(today) {
        return Err(refuse(
            "period",
            format!("agreement {:?} is in force {span}, not today", a.id),
        ));
    }
    if !a.purposes.contains(&q.purpose) {
        return Err(refuse(
            "purpose",
            format!("agreement {:?} does not allow {:?}", a.id, q.purpose),
        ));
    }
    if q.shape.is_journey() && !a.journeys {
        return Err(refuse(
            "site_id",
            format!("agreement {:?} does not link journeys", a.id),
        ));
    }
    if a.epsilon_per_month.is_some() && q.shape.is_journey() {
        return Err(refuse(
            "site_id",
            format!(
                "agreement {:?} sets an ε budget, and a journey answer has no bound on how much one visitor changes it, so no noise can protect it; journeys across organisations need an agreement without ε",
                a.id
            ),
        ));
    }
    for m in q.metrics_reported() {
        if !a.metrics.iter().any(|n| n == m.name()) {
            return Err(refuse(
                "metrics",
                format!("agreement {:?} does not share {}", a.id, m.name()),
            ));
        }
        if a.epsilon_per_month.is_some() && m != glasshouse_model::query::Metric::Visitors {
            return Err(refuse(
                "metrics",
                format!(
                    "under agreement {:?}'s ε budget only visitors can be shared; {} has no per-visitor bound for the noise",
                    a.id,
                    m.name()
                ),
            ));
        }
    }
    // `event:goal` is shared as a property, whichever of the site's goals
    // a question has resolved it to.
    let shared = |d: &Dimension| {
        a.breakdowns
            .iter()
            .any(|b| Dimension::parse(b).is_ok_and(|x| &x == d || (x.is_goal() && d.is_goal())))
    };
    for f in q.query.every_filter() {
        if !shared(&f.dimension) {
            return Err(refuse(
                "filters",
                format!(
                    "agreement {:?} does not share {}, so it cannot be filtered on",
                    a.id, f.dimension
                ),
            ));
        }
    }
    for d in q.properties_revealed() {
        if !shared(&d) {
            let field = match (&q.shape, &d) {
                (Shape::Funnel { .. }, _) => "steps",
                (Shape::Breakdown { .. }, _) => "property",
                _ => "page",
            };
            return Err(refuse(
                field,
                format!("agreement {:?} does not share {d}", a.id),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
