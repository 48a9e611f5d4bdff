//! Goals: what a site counts as a conversion, as Plausible defines them.
//!
//! A goal is a page view on a path pattern (`/apply/done`, `/apply/**`) or
//! a custom event by name, optionally with property values that must all
//! match. Goals are configured per site; the Stats API names them by
//! `display name` in the `event:goal` property, and `conversion_rate` is the
//! share of visitors who completed one.

use crate::query::{compile_pattern, wildcard_matches, QueryError};

/// One goal of a site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Goal {
    /// The name shown and used in `event:goal` (Plausible's display name):
    /// `Visit /path` for page goals and the event name for event goals,
    /// unless the configuration names it.
    pub name: String,
    /// What completes it.
    pub kind: GoalKind,
    /// For a revenue goal (an event goal only): the ISO 4217 currency its
    /// revenue is counted in. Events report revenue in any currency; only
    /// amounts in this one are summed (glasshouse holds no exchange rates).
    pub currency: Option<String>,
}

/// What completes a goal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GoalKind {
    /// A page view whose path matches the pattern (`*` within a segment,
    /// `**` across segments).
    Page(String),
    /// A custom event of this name, with every listed property value.
    Event {
        /// The event name.
        name: String,
        /// Property key and value pairs the event must all have.
        props: Vec<(String, String)>,
    },
}

/// Most goals a site may have: each is read separately in a breakdown by goal.
pub const MAX_GOALS: usize = 100;

impl Goal {
    /// A goal with Plausible's default display name.
    pub fn new(kind: GoalKind, name: Option<String>) -> Goal {
        let name = name.unwrap_or_else(|| match &kind {
            GoalKind::Page(p) => format!("Visit {p}"),
            GoalKind::Event { name, .. } => name.clone(),
        });
        Goal {
            name,
            kind,
            currency: None,
        }
    }

    /// Whether an event (name, path, properties) completes the goal; the
    /// definition the store's SQL and the test oracle both follow.
    pub fn completed_by(&self, event: &str, path: &str, props: &[(String, String)]) -> bool {
        match &self.kind {
            GoalKind::Page(pattern) => event == "pageview" && wildcard_matches(pattern, path),
            GoalKind::Event { name, props: want } => {
                event == name
                    && want
                        .iter()
                        .all(|(k, v)| props.iter().any(|(pk, pv)| pk == k && pv == v))
            }
        }
    }
}

/// The one currency shared by every goal of `goals`, if they all have it:
/// what revenue metrics over those goals are counted in.
pub fn currency_of<'a>(goals: impl IntoIterator<Item = &'a Goal>) -> Option<String> {
    let mut out: Option<String> = None;
    for g in goals {
        match (&out, &g.currency) {
            (_, None) => return None,
            (None, Some(c)) => out = Some(c.clone()),
            (Some(a), Some(c)) if a != c => return None,
            _ => {}
        }
    }
    out
}

/// Whether `code` looks like an ISO 4217 currency code (`GBP`).
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// How an `event:goal` filter names its goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `is`: the exact name.
    Exact,
    /// `contains`: part of the name, case-insensitive.
    Part,
    /// `matches`: a regular expression found in the name (what v2's
    /// case-sensitive `contains` and case-insensitive `is` become).
    Pattern,
}

/// The goals of `all` that the `values` of an `event:goal` filter pick.
/// A name that is no goal of the site is refused, so a typo is not an
/// empty answer; a part or a pattern may pick none.
pub fn pick(all: &[Goal], naming: Naming, values: &[String]) -> Result<Vec<Goal>, QueryError> {
    let mut out = Vec::new();
    for v in values {
        let pattern = match naming {
            Naming::Pattern => Some(compile_pattern(v)?),
            _ => None,
        };
        let found: Vec<&Goal> = all
            .iter()
            .filter(|g| match naming {
                Naming::Exact => g.name == *v,
                Naming::Part => g.name.to_lowercase().contains(&v.to_lowercase()),
                Naming::Pattern => pattern.as_ref().is_some_and(|p| p.is_match(&g.name)),
            })
            .collect();
        if found.is_empty() && naming == Naming::Exact {
            let names: Vec<&str> = all.iter().map(|g| g.name.as_str()).collect();
            return Err(QueryError::new(
                "filters",
                if names.is_empty() {
                    format!("event:goal {v:?}: the site has no goals configured")
                } else {
                    format!(
                        "event:goal {v:?} is not a goal of the site; its goals are: {}",
                        names.join(", ")
                    )
                },
            ));
        }
        for g in found {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_pick_goals_by_name_part_or_pattern() {
        let all = [
            Goal::new(GoalKind::Page("/apply".into()), None),
            Goal::new(
                GoalKind::Event {
                    name: "Signup".into(),
                    props: vec![],
                },
                None,
            ),
        ];
        let names = |naming, v: &str| -> Result<Vec<String>, QueryError> {
            Ok(pick(&all, naming, &[v.to_string()])?
                .into_iter()
                .map(|g| g.name)
                .collect())
        };
        assert_eq!(names(Naming::Exact, "Signup").unwrap(), ["Signup"]);
        assert!(names(Naming::Exact, "signup").is_err());
        assert_eq!(names(Naming::Part, "APPLY").unwrap(), ["Visit /apply"]);
        assert_eq!(names(Naming::Pattern, "(?i)^signup$").unwrap(), ["Signup"]);
        assert!(names(Naming::Pattern, "Apply").unwrap().is_empty());
        assert!(names(Naming::Pattern, "(").is_err());
    }
}
