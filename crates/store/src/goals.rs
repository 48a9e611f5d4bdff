//! Conversions: goal completions set against all visitors, as Plausible
//! reports them.
//!
//! A filter on `event:goal` is a condition on events (`sql::Builder::
//! goal_condition`), so the counts of a goal-filtered question are its
//! conversions. The rates need one more question, the same without the
//! goal filters: `conversion_rate` is converted visitors over all visitors,
//! `group_conversion_rate` the same within each breakdown row. A breakdown
//! by goal asks once per goal, since one event may complete several goals.
//! Everything goes through `tiers`, so roll-ups answer where they can and
//! refuse what they cannot.

use crate::{tiers, Store, StoreError, Totals};
use chrono::{DateTime, NaiveDate, Utc};
use glasshouse_model::query::{
    Dimension, Filter, FilterOp, Interval, Metric, OrderKey, Ordered, Query,
};
use std::collections::HashMap;

/// `part` of `whole` in percent (0 when there is no whole).
fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

/// The same question without its goal filters, counting visitors only.
fn all_visitors(q: &Query) -> Query {
    Query {
        filters: q
            .filters
            .iter()
            .filter(|f| !f.dimension.is_goal())
            .cloned()
            .collect(),
        metrics: vec![Metric::Visitors],
        ..q.clone()
    }
}

fn wants(q: &Query, m: Metric) -> bool {
    q.metrics.contains(&m)
}

/// Totals over the period, with `conversion_rate` when asked for.
pub fn aggregate(store: &dyn Store, q: &Query, raw_from: NaiveDate) -> Result<Totals, StoreError> {
    let mut t = tiers::aggregate(store, q, raw_from)?;
    if wants(q, Metric::ConversionRate) {
        let all = tiers::aggregate(store, &all_visitors(q), raw_from)?;
        t.conversion_rate = Some(rate(t.visitors, all.visitors));
    }
    Ok(t)
}

/// Totals per bucket, with `conversion_rate` when asked for: then every
/// bucket with visitors is present, a bucket without conversions at 0 %.
pub fn timeseries(
    store: &dyn Store,
    q: &Query,
    interval: Interval,
    raw_from: NaiveDate,
) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
    let rows = tiers::timeseries(store, q, interval, raw_from)?;
    if !wants(q, Metric::ConversionRate) {
        return Ok(rows);
    }
    let mut converted: HashMap<DateTime<Utc>, Totals> = rows.into_iter().collect();
    let all = tiers::timeseries(store, &all_visitors(q), interval, raw_from)?;
    Ok(all
        .into_iter()
        .map(|(at, everyone)| {
            let mut t = converted.remove(&at).unwrap_or_default();
            t.conversion_rate = Some(rate(t.visitors, everyone.visitors));
            (at, t)
        })
        .collect())
}

/// Rows of a breakdown: by goal, one question per goal; by another
/// property, with the conversion rates asked for.
pub fn breakdown(
    store: &dyn Store,
    q: &Query,
    by: &Dimension,
    limit: usize,
    offset: usize,
    raw_from: NaiveDate,
) -> Result<Vec<(String, Totals)>, StoreError> {
    if let Dimension::Goal(goals) = by {
        return by_goal(store, q, goals, limit, offset, raw_from);
    }
    if let Some((at, goals)) = goal_part(by) {
        return by_goal_and(store, q, (by, at, goals), limit, offset, raw_from);
    }
    let mut rows = tiers::breakdown(store, q, by, limit, offset, raw_from)?;
    if wants(q, Metric::ConversionRate) {
        let all = tiers::aggregate(store, &all_visitors(q), raw_from)?.visitors;
        for (_, t) in &mut rows {
            t.conversion_rate = Some(rate(t.visitors, all));
        }
    }
    if wants(q, Metric::GroupConversionRate) && !rows.is_empty() {
        let mut groups = all_visitors(q);
        groups.filters.push(Filter {
            dimension: by.clone(),
            op: FilterOp::Is,
            values: rows.iter().map(|(k, _)| k.clone()).collect(),
        });
        let everyone: HashMap<String, u64> =
            tiers::breakdown(store, &groups, by, rows.len(), 0, raw_from)?
                .into_iter()
                .map(|(k, t)| (k, t.visitors))
                .collect();
        for (k, t) in &mut rows {
            let whole = everyone.get(k).copied().unwrap_or(0);
            t.group_conversion_rate = Some(rate(t.visitors, whole));
        }
    }
    Ok(rows)
}

