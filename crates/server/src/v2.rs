//! Plausible's Stats API v2: `POST /api/v2/query`, with its request and
//! response shapes, so existing v2 clients work by changing the host.
//!
//! The body is parsed (`glasshouse_model::v2`) into the same `Question` a
//! v1 request becomes — aggregate, time series or breakdown, comparison
//! included — so it passes the same gate, runs the same store code and is
//! logged the same way. What the query model cannot express is a 400 that
//! names the field (docs/api.md lists it).

use crate::ask::{self, Answer};
use crate::auth::{self, Caller};
use crate::routes::Registrar;
use crate::stats::{change, number};
use crate::{blocking, ApiError, App};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::routing::post;
use axum::Json;
use chrono::{DateTime, Utc};
use glasshouse_model::query::{
    day_of, Comparison, DateRange, Dimension, Filter, FilterOp, Interval, Metric, OrderKey,
    Ordered, Query, Tz, MAX_BREAKDOWN_LIMIT, MAX_V2_LIMIT,
};
use glasshouse_model::v2::{self, Grouping, Request};
use glasshouse_model::{Question, Shape};
use glasshouse_store::{imports, tiers, Totals};
use serde_json::{json, Map, Value};

pub fn register(r: &mut Registrar) {
    r.gated("/api/v2/query", post(query));
}

/// The request, understood.
struct Asked {
    question: Question,
    grouping: Grouping,
    /// The metric names as asked, in order (`percentage` among them).
    names: Vec<String>,
    /// Time buckets newest first.
    descending: bool,
    offset: usize,
    limit: usize,
}

/// One row of the answer: its dimension values, totals (`None`: withheld)
/// and those of the compared period.
struct Row {
    dims: Vec<String>,
    now: Option<Totals>,
    before: Option<Option<Totals>>,
    before_dims: Vec<String>,
}

async fn query(
    State(app): State<App>,
    caller: Caller,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Answer, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(format!("body: {}", e.body_text())))?;
    let req: Request =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let asked = understand(&app, &caller, &req)?;
    let d = ask::decide(&app, &caller, asked.question.clone())?;
    if let Some(kept) = d.kept(&app) {
        return Ok(kept);
    }
    if asked.names.iter().any(|n| n == "percentage") && d.grant.shared() {
        return Err(d.error(ApiError::bad_request(
            "metrics: percentage is not released for another organisation's site",
        )));
    }
    let (mut rows, plan) = run(&app, &d, &asked).await?;
    release(&app, &d, &mut rows)?;
    let (total, total_before) = if asked.names.iter().any(|n| n == "percentage") {
        let before = match d.question.compared_query() {
            Some(c) => Some(total_visitors(&app, &d, c).await?),
            None => None,
        };
        (
            Some(total_visitors(&app, &d, d.question.query.clone()).await?),
            before,
        )
    } else {
        (None, None)
    };
    let total_rows = match (&asked.grouping, req.include.total_rows) {
        (Grouping::Property(by), true) => Some(count_rows(&app, &d, by, &asked, rows.len()).await?),
        _ => None,
    };
    let body = shape(
        &req,
        &asked,
        &rows,
        [total, total_before],
        total_rows,
        &plan,
    );
    d.answer(&app, body)
}

