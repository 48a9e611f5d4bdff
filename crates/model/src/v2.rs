//! Plausible's Stats API v2 request (`POST /api/v2/query`), parsed into the
//! same values v1 parses into: a [`DateRange`], [`Metric`]s, [`Filter`]s
//! (and [`Condition`]s where the filter tree says what a list of filters
//! cannot), and a time or property dimension (several make one
//! [`Dimension::Tuple`]). The gate and the store never see the v2 text, so a
//! v2 question is checked, run and logged as its v1 equivalent is.
//!
//! What v2 can say and the query model cannot is refused with a reason
//! naming the field: two time dimensions at once, and `match_day_of_week`
//! with times of day (the server's handler). v2's case rules
//! (`case_sensitive`) are said with the model's operators and patterns
//! ([`cased`]).

use crate::places::{Place, NO_PLACE};
use crate::query::{
    check_pattern, compile_pattern, literal_regex, stored_value, wildcard_regex, Condition,
    DateRange, Dimension, Filter, FilterOp, Interval, Metric, QueryError, DIRECT, NONE,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The request body, as Plausible's JSON schema has it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The site's host.
    pub site_id: String,
    /// Metric names.
    pub metrics: Vec<String>,
    /// A period name or `[first, last]`.
    pub date_range: Value,
    /// Property or time dimensions.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// A filter tree.
    #[serde(default)]
    pub filters: Vec<Value>,
    /// `[[metric or dimension, "asc"|"desc"], …]`.
    #[serde(default)]
    pub order_by: Vec<(String, String)>,
    /// Extras of the answer.
    #[serde(default)]
    pub include: Include,
    /// Rows per page and where the page starts.
    #[serde(default)]
    pub pagination: Pagination,
    /// Our extension: the declared purpose (default: the site's first).
    pub purpose: Option<String>,
}

/// `include`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Include {
    /// Every time bucket's label in `meta.time_labels`.
    #[serde(default)]
    pub time_labels: bool,
    /// The number of rows over all pages in `meta.total_rows`.
    #[serde(default)]
    pub total_rows: bool,
    /// Imported history (accepted; see the API reference).
    #[serde(default)]
    pub imports: bool,
    /// `{"mode": "previous_period" | "year_over_year" | "custom", …}`.
    pub comparisons: Option<Comparisons>,
}

/// `include.comparisons`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparisons {
    /// `previous_period`, `year_over_year` or `custom`.
    pub mode: String,
    /// For `custom`: `[first, last]`.
    pub date_range: Option<Value>,
    /// Shift the compared days to start on the same weekday.
    #[serde(default)]
    pub match_day_of_week: bool,
}

/// `pagination`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// Rows per page: at most, and by default, 10,000, as in Plausible.
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Rows skipped.
    #[serde(default)]
    pub offset: usize,
}

fn default_limit() -> usize {
    crate::query::MAX_V2_LIMIT
}

impl Default for Pagination {
    fn default() -> Pagination {
        Pagination {
            limit: default_limit(),
            offset: 0,
        }
    }
}

/// What the rows are grouped by.
#[derive(Debug, Clone, PartialEq)]
pub enum Grouping {
    /// One row: totals.
    Total,
    /// A row per time bucket (`time`: the period's default interval).
    Time(Interval),
    /// A row per value of a property.
    Property(Dimension),
}

fn err(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::new(field, message)
}

/// Most dimensions one question may combine: more parts make rows no
/// connector reads, each smaller than the last.
pub const MAX_DIMENSIONS: usize = 6;

/// Parses `dimensions` for a period of `range`: several become one
/// [`Dimension::Tuple`], a time dimension among them a [`Dimension::Time`]
/// part.
pub fn grouping(dimensions: &[String], range: DateRange) -> Result<Grouping, QueryError> {
    match dimensions {
        [] => Ok(Grouping::Total),
        [one] => Ok(match time(one, range) {
            Some(i) => Grouping::Time(i),
            None => Grouping::Property(property(one)?),
        }),
        several if several.len() > MAX_DIMENSIONS => Err(err(
            "dimensions",
            format!("at most {MAX_DIMENSIONS} dimensions at once"),
        )),
        several => {
            let mut parts = Vec::new();
            for name in several {
                let part = match time(name, range) {
                    Some(i) => Dimension::Time(i),
                    None => property(name)?,
                };
                check_part(name, &part, &parts)?;
                parts.push(part);
            }
            Ok(Grouping::Property(Dimension::Tuple(parts)))
        }
    }
}

