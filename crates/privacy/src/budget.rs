//! The ε budget ledger: how much of each agreement's monthly budget each
//! party has spent. Kept in the data directory (`privacy-budget.json`),
//! written whole, fsynced and renamed (`durable.rs`), so a crash never loses a spend. A spend is
//! recorded before the figures are released; a query that would overspend is
//! refused.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The ledger file's name in the data directory.
pub const BUDGET_FILE: &str = "privacy-budget.json";

/// Why a spend was refused.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The month's budget would be exceeded.
    #[error("the privacy budget of agreement {agreement:?} for {party} in {month} is spent ({spent:.3} of {limit} used)")]
    Spent {
        /// The agreement.
        agreement: String,
        /// The party asking.
        party: String,
        /// `YYYY-MM`.
        month: String,
        /// Already spent.
        spent: f64,
        /// The month's budget.
        limit: f64,
    },
    /// The ledger could not be written.
    #[error("the privacy budget ledger cannot be written: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Default, Serialize, Deserialize)]
struct Ledger {
    /// "agreement|party|YYYY-MM" → ε spent.
    spent: BTreeMap<String, f64>,
}

/// The ledger, shared by all requests.
pub struct Budgets {
    path: PathBuf,
    ledger: Mutex<Ledger>,
}

impl Budgets {
    /// Opens the ledger in `dir`, or starts an empty one.
    pub fn open(dir: &Path) -> std::io::Result<Budgets> {
        let path = dir.join(BUDGET_FILE);
        let ledger = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ledger::default(),
            Err(e) => return Err(e),
        };
        Ok(Budgets {
            path,
            ledger: Mutex::new(ledger),
        })
    }

    /// Records `epsilon` spent by `party` under `agreement` in `month`, or
    /// refuses if that would take the month past `limit`.
    pub fn spend(
        &self,
        agreement: &str,
        party: &str,
        month: &str,
        epsilon: f64,
        limit: f64,
    ) -> Result<f64, BudgetError> {
        let key = format!("{agreement}|{party}|{month}");
        let mut ledger = self.ledger.lock().expect("budget ledger");
        let spent = ledger.spent.get(&key).copied().unwrap_or(0.0);
        if spent + epsilon > limit * (1.0 + 1e-9) {
            return Err(BudgetError::Spent {
                agreement: agreement.into(),
                party: party.into(),
                month: month.into(),
                spent,
                limit,
            });
        }
        ledger.spent.insert(key, spent + epsilon);
        let bytes = serde_json::to_vec_pretty(&*ledger).map_err(std::io::Error::other)?;
        if let Err(e) = crate::durable::replace(&self.path, &bytes) {
            ledger
                .spent
                .insert(format!("{agreement}|{party}|{month}"), spent);
            return Err(e.into());
        }
        Ok(spent + epsilon)
    }

    /// ε spent so far by `party` under `agreement` in `month`.
    pub fn spent(&self, agreement: &str, party: &str, month: &str) -> f64 {
        let ledger = self.ledger.lock().expect("budget ledger");
        ledger
            .spent
            .get(&format!("{agreement}|{party}|{month}"))
            .copied()
            .unwrap_or(0.0)
    }
}

/// The file of noisy answers released today, in the data directory.
pub const RELEASED_FILE: &str = "privacy-released.json";

/// Most answers kept for a day; past it the file is not grown further and
/// new questions get fresh noise (each still charged to the budget).
pub const MAX_RELEASED: usize = 10_000;

#[derive(Default, Serialize, Deserialize)]
struct ReleasedFile {
    /// The day the answers were released (`YYYY-MM-DD`).
    day: String,
    /// Key (organisation and question) → the answer as released.
    answers: BTreeMap<String, serde_json::Value>,
}

/// Noisy answers released today, kept on disk so that neither asking again
/// nor a restart draws fresh noise for the same question: averaging draws
/// would undo the noise. Only today's are kept; a new day starts empty.
pub struct Released {
    path: PathBuf,
    file: Mutex<ReleasedFile>,
}

impl Released {
    /// Opens the file in `dir`, or starts an empty one.
    pub fn open(dir: &Path) -> std::io::Result<Released> {
        let path = dir.join(RELEASED_FILE);
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReleasedFile::default(),
            Err(e) => return Err(e),
        };
        Ok(Released {
            path,
            file: Mutex::new(file),
        })
    }

    /// The answer released on `day` under `key`, if any.
    pub fn get(&self, day: &str, key: &str) -> Option<serde_json::Value> {
        let file = self.file.lock().expect("released answers");
        (file.day == day)
            .then(|| file.answers.get(key).cloned())
            .flatten()
    }

    /// Keeps `answer` for the rest of `day`, durably, before it is sent.
    pub fn keep(&self, day: &str, key: &str, answer: &serde_json::Value) -> std::io::Result<()> {
        let mut file = self.file.lock().expect("released answers");
        if file.day != day {
            *file = ReleasedFile {
                day: day.to_string(),
                answers: BTreeMap::new(),
            };
        }
        if file.answers.len() >= MAX_RELEASED {
            return Ok(());
        }
        file.answers.insert(key.to_string(), answer.clone());
        let bytes = serde_json::to_vec(&*file).map_err(std::io::Error::other)?;
        crate::durable::replace(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_answers_survive_a_restart_for_their_day_only() {
        let dir = tempfile::tempdir().unwrap();
        let r = Released::open(dir.path()).unwrap();
        let answer = serde_json::json!({"results": [17]});
        r.keep("2026-12-04", "org|q", &answer).unwrap();
        let again = Released::open(dir.path()).unwrap();
        assert_eq!(again.get("2026-12-04", "org|q"), Some(answer));
        assert_eq!(again.get("2026-12-04", "org|other"), None);
        assert_eq!(again.get("2026-12-05", "org|q"), None);
        again
            .keep("2026-12-05", "org|x", &serde_json::json!(1))
            .unwrap();
        assert_eq!(
            Released::open(dir.path())
                .unwrap()
                .get("2026-12-04", "org|q"),
            None
        );
    }

    #[test]
    fn spends_until_the_limit_and_remembers_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let b = Budgets::open(dir.path()).unwrap();
        for _ in 0..4 {
            b.spend("a", "p", "2026-11", 0.25, 1.0).unwrap();
        }
        let err = b
            .spend("a", "p", "2026-11", 0.25, 1.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is spent"), "{err}");
        // Another month and another party have their own budgets.
        b.spend("a", "p", "2026-12", 0.25, 1.0).unwrap();
        b.spend("a", "q", "2026-11", 0.25, 1.0).unwrap();
        let again = Budgets::open(dir.path()).unwrap();
        assert!((again.spent("a", "p", "2026-11") - 1.0).abs() < 1e-9);
        assert!(again.spend("a", "p", "2026-11", 0.01, 1.0).is_err());
    }
}
