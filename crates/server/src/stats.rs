//! The Stats API, keeping the paths, parameters and answers of Plausible's
//! Stats API v1 so that existing clients work unchanged:
//! `/api/v1/stats/aggregate`, `/timeseries`, `/breakdown`, `/realtime/visitors`.
//!
//! Each handler parses its parameters into the one `Query` value, runs it on
//! a blocking thread (the store is synchronous), and shapes the answer.

use crate::auth::{self, Caller};
use crate::gate::{self, Access};
use crate::tiers;
use crate::{blocking, ApiError, App};
use axum::extract::{Query as Params, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use glasshouse_model::query::{
    DateRange, Dimension, Filter, Interval, Metric, Query, MAX_BREAKDOWN_LIMIT,
};
use glasshouse_model::Site;
use glasshouse_store::Totals;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/stats/aggregate", get(aggregate))
        .route("/api/v1/stats/timeseries", get(timeseries))
        .route("/api/v1/stats/breakdown", get(breakdown))
        .route("/api/v1/stats/realtime/visitors", get(realtime_visitors))
}

/// The query string every stats endpoint understands.
#[derive(Debug, Deserialize, Default)]
pub struct StatsParams {
    site_id: Option<String>,
    period: Option<String>,
    date: Option<String>,
    metrics: Option<String>,
    filters: Option<String>,
    property: Option<String>,
    interval: Option<String>,
    compare: Option<String>,
    limit: Option<String>,
    page: Option<String>,
}

struct Parsed<'a> {
    site: &'a Site,
    range: DateRange,
    /// The query as asked, checked by the gate.
    query: Query,
    /// How the caller reaches the data.
    access: Access,
}

fn parse<'a>(
    app: &'a App,
    caller: &Caller,
    p: &StatsParams,
    by: Option<&Dimension>,
) -> Result<Parsed<'a>, ApiError> {
    let site = auth::known_site(app, p.site_id.as_deref())?;
    let today = app.clock.now().date_naive();
    let range = DateRange::parse(p.period.as_deref(), p.date.as_deref(), today)?;
    let metrics = Metric::parse_list(p.metrics.as_deref())?;
    let filters = Filter::parse_list(p.filters.as_deref())?;
    let query = Query::for_range(&site.host, range, metrics, filters);
    let access = gate::check(app, caller, site, &query, by)?;
    Ok(Parsed {
        site,
        range,
        query,
        access,
    })
}

/// `compare`: nothing, or `previous_period`.
pub(crate) fn parse_compare(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("") => Ok(false),
        Some("previous_period") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "compare: unknown value {other:?}; use previous_period"
        ))),
    }
}

/// A metric's value, or null where the gate withheld the row.
fn value(metric: Metric, totals: Option<&Totals>) -> Value {
    totals.map(|t| number(metric, t)).unwrap_or(Value::Null)
}

/// A metric's value as Plausible writes it: whole numbers as integers.
fn number(metric: Metric, totals: &Totals) -> Value {
    let v = totals.get(metric);
    match metric {
        Metric::ViewsPerVisit => json!(v),
        _ => json!(v as i64),
    }
}