/// Parses the body into the question and how its rows are laid out.
fn understand(app: &App, caller: &Caller, req: &Request) -> Result<Asked, ApiError> {
    let site = auth::known_site(app, Some(&req.site_id))?;
    let today = ask::site_today(app, site);
    let instants = v2::instants(&req.date_range)?;
    let range = match instants {
        Some((from, until)) => DateRange {
            first: day_of(from, site.timezone),
            last: day_of(until - chrono::Duration::microseconds(1), site.timezone),
        },
        None => v2::date_range(&req.date_range, today, site.aggregate_retention_days)?,
    };
    let grouping = v2::grouping(&req.dimensions, range)?;
    let mut metrics = v2::metrics(&req.metrics)?;
    let filtering = v2::filters(&crate::segments::expand_v2(
        app,
        caller,
        site,
        &req.filters,
    )?)?;
    let compare = match &req.include.comparisons {
        None => None,
        Some(c) if instants.is_some() && c.match_day_of_week => {
            return Err(ApiError::bad_request(
                "include: match_day_of_week moves whole days; give dates in date_range",
            ))
        }
        Some(c) => {
            let days = v2::compared(c, range, today)?;
            // Named as asked where the days are the mode's own; times of
            // day take the mode itself (`Query::compared`).
            let times = instants.is_some();
            Some(match c.mode.as_str() {
                "previous_period" if times || days == range.previous() => {
                    Comparison::PreviousPeriod
                }
                "year_over_year" if times || days == range.year_earlier() => {
                    Comparison::YearOverYear
                }
                _ => Comparison::Custom(days),
            })
        }
    };
    let (limit, offset) = (req.pagination.limit, req.pagination.offset);
    if limit == 0 || limit > MAX_V2_LIMIT {
        return Err(ApiError::bad_request(format!(
            "pagination: limit 1 to {MAX_V2_LIMIT}"
        )));
    }
    let (descending, ordered) = match &grouping {
        Grouping::Property(by) => (
            false,
            breakdown_order(&req.order_by, by, &req.dimensions, &metrics)?,
        ),
        _ => (order(&req.order_by, &grouping, &mut metrics)?, Vec::new()),
    };
    if grouping == Grouping::Total && req.metrics.iter().any(|m| m == "percentage") {
        return Err(ApiError::bad_request(
            "metrics: percentage needs a dimension",
        ));
    }
    let time = match &grouping {
        Grouping::Time(i) => Some(*i),
        Grouping::Property(by) => by.parts().iter().find_map(|d| match d {
            Dimension::Time(i) => Some(*i),
            _ => None,
        }),
        Grouping::Total => None,
    };
    if time == Some(Interval::Hour) && range.days() > 31 {
        return Err(ApiError::bad_request(
            "dimensions: time:hour is allowed for periods up to 31 days",
        ));
    }
    let shape = match &grouping {
        Grouping::Total => Shape::Aggregate { compare },
        Grouping::Time(interval) => Shape::Timeseries {
            interval: *interval,
            compare,
        },
        Grouping::Property(by) => Shape::Breakdown {
            by: by.clone(),
            limit,
            offset,
            compare,
            total_rows: req.include.total_rows,
        },
    };
    let mut query =
        Query::for_range_in(&site.host, range, site.timezone, metrics, filtering.filters);
    query.conditions = filtering.conditions;
    if let Some((from, until)) = instants {
        (query.from, query.until) = (from, until);
    }
    query.order = ordered;
    let mut question = Question {
        query,
        purpose: ask::purpose(site, req.purpose.as_deref()),
        sites: vec![site.host.clone()],
        shape,
        imports: req.include.imports,
    };
    question.resolve_goals(&site.goals)?;
    question.check_engagement()?;
    // The breakdown by goal is filled in from the site's goals.
    let grouping = match (&grouping, &question.shape) {
        (Grouping::Property(_), Shape::Breakdown { by, .. }) => Grouping::Property(by.clone()),
        _ => grouping,
    };
    Ok(Asked {
        question,
        grouping,
        names: req.metrics.clone(),
        descending,
        offset,
        limit,
    })
}

/// Applies `order_by` to totals and time series: a metric, largest first
/// (the store orders by the first metric), or time either way. Returns
/// whether time runs backwards.
fn order(
    order_by: &[(String, String)],
    grouping: &Grouping,
    metrics: &mut Vec<Metric>,
) -> Result<bool, ApiError> {
    let refuse = |what: &str| {
        ApiError::bad_request(format!(
            "order_by: {what}; order by a listed metric (desc) or by time (asc or desc)"
        ))
    };
    match order_by {
        [] => Ok(false),
        [(key, dir)] if key.starts_with("time") && matches!(grouping, Grouping::Time(_)) => {
            match dir.as_str() {
                "asc" => Ok(false),
                "desc" => Ok(true),
                _ => Err(refuse(dir)),
            }
        }
        [(key, dir)] if dir == "desc" => {
            let m = if key == "percentage" {
                Metric::Visitors
            } else {
                Metric::parse(key).map_err(|_| refuse(key))?
            };
            let at = metrics
                .iter()
                .position(|x| *x == m)
                .ok_or_else(|| refuse(key))?;
            let m = metrics.remove(at);
            metrics.insert(0, m);
            Ok(false)
        }
        _ => Err(refuse("one entry")),
    }
}

/// The metrics the store orders a breakdown's rows on itself.
const ORDERED_METRICS: [Metric; 6] = [
    Metric::Visitors,
    Metric::Visits,
    Metric::Pageviews,
    Metric::Events,
    Metric::BounceRate,
    Metric::VisitDuration,
];

