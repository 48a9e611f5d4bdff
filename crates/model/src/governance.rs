//! Purposes and agreements: the parts of the configuration that say why data
//! is processed and who may see whose.
//!
//! Both are declared in `glasshouse.toml`, enforced by the gate and published
//! on the transparency page, so the published rules are the enforced rules.

use chrono::NaiveDate;
use serde::Serialize;

/// The only kinds of purpose an installation may declare (docs/architecture.md, promise 5).
///
/// The list is closed on purpose: there is no category for political or
/// campaigning use and no free text, so a purpose cannot be stretched later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PurposeCategory {
    /// Making a service work better for the people who use it.
    ServiceImprovement,
    /// Publishing how a service performs (e.g. GOV.UK performance data).
    PerformanceReporting,
    /// Finding and fixing barriers for disabled people.
    Accessibility,
    /// Keeping the service and its users safe from abuse.
    Security,
    /// Official statistics.
    Statistics,
}

impl PurposeCategory {
    /// Every category, in the order they are documented.
    pub const ALL: [PurposeCategory; 5] = [
        PurposeCategory::ServiceImprovement,
        PurposeCategory::PerformanceReporting,
        PurposeCategory::Accessibility,
        PurposeCategory::Security,
        PurposeCategory::Statistics,
    ];

    /// The slug used in the configuration file.
    pub fn slug(self) -> &'static str {
        match self {
            PurposeCategory::ServiceImprovement => "service-improvement",
            PurposeCategory::PerformanceReporting => "performance-reporting",
            PurposeCategory::Accessibility => "accessibility",
            PurposeCategory::Security => "security",
            PurposeCategory::Statistics => "statistics",
        }
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            PurposeCategory::ServiceImprovement => "Service improvement",
            PurposeCategory::PerformanceReporting => "Performance reporting",
            PurposeCategory::Accessibility => "Accessibility",
            PurposeCategory::Security => "Security",
            PurposeCategory::Statistics => "Statistics",
        }
    }

    /// Parses a configuration slug.
    pub fn parse(s: &str) -> Option<PurposeCategory> {
        PurposeCategory::ALL.into_iter().find(|c| c.slug() == s)
    }
}

/// Why data is processed: every query names one, and the gate checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purpose {
    /// A stable slug, e.g. `service-improvement`.
    pub id: String,
    /// What the data is used for, in plain words.
    pub description: String,
    /// The lawful basis under UK GDPR Article 6, in words.
    pub lawful_basis: String,
    /// One of the fixed categories.
    pub category: PurposeCategory,
}

/// What one organisation may see of another's data, signed by both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// A stable slug, e.g. `gov-uk-wales-journeys`.
    pub id: String,
    /// A title people recognise.
    pub title: String,
    /// Slugs of the organisations that signed it (two or more).
    pub parties: Vec<String>,
    /// Hosts of the sites it covers; each belongs to one of the parties.
    pub sites: Vec<String>,
    /// Purposes for which shared data may be queried.
    pub purposes: Vec<String>,
    /// Metric names (as the Stats API names them) each party may see of the others' sites.
    pub metrics: Vec<String>,
    /// Breakdown properties (e.g. `event:page`) each party may see of the others' sites.
    pub breakdowns: Vec<String>,
    /// Whether a visit that moves between the covered sites is one journey.
    pub journeys: bool,
    /// Whether the figures it shares may also be shown through a party's
    /// shared links, to people without an account (publication). Off
    /// unless the parties wrote it down.
    pub publish: bool,
    /// Rows describing fewer visitors than this are never shown to another party.
    pub k: u32,
    /// Differential-privacy budget per calendar month for the other parties' queries.
    pub epsilon_per_month: Option<f64>,
    /// First day it is in force.
    pub start: NaiveDate,
    /// Last day it is in force, if it ends.
    pub end: Option<NaiveDate>,
    /// Who signed it, one line each (name, role, organisation).
    pub signatories: Vec<String>,
    /// The parties' nodes, where each runs its own installation
    /// (docs/federation.md); empty when all parties share this one.
    pub nodes: Vec<crate::federation::AgreementNode>,
    /// The figures its nodes compute together by private set intersection.
    pub figures: Vec<crate::federation::Figure>,
    /// The parties' signatures over its canonical text
    /// (`crate::signing`), each checked when the configuration loads.
    pub signatures: Vec<crate::signing::AgreementSignature>,
}

impl Agreement {
    /// Whether the agreement is in force on this day: within its dates,
    /// and signed by every party.
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.in_dates(day) && self.unsigned_by().is_empty()
    }

    /// Whether `day` is within its start and end.
    pub fn in_dates(&self, day: NaiveDate) -> bool {
        day >= self.start && self.end.is_none_or(|end| day <= end)
    }

    /// The parties whose signature is missing or does not verify: while
    /// any is, the agreement is not in force.
    pub fn unsigned_by(&self) -> Vec<&str> {
        self.parties
            .iter()
            .filter(|p| {
                !self
                    .signatures
                    .iter()
                    .any(|s| &s.organisation == *p && s.verified)
            })
            .map(String::as_str)
            .collect()
    }

    /// The node `organisation` runs under this agreement, if any.
    pub fn node(&self, organisation: &str) -> Option<&crate::federation::AgreementNode> {
        self.nodes.iter().find(|n| n.organisation == organisation)
    }

    /// The figure with this id, if the agreement declares it.
    pub fn figure(&self, id: &str) -> Option<&crate::federation::Figure> {
        self.figures.iter().find(|f| f.id == id)
    }

    /// Whether the agreement covers this site.
    pub fn covers(&self, host: &str) -> bool {
        self.sites.iter().any(|s| s.eq_ignore_ascii_case(host))
    }
}

/// The purpose an installation gets when its configuration declares none, so
/// that older files keep working with an honest, narrow default.
pub fn default_purpose() -> Purpose {
    Purpose {
        id: "service-improvement".into(),
        description: "Understanding how people use the service so that it can be improved.".into(),
        lawful_basis: "Public task (UK GDPR Article 6(1)(e))".into(),
        category: PurposeCategory::ServiceImprovement,
    }
}
