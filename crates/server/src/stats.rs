//! The Stats API, keeping the paths, parameters and answers of Plausible's
//! Stats API v1 so that existing clients work unchanged:
//! `/api/v1/stats/aggregate`, `/timeseries`, `/breakdown`, `/realtime/visitors`.
//!
//! Each handler parses its parameters once into a `Question` (`ask.rs`),
//! has the gate decide on it, runs exactly that question on a blocking
//! thread (the store is synchronous), releases its figures under the grant,
//! and shapes the answer.

use crate::ask::{self, Answer, Params};
use crate::auth::Caller;
use crate::routes::Registrar;
use crate::{blocking, ApiError, App};
use axum::extract::State;
use axum::http::Uri;
use axum::routing::get;
use glasshouse_model::query::{
    breakdown_offset, Comparison, Dimension, Interval, Metric, MAX_BREAKDOWN_LIMIT,
};
use glasshouse_model::Shape;
use glasshouse_store::Totals;
use glasshouse_store::{imports, tiers};
use serde_json::{json, Map, Value};

pub fn register(r: &mut Registrar) {
    r.gated("/api/v1/stats/aggregate", get(aggregate))
        .gated("/api/v1/stats/timeseries", get(timeseries))
        .gated("/api/v1/stats/breakdown", get(breakdown))
        .gated("/api/v1/stats/realtime/visitors", get(realtime_visitors));
}

/// `compare`: nothing, `previous_period`, or `year_over_year` (our
/// extension of v1, as v2 has it).
pub(crate) fn parse_compare(value: Option<&str>) -> Result<Option<Comparison>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(Comparison::parse(s)?)),
    }
}

/// A metric's value, or null where the gate withheld the row.
fn value(metric: Metric, totals: Option<&Totals>) -> Value {
    totals.map(|t| number(metric, t)).unwrap_or(Value::Null)
}

/// A metric's value as Plausible writes it: whole numbers as integers.
pub(crate) fn number(metric: Metric, totals: &Totals) -> Value {
    if !totals.has(metric) {
        return Value::Null;
    }
    let v = totals.get(metric);
    match metric {
        Metric::ViewsPerVisit | Metric::ConversionRate | Metric::GroupConversionRate => json!(v),
        Metric::TotalRevenue | Metric::AverageRevenue => money(v, totals.currency),
        _ => json!(v as i64),
    }
}

/// An amount as Plausible's API writes revenue: the value, the currency,
/// and the amount written in full and short (`£1,234.56`, `£1.2K`).
fn money(value: f64, currency: Option<[u8; 3]>) -> Value {
    let code = currency
        .and_then(|c| String::from_utf8(c.to_vec()).ok())
        .unwrap_or_default();
    let (sign, abs) = (if value < 0.0 { "-" } else { "" }, value.abs());
    let symbol = match code.as_str() {
        "GBP" => "£".to_string(),
        "EUR" => "€".to_string(),
        "USD" => "$".to_string(),
        other => format!("{other} "),
    };
    let pence = (abs * 100.0).round() as u64;
    let whole = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let long = format!("{sign}{symbol}{grouped}.{:02}", pence % 100);
    let short = match abs {
        a if a >= 1e9 => format!("{sign}{symbol}{:.1}B", a / 1e9),
        a if a >= 1e6 => format!("{sign}{symbol}{:.1}M", a / 1e6),
        a if a >= 1e3 => format!("{sign}{symbol}{:.1}K", a / 1e3),
        _ => long.clone(),
    };
    json!({ "short": short, "long": long, "value": value, "currency": code })
}

/// Percent change, or the difference in points for rates (as Plausible does).
pub(crate) fn change(metric: Metric, now: &Totals, before: &Totals) -> Value {
    let (a, b) = (now.get(metric), before.get(metric));
    match metric {
        Metric::BounceRate => json!((a - b) as i64),
        Metric::ConversionRate => json!(((a - b) * 10.0).round() / 10.0),
        _ if b == 0.0 => {
            if a == 0.0 {
                json!(0)
            } else {
                json!(100)
            }
        }
        _ => json!(((a - b) / b * 100.0).round() as i64),
    }
}