/// The interval a time dimension names (`time`: the period's own).
fn time(name: &str, range: DateRange) -> Option<Interval> {
    match name {
        "time" => Some(range.default_interval()),
        "time:hour" => Some(Interval::Hour),
        "time:day" => Some(Interval::Day),
        "time:week" => Some(Interval::Week),
        "time:month" => Some(Interval::Month),
        _ => None,
    }
}

fn property(name: &str) -> Result<Dimension, QueryError> {
    match place_named(name) {
        Some(place) => Ok(place.dimension()),
        None => Dimension::parse(name).map_err(|e| err("dimensions", e.message)),
    }
}

/// Refuses a part that cannot join `before` in one row.
fn check_part(name: &str, part: &Dimension, before: &[Dimension]) -> Result<(), QueryError> {
    let why = match part {
        Dimension::Time(_) if before.iter().any(|d| matches!(d, Dimension::Time(_))) => {
            "is a second time dimension"
        }
        _ => return Ok(()),
    };
    Err(err(
        "dimensions",
        format!("{name} {why}; other dimensions combine freely"),
    ))
}

/// The kind of place each dimension names: `visit:country_name` and
/// `visit:region_name` rows are stored codes, shown as names.
pub fn named(dimensions: &[String]) -> Vec<Option<Place>> {
    dimensions.iter().map(|d| place_named(d)).collect()
}

fn place_named(dimension: &str) -> Option<Place> {
    match dimension {
        "visit:country_name" => Some(Place::Country),
        "visit:region_name" => Some(Place::Region),
        _ => None,
    }
}

/// A row's value as shown: the place's name under `named`, else as stored
/// (an unknown code as itself).
pub fn label(named: Option<Place>, value: &str) -> String {
    named
        .and_then(|p| p.name(value))
        .unwrap_or(value)
        .to_string()
}