/// A breakdown's order keys from `order_by`: listed dimensions and listed
/// metrics the store counts, either way, ties going by the row's values.
/// None given: the time dimension first where one is listed, then the
/// first metric, largest first, as in Plausible.
fn breakdown_order(
    order_by: &[(String, String)],
    by: &Dimension,
    dimensions: &[String],
    metrics: &[Metric],
) -> Result<Vec<OrderKey>, ApiError> {
    let refuse = |what: String| ApiError::bad_request(format!("order_by: {what}"));
    let time = by
        .parts()
        .iter()
        .position(|d| matches!(d, Dimension::Time(_)));
    if order_by.is_empty() {
        return Ok(match time {
            Some(i) => vec![
                OrderKey {
                    on: Ordered::Part(i),
                    descending: false,
                },
                OrderKey {
                    on: Ordered::Metric(metrics[0]),
                    descending: true,
                },
            ],
            None => Vec::new(),
        });
    }
    let mut keys = Vec::new();
    for (key, dir) in order_by {
        let descending = match dir.as_str() {
            "asc" => false,
            "desc" => true,
            _ => return Err(refuse(format!("{dir:?} is neither asc nor desc"))),
        };
        let on = if let Some(i) = dimensions.iter().position(|d| d == key) {
            Ordered::Part(i)
        } else if let (Some(i), true) = (time, key.starts_with("time")) {
            Ordered::Part(i)
        } else {
            let m = match key.as_str() {
                "percentage" => Metric::Visitors,
                k => Metric::parse(k).map_err(|_| {
                    refuse(format!("{key} is neither a listed dimension nor a metric"))
                })?,
            };
            if !metrics.contains(&m) {
                return Err(refuse(format!("{key} is not among the metrics asked for")));
            }
            if !ORDERED_METRICS.contains(&m) {
                return Err(refuse(format!(
                    "{key} is worked out once the rows are chosen; order by visitors, visits, pageviews, events, bounce_rate, visit_duration or a dimension"
                )));
            }
            Ordered::Metric(m)
        };
        keys.push(OrderKey { on, descending });
    }
    Ok(keys)
}

/// Whether (and over which days) `q` reads imported days under `grouping`.
fn plan_for(
    s: &dyn glasshouse_store::Store,
    q: &Query,
    grouping: &Grouping,
    asked: bool,
) -> Result<imports::Plan, glasshouse_store::StoreError> {
    match grouping {
        Grouping::Total => imports::plan(s, q, None, None, asked),
        Grouping::Time(i) => imports::plan(s, q, Some(*i), None, asked),
        Grouping::Property(by) => imports::plan(s, q, None, Some(by), asked),
    }
}

/// The rows, and whether imported days are in them.
async fn run(
    app: &App,
    d: &ask::Decided,
    asked: &Asked,
) -> Result<(Vec<Row>, imports::Plan), ApiError> {
    let q = d.executed(&d.question.query);
    let compared = d.question.comparison();
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(app));
    let grouping = asked.grouping.clone();
    let (limit, offset) = (asked.limit, asked.offset);
    let with = d.question.imports;
    blocking(move || {
        let s = store.as_ref();
        let plan = plan_for(s, &q, &grouping, with)?;
        let cq = compared.map(|c| q.compared(&c));
        let cplan = match &cq {
            Some(cq) => plan_for(s, cq, &grouping, with)?,
            None => imports::Plan::NONE,
        };
        let rows = match &grouping {
            Grouping::Total => {
                let now = imports::aggregate(s, &q, raw_from, &plan)?;
                let before = match &cq {
                    Some(cq) => Some(Some(imports::aggregate(s, cq, raw_from, &cplan)?)),
                    None => None,
                };
                vec![Row {
                    dims: vec![],
                    now: Some(now),
                    before,
                    before_dims: vec![],
                }]
            }
            Grouping::Time(i) => {
                let now = buckets(imports::timeseries(s, &q, *i, raw_from, &plan)?, *i, &q);
                let before = match &cq {
                    Some(cq) => Some(buckets(
                        imports::timeseries(s, cq, *i, raw_from, &cplan)?,
                        *i,
                        cq,
                    )),
                    None => None,
                };
                time_rows(now, before)
            }
            Grouping::Property(by) => {
                let rows = imports::breakdown(s, &q, by, (limit, offset), raw_from, &plan)?;
                let before = match &cq {
                    Some(cq) => Some(paired_rows(
                        s,
                        (&q, cq),
                        by,
                        (&rows, limit),
                        raw_from,
                        &cplan,
                    )?),
                    None => None,
                };
                rows.into_iter()
                    .enumerate()
                    .map(|(i, (k, t))| {
                        let dims = parts(by, &k, &q);
                        let (before_dims, before) = match &before {
                            Some(b) => (b[i].0.clone(), Some(Some(b[i].1))),
                            None => (dims.clone(), None),
                        };
                        Row {
                            dims,
                            now: Some(t),
                            before,
                            before_dims,
                        }
                    })
                    .collect()
            }
        };
        Ok((rows, plan))
    })
    .await
    .map_err(|e| d.error(e))
}

