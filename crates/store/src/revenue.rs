//! Revenue of goals, as Plausible reports it: `total_revenue` and
//! `average_revenue` of the events that complete revenue goals.
//!
//! Events carry an amount and an ISO 4217 currency (`revenue_amount`,
//! `revenue_currency`); a revenue goal names the currency it is counted in.
//! Plausible converts other currencies at the day's exchange rate;
//! glasshouse holds no exchange rates, so only amounts already in the
//! goal's currency are summed, and the average is over those events.
//! The question asks for revenue with a filter on goals of one currency
//! (or once per goal, in a breakdown by goal: `goals.rs`), which the
//! parser checks (`Question::check_conversion`).

use crate::questions::Execute;
use crate::sql::{Builder, Param, Sql, COUNTED};
use crate::{StoreError, Totals};
use glasshouse_model::query::{Dimension, Query};

/// Whether `q` asks for a revenue metric.
pub fn asked(q: &Query) -> bool {
    q.metrics.iter().any(|m| m.is_revenue())
}

/// The one currency of the goals `q` filters on, if they share one.
pub fn currency(q: &Query) -> Option<String> {
    glasshouse_model::goal::currency_of(q.filters.iter().flat_map(|f| match &f.dimension {
        Dimension::Goal(goals) => goals.as_slice(),
        _ => &[],
    }))
}

/// The statement summing the revenue in `currency` of the events `q`
/// matches. Columns: total, events with revenue.
pub fn sql(d: &dyn crate::sql::Dialect, q: &Query, currency: &str) -> Sql {
    let mut b = Builder::new(d);
    let site = b.bind(Param::Text(q.site.clone()));
    let from = b.bind(Param::Time(q.from));
    let until = b.bind(Param::Time(q.until));
    let span = format!("site = {site} AND ts >= {from} AND ts < {until} AND {COUNTED}");
    let filters = b.row_filters(q, &span);
    let currency = b.bind(Param::Text(currency.into()));
    Sql {
        text: format!(
            "SELECT sum(revenue_amount) AS total, count(*) AS n FROM events \
             WHERE {span} AND {filters} AND revenue_currency = {currency}"
        ),
        params: b.params,
    }
}

/// Adds the revenue metrics `q` asks for to its totals (none when its goals
/// have no one currency).
pub fn add_to_total(x: &impl Execute, q: &Query, t: &mut Totals) -> Result<(), StoreError> {
    let Some(currency) = currency(q) else {
        return Ok(());
    };
    let rows = x.cells(&sql(x.dialect(), q, &currency))?;
    let (total, n) = rows
        .first()
        .map(|r| {
            let cell = |i| r.get(i).cloned().unwrap_or(crate::questions::Cell::Null);
            (cell(0).float().unwrap_or(0.0), cell(1).count())
        })
        .unwrap_or((0.0, 0));
    t.total_revenue = Some(total);
    t.average_revenue = Some(if n == 0 { 0.0 } else { total / n as f64 });
    t.currency = currency.as_bytes().try_into().ok();
    Ok(())
}