/// Parses the metric names.
pub fn metrics(names: &[String]) -> Result<Vec<Metric>, QueryError> {
    if names.is_empty() {
        return Err(err("metrics", "at least one metric"));
    }
    let mut out = Vec::new();
    for n in names {
        let m = if n == "percentage" {
            Metric::Visitors
        } else {
            Metric::parse(n)?
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Parses `date_range` against today; `all` is every day still kept
/// (`kept_days` back).
pub fn date_range(v: &Value, today: NaiveDate, kept_days: u32) -> Result<DateRange, QueryError> {
    let range = match v {
        Value::String(s) => match s.as_str() {
            "all" => DateRange {
                first: today - Duration::days(i64::from(kept_days)),
                last: today,
            },
            "28d" | "91d" => {
                let n = if s == "28d" { 27 } else { 90 };
                DateRange {
                    first: today - Duration::days(n),
                    last: today,
                }
            }
            "day" | "7d" | "30d" | "month" | "6mo" | "12mo" | "year" => {
                DateRange::parse(Some(s), None, today).map_err(|e| err("date_range", e.message))?
            }
            other => {
                return Err(err(
                    "date_range",
                    format!("unknown period {other:?}; use day, 7d, 28d, 30d, 91d, month, 6mo, 12mo, year, all or [first, last]"),
                ))
            }
        },
        Value::Array(pair) if pair.len() == 2 => {
            let day = |v: &Value| -> Result<String, QueryError> {
                match v.as_str() {
                    Some(s) if s.len() == 10 => Ok(s.to_string()),
                    _ => Err(err(
                        "date_range",
                        "give dates like \"2024-01-31\", or times with their offsets",
                    )),
                }
            };
            let text = format!("{},{}", day(&pair[0])?, day(&pair[1])?);
            DateRange::parse(Some("custom"), Some(&text), today)
                .map_err(|e| err("date_range", e.message))?
        }
        _ => return Err(err("date_range", "a period name or [first, last]")),
    };
    Ok(range)
}

/// A span of instants `[from, until)`.
pub type Instants = (DateTime<Utc>, DateTime<Utc>);

/// `date_range` as instants `[from, until)`, when it gives two times of
/// day with their offsets (`["2024-01-31T09:00:00Z",
/// "2024-01-31T17:00:00+00:00"]`), both ends included to the second as in
/// Plausible; `None` for a period name or dates.
pub fn instants(v: &Value) -> Result<Option<Instants>, QueryError> {
    let Some([a, b]) = v.as_array().map(Vec::as_slice) else {
        return Ok(None);
    };
    let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else {
        return Ok(None);
    };
    if a.len() == 10 && b.len() == 10 {
        return Ok(None);
    }
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
            .map_err(|_| {
                err(
                    "date_range",
                    format!("{s:?} is neither a date (\"2024-01-31\") nor a time with its offset (\"2024-01-31T09:00:00Z\"); give two of one kind"),
                )
            })
    };
    let (from, last) = (at(a)?, at(b)?);
    if last < from {
        return Err(err("date_range", "the first time is after the last"));
    }
    Ok(Some((from, last + Duration::seconds(1))))
}

/// The days `range` is compared with under `c`.
pub fn compared(
    c: &Comparisons,
    range: DateRange,
    today: NaiveDate,
) -> Result<DateRange, QueryError> {
    let mut other = match c.mode.as_str() {
        "previous_period" => range.previous(),
        "year_over_year" => range.year_earlier(),
        "custom" => {
            let v = c.date_range.as_ref().ok_or_else(|| {
                err("include", "comparisons: custom needs a date_range [first, last]")
            })?;
            date_range(v, today, 0)?
        }
        other => {
            return Err(err(
                "include",
                format!("comparisons: unknown mode {other:?}; use previous_period, year_over_year or custom"),
            ))
        }
    };
    if c.match_day_of_week {
        let behind = (other.first.weekday().num_days_from_monday() + 7
            - range.first.weekday().num_days_from_monday())
            % 7;
        let back = Duration::days(i64::from(behind));
        other = DateRange {
            first: other.first - back,
            last: other.last - back,
        };
    }
    Ok(other)
}

/// Most filters a tree may hold once flattened, as v1 allows.
const MAX_FILTERS: usize = 20;

pub use crate::query::Filtering;

/// Reads the filter tree. `and`, `or` and `not` nest freely: negations
/// move onto the filters' operators, an `or` over one property with one
/// positive operator becomes one filter whose values are alternatives, and
/// what the top-level `and` joins becomes a filter where it can.
pub fn filters(tree: &[Value]) -> Result<Filtering, QueryError> {
    let parts = tree.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
    let all = Condition::All(parts);
    if all.filters().len() > MAX_FILTERS {
        return Err(err("filters", format!("at most {MAX_FILTERS} filters")));
    }
    let mut out = Filtering::default();
    split(simplified(all), &mut out);
    Ok(out)
}

fn condition(node: &Value) -> Result<Condition, QueryError> {
    let items = node
        .as_array()
        .ok_or_else(|| err("filters", format!("{node} is not a filter")))?;
    let parts = |items: &[Value]| {
        children(items)?
            .iter()
            .map(condition)
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match items.first().and_then(Value::as_str) {
        Some("and") => Condition::All(parts(items)?),
        Some("or") => Condition::Any(parts(items)?),
        Some("not") if items.len() == 2 => condition(&items[1])?.negated(),
        Some(op @ ("has_done" | "has_not_done")) if items.len() == 2 => {
            let done = Condition::Done(Box::new(behaviour(condition(&items[1])?)?));
            match op {
                "has_done" => done,
                _ => done.negated(),
            }
        }
        _ => Condition::One(simple(node, false)?),
    })
}

/// What `has_done` and `has_not_done` may ask of a visit's events: event
/// properties, not nested, as in Plausible.
fn behaviour(c: Condition) -> Result<Condition, QueryError> {
    fn nests(c: &Condition) -> bool {
        match c {
            Condition::One(_) => false,
            Condition::All(parts) | Condition::Any(parts) => parts.iter().any(nests),
            Condition::Done(_) | Condition::NotDone(_) => true,
        }
    }
    if nests(&c) {
        return Err(err("filters", "has_done and has_not_done cannot be nested"));
    }
    if let Some(f) = c.filters().iter().find(|f| !f.dimension.is_event_level()) {
        return Err(err(
            "filters",
            format!(
                "has_done and has_not_done take filters on event properties, not {}",
                f.dimension
            ),
        ));
    }
    Ok(c)
}

/// Nested `and`s joined into one, and `or`s likewise; an `or` of filters
/// on one property with one positive operator is one filter.
fn simplified(c: Condition) -> Condition {
    let flat = |parts: Vec<Condition>, any: bool| {
        let mut out = Vec::new();
        for p in parts.into_iter().map(simplified) {
            match (p, any) {
                (Condition::Any(inner), true) | (Condition::All(inner), false) => out.extend(inner),
                (p, _) => out.push(p),
            }
        }
        out
    };
    let mut parts = match c {
        Condition::One(_) => return c,
        Condition::Done(inner) => return Condition::Done(Box::new(simplified(*inner))),
        Condition::NotDone(inner) => return Condition::NotDone(Box::new(simplified(*inner))),
        Condition::All(parts) => {
            let mut parts = flat(parts, false);
            return if parts.len() == 1 {
                parts.remove(0)
            } else {
                Condition::All(parts)
            };
        }
        Condition::Any(parts) => flat(parts, true),
    };
    if parts.len() == 1 {
        return parts.remove(0);
    }
    match merged(&parts) {
        Some(f) => Condition::One(f),
        None => Condition::Any(parts),
    }
}

/// The one filter an `or` of `parts` is, where all are filters on one
/// property with one positive operator.
fn merged(parts: &[Condition]) -> Option<Filter> {
    let mut out: Option<Filter> = None;
    for p in parts {
        let Condition::One(f) = p else { return None };
        match &mut out {
            _ if f.op.is_negative() => return None,
            None => out = Some(f.clone()),
            Some(m) if m.dimension == f.dimension && m.op == f.op => {
                m.values.extend(f.values.iter().cloned())
            }
            Some(_) => return None,
        }
    }
    out
}

/// The top-level `and`'s filters into `out.filters`, other parts into
/// `out.conditions`.
fn split(c: Condition, out: &mut Filtering) {
    match c {
        Condition::All(parts) => parts.into_iter().for_each(|p| split(p, out)),
        Condition::One(f) => out.filters.push(f),
        any => out.conditions.push(any),
    }
}

fn children(items: &[Value]) -> Result<&Vec<Value>, QueryError> {
    match items {
        [_, Value::Array(list)] if !list.is_empty() => Ok(list),
        _ => Err(err("filters", "and/or take a non-empty list of filters")),
    }
}

/// `[op, dimension, [values…]]`.
fn simple(node: &Value, negated: bool) -> Result<Filter, QueryError> {
    let (op, dim, values, modifiers) = match node.as_array().map(Vec::as_slice) {
        Some([Value::String(op), Value::String(dim), Value::Array(values)]) => {
            (op, dim, values, None)
        }
        Some([Value::String(op), Value::String(dim), Value::Array(values), Value::Object(m)]) => {
            (op, dim, values, Some(m))
        }
        _ => {
            return Err(err(
                "filters",
                format!("{node} is not [operator, dimension, [values]]"),
            ))
        }
    };
    let op = match op.as_str() {
        "is" => FilterOp::Is,
        "is_not" => FilterOp::IsNot,
        "contains" => FilterOp::Contains,
        "contains_not" => FilterOp::DoesNotContain,
        "matches" => FilterOp::Matches,
        "matches_not" => FilterOp::DoesNotMatch,
        other => {
            return Err(err(
                "filters",
                format!("unknown operator {other:?}; use is, is_not, contains, contains_not, matches or matches_not"),
            ))
        }
    };
    let values: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(err("filters", format!("{v} is not a text or number value"))),
        })
        .collect::<Result<_, _>>()?;
    if values.is_empty() || values.len() > 100 || values.iter().any(|v| v.len() > 2000) {
        return Err(err("filters", "1 to 100 values of at most 2000 bytes each"));
    }
    let sensitive = case_sensitive(modifiers)?;
    if matches!(op, FilterOp::Matches | FilterOp::DoesNotMatch) {
        values.iter().try_for_each(|v| check_pattern(v))?;
    }
    let (dimension, op, values) = match place_named(dim) {
        Some(place) => by_name(place, op, &values, sensitive)?,
        None => {
            let dimension = Dimension::parse(dim).map_err(|e| err("filters", e.message))?;
            let (op, values) = cased(op, &dimension, values, sensitive);
            (dimension, op, values)
        }
    };
    if matches!(op, FilterOp::Matches | FilterOp::DoesNotMatch) {
        values.iter().try_for_each(|v| check_pattern(v))?;
    }
    Ok(Filter {
        dimension,
        op: if negated { op.negated() } else { op },
        values,
    })
}

