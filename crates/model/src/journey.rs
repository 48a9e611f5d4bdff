//! Questions about journeys: where visitors went before and after a page,
//! and how far they got through a funnel.
//!
//! A journey is one visit, or, where an agreement links journeys, one run of
//! a visitor's events across the agreement's sites with gaps under 30
//! minutes. Which sites a question may look at is decided before the store
//! sees it (the gate), and travels with the question as `sites`.

use crate::query::{Query, QueryError};
use serde::{Deserialize, Serialize};

/// Most steps a funnel may have.
pub const MAX_FUNNEL_STEPS: usize = 8;
/// Fewest steps a funnel may have.
pub const MIN_FUNNEL_STEPS: usize = 2;
/// Deepest path exploration, in steps either side of the page.
pub const MAX_PATH_DEPTH: u32 = 5;

/// A path question: journeys through one page of `query.site`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathQuery {
    /// Site, period and filters; the filters pick the journeys by their view of `page`.
    pub query: Query,
    /// Sites whose pages may appear, `query.site` first.
    pub sites: Vec<String>,
    /// Path of the page explored.
    pub page: String,
    /// Steps either side of the page.
    pub depth: u32,
}

/// One funnel step: a page view matching a pattern, or a custom event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FunnelStep {
    /// A page view whose path matches `page` (`*` within a segment, `**` across).
    Page {
        /// The path pattern.
        page: String,
        /// The site, when not the funnel's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
    /// A custom event by name.
    Event {
        /// The event name.
        event: String,
    },
}

impl FunnelStep {
    /// A short label for people.
    pub fn label(&self) -> String {
        match self {
            FunnelStep::Page { page, site: None } => page.clone(),
            FunnelStep::Page {
                page,
                site: Some(s),
            } => format!("{s} {page}"),
            FunnelStep::Event { event } => format!("event {event}"),
        }
    }
}

/// A funnel question over `query.site` and the journey sites it may see.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelQuery {
    /// Site, period and filters.
    pub query: Query,
    /// Sites the steps may be on, `query.site` first.
    pub sites: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<FunnelStep>,
}

/// Checks steps as a caller gave them, naming the first bad one.
pub fn validate_steps(steps: &[FunnelStep]) -> Result<(), QueryError> {
    if steps.len() < MIN_FUNNEL_STEPS || steps.len() > MAX_FUNNEL_STEPS {
        return Err(QueryError::new(
            "steps",
            format!(
                "a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, not {}",
                steps.len()
            ),
        ));
    }
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        match s {
            FunnelStep::Page { page, site } => {
                if !page.starts_with('/') || page.len() > 2000 {
                    return Err(QueryError::new(
                        "steps",
                        format!(
                            "step {n}: a page pattern starts with / (e.g. /apply/**), got {page:?}"
                        ),
                    ));
                }
                if let Some(site) = site {
                    if site.is_empty() || site.len() > 253 {
                        return Err(QueryError::new("steps", format!("step {n}: site is empty")));
                    }
                }
            }
            FunnelStep::Event { event } => {
                if event.trim().is_empty() || event.len() > 120 {
                    return Err(QueryError::new(
                        "steps",
                        format!("step {n}: an event name is 1 to 120 characters"),
                    ));
                }
            }
        }
    }
    Ok(())
}