/// A row key's values, one per dimension asked for: time buckets (kept
/// as their local start in microseconds) labelled as a time series'.
fn parts(by: &Dimension, key: &str, q: &Query) -> Vec<String> {
    by.parts()
        .iter()
        .zip(by.split_key(key))
        .map(|(part, value)| match part {
            Dimension::Time(i) => value
                .parse::<i64>()
                .ok()
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|local| {
                    let at = glasshouse_model::query::local_instant(local.naive_utc(), q.tz);
                    i.label(at, q.tz)
                })
                .unwrap_or(value),
            _ => value,
        })
        .collect()
}

/// For each of `rows`, the compared row it is paired with (`Pairing`):
/// its values as shown, and its figures (zero where it has none). The
/// compared rows are read as a page of the question's `limit` from the
/// first, as the audit line names it.
fn paired_rows(
    s: &dyn glasshouse_store::Store,
    (q, cq): (&Query, &Query),
    by: &Dimension,
    (rows, limit): (&[(String, Totals)], usize),
    raw_from: chrono::NaiveDate,
    plan: &imports::Plan,
) -> Result<Vec<(Vec<String>, Totals)>, glasshouse_store::StoreError> {
    let pair = Pairing::new(by, q, cq);
    let keys: Vec<Option<String>> = rows.iter().map(|(k, _)| pair.key(by, k)).collect();
    let asked: Vec<String> = keys.iter().flatten().cloned().collect();
    let found: std::collections::HashMap<String, Totals> = if asked.is_empty() {
        Default::default()
    } else {
        compared_rows(s, cq, by, (&asked, limit), raw_from, plan)?
            .into_iter()
            .collect()
    };
    Ok(rows
        .iter()
        .zip(keys)
        .map(|((k, _), other)| match other {
            Some(o) => (
                parts(by, &o, cq),
                found.get(&o).copied().unwrap_or_default(),
            ),
            None => (parts(by, k, q), Totals::default()),
        })
        .collect())
}

/// Which compared row a breakdown row is paired with: the same values,
/// and, for a time part, the compared period's bucket at the same
/// position (as Plausible pairs a time series' buckets).
struct Pairing {
    /// The time part's index and its buckets (local starts in
    /// microseconds, as row keys hold them) now and in the compared period.
    time: Option<(usize, Vec<i64>, Vec<i64>)>,
}

impl Pairing {
    fn new(by: &Dimension, q: &Query, cq: &Query) -> Pairing {
        let time = by.parts().iter().enumerate().find_map(|(i, d)| match d {
            Dimension::Time(interval) => Some((i, starts(*interval, q), starts(*interval, cq))),
            _ => None,
        });
        Pairing { time }
    }

    /// The compared row's key for the row keyed `key`; none where the
    /// compared period has no bucket at that position.
    fn key(&self, by: &Dimension, key: &str) -> Option<String> {
        let Some((at, now, before)) = &self.time else {
            return Some(key.to_string());
        };
        let mut values = by.split_key(key);
        let start: i64 = values.get(*at)?.parse().ok()?;
        let position = now.iter().position(|s| *s == start)?;
        values[*at] = before.get(position)?.to_string();
        Some(Dimension::join_key(&values))
    }
}

/// The local starts of `q`'s buckets, in microseconds, as a time part of
/// a row key holds them (`sql.rs`, `Dimension::Time`).
fn starts(interval: Interval, q: &Query) -> Vec<i64> {
    q.buckets(interval)
        .into_iter()
        .map(|at| {
            at.with_timezone(&q.tz)
                .naive_local()
                .and_utc()
                .timestamp_micros()
        })
        .collect()
}