/// Percent change, or the difference in points for rates (as Plausible does).
fn change(metric: Metric, now: &Totals, before: &Totals) -> Value {
    let (a, b) = (now.get(metric), before.get(metric));
    match metric {
        Metric::BounceRate => json!((a - b) as i64),
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

async fn aggregate(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let parsed = parse(&app, &caller, &p, None)?;
    let compare = parse_compare(p.compare.as_deref())?;
    let previous = Query::for_range(
        &parsed.site.host,
        parsed.range.previous(),
        parsed.query.metrics.clone(),
        parsed.query.filters.clone(),
    );
    if compare {
        // Comparing reads the previous period too: the gate checks it as well.
        gate::check(&app, &caller, parsed.site, &previous, None)?;
    }
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &parsed.site.host, app.clock.now().date_naive());
    let query = gate::executed(&parsed.query, &parsed.access);
    let previous = gate::executed(&previous, &parsed.access);
    let (now, before) = blocking(move || {
        let now = tiers::aggregate(store.as_ref(), &query, raw_from)?;
        let before = if compare {
            Some(tiers::aggregate(store.as_ref(), &previous, raw_from)?)
        } else {
            None
        };
        Ok((now, before))
    })
    .await?;
    let mut rows = vec![Some(now)];
    if let Some(b) = before {
        rows.push(Some(b));
    }
    gate::release(&app, &caller, &parsed.access, &mut rows)?;
    let (now, before) = (rows[0], rows.get(1).copied().flatten());
    let mut results = Map::new();
    for m in &parsed.query.metrics {
        let mut entry = Map::new();
        entry.insert("value".into(), value(*m, now.as_ref()));
        if let (Some(now), Some(before)) = (&now, &before) {
            entry.insert("change".into(), change(*m, now, before));
        } else if compare {
            entry.insert("change".into(), Value::Null);
        }
        results.insert(m.name().into(), Value::Object(entry));
    }
    let mut out = json!({ "results": results });
    if now.is_none() {
        out["withheld"] = json!("fewer visitors than the agreement's minimum (k)");
    }
    Ok(Json(out))
}

async fn timeseries(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let parsed = parse(&app, &caller, &p, None)?;
    let interval = match p.interval.as_deref() {
        None | Some("") => parsed.range.default_interval(),
        Some(s) => Interval::parse(s)?,
    };
    if interval == Interval::Hour && parsed.range.days() > 31 {
        return Err(ApiError::bad_request(
            "interval: hour is allowed for periods up to 31 days",
        ));
    }
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &parsed.site.host, app.clock.now().date_naive());
    let query = gate::executed(&parsed.query, &parsed.access);
    let rows =
        blocking(move || tiers::timeseries(store.as_ref(), &query, interval, raw_from)).await?;
    // Every bucket of the range is present, empty ones with zeros (so that,
    // for shared data, empty buckets get noise too).
    let mut rows = rows.into_iter().peekable();
    let mut buckets = Vec::new();
    let mut bucket = interval.bucket_start(parsed.query.from);
    while bucket < parsed.query.until {
        let mut totals = Totals::default();
        while let Some((start, t)) = rows.peek() {
            if *start < bucket {
                rows.next();
            } else {
                if *start == bucket {
                    totals = *t;
                }
                break;
            }
        }
        buckets.push((bucket, Some(totals)));
        bucket = interval.next(bucket);
    }
    let mut values: Vec<Option<Totals>> = buckets.iter().map(|(_, t)| *t).collect();
    gate::release(&app, &caller, &parsed.access, &mut values)?;
    let results: Vec<Value> = buckets
        .iter()
        .zip(&values)
        .map(|((bucket, _), totals)| {
            let mut row = Map::new();
            row.insert("date".into(), json!(interval.label(*bucket)));
            for m in &parsed.query.metrics {
                row.insert(m.name().into(), value(*m, totals.as_ref()));
            }
            Value::Object(row)
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

fn positive(value: Option<&str>, field: &'static str, default: usize) -> Result<usize, ApiError> {
    match value {
        None | Some("") => Ok(default),
        Some(s) => s.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_request(format!("{field}: must be a whole number of at least 1"))
        }),
    }
}

async fn breakdown(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let by = Dimension::parse(
        p.property
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("property: required, e.g. event:page"))?,
    )?;
    let parsed = parse(&app, &caller, &p, Some(&by))?;
    let limit = positive(p.limit.as_deref(), "limit", 100)?;
    if limit > MAX_BREAKDOWN_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit: at most {MAX_BREAKDOWN_LIMIT}"
        )));
    }
    let page = positive(p.page.as_deref(), "page", 1)?;
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &parsed.site.host, app.clock.now().date_naive());
    let query = gate::executed(&parsed.query, &parsed.access);
    let key_dim = by.clone();
    let rows = blocking(move || {
        tiers::breakdown(
            store.as_ref(),
            &query,
            &by,
            limit,
            (page - 1) * limit,
            raw_from,
        )
    })
    .await?;
    let mut values: Vec<Option<Totals>> = rows.iter().map(|(_, t)| Some(*t)).collect();
    gate::release(&app, &caller, &parsed.access, &mut values)?;
    // Rows the gate withheld are left out.
    let results: Vec<Value> = rows
        .into_iter()
        .zip(values)
        .filter_map(|((key, _), totals)| totals.map(|t| (key, t)))
        .map(|(key, totals)| {
            let mut row = Map::new();
            row.insert(key_dim.result_key().to_string(), json!(key));
            for m in &parsed.query.metrics {
                row.insert(m.name().into(), number(*m, &totals));
            }
            Value::Object(row)
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn realtime_visitors(
    State(app): State<App>,
    headers: HeaderMap,
    Params(p): Params<StatsParams>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth::caller(&app, &headers)?;
    let site = auth::site(&app, &caller, p.site_id.as_deref())?
        .host
        .clone();
    let since = app.clock.now() - chrono::Duration::minutes(5);
    let store = app.store.clone();
    let n = blocking(move || Ok(store.current_visitors(&site, since)?)).await?;
    Ok(Json(json!(n)))
}