async fn aggregate(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let compare = parse_compare(p.get("compare"))?;
    let d = ask::decide(
        &app,
        &caller,
        ask::stats_question(&app, &caller, &p, Shape::Aggregate { compare })?,
    )?;
    if let Some(kept) = d.kept(&app) {
        return Ok(kept);
    }
    let q = &d.question.query;
    let compared = d.question.compared_range().unwrap_or(d.question.range());
    let previous = q.over(compared);
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(&app));
    let (query, previous) = (d.executed(q), d.executed(&previous));
    let asked = d.question.imports;
    let (now, before, plan) = blocking(move || {
        let s = store.as_ref();
        let plan = imports::plan(s, &query, None, None, asked)?;
        let now = imports::aggregate(s, &query, raw_from, &plan)?;
        let before = if compare.is_some() {
            let plan = imports::plan(s, &previous, None, None, asked)?;
            Some(imports::aggregate(s, &previous, raw_from, &plan)?)
        } else {
            None
        };
        Ok((now, before, plan))
    })
    .await
    .map_err(|e| d.error(e))?;
    let mut rows = vec![Some(now)];
    if let Some(b) = before {
        rows.push(Some(b));
    }
    d.release(&app, &mut rows)?;
    let (now, before) = (rows[0], rows.get(1).copied().flatten());
    let mut results = Map::new();
    for m in &q.metrics {
        let mut entry = Map::new();
        entry.insert("value".into(), value(*m, now.as_ref()));
        if let (Some(now), Some(before)) = (&now, &before) {
            entry.insert("change".into(), change(*m, now, before));
        } else if compare.is_some() {
            entry.insert("change".into(), Value::Null);
        }
        results.insert(m.name().into(), Value::Object(entry));
    }
    let mut out = json!({ "results": results });
    if now.is_none() {
        out["withheld"] = json!("fewer visitors than the agreement's minimum (k)");
    }
    note_imports(&mut out, asked, &plan);
    d.answer(&app, out)
}

async fn timeseries(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let site = crate::auth::known_site(&app, p.get("site_id"))?;
    let range = ask::range(&app, site, p.get("period"), p.get("date"))?;
    let interval = match p.get("interval") {
        None | Some("") => range.default_interval(),
        Some(s) => Interval::parse(s)?,
    };
    if interval == Interval::Hour && range.days() > 31 {
        return Err(ApiError::bad_request(
            "interval: hour is allowed for periods up to 31 days",
        ));
    }
    let d = ask::decide(
        &app,
        &caller,
        ask::stats_question(
            &app,
            &caller,
            &p,
            Shape::Timeseries {
                interval,
                compare: None,
            },
        )?,
    )?;
    if let Some(kept) = d.kept(&app) {
        return Ok(kept);
    }
    let q = &d.question.query;
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(&app));
    let query = d.executed(q);
    let asked = d.question.imports;
    let (rows, plan) = blocking(move || {
        let s = store.as_ref();
        let plan = imports::plan(s, &query, Some(interval), None, asked)?;
        Ok((
            imports::timeseries(s, &query, interval, raw_from, &plan)?,
            plan,
        ))
    })
    .await
    .map_err(|e| d.error(e))?;
    // Every bucket of the range is present, empty ones with zeros (so that,
    // for shared data, empty buckets get noise too).
    let found: std::collections::HashMap<_, _> = rows.into_iter().collect();
    let buckets: Vec<_> = q
        .buckets(interval)
        .into_iter()
        .map(|at| (at, Some(found.get(&at).copied().unwrap_or_default())))
        .collect();
    let mut values: Vec<Option<Totals>> = buckets.iter().map(|(_, t)| *t).collect();
    d.release(&app, &mut values)?;
    let results: Vec<Value> = buckets
        .iter()
        .zip(&values)
        .map(|((bucket, _), totals)| {
            let mut row = Map::new();
            row.insert("date".into(), json!(interval.label(*bucket, q.tz)));
            for m in &q.metrics {
                row.insert(m.name().into(), value(*m, totals.as_ref()));
            }
            Value::Object(row)
        })
        .collect();
    let mut out = json!({ "results": results });
    note_imports(&mut out, asked, &plan);
    d.answer(&app, out)
}