/// A row per goal with conversions, most converted visitors first.
fn by_goal(
    store: &dyn Store,
    q: &Query,
    goals: &[glasshouse_model::goal::Goal],
    limit: usize,
    offset: usize,
    raw_from: NaiveDate,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let all = if wants(q, Metric::ConversionRate) {
        tiers::aggregate(store, &all_visitors(q), raw_from)?.visitors
    } else {
        0
    };
    let mut rows = Vec::new();
    for goal in goals {
        let mut t = tiers::aggregate(store, &converting(q, goal), raw_from)?;
        if t.events == 0 {
            continue;
        }
        if wants(q, Metric::ConversionRate) {
            t.conversion_rate = Some(rate(t.visitors, all));
        }
        rows.push((goal.name.clone(), t));
    }
    // Most converted visitors first unless another order is asked for.
    let mut ordered = q.clone();
    if ordered.order.is_empty() {
        ordered.order.push(OrderKey {
            on: Ordered::Metric(Metric::Visitors),
            descending: true,
        });
    }
    let by = Dimension::Goal(goals.to_vec());
    Ok(tiers::page_of_largest(&ordered, &by, rows, limit, offset))
}

/// `q` counting only the events that complete `goal`.
fn converting(q: &Query, goal: &glasshouse_model::goal::Goal) -> Query {
    let mut one = q.clone();
    one.filters.push(Filter {
        dimension: Dimension::Goal(vec![goal.clone()]),
        op: FilterOp::Is,
        values: vec![goal.name.clone()],
    });
    one
}

/// Where a tuple holds `event:goal`, and the goals it breaks down by.
fn goal_part(by: &Dimension) -> Option<(usize, &[glasshouse_model::goal::Goal])> {
    by.parts().iter().enumerate().find_map(|(i, d)| match d {
        Dimension::Goal(goals) if by.parts().len() > 1 => Some((i, goals.as_slice())),
        _ => None,
    })
}

/// Rows by goal and other dimensions: per goal, the other dimensions'
/// rows of the events completing it (enough of them for the page), the
/// goal's name put back in its place in each key; then ordered and paged
/// as one breakdown.
fn by_goal_and(
    store: &dyn Store,
    q: &Query,
    (by, at, goals): (&Dimension, usize, &[glasshouse_model::goal::Goal]),
    limit: usize,
    offset: usize,
    raw_from: NaiveDate,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let mut rest: Vec<Dimension> = by.parts().to_vec();
    rest.remove(at);
    let rest = match rest.len() {
        1 => rest.remove(0),
        _ => Dimension::Tuple(rest),
    };
    let mut one = q.clone();
    // The goal part orders nothing within one goal; later parts move up.
    one.order = q
        .order
        .iter()
        .filter_map(|k| match k.on {
            Ordered::Part(i) if i == at => None,
            Ordered::Part(i) if i > at => Some(OrderKey {
                on: Ordered::Part(i - 1),
                ..*k
            }),
            _ => Some(*k),
        })
        .collect();
    if one.order.is_empty() && !q.order.is_empty() {
        // Ordered by goal alone: within one goal, by the key.
        one.order.push(OrderKey {
            on: Ordered::Part(0),
            descending: false,
        });
    }
    // As Plausible's: a row's converted visitors over all visitors.
    let all = if wants(q, Metric::ConversionRate) {
        Some(tiers::aggregate(store, &all_visitors(q), raw_from)?.visitors)
    } else {
        None
    };
    let wanted = offset.saturating_add(limit);
    let mut rows = Vec::new();
    for goal in goals {
        for (key, mut t) in
            tiers::breakdown(store, &converting(&one, goal), &rest, wanted, 0, raw_from)?
        {
            let mut values = rest.split_key(&key);
            values.insert(at, goal.name.clone());
            t.conversion_rate = all.map(|all| rate(t.visitors, all));
            rows.push((Dimension::join_key(&values), t));
        }
    }
    Ok(tiers::page_of_largest(q, by, rows, limit, offset))
}
