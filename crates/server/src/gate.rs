//! The gate in front of the Stats API (DESIGN.md, promises 5 and 6).
//!
//! Before a query runs: the caller's own organisation's site, or another
//! organisation's site through an agreement in force for the whole period
//! that covers the site and lists every metric asked, the breakdown property
//! and every filtered property (filtering by a property reveals what a
//! breakdown by it would). The purpose was checked on the way in
//! (`audit.rs`). What is checked is the very `Query` value that then runs.
//!
//! After it runs, for another organisation's data only:
//! - where the agreement sets an ε budget, visitor counts get discrete
//!   Laplace noise from OpenDP, the spend is recorded in the ledger first,
//!   and a query that would overspend the month is refused; only visitor
//!   counts can be shared under ε (one daily visitor changes each by at
//!   most one, so the noise can be calibrated; no such bound exists for
//!   visits or page views);
//! - rows (breakdown values, time buckets, totals) whose visitor count —
//!   the noisy one where there is noise — is under `k` are withheld.

use crate::auth::Caller;
use crate::{ApiError, App};
use glasshouse_model::query::{Dimension, Metric, Query};
use glasshouse_model::{Agreement, Site};
use glasshouse_privacy::dp;
use glasshouse_store::Totals;

/// Shared queries an agreement's monthly ε allows, each spending an equal part.
pub const SHARED_QUERIES_PER_MONTH: f64 = 20.0;

/// How the caller reaches the site's data.
#[derive(Debug, Clone)]
pub enum Access {
    /// Its own organisation's site, or an operator token.
    Own,
    /// Another organisation's site, under this agreement.
    Shared(Box<Agreement>),
}

/// Checks that `caller` may run `query` (broken down by `by`, if any) on `site`.
pub fn check(
    app: &App,
    caller: &Caller,
    site: &Site,
    query: &Query,
    by: Option<&Dimension>,
) -> Result<Access, ApiError> {
    if caller.all_sites || site.organisation == caller.organisation {
        return Ok(Access::Own);
    }
    let first = query.from.date_naive();
    let last = (query.until - chrono::Duration::microseconds(1)).date_naive();
    let candidates: Vec<&Agreement> = app
        .config
        .agreements
        .iter()
        .filter(|a| a.covers(&site.host) && a.parties.contains(&caller.organisation))
        .collect();
    if candidates.is_empty() {
        return Err(ApiError::forbidden(format!(
            "site_id: {} belongs to another organisation and no agreement shares it with yours",
            site.host
        )));
    }
    let Some(a) = candidates
        .into_iter()
        .find(|a| a.in_force(first) && a.in_force(last))
    else {
        return Err(ApiError::forbidden(format!(
            "period: no agreement sharing {} is in force for the whole of {first} to {last}",
            site.host
        )));
    };
    for m in &query.metrics {
        if !a.metrics.iter().any(|n| n == m.name()) {
            return Err(ApiError::forbidden(format!(
                "metrics: agreement {:?} does not share {}",
                a.id,
                m.name()
            )));
        }
        if a.epsilon_per_month.is_some() && *m != Metric::Visitors {
            return Err(ApiError::forbidden(format!(
                "metrics: under agreement {:?}'s ε budget only visitors can be shared; {} has no per-visitor bound for the noise",
                a.id,
                m.name()
            )));
        }
    }
    let shared = |d: &Dimension| {
        a.breakdowns
            .iter()
            .any(|b| Dimension::parse(b).is_ok_and(|x| &x == d))
    };
    if let Some(d) = by {
        if !shared(d) {
            return Err(ApiError::forbidden(format!(
                "property: agreement {:?} does not share breakdowns by this property",
                a.id
            )));
        }
    }
    for f in &query.filters {
        if !shared(&f.dimension) {
            return Err(ApiError::forbidden(format!(
                "filters: agreement {:?} does not share this property, so it cannot be filtered on",
                a.id
            )));
        }
    }
    Ok(Access::Shared(Box::new(a.clone())))
}

/// The query that runs: for shared data, visitors are always counted, since
/// the threshold `k` is about visitors.
pub fn executed(query: &Query, access: &Access) -> Query {
    let mut q = query.clone();
    if matches!(access, Access::Shared(_)) && !q.metrics.contains(&Metric::Visitors) {
        q.metrics.push(Metric::Visitors);
    }
    q
}

/// Applies noise and the threshold to rows of shared data, in place; `None`
/// marks a withheld row. Records the ε spent before anything is released.
pub fn release(
    app: &App,
    caller: &Caller,
    access: &Access,
    rows: &mut [Option<Totals>],
) -> Result<(), ApiError> {
    let Access::Shared(a) = access else {
        return Ok(());
    };
    if let Some(limit) = a.epsilon_per_month {
        let epsilon = limit / SHARED_QUERIES_PER_MONTH;
        let month = app.clock.now().format("%Y-%m").to_string();
        app.budgets
            .spend(&a.id, &caller.organisation, &month, epsilon, limit)
            .map_err(|e| match e {
                glasshouse_privacy::budget::BudgetError::Spent { .. } => {
                    ApiError::forbidden(e.to_string())
                }
                other => ApiError::internal(other),
            })?;
        let counts: Vec<u64> = rows
            .iter()
            .map(|r| r.map(|t| t.visitors).unwrap_or(0))
            .collect();
        let noised = dp::noisy_visitor_counts(&counts, epsilon).map_err(ApiError::internal)?;
        for (row, noisy) in rows.iter_mut().zip(noised.counts) {
            if let Some(t) = row {
                t.visitors = noisy;
            }
        }
    }
    for row in rows.iter_mut() {
        if row.is_some_and(|t| t.visitors < u64::from(a.k)) {
            *row = None;
        }
    }
    Ok(())
}