/// Says, when imported days were asked for, whether they are in the
/// answer and why not (Plausible's v2 names; v1 has no such field).
fn note_imports(out: &mut Value, asked: bool, plan: &imports::Plan) {
    if asked {
        out["imports_included"] = json!(plan.included());
        if let Some(skip) = plan.skip {
            out["imports_skip_reason"] = json!(skip.name());
        }
    }
}

fn positive(value: Option<&str>, field: &'static str, default: usize) -> Result<usize, ApiError> {
    match value {
        None | Some("") => Ok(default),
        Some(s) => s.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_request(format!("{field}: must be a whole number of at least 1"))
        }),
    }
}

async fn breakdown(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let by = Dimension::parse(
        p.get("property")
            .ok_or_else(|| ApiError::bad_request("property: required, e.g. event:page"))?,
    )?;
    let limit = positive(p.get("limit"), "limit", 100)?;
    if limit > MAX_BREAKDOWN_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit: at most {MAX_BREAKDOWN_LIMIT}"
        )));
    }
    let page = positive(p.get("page"), "page", 1)?;
    let offset = breakdown_offset(page, limit)?;
    let shape = Shape::Breakdown {
        compare: None,
        total_rows: false,
        by: by.clone(),
        limit,
        offset,
    };
    let d = ask::decide(
        &app,
        &caller,
        ask::stats_question(&app, &caller, &p, shape)?,
    )?;
    if let Some(kept) = d.kept(&app) {
        return Ok(kept);
    }
    let q = &d.question.query;
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(&app));
    let mut query = d.executed(q);
    // In v1, a breakdown's conversion_rate is the row's own (v2's
    // group_conversion_rate), except by goal.
    let by = match &d.question.shape {
        Shape::Breakdown { by, .. } => by.clone(),
        _ => by,
    };
    let group_rate = !by.is_goal() && query.metrics.contains(&Metric::ConversionRate);
    if group_rate {
        query.metrics.push(Metric::GroupConversionRate);
    }
    let key_dim = by.clone();
    let asked = d.question.imports;
    let (rows, plan) = blocking(move || {
        let s = store.as_ref();
        let plan = imports::plan(s, &query, None, Some(&by), asked)?;
        Ok((
            imports::breakdown(s, &query, &by, (limit, offset), raw_from, &plan)?,
            plan,
        ))
    })
    .await
    .map_err(|e| d.error(e))?;
    let mut values: Vec<Option<Totals>> = rows.iter().map(|(_, t)| Some(*t)).collect();
    d.release(&app, &mut values)?;
    // Rows the gate withheld are left out.
    let results: Vec<Value> = rows
        .into_iter()
        .zip(values)
        .filter_map(|((key, _), totals)| totals.map(|t| (key, t)))
        .map(|(key, totals)| {
            let mut row = Map::new();
            row.insert(key_dim.result_key().to_string(), json!(key));
            for m in &q.metrics {
                let shown = match m {
                    Metric::ConversionRate if group_rate => Metric::GroupConversionRate,
                    m => *m,
                };
                row.insert(m.name().into(), number(shown, &totals));
            }
            Value::Object(row)
        })
        .collect();
    let mut out = json!({ "results": results });
    note_imports(&mut out, asked, &plan);
    d.answer(&app, out)
}

async fn realtime_visitors(
    State(app): State<App>,
    caller: Caller,
    uri: Uri,
) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let d = ask::decide(
        &app,
        &caller,
        ask::stats_question(&app, &caller, &p, Shape::Realtime)?,
    )?;
    let site = d.question.query.site.clone();
    let since = app.clock.now() - chrono::Duration::minutes(5);
    let store = app.store.clone();
    let n = blocking(move || Ok(store.current_visitors(&site, since)?))
        .await
        .map_err(|e| d.error(e))?;
    d.answer(&app, json!(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_plausible_writes_it() {
        let m = money(1234.5, Some(*b"GBP"));
        assert_eq!(m["long"], "£1,234.50");
        assert_eq!(m["short"], "£1.2K");
        assert_eq!(m["value"], 1234.5);
        assert_eq!(m["currency"], "GBP");
        assert_eq!(money(7.0, Some(*b"SEK"))["long"], "SEK 7.00");
        assert_eq!(money(2_500_000.0, Some(*b"EUR"))["short"], "€2.5M");
    }
}
