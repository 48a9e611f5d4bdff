//! The release of an answer under a [`Grant`]: what leaves the store about
//! a partner's data.
//!
//! - Where the agreement sets an ε budget, the query's share of the month's
//!   budget is charged to the durable ledger *before* anything is released,
//!   and visitor counts get discrete Laplace noise (`glasshouse_privacy::dp`).
//!   A question that would overspend the month is refused.
//! - Every figure about a partner's data that describes fewer than `k`
//!   visitors (the noisy count, where there is noise) is withheld.
//! - A noisy answer, once released, is kept on disk ([`Releases`]) and
//!   served again for the same question by the same organisation on the
//!   same day: asking again, or after a restart, cannot average the noise
//!   away, and a dashboard that reloads does not drain the budget.

use super::{Grant, Ground, Refusal};
use chrono::NaiveDate;
use glasshouse_privacy::budget::{BudgetError, Budgets, Released};
use glasshouse_privacy::dp;

/// Shared queries an agreement's monthly ε allows, each spending an equal part.
pub const SHARED_QUERIES_PER_MONTH: f64 = 20.0;

/// Where ε spends are recorded, durably, before any release.
pub trait Ledger: Send + Sync {
    /// Records `epsilon` spent by `party` under `agreement` in `month`
    /// (`YYYY-MM`), or refuses if the month's spend would pass `limit`.
    fn spend(
        &self,
        agreement: &str,
        party: &str,
        month: &str,
        epsilon: f64,
        limit: f64,
    ) -> Result<f64, BudgetError>;
}

impl Ledger for Budgets {
    fn spend(
        &self,
        agreement: &str,
        party: &str,
        month: &str,
        epsilon: f64,
        limit: f64,
    ) -> Result<f64, BudgetError> {
        Budgets::spend(self, agreement, party, month, epsilon, limit)
    }
}

/// Why figures could not be released.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The caller may not have them (the month's budget is spent).
    #[error("{0}")]
    Refused(Refusal),
    /// The ledger or the noise failed; nothing was released.
    #[error("release failed: {0}")]
    Failed(String),
}

impl Grant {
    /// Releases visitor counts, one per row of an answer: `Some(count)` to
    /// show (noisy under ε), `None` to withhold. Under the caller's own
    /// organisation every count is shown as it is.
    pub fn release(
        &self,
        ledger: &dyn Ledger,
        today: NaiveDate,
        visitors: &[u64],
    ) -> Result<Vec<Option<u64>>, ReleaseError> {
        let Ground::Agreement {
            id,
            k,
            epsilon_per_month,
        } = &self.ground
        else {
            return Ok(visitors.iter().map(|v| Some(*v)).collect());
        };
        let counts = match epsilon_per_month {
            None => visitors.to_vec(),
            Some(limit) => {
                let epsilon = limit / SHARED_QUERIES_PER_MONTH;
                let month = today.format("%Y-%m").to_string();
                ledger
                    .spend(id, &self.organisation, &month, epsilon, *limit)
                    .map_err(|e| match e {
                        BudgetError::Spent { .. } => ReleaseError::Refused(Refusal {
                            field: "site_id",
                            reason: e.to_string(),
                        }),
                        other => ReleaseError::Failed(other.to_string()),
                    })?;
                dp::noisy_visitor_counts(visitors, epsilon)
                    .map_err(|e| ReleaseError::Failed(e.to_string()))?
                    .counts
            }
        };
        Ok(counts.into_iter().map(|c| (c >= *k).then_some(c)).collect())
    }

    /// Whether answers under this grant carry noise, and so are kept in
    /// [`Releases`] and served again.
    pub fn noisy(&self) -> bool {
        matches!(
            self.ground,
            Ground::Agreement {
                epsilon_per_month: Some(_),
                ..
            }
        )
    }
}

/// Noisy answers already released, by organisation, question and day,
/// kept durably (`glasshouse_privacy::budget::Released`) so that neither
/// asking again nor a restart draws fresh noise.
pub struct Releases(Released);

impl Releases {
    /// Opens the kept answers in the data directory `dir`.
    pub fn open(dir: &std::path::Path) -> std::io::Result<Releases> {
        Ok(Releases(Released::open(dir)?))
    }

    fn key(grant: &Grant, question: &str) -> String {
        format!("{}|{question}", grant.organisation)
    }

    /// The answer released earlier today for the same question, if any.
    pub fn get(
        &self,
        grant: &Grant,
        question: &str,
        today: NaiveDate,
    ) -> Option<serde_json::Value> {
        if !grant.noisy() {
            return None;
        }
        self.0.get(&today.to_string(), &Self::key(grant, question))
    }

    /// Keeps a noisy answer for the rest of `today`, before it is sent.
    pub fn keep(
        &self,
        grant: &Grant,
        question: &str,
        today: NaiveDate,
        answer: &serde_json::Value,
    ) -> Result<(), ReleaseError> {
        if !grant.noisy() {
            return Ok(());
        }
        self.0
            .keep(&today.to_string(), &Self::key(grant, question), answer)
            .map_err(|e| ReleaseError::Failed(e.to_string()))
    }
}