/// The compared period's figures for the rows keyed `keys`: a filter on
/// them where imported days are not read, else the whole breakdown (a
/// filter would leave imported days out).
fn compared_rows(
    s: &dyn glasshouse_store::Store,
    cq: &Query,
    by: &Dimension,
    (keys, limit): (&[String], usize),
    raw_from: chrono::NaiveDate,
    plan: &imports::Plan,
) -> Result<Vec<(String, Totals)>, glasshouse_store::StoreError> {
    if plan.included() {
        let all = imports::breakdown(s, cq, by, (usize::MAX / 2, 0), raw_from, plan)?;
        return Ok(all.into_iter().filter(|(k, _)| keys.contains(k)).collect());
    }
    let mut cq = cq.clone();
    cq.filters.push(Filter {
        dimension: by.clone(),
        op: FilterOp::Is,
        values: keys.to_vec(),
    });
    imports::breakdown(s, &cq, by, (limit, 0), raw_from, &imports::Plan::NONE)
}

/// Every bucket of `q`'s period, with its totals (empty ones zero),
/// labelled in the site's local time.
fn buckets(
    rows: Vec<(chrono::DateTime<chrono::Utc>, Totals)>,
    interval: Interval,
    q: &Query,
) -> Vec<(String, Totals)> {
    let found: std::collections::HashMap<_, _> = rows.into_iter().collect();
    q.buckets(interval)
        .into_iter()
        .map(|at| {
            let totals = found.get(&at).copied().unwrap_or_default();
            (interval.label(at, q.tz), totals)
        })
        .collect()
}

/// Rows for the buckets with events, each paired with the compared
/// period's bucket at the same position (as Plausible pairs them).
fn time_rows(now: Vec<(String, Totals)>, before: Option<Vec<(String, Totals)>>) -> Vec<Row> {
    now.into_iter()
        .enumerate()
        .filter(|(_, (_, t))| t.events > 0 || t.visitors > 0)
        .map(|(i, (label, t))| {
            let other = before.as_ref().map(|b| b.get(i).cloned());
            Row {
                dims: vec![label],
                now: Some(t),
                before_dims: other
                    .clone()
                    .flatten()
                    .map(|(l, _)| vec![l])
                    .unwrap_or_default(),
                before: other.map(|o| Some(o.map(|(_, t)| t).unwrap_or_default())),
            }
        })
        .collect()
}

/// Releases every row's figures, current and compared, in one release.
fn release(app: &App, d: &ask::Decided, rows: &mut [Row]) -> Result<(), ApiError> {
    let mut all: Vec<Option<Totals>> = rows.iter().map(|r| r.now).collect();
    all.extend(rows.iter().filter_map(|r| r.before.flatten().map(Some)));
    d.release(app, &mut all)?;
    let (now, mut before) = (all[..rows.len()].to_vec(), all[rows.len()..].iter());
    for (row, t) in rows.iter_mut().zip(now) {
        row.now = t;
        if row.before.is_some() {
            row.before = before.next().copied();
        }
    }
    Ok(())
}

/// Visitors to `period` (the question's query, or its compared one)
/// under the question's filters: what `percentage` is a share of.
async fn total_visitors(app: &App, d: &ask::Decided, period: Query) -> Result<u64, ApiError> {
    let q = Query {
        metrics: vec![Metric::Visitors],
        ..period
    };
    let store = app.store.clone();
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(app));
    let with = d.question.imports;
    blocking(move || {
        let s = store.as_ref();
        let plan = imports::plan(s, &q, None, None, with)?;
        Ok(imports::aggregate(s, &q, raw_from, &plan)?.visitors)
    })
    .await
    .map_err(|e| d.error(e))
}

/// Rows over all pages: this page tells when it is the last; otherwise the
/// breakdown is read on in pages of the largest size, up to a bound.
async fn count_rows(
    app: &App,
    d: &ask::Decided,
    by: &Dimension,
    asked: &Asked,
    shown: usize,
) -> Result<usize, ApiError> {
    if shown < asked.limit {
        return Ok(asked.offset + shown);
    }
    let q = d.executed(&d.question.query);
    let (store, by) = (app.store.clone(), by.clone());
    let raw_from = tiers::raw_from(&app.config, &q.site, d.local_today(app));
    let with = d.question.imports;
    blocking(move || {
        let s = store.as_ref();
        let plan = imports::plan(s, &q, None, Some(&by), with)?;
        let mut n = 0;
        for page in 0..100 {
            let rows = imports::breakdown(
                s,
                &q,
                &by,
                (MAX_BREAKDOWN_LIMIT, page * MAX_BREAKDOWN_LIMIT),
                raw_from,
                &plan,
            )?;
            n += rows.len();
            if rows.len() < MAX_BREAKDOWN_LIMIT {
                break;
            }
        }
        Ok(n)
    })
    .await
    .map_err(|e| d.error(e))
}

