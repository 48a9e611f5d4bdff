//! The gate between nodes (docs/federation.md): whether another node may
//! take part in an exchange under an agreement, and how a figure computed
//! between nodes is released. The same rules as every other question —
//! an agreement in force, signed by every party, naming what is asked —
//! decided here and nowhere else.

use super::release::{Ledger, ReleaseError};
use super::Refusal;
use chrono::NaiveDate;
use glasshouse_model::federation::Figure;
use glasshouse_model::governance::Agreement;
use glasshouse_model::Config;
use glasshouse_privacy::budget::BudgetError;
use glasshouse_privacy::dp;

/// Figures an agreement's monthly ε covers per figure: one a day, for the
/// longest month, so daily figures never run the budget out.
pub const FIGURE_DAYS_PER_MONTH: f64 = 31.0;

/// The party the ε ledger charges for figures between nodes.
pub const FEDERATION_PARTY: &str = "federation";

/// What another node asks: an exchange for `figure` (none for agreeing a
/// day's link key) of `day`, under `agreement`, whose terms it holds as
/// `terms` (the SHA-256 of their canonical text).
pub struct Exchange<'a> {
    /// The agreement it names.
    pub agreement: &'a str,
    /// SHA-256 (hex) of the agreement's canonical text as the sender holds it.
    pub terms: &'a str,
    /// The figure, for a set intersection or a release.
    pub figure: Option<&'a str>,
    /// The day its figures are about.
    pub day: NaiveDate,
    /// The sending node's organisation.
    pub from: &'a str,
}

fn refuse(reason: String) -> Refusal {
    Refusal {
        field: "agreement",
        reason,
    }
}

/// Decides whether this node (`config.node`) may take part in `ask` with
/// `from`: the agreement must be in force on `day` (signed by every
/// party), hold the same terms on both sides, name both nodes, and declare
/// the figure, which must join the two of them.
pub fn authorise_exchange<'c>(
    config: &'c Config,
    ask: &Exchange,
) -> Result<(&'c Agreement, Option<&'c Figure>), Refusal> {
    let me = config
        .node
        .as_ref()
        .map(|n| n.organisation.as_str())
        .ok_or_else(|| refuse("this installation is not a node".into()))?;
    let a = config
        .agreements
        .iter()
        .find(|a| a.id == ask.agreement)
        .ok_or_else(|| refuse(format!("no agreement {:?} here", ask.agreement)))?;
    if a.node(ask.from).is_none() || a.node(me).is_none() || ask.from == me {
        return Err(refuse(format!(
            "{:?} is not a partner node of agreement {:?}",
            ask.from, a.id
        )));
    }
    let unsigned = a.unsigned_by();
    if !unsigned.is_empty() {
        return Err(refuse(format!(
            "agreement {:?} is not signed by {}",
            a.id,
            unsigned.join(", ")
        )));
    }
    if !a.in_dates(ask.day) {
        return Err(refuse(format!(
            "{} is outside agreement {:?}'s dates",
            ask.day, a.id
        )));
    }
    if terms_digest(a) != ask.terms {
        return Err(refuse(format!(
            "the terms of agreement {:?} differ between the nodes",
            a.id
        )));
    }
    let Some(id) = ask.figure else {
        return Ok((a, None));
    };
    let figure = a
        .figure(id)
        .ok_or_else(|| refuse(format!("agreement {:?} declares no figure {id:?}", a.id)))?;
    let owner = |i: usize| {
        config
            .site(&figure.steps[i].site)
            .map(|s| s.organisation.as_str())
    };
    let (first, second) = (owner(0), owner(1));
    if !(first == Some(ask.from) && second == Some(me)
        || first == Some(me) && second == Some(ask.from))
    {
        return Err(refuse(format!(
            "figure {id:?} is not computed between {} and {me}",
            ask.from
        )));
    }
    Ok((a, Some(figure)))
}

/// SHA-256 (hex) of the agreement's canonical text: what both nodes must
/// hold for an exchange to go ahead.
pub fn terms_digest(a: &Agreement) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        glasshouse_model::signing::canonical(a).as_bytes(),
    ))
}

/// A figure computed between nodes, as released.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FigureRelease {
    /// The count shown, or `None` when it describes fewer than `k` visitors.
    pub visitors: Option<u64>,
    /// ε spent on it, when the agreement sets a budget.
    pub epsilon: Option<f64>,
    /// The noise's scale (discrete Laplace), when there is noise.
    pub noise_scale: Option<f64>,
}

impl FigureRelease {
    /// Half the width of the interval the noise stays within at least 999
    /// times in 1000: for discrete Laplace noise of scale s,
    /// P(|noise| > t) < 2·e^(−t/s), which is 1/1000 at t = s·ln 2000.
    pub fn bound_999(&self) -> Option<f64> {
        self.noise_scale.map(|s| s * (2000.0f64).ln())
    }
}

/// Releases a count computed between nodes under `a`: ε charged to the
/// ledger first (an equal share of the month's budget per figure and
/// day), discrete Laplace noise, then `k`. Called once per figure and
/// day; the release is kept and served again.
pub fn release_figure(
    a: &Agreement,
    ledger: &dyn Ledger,
    day: NaiveDate,
    count: u64,
) -> Result<FigureRelease, ReleaseError> {
    let (value, epsilon, scale) = match a.epsilon_per_month {
        None => (count, None, None),
        Some(limit) => {
            let epsilon = limit / (FIGURE_DAYS_PER_MONTH * a.figures.len().max(1) as f64);
            let month = day.format("%Y-%m").to_string();
            ledger
                .spend(&a.id, FEDERATION_PARTY, &month, epsilon, limit)
                .map_err(|e| match e {
                    BudgetError::Spent { .. } => ReleaseError::Refused(refuse(e.to_string())),
                    other => ReleaseError::Failed(other.to_string()),
                })?;
            let noised = dp::noisy_visitor_counts(&[count], epsilon)
                .map_err(|e| ReleaseError::Failed(e.to_string()))?;
            (noised.counts[0], Some(noised.epsilon), Some(1.0 / epsilon))
        }
    };
    Ok(FigureRelease {
        visitors: (value >= u64::from(a.k)).then_some(value),
        epsilon,
        noise_scale: scale,
    })
}