/// The filter's `{"case_sensitive": bool}`; true when absent, as in
/// Plausible.
fn case_sensitive(modifiers: Option<&serde_json::Map<String, Value>>) -> Result<bool, QueryError> {
    let mut sensitive = true;
    for (key, value) in modifiers.into_iter().flatten() {
        match (key.as_str(), value) {
            ("case_sensitive", Value::Bool(b)) => sensitive = *b,
            ("case_sensitive", _) => {
                return Err(err("filters", "case_sensitive takes true or false"))
            }
            (other, _) => {
                return Err(err(
                    "filters",
                    format!(
                        "unknown filter modifier {other:?}; the one modifier is case_sensitive"
                    ),
                ))
            }
        }
    }
    Ok(sensitive)
}

/// Says v2's case rules in the model's operators. In v2, `is` and
/// `contains` heed case unless `case_sensitive` is false; the model's `is`
/// heeds case and its `contains` ignores it (as v1's `~`), so the other two
/// combinations become patterns (`matches`, RE2 in both stores). A
/// case-insensitive pattern is wrapped in `(?i:…)` (Plausible ignores the
/// modifier on patterns; honouring it is what the caller asked).
fn cased(
    op: FilterOp,
    dim: &Dimension,
    values: Vec<String>,
    sensitive: bool,
) -> (FilterOp, Vec<String>) {
    use FilterOp::*;
    let pattern = |op: FilterOp| {
        if op.is_negative() {
            DoesNotMatch
        } else {
            Matches
        }
    };
    let pages = matches!(
        dim,
        Dimension::Page | Dimension::EntryPage | Dimension::ExitPage
    );
    match (op, sensitive) {
        (Is | IsNot | Matches | DoesNotMatch, true) | (Contains | DoesNotContain, false) => {
            (op, values)
        }
        (Matches | DoesNotMatch, false) => (op, values.iter().map(|v| insensitive(v)).collect()),
        (Contains | DoesNotContain, true) => (
            pattern(op),
            values.iter().map(|v| literal_regex(v)).collect(),
        ),
        (Is | IsNot, false) => {
            let whole = |v: &String| {
                // A label such as `Direct / None` names the stored empty value.
                let label = [DIRECT, NONE]
                    .into_iter()
                    .find(|l| l.eq_ignore_ascii_case(v));
                let v = stored_value(dim, label.unwrap_or(v));
                if pages && v.contains('*') {
                    insensitive(&wildcard_regex(&v))
                } else {
                    insensitive(&format!("^{}$", literal_regex(&v)))
                }
            };
            (pattern(op), values.iter().map(whole).collect())
        }
    }
}