fn values(asked: &Asked, t: &Option<Totals>, total: Option<u64>) -> Value {
    let metrics = &asked.question.query.metrics;
    Value::Array(
        asked
            .names
            .iter()
            .map(|name| match (t, name.as_str()) {
                (None, _) => Value::Null,
                (Some(t), "percentage") => {
                    let all = total.unwrap_or(0).max(1) as f64;
                    json!((t.visitors as f64 * 1000.0 / all).round() / 10.0)
                }
                (Some(t), n) => metrics
                    .iter()
                    .find(|m| m.name() == n)
                    .map_or(Value::Null, |m| number(*m, t)),
            })
            .collect(),
    )
}

fn changes(asked: &Asked, now: &Option<Totals>, before: &Option<Totals>) -> Value {
    Value::Array(
        asked
            .names
            .iter()
            .map(|name| match (now, before, Metric::parse(name)) {
                (Some(a), Some(b), Ok(m)) => change(m, a, b),
                _ => Value::Null,
            })
            .collect(),
    )
}

/// The answer in Plausible's v2 shape: `results`, `meta`, `query`.
fn shape(
    req: &Request,
    asked: &Asked,
    rows: &[Row],
    [total, total_before]: [Option<u64>; 2],
    total_rows: Option<usize>,
    plan: &imports::Plan,
) -> Value {
    let mut ordered: Vec<&Row> = rows.iter().filter(|r| r.now.is_some()).collect();
    if asked.descending {
        ordered.reverse();
    }
    // Places asked for by name are grouped by their codes, shown as names.
    let named = v2::named(&req.dimensions);
    let labels = |dims: &[String]| -> Vec<String> {
        dims.iter()
            .zip(named.iter().chain(std::iter::repeat(&None)))
            .map(|(d, n)| v2::label(*n, d))
            .collect()
    };
    let results: Vec<Value> = ordered
        .iter()
        .map(|r| {
            let mut row =
                json!({ "metrics": values(asked, &r.now, total), "dimensions": labels(&r.dims) });
            if let Some(before) = &r.before {
                row["comparison"] = json!({
                    "dimensions": labels(&r.before_dims),
                    "metrics": values(asked, before, total_before),
                    "change": changes(asked, &r.now, before),
                });
            }
            row
        })
        .collect();
    let mut meta = Map::new();
    if req.include.time_labels {
        if let Grouping::Time(i) = asked.grouping {
            let q = &asked.question.query;
            let labels: Vec<String> = q
                .buckets(i)
                .into_iter()
                .map(|at| i.label(at, q.tz))
                .collect();
            meta.insert("time_labels".into(), json!(labels));
        }
    }
    if let Some(n) = total_rows {
        meta.insert("total_rows".into(), json!(n));
    }
    meta.insert("imports_included".into(), json!(plan.included()));
    if let Some(skip) = plan.skip {
        meta.insert("imports_skip_reason".into(), json!(skip.name()));
    }
    json!({ "results": results, "meta": meta, "query": echo(req, asked) })
}

/// The query as it was understood, dates resolved, as Plausible echoes it.
fn echo(req: &Request, asked: &Asked) -> Value {
    let asked_query = &asked.question.query;
    let mut q = json!({
        "site_id": asked_query.site,
        "metrics": req.metrics,
        "date_range": echoed(asked_query.from, asked_query.until, asked_query.tz),
        "dimensions": req.dimensions,
        "filters": req.filters,
        "order_by": req.order_by,
        "include": {
            "imports": req.include.imports,
            "time_labels": req.include.time_labels,
            "total_rows": req.include.total_rows,
        },
        "pagination": { "limit": asked.limit, "offset": asked.offset },
    });
    if let Some(c) = asked.question.comparison() {
        let cq = asked_query.compared(&c);
        q["comparison_date_range"] = echoed(cq.from, cq.until, cq.tz);
    }
    q
}

/// `[from, until)` as Plausible echoes a period: its first and last second
/// in the site's time zone, with the offset.
fn echoed(from: DateTime<Utc>, until: DateTime<Utc>, tz: Tz) -> Value {
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    json!([local(from), local(until - chrono::Duration::seconds(1))])
}