/// A filter on places by name becomes one on their stored codes: the
/// names are few, so the operator is applied to them here and the store
/// is asked for the codes whose names it picked ([`NO_PLACE`] for none).
fn by_name(
    place: Place,
    op: FilterOp,
    values: &[String],
    sensitive: bool,
) -> Result<(Dimension, FilterOp, Vec<String>), QueryError> {
    let fold = |s: &str| {
        if sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let wanted: Vec<String> = values.iter().map(|v| fold(v)).collect();
    let patterns = match op {
        FilterOp::Matches | FilterOp::DoesNotMatch => values
            .iter()
            .map(|v| compile_pattern(&if sensitive { v.clone() } else { insensitive(v) }))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let codes = place.codes_named(|name| {
        let name_folded = fold(name);
        match op {
            FilterOp::Is | FilterOp::IsNot => wanted.contains(&name_folded),
            FilterOp::Contains | FilterOp::DoesNotContain => {
                wanted.iter().any(|w| name_folded.contains(w.as_str()))
            }
            FilterOp::Matches | FilterOp::DoesNotMatch => patterns.iter().any(|p| p.is_match(name)),
        }
    });
    let values = match codes.is_empty() {
        true => vec![NO_PLACE.to_string()],
        false => codes.into_iter().map(String::from).collect(),
    };
    let op = match op.is_negative() {
        true => FilterOp::IsNot,
        false => FilterOp::Is,
    };
    Ok((place.dimension(), op, values))
}

/// `pattern`, ignoring case: the flag scoped to a group, so it covers the
/// whole pattern and nothing beside it. (ClickHouse 18.16's trouble with a
/// leading `(?i)` is met where every pattern is sent, `sql.rs`.)
fn insensitive(pattern: &str) -> String {
    format!("(?i:{pattern})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Vec<Filter>, QueryError> {
        let said = filters(v.as_array().unwrap())?;
        assert!(said.conditions.is_empty(), "{said:?}");
        Ok(said.filters)
    }

    fn said(c: &Condition) -> String {
        crate::query::describe_condition(c, &|v| v.to_string())
    }

    #[test]
    fn or_across_properties_and_not_over_trees_become_conditions() {
        let f = filters(
            json!([
                ["is", "visit:country", ["GB"]],
                [
                    "or",
                    [
                        ["is", "event:page", ["/a"]],
                        ["is", "visit:source", ["Google"]]
                    ]
                ],
                [
                    "not",
                    [
                        "and",
                        [
                            ["is", "event:page", ["/b"]],
                            ["contains", "visit:browser", ["Fire"]]
                        ]
                    ]
                ],
                [
                    "not",
                    [
                        "or",
                        [["is", "event:page", ["/c"]], ["is", "event:page", ["/d"]]]
                    ]
                ],
                [
                    "or",
                    [
                        ["is_not", "event:page", ["/e"]],
                        ["is_not", "event:page", ["/f"]]
                    ]
                ],
                [
                    "or",
                    [
                        ["or", [["is", "event:page", ["/g"]]]],
                        ["and", [["is", "event:page", ["/h"]]]]
                    ]
                ],
                [
                    "and",
                    [[
                        "or",
                        [
                            ["is", "event:name", ["A"]],
                            [
                                "and",
                                [
                                    ["is", "visit:os", ["Mac"]],
                                    ["not", ["is", "event:name", ["B"]]]
                                ]
                            ]
                        ]
                    ]]
                ],
            ])
            .as_array()
            .unwrap(),
        )
        .unwrap();
        let flat: Vec<String> = f
            .filters
            .iter()
            .map(|f| said(&Condition::One(f.clone())))
            .collect();
        // `not` over `or` of one property is two filters; an `or` of one
        // property, however nested, one filter of alternatives.
        assert_eq!(
            flat,
            [
                "visit:country==GB",
                "event:page!=/c",
                "event:page!=/d",
                "event:page==/g|/h"
            ]
        );
        let trees: Vec<String> = f.conditions.iter().map(said).collect();
        assert_eq!(
            trees,
            [
                "(event:page==/a or visit:source==Google)",
                "(event:page!=/b or visit:browser!=~Fire)",
                // Negative operators are never merged: this one always holds
                // but for an event on both pages, which none is.
                "(event:page!=/e or event:page!=/f)",
                "(event:name==A or (visit:os==Mac and event:name!=B))",
            ]
        );
        assert!(!f.conditions[0].is_visit_level());
        let visits = filters(
            json!([[
                "or",
                [
                    ["is", "visit:source", ["Bing"]],
                    ["is", "visit:os", ["Mac"]]
                ]
            ]])
            .as_array()
            .unwrap(),
        )
        .unwrap();
        assert!(visits.conditions[0].is_visit_level());
        // Behaviour: whole visits with (or without) such an event.
        let done = filters(
            json!([
                [
                    "has_done",
                    [
                        "or",
                        [
                            ["is", "event:name", ["Signup"]],
                            ["is", "event:page", ["/x"]]
                        ]
                    ]
                ],
                ["not", ["has_done", ["is", "event:goal", ["Apply"]]]],
                [
                    "or",
                    [
                        ["has_not_done", ["is", "event:page", ["/a"]]],
                        ["is", "visit:source", ["Bing"]]
                    ]
                ],
            ])
            .as_array()
            .unwrap(),
        )
        .unwrap();
        let trees: Vec<String> = done.conditions.iter().map(said).collect();
        assert_eq!(
            trees,
            [
                "has_done(event:name==Signup or event:page==/x)",
                "has_not_done(event:goal==Apply)",
                "(has_not_done(event:page==/a) or visit:source==Bing)",
            ]
        );
        assert!(done.conditions.iter().all(Condition::is_visit_level));
        for bad in [
            json!([["has_done", ["is", "visit:source", ["Bing"]]]]),
            json!([["has_done", ["has_done", ["is", "event:page", ["/a"]]]]]),
            json!([[
                "has_done",
                [
                    "or",
                    [
                        ["is", "event:page", ["/a"]],
                        ["has_not_done", ["is", "event:page", ["/b"]]]
                    ]
                ]
            ]]),
        ] {
            let e = filters(bad.as_array().unwrap()).unwrap_err();
            assert_eq!(e.field, "filters", "{bad}");
        }
        // The limit counts every filter in the tree.
        let many: Vec<Value> = (0..=MAX_FILTERS)
            .map(|i| {
                json!([
                    "is",
                    if i % 2 == 0 {
                        "event:page"
                    } else {
                        "visit:source"
                    },
                    [i.to_string()]
                ])
            })
            .collect();
        let e = filters(&[json!(["or", many])]).unwrap_err();
        assert_eq!(e.field, "filters");
    }

    #[test]
    fn trees_flatten_into_filters_that_all_hold() {
        let f = parse(json!([
            ["is", "visit:country", ["GB"]],
            [
                "and",
                [
                    ["contains", "event:page", ["tax"]],
                    ["not", ["is", "visit:source", ["Google"]]]
                ]
            ],
            [
                "or",
                [["is", "event:page", ["/a"]], ["is", "event:page", ["/b"]]]
            ],
            ["matches_not", "event:page", ["^/admin"]],
        ]))
        .unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(f[2].op, FilterOp::IsNot);
        assert_eq!(f[3].values, vec!["/a", "/b"]);
        assert_eq!(f[4].op, FilterOp::DoesNotMatch);
    }

    #[test]
    fn case_rules_become_the_models_operators() {
        let f = parse(json!([
            ["contains", "event:page", ["a.b"]],
            ["contains", "event:page", ["Tax"], {"case_sensitive": false}],
            ["is", "visit:source", ["direct / NONE"], {"case_sensitive": false}],
            ["not", ["is", "event:page", ["/Blog/*"], {"case_sensitive": false}]],
            ["matches", "event:page", ["^/a"], {"case_sensitive": false}],
            ["is", "event:page", ["/A"], {"case_sensitive": true}],
        ]))
        .unwrap();
        let said: Vec<(FilterOp, &str)> = f.iter().map(|f| (f.op, f.values[0].as_str())).collect();
        assert_eq!(
            said,
            vec![
                (FilterOp::Matches, "a\\.b"),
                (FilterOp::Contains, "Tax"),
                (FilterOp::Matches, "(?i:^$)"),
                (FilterOp::DoesNotMatch, "(?i:^/Blog/[^/]*$)"),
                (FilterOp::Matches, "(?i:^/a)"),
                (FilterOp::Is, "/A"),
            ]
        );
        for bad in [
            json!([["is", "event:page", ["/a"], {"case_sensitive": 0}]]),
            json!([["is", "event:page", ["/a"], {"loud": true}]]),
        ] {
            assert_eq!(parse(bad).unwrap_err().field, "filters");
        }
    }

    #[test]
    fn places_by_name_become_their_codes() {
        let f = parse(json!([
            ["is", "visit:country_name", ["United Kingdom", "Atlantis"]],
            ["not", ["contains", "visit:region_name", ["scotl"], {"case_sensitive": false}]],
            ["is", "visit:country_name", ["united kingdom"]],
            ["matches", "visit:region_name", ["^Wales$"]],
        ]))
        .unwrap();
        let said: Vec<(&Dimension, FilterOp, Vec<&str>)> = f
            .iter()
            .map(|f| {
                (
                    &f.dimension,
                    f.op,
                    f.values.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            said,
            vec![
                (&Dimension::Country, FilterOp::Is, vec!["GB"]),
                (&Dimension::Region, FilterOp::IsNot, vec!["GB-SCT"]),
                (&Dimension::Country, FilterOp::Is, vec![NO_PLACE]),
                (&Dimension::Region, FilterOp::Is, vec!["GB-WLS"]),
            ]
        );
        let named_by = named(&["visit:region_name".into()])[0];
        assert_eq!(label(named_by, "GB-SCT"), "Scotland");
        assert_eq!(label(named_by, ""), "");
        assert_eq!(label(None, "GB-SCT"), "GB-SCT");
        let r = DateRange::parse(
            Some("7d"),
            None,
            NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        )
        .unwrap();
        assert_eq!(
            grouping(&["visit:country_name".into()], r).unwrap(),
            Grouping::Property(Dimension::Country)
        );
        assert!(grouping(&["visit:city_name".into()], r).is_err());
    }

    #[test]
    fn several_dimensions_make_one_tuple() {
        let r = DateRange::parse(
            Some("7d"),
            None,
            NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        )
        .unwrap();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tuple = Dimension::Tuple(vec![
            Dimension::Time(Interval::Day),
            Dimension::Page,
            Dimension::Country,
        ]);
        assert_eq!(
            grouping(&names(&["time", "event:page", "visit:country_name"]), r).unwrap(),
            Grouping::Property(tuple.clone())
        );
        assert!(tuple.is_event_level());
        assert_eq!(tuple.to_string(), "time:day,event:page,visit:country");
        let key = Dimension::join_key(&names(&["1", "/a", "GB"]));
        assert_eq!(tuple.split_key(&key), names(&["1", "/a", "GB"]));
        assert_eq!(
            named(&names(&["event:page", "visit:country_name"])),
            vec![None, Some(Place::Country)]
        );
        for refused in [
            &["time:day", "time:week", "event:page"][..],
            &["event:page", "visit:shoe"],
            &["event:page"; MAX_DIMENSIONS + 1],
        ] {
            let e = grouping(&names(refused), r).unwrap_err();
            assert_eq!(e.field, "dimensions", "{refused:?}");
        }
    }

    #[test]
    fn what_the_model_cannot_say_is_refused_by_field() {
        for tree in [
            json!([["or", []]]),
            json!([["not", "and"]]),
            json!([["matches", "event:page", ["(unclosed"]]]),
            json!([["is", "visit:shoe", ["9"]]]),
            json!([["equals", "event:page", ["/a"]]]),
            json!([["is", "event:page", []]]),
        ] {
            assert_eq!(parse(tree.clone()).unwrap_err().field, "filters", "{tree}");
        }
    }

    #[test]
    fn periods_and_comparisons() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let r = date_range(&json!("28d"), today, 30).unwrap();
        assert_eq!(r.days(), 28);
        let r = date_range(&json!(["2026-11-02", "2026-11-08"]), today, 30).unwrap();
        let c = Comparisons {
            mode: "year_over_year".into(),
            date_range: None,
            match_day_of_week: true,
        };
        let yoy = compared(&c, r, today).unwrap();
        assert_eq!(yoy.first.weekday(), r.first.weekday());
        assert_eq!(yoy.days(), 7);
        assert!(date_range(&json!(["2026-11-02T00:00:00Z", "2026-11-08"]), today, 30).is_err());

        // Times of day: instants, both ends to the second, any offset.
        let (from, until) = instants(&json!([
            "2026-11-02T09:00:00+01:00",
            "2026-11-02T16:59:59.7Z"
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-02T08:00:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-11-02T17:00:00+00:00");
        assert_eq!(
            instants(&json!(["2026-11-02", "2026-11-08"])).unwrap(),
            None
        );
        assert_eq!(instants(&json!("7d")).unwrap(), None);
        for refused in [
            json!(["2026-11-02T00:00:00Z", "2026-11-08"]),
            json!(["2026-11-02T10:00:00", "2026-11-02T11:00:00"]),
            json!(["2026-11-02T10:00:00Z", "2026-11-02T09:00:00Z"]),
        ] {
            assert_eq!(
                instants(&refused).unwrap_err().field,
                "date_range",
                "{refused}"
            );
        }
        assert_eq!(
            grouping(&["time".into()], r).unwrap(),
            Grouping::Time(Interval::Day)
        );
    }
}
