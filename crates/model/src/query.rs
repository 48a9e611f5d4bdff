//! The query model: one value that says exactly what is being asked.
//!
//! Every Stats API request is parsed once into a [`Query`]; the store builds
//! its SQL from that value and nothing else. The parsing follows Plausible's
//! Stats API v1 (`period`, `date`, `metrics`, `property`, `filters`,
//! `interval`) so existing Plausible clients keep working.
//!
//! Dates are UTC days. A period is a half-open range of instants
//! `[from, to)`; the store never sees the text the caller sent.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
pub use chrono_tz::Tz;
use std::fmt;

/// Why a query was refused; the message is shown to the API caller as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    /// The request parameter at fault.
    pub field: &'static str,
    /// What is wrong with it, in words a caller can act on.
    pub message: String,
}

impl QueryError {
    /// A refusal of `field`, with the reason.
    pub fn new(field: &'static str, message: impl Into<String>) -> QueryError {
        err(field, message)
    }
}

fn err(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        field,
        message: message.into(),
    }
}

/// A number the dashboard and API report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Distinct daily visitor ids: people, as well as a privacy-first tool can count them.
    Visitors,
    /// Sessions: a visitor's events with gaps under 30 minutes.
    Visits,
    /// Page views.
    Pageviews,
    /// Page views per visit.
    ViewsPerVisit,
    /// Share of visits, in percent, with at most one interactive event.
    BounceRate,
    /// Mean visit length in seconds (last event minus first).
    VisitDuration,
    /// All events, page views included (as Plausible counts them).
    Events,
    /// How far down a page its readers scrolled: the deepest point each
    /// visitor reached on the page, in percent, averaged over visitors.
    /// Read from engagement events; per page, as in Plausible.
    ScrollDepth,
    /// How long a page was read: each visitor's engaged seconds on the page
    /// summed, averaged over visitors. Read from engagement events; per page.
    TimeOnPage,
    /// Percent of all visitors (under the other filters) who completed the
    /// goals filtered on, or the row's goal in a breakdown by `event:goal`.
    ConversionRate,
    /// In a breakdown by another property: percent of the row's visitors
    /// who completed the goals filtered on.
    GroupConversionRate,
    /// Revenue of the goal's completions, in the goal's currency.
    TotalRevenue,
    /// Revenue per completion that carried revenue, in the goal's currency.
    AverageRevenue,
}

impl Metric {
    /// Every metric, in the order they are usually shown.
    pub const ALL: [Metric; 13] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Events,
        Metric::ScrollDepth,
        Metric::TimeOnPage,
        Metric::ConversionRate,
        Metric::GroupConversionRate,
        Metric::TotalRevenue,
        Metric::AverageRevenue,
    ];

    /// The metrics counted from page views and custom events, any property
    /// at a time (what the daily roll-ups keep).
    pub const COUNTS: [Metric; 7] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::Events,
    ];

    /// Whether the metric is read from engagement events, page by page.
    pub fn is_engagement(self) -> bool {
        matches!(self, Metric::ScrollDepth | Metric::TimeOnPage)
    }

    /// Whether the metric sums money: never shared with another
    /// organisation, since `k` and ε protect counts of people, not amounts.
    pub fn is_revenue(self) -> bool {
        matches!(self, Metric::TotalRevenue | Metric::AverageRevenue)
    }

    /// Whether the metric compares goal completions with all visitors.
    pub fn is_conversion(self) -> bool {
        matches!(self, Metric::ConversionRate | Metric::GroupConversionRate)
    }

    /// The name used in the API.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
            Metric::ViewsPerVisit => "views_per_visit",
            Metric::BounceRate => "bounce_rate",
            Metric::VisitDuration => "visit_duration",
            Metric::Events => "events",
            Metric::ScrollDepth => "scroll_depth",
            Metric::TimeOnPage => "time_on_page",
            Metric::ConversionRate => "conversion_rate",
            Metric::GroupConversionRate => "group_conversion_rate",
            Metric::TotalRevenue => "total_revenue",
            Metric::AverageRevenue => "average_revenue",
        }
    }

    /// Parses an API metric name.
    pub fn parse(s: &str) -> Result<Metric, QueryError> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                err(
                    "metrics",
                    format!(
                        "unknown metric {s:?}; use one of {}",
                        Metric::ALL.map(Metric::name).join(", ")
                    ),
                )
            })
    }

    /// Parses a comma-separated list, defaulting to visitors as Plausible does.
    pub fn parse_list(s: Option<&str>) -> Result<Vec<Metric>, QueryError> {
        let Some(s) = s.filter(|s| !s.trim().is_empty()) else {
            return Ok(vec![Metric::Visitors]);
        };
        let mut out = Vec::new();
        for part in s.split(',') {
            let m = Metric::parse(part.trim())?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        Ok(out)
    }
}

/// Something results can be broken down or filtered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Path of the page an event happened on.
    Page,
    /// First page of the visit.
    EntryPage,
    /// Last page of the visit.
    ExitPage,
    /// Host of the visit's first page view.
    EntryPageHostname,
    /// Host of the visit's last page view.
    ExitPageHostname,
    /// Host the event happened on.
    Hostname,
    /// Where the visit came from: a named source or a referring host.
    Source,
    /// Referring host and path.
    Referrer,
    /// The acquisition channel (`Organic Search`, `Email`…), worked out
    /// from the source and UTM tags by [`crate::channel`].
    Channel,
    /// `utm_source` of the visit's landing URL.
    UtmSource,
    /// `utm_medium`.
    UtmMedium,
    /// `utm_campaign`.
    UtmCampaign,
    /// `utm_content`.
    UtmContent,
    /// `utm_term`.
    UtmTerm,
    /// Browser family.
    Browser,
    /// Browser major.minor version.
    BrowserVersion,
    /// Operating system family.
    Os,
    /// Operating system version.
    OsVersion,
    /// Desktop, Mobile or Tablet.
    Device,
    /// ISO 3166-1 alpha-2 country code.
    Country,
    /// ISO 3166-2 code of the first-level region (`GB-SCT`, `DE-BY`).
    Region,
    /// Event name (`pageview` or a custom one).
    EventName,
    /// A custom event property, by key.
    EventProp(String),
    /// The site's goals (`event:goal`): as a filter, the goals it picks; as
    /// a breakdown, all of them. Parsed empty and filled from the site's
    /// configuration by [`crate::Question::resolve_goals`].
    Goal(Vec<crate::goal::Goal>),
    /// A page view's step in its journey: the page viewed before it (site
    /// and path) and its own path. Used by the aggregate tier to keep daily
    /// transitions; not a Stats API property.
    Transition,
    /// Only as a filter, its one value a UTC midnight in microseconds: the
    /// visits with events on both sides of it. Used by the aggregate tier
    /// to count such visits once over several days; not a Stats API property.
    OverMidnight,
    /// Several dimensions at once (v2's list of `dimensions`): a row per
    /// combination of their values that occurs, so a connector can ask for
    /// pages per source, or sources per day, in one question. A row's key
    /// holds the parts' values in order ([`Dimension::join_key`]).
    Tuple(Vec<Dimension>),
    /// Only as a part of a [`Dimension::Tuple`]: the local time bucket an
    /// event falls in, its value the bucket's local start in microseconds
    /// since the epoch (as a time series' keys).
    Time(Interval),
}

/// Separates the parts' values in the key of a [`Dimension::Tuple`] row:
/// a control character, which the store removes from the parts' values
/// before joining them, so that a key always splits back into its parts.
pub const PART_SEPARATOR: char = '\u{1e}';

impl Dimension {
    /// Parses a Plausible property such as `event:page` or `visit:source`.
    pub fn parse(s: &str) -> Result<Dimension, QueryError> {
        if let Some(key) = s.strip_prefix("event:props:") {
            if key.is_empty() || key.len() > 300 {
                return Err(err("property", "event:props: needs a property key"));
            }
            return Ok(Dimension::EventProp(key.to_string()));
        }
        Ok(match s {
            "event:page" => Dimension::Page,
            "event:hostname" => Dimension::Hostname,
            "event:name" => Dimension::EventName,
            "event:goal" => Dimension::Goal(Vec::new()),
            "visit:entry_page" => Dimension::EntryPage,
            "visit:exit_page" => Dimension::ExitPage,
            "visit:entry_page_hostname" => Dimension::EntryPageHostname,
            "visit:exit_page_hostname" => Dimension::ExitPageHostname,
            "visit:source" => Dimension::Source,
            "visit:referrer" => Dimension::Referrer,
            "visit:channel" => Dimension::Channel,
            "visit:utm_source" => Dimension::UtmSource,
            "visit:utm_medium" => Dimension::UtmMedium,
            "visit:utm_campaign" => Dimension::UtmCampaign,
            "visit:utm_content" => Dimension::UtmContent,
            "visit:utm_term" => Dimension::UtmTerm,
            "visit:browser" => Dimension::Browser,
            "visit:browser_version" => Dimension::BrowserVersion,
            "visit:os" => Dimension::Os,
            "visit:os_version" => Dimension::OsVersion,
            "visit:device" => Dimension::Device,
            "visit:country" => Dimension::Country,
            "visit:region" => Dimension::Region,
            "visit:city" | "visit:city_name" => {
                return Err(err(
                    "property",
                    format!("{s}: glasshouse keeps no cities, by design (the town is dropped with the address); visit:country and visit:region are kept"),
                ))
            }
            _ => {
                return Err(err(
                    "property",
                    format!(
                    "unknown property {s:?}; use e.g. event:page, visit:source, event:props:KEY"
                ),
                ))
            }
        })
    }

    /// The key of this dimension in breakdown rows, as Plausible names it.
    pub fn result_key(&self) -> &str {
        match self {
            Dimension::Page => "page",
            Dimension::EntryPage => "entry_page",
            Dimension::ExitPage => "exit_page",
            Dimension::EntryPageHostname => "entry_page_hostname",
            Dimension::ExitPageHostname => "exit_page_hostname",
            Dimension::Hostname => "hostname",
            Dimension::Source => "source",
            Dimension::Referrer => "referrer",
            Dimension::Channel => "channel",
            Dimension::UtmSource => "utm_source",
            Dimension::UtmMedium => "utm_medium",
            Dimension::UtmCampaign => "utm_campaign",
            Dimension::UtmContent => "utm_content",
            Dimension::UtmTerm => "utm_term",
            Dimension::Browser => "browser",
            Dimension::BrowserVersion => "browser_version",
            Dimension::Os => "os",
            Dimension::OsVersion => "os_version",
            Dimension::Device => "device",
            Dimension::Country => "country",
            Dimension::Region => "region",
            Dimension::EventName => "name",
            Dimension::Transition => "transition",
            Dimension::OverMidnight => "over_midnight",
            Dimension::EventProp(key) => key,
            Dimension::Goal(_) => "goal",
            Dimension::Tuple(_) => "dimensions",
            Dimension::Time(_) => "time",
        }
    }

    /// The dimensions this one is made of: a tuple's parts, else itself.
    pub fn parts(&self) -> &[Dimension] {
        match self {
            Dimension::Tuple(parts) => parts,
            one => std::slice::from_ref(one),
        }
    }

    /// A row key of this dimension from its parts' values (for a single
    /// dimension, its one value).
    pub fn join_key(values: &[String]) -> String {
        values.join(&PART_SEPARATOR.to_string())
    }

    /// A row key of this dimension split into its parts' values, one per
    /// part (a single dimension's key is its one value).
    pub fn split_key(&self, key: &str) -> Vec<String> {
        match self {
            Dimension::Tuple(parts) => {
                let mut out: Vec<String> = key
                    .splitn(parts.len(), PART_SEPARATOR)
                    .map(str::to_string)
                    .collect();
                out.resize(parts.len(), String::new());
                out
            }
            _ => vec![key.to_string()],
        }
    }

    /// True when the value belongs to one event rather than to the whole visit.
    /// Event dimensions are filtered per event; visit dimensions per visit.
    pub fn is_event_level(&self) -> bool {
        match self {
            Dimension::Tuple(parts) => parts.iter().any(Dimension::is_event_level),
            d => matches!(
                d,
                Dimension::Page
                    | Dimension::Hostname
                    | Dimension::EventName
                    | Dimension::EventProp(_)
                    | Dimension::Transition
                    | Dimension::Goal(_)
                    | Dimension::Time(_)
            ),
        }
    }

    /// Whether the value is known only from the visit's events together
    /// (its last page, the hosts of its first and last pages): the store
    /// works it out per visit, and a filter on it is one on visits.
    pub fn is_of_whole_visit(&self) -> bool {
        matches!(
            self,
            Dimension::ExitPage | Dimension::EntryPageHostname | Dimension::ExitPageHostname
        )
    }

    /// Whether this is `event:goal`, resolved or not.
    pub fn is_goal(&self) -> bool {
        matches!(self, Dimension::Goal(_))
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::EventProp(k) => write!(f, "event:props:{k}"),
            Dimension::Tuple(parts) => {
                let names: Vec<String> = parts.iter().map(Dimension::to_string).collect();
                write!(f, "{}", names.join(","))
            }
            Dimension::Time(i) => write!(f, "time:{}", i.name()),
            Dimension::Page
            | Dimension::Hostname
            | Dimension::EventName
            | Dimension::Transition
            | Dimension::Goal(_) => {
                write!(f, "event:{}", self.result_key())
            }
            _ => write!(f, "visit:{}", self.result_key()),
        }
    }
}

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// Equal to one of the values (`*` and `**` wildcards allowed for pages).
    Is,
    /// Equal to none of the values.
    IsNot,
    /// Contains one of the values as a substring (case-insensitive).
    Contains,
    /// Contains none of the values.
    DoesNotContain,
    /// Matches one of the values as a regular expression, anywhere in the
    /// value (RE2 syntax, as Plausible's v2 `matches`).
    Matches,
    /// Matches none of the values.
    DoesNotMatch,
}

impl FilterOp {
    /// Whether the operator keeps what does not match its values.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            FilterOp::IsNot | FilterOp::DoesNotContain | FilterOp::DoesNotMatch
        )
    }

    /// How the operator is written in v1 filters and the audit log
    /// (`=~` and `!=~` for v2's matches, which v1 cannot write).
    pub fn symbol(self) -> &'static str {
        match self {
            FilterOp::Is => "==",
            FilterOp::IsNot => "!=",
            FilterOp::Contains => "~",
            FilterOp::DoesNotContain => "!~",
            FilterOp::Matches => "=~",
            FilterOp::DoesNotMatch => "!=~",
        }
    }

    /// The operator keeping exactly what this one drops.
    pub fn negated(self) -> FilterOp {
        match self {
            FilterOp::Is => FilterOp::IsNot,
            FilterOp::IsNot => FilterOp::Is,
            FilterOp::Contains => FilterOp::DoesNotContain,
            FilterOp::DoesNotContain => FilterOp::Contains,
            FilterOp::Matches => FilterOp::DoesNotMatch,
            FilterOp::DoesNotMatch => FilterOp::Matches,
        }
    }
}

/// Longest regular expression a filter may hold, and the most memory its
/// compiled form may take: enough for any real page pattern.
pub const MAX_PATTERN_BYTES: usize = 1000;

/// Checks a `matches` pattern before it reaches the store, so that a
/// malformed one is a 400 naming the filter rather than a database error.
pub fn check_pattern(pattern: &str) -> Result<(), QueryError> {
    compile_pattern(pattern).map(|_| ())
}

/// A caller's pattern, compiled under the same limits as [`check_pattern`],
/// for what is matched here rather than in the store (goal and place names).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, QueryError> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(err(
            "filters",
            format!("a pattern may be at most {MAX_PATTERN_BYTES} bytes"),
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            err(
                "filters",
                format!("{pattern:?} is not a regular expression: {e}"),
            )
        })
}

/// One condition on a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    /// What is compared.
    pub dimension: Dimension,
    /// How.
    pub op: FilterOp,
    /// With what; several values mean "any of these".
    pub values: Vec<String>,
}

impl Filter {
    /// Whether this is "Goal is not" (`event:goal` with a negative operator).
    pub fn is_goal_negation(&self) -> bool {
        self.dimension.is_goal() && self.op.is_negative()
    }

    /// Parses Plausible v1 filters: `event:page==/a|/b;visit:country!=GB;event:page~blog`.
    /// `==` is, `!=` is not, `~` contains, `!~` does not contain; `|` separates
    /// alternatives (write `\|` for a literal bar).
    pub fn parse_list(s: Option<&str>) -> Result<Vec<Filter>, QueryError> {
        let Some(s) = s.filter(|s| !s.trim().is_empty()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (prop, op, rest) = if let Some(i) = part.find("!=") {
                (&part[..i], FilterOp::IsNot, &part[i + 2..])
            } else if let Some(i) = part.find("==") {
                (&part[..i], FilterOp::Is, &part[i + 2..])
            } else if let Some(i) = part.find("!~") {
                (&part[..i], FilterOp::DoesNotContain, &part[i + 2..])
            } else if let Some(i) = part.find('~') {
                (&part[..i], FilterOp::Contains, &part[i + 1..])
            } else {
                return Err(err(
                    "filters",
                    format!("{part:?} has no operator; use ==, !=, ~ or !~"),
                ));
            };
            let dimension = Dimension::parse(prop.trim()).map_err(|e| err("filters", e.message))?;
            let values = split_alternatives(rest);
            if values.iter().any(|v| v.len() > 2000) || values.len() > 100 {
                return Err(err("filters", "filter values are too long or too many"));
            }
            out.push(Filter {
                dimension,
                op,
                values,
            });
        }
        if out.len() > 20 {
            return Err(err("filters", "at most 20 filters"));
        }
        Ok(out)
    }
}

/// Filters joined by `and` and `or`: what Plausible's v2 filter tree can
/// say and a list of filters cannot, such as an `or` across properties or
/// over negative operators. Negations are already moved onto the filters'
/// operators (De Morgan), so a condition holds for an event exactly when
/// each of its filters, read on that event and its visit, makes it hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// One filter.
    One(Filter),
    /// Every part holds.
    All(Vec<Condition>),
    /// At least one part holds.
    Any(Vec<Condition>),
    /// The visit has an event where the condition holds (Plausible's
    /// `has_done`): it keeps or drops whole visits.
    Done(Box<Condition>),
    /// The visit has no event where the condition holds (`has_not_done`).
    NotDone(Box<Condition>),
}

impl Condition {
    /// The condition holding exactly where this one does not.
    pub fn negated(self) -> Condition {
        match self {
            Condition::One(f) => Condition::One(Filter {
                op: f.op.negated(),
                ..f
            }),
            Condition::All(parts) => {
                Condition::Any(parts.into_iter().map(Condition::negated).collect())
            }
            Condition::Any(parts) => {
                Condition::All(parts.into_iter().map(Condition::negated).collect())
            }
            Condition::Done(c) => Condition::NotDone(c),
            Condition::NotDone(c) => Condition::Done(c),
        }
    }

    /// Every filter in the condition, in order.
    pub fn filters(&self) -> Vec<&Filter> {
        match self {
            Condition::One(f) => vec![f],
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().flat_map(Condition::filters).collect()
            }
            Condition::Done(c) | Condition::NotDone(c) => c.filters(),
        }
    }

    /// Every filter in the condition, to be completed in place (goals).
    pub fn filters_mut(&mut self) -> Vec<&mut Filter> {
        match self {
            Condition::One(f) => vec![f],
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter_mut().flat_map(Condition::filters_mut).collect()
            }
            Condition::Done(c) | Condition::NotDone(c) => c.filters_mut(),
        }
    }

    /// A negated goal filter (`One`) as `has_not_done` of the positive one.
    fn not_done(self) -> Condition {
        Condition::NotDone(Box::new(self.negated()))
    }

    /// See [`Filtering::goals_not_done`].
    fn goals_not_done(&mut self) {
        match self {
            Condition::One(f) if f.is_goal_negation() => {
                *self = Condition::One(f.clone()).not_done();
            }
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter_mut().for_each(Condition::goals_not_done)
            }
            Condition::One(_) | Condition::Done(_) | Condition::NotDone(_) => {}
        }
    }

    /// Whether the condition reads only properties of the visit, so that
    /// it keeps or drops whole visits as a visit filter does.
    pub fn is_visit_level(&self) -> bool {
        match self {
            Condition::One(f) => !f.dimension.is_event_level(),
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().all(Condition::is_visit_level)
            }
            Condition::Done(_) | Condition::NotDone(_) => true,
        }
    }
}

/// What a filter tree says: filters that all hold, and conditions (an `or`
/// across properties or over negative operators, `has_done`) that hold
/// too. A v2 query's filters and a saved segment are read into one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filtering {
    /// Filters every counted event or visit meets.
    pub filters: Vec<Filter>,
    /// Conditions beyond them, for `Query::conditions`.
    pub conditions: Vec<Condition>,
}

impl Filtering {
    /// Reads "Goal is not" (see [`Filtering::goals_not_done`]), then fills
    /// each `event:goal` filter with the site's goals it picks. A goal
    /// filter takes `is`, `contains` or (from v2's case rules, `v2.rs`)
    /// `matches`.
    pub fn resolve_goals(&mut self, goals: &[crate::goal::Goal]) -> Result<(), QueryError> {
        self.goals_not_done();
        let within = self.conditions.iter_mut().flat_map(Condition::filters_mut);
        for f in self.filters.iter_mut().chain(within) {
            if f.dimension.is_goal() {
                let naming = match f.op {
                    FilterOp::Is => crate::goal::Naming::Exact,
                    FilterOp::Contains => crate::goal::Naming::Part,
                    FilterOp::Matches => crate::goal::Naming::Pattern,
                    _ => return Err(QueryError::new(
                        "filters",
                        "event:goal takes is (==) or contains (~) inside has_done and has_not_done",
                    )),
                };
                f.dimension = Dimension::Goal(crate::goal::pick(goals, naming, &f.values)?);
            }
        }
        Ok(())
    }

    /// Reads a goal filter with a negative operator as Plausible's
    /// dashboard reads "Goal is not": the visits that did not complete
    /// the goal (`has_not_done` of the positive filter), not the events
    /// that are not its conversions, which would be nearly every event.
    /// Inside `has_done` and `has_not_done` a goal filter stays as it is.
    pub fn goals_not_done(&mut self) {
        let (not_done, kept): (Vec<Filter>, Vec<Filter>) = std::mem::take(&mut self.filters)
            .into_iter()
            .partition(Filter::is_goal_negation);
        self.filters = kept;
        for c in &mut self.conditions {
            c.goals_not_done();
        }
        self.conditions
            .extend(not_done.into_iter().map(|f| Condition::One(f).not_done()));
    }
}

/// `(visit:source==Google or event:page==/a|/b)`, `has_done(event:name==A)`,
/// as the audit log and
/// refusals name a condition; `value` shows each value.
pub fn describe_condition(c: &Condition, value: &dyn Fn(&str) -> String) -> String {
    let join = |parts: &[Condition], word: &str| {
        let said: Vec<String> = parts.iter().map(|p| describe_condition(p, value)).collect();
        format!("({})", said.join(word))
    };
    match c {
        Condition::One(f) => {
            let values: Vec<String> = f.values.iter().map(|v| value(v)).collect();
            format!(
                "{}{}{}",
                value(&f.dimension.to_string()),
                f.op.symbol(),
                values.join("|")
            )
        }
        Condition::All(parts) => join(parts, " and "),
        Condition::Any(parts) => join(parts, " or "),
        Condition::Done(inner) | Condition::NotDone(inner) => {
            let what = match inner.as_ref() {
                Condition::One(_) => join(std::slice::from_ref(inner), ""),
                _ => describe_condition(inner, value),
            };
            let word = match c {
                Condition::Done(_) => "has_done",
                _ => "has_not_done",
            };
            format!("{word}{what}")
        }
    }
}

fn split_alternatives(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                out.last_mut().expect("never empty").push('|');
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

/// The label Plausible uses for visits without a source.
pub const DIRECT: &str = "Direct / None";
/// The label for events that lack the property broken down by.
pub const NONE: &str = "(none)";

/// The value stored for a label shown to callers (`Direct / None` is a
/// source that is empty, `(none)` a property that is missing).
pub fn stored_value(dim: &Dimension, shown: &str) -> String {
    match (dim, shown) {
        (Dimension::Source, DIRECT) => String::new(),
        (Dimension::EventProp(_), NONE) => String::new(),
        _ => shown.to_string(),
    }
}

/// Turns a page pattern into a regular expression (RE2 and Rust's
/// `regex` alike): `**` matches anything, `*` anything but `/`,
/// everything else literally.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                out.push_str(".*");
            } else {
                out.push_str("[^/]*");
            }
        } else {
            push_literal(&mut out, c);
        }
    }
    out.push('$');
    out
}

/// A regular expression matching `text` itself, anywhere in a value.
pub fn literal_regex(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        push_literal(&mut out, c);
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() && c != '/' && c != '-' && c != '_' {
        out.push('\\');
        out.push(c);
    } else if c.is_control() {
        // RE2 escapes only punctuation with a backslash; the rest by code.
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    } else {
        // Letters, digits and other text (any script) match themselves.
        out.push(c);
    }
}

/// Whether `path` matches a page pattern: `**` matches anything, `*`
/// anything but `/`, every other character itself (the patterns of page
/// filters and page goals; [`wildcard_regex`] is the same as a pattern).
pub fn wildcard_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') if p.get(1) == Some(&'*') => (0..=s.len()).any(|i| go(&p[2..], &s[i..])),
            Some('*') => (0..=s.len())
                .take_while(|i| *i == 0 || s[i - 1] != '/')
                .any(|i| go(&p[1..], &s[i..])),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    go(&p, &s)
}

/// Width of a timeseries bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
    /// An ISO week, starting Monday.
    Week,
    /// A calendar month.
    Month,
}

impl Interval {
    /// Its name, as `parse` and v2's `time:` dimensions spell it.
    pub fn name(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// Parses `hour`, `day` (or Plausible's `date`), `week`, `month`.
    pub fn parse(s: &str) -> Result<Interval, QueryError> {
        match s {
            "hour" => Ok(Interval::Hour),
            "day" | "date" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            _ => Err(err(
                "interval",
                format!("unknown interval {s:?}; use hour, day, week or month"),
            )),
        }
    }

    /// The start of the bucket that holds `t`, in the site's time zone:
    /// days, weeks and months begin at local midnight, hours on the local
    /// hour (the repeated hour of an autumn clock change is one bucket).
    pub fn bucket_start(self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = t.with_timezone(&tz).naive_local();
        let d = local.date();
        let start = match self {
            Interval::Hour => d.and_hms_opt(local.hour(), 0, 0).expect("an hour"),
            Interval::Day => d.and_time(chrono::NaiveTime::MIN),
            Interval::Week => (d - Duration::days(d.weekday().num_days_from_monday() as i64))
                .and_time(chrono::NaiveTime::MIN),
            Interval::Month => d
                .with_day(1)
                .expect("day 1")
                .and_time(chrono::NaiveTime::MIN),
        };
        local_instant(start, tz)
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = start.with_timezone(&tz).naive_local();
        let next = match self {
            Interval::Hour => local + Duration::hours(1),
            Interval::Day => local + Duration::days(1),
            Interval::Week => local + Duration::weeks(1),
            Interval::Month => {
                let d = local.date();
                let (y, m) = if d.month() == 12 {
                    (d.year() + 1, 1)
                } else {
                    (d.year(), d.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
                    .expect("valid month")
                    .and_time(chrono::NaiveTime::MIN)
            }
        };
        let at = local_instant(next, tz);
        // An hour that repeats (autumn) or is skipped (spring) still moves on.
        if at <= start {
            start + Duration::hours(1)
        } else {
            at
        }
    }

    /// How a bucket is labelled in API answers (Plausible's formats), in
    /// the site's local time.
    pub fn label(self, start: DateTime<Utc>, tz: Tz) -> String {
        let local = start.with_timezone(&tz);
        match self {
            Interval::Hour => local.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => local.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The first instant at or after the local time `local` in `tz`: the
/// earlier of two in an autumn repeat, the end of the gap in a spring one.
pub fn local_instant(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..8 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

/// The instant the day `d` begins in `tz` (its local midnight).
pub fn day_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_instant(d.and_time(chrono::NaiveTime::MIN), tz)
}

/// The local day of an instant in `tz`.
pub fn day_of(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// What a period is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// The days just before, as many as the period has.
    PreviousPeriod,
    /// The same days a year earlier.
    YearOverYear,
    /// Days of the caller's choosing (v2's `custom`, and the shifted days of
    /// `match_day_of_week`).
    Custom(DateRange),
}

impl Comparison {
    /// Parses Plausible's `previous_period` and `year_over_year`.
    pub fn parse(s: &str) -> Result<Comparison, QueryError> {
        match s {
            "previous_period" => Ok(Comparison::PreviousPeriod),
            "year_over_year" => Ok(Comparison::YearOverYear),
            other => Err(err(
                "compare",
                format!("unknown value {other:?}; use previous_period or year_over_year"),
            )),
        }
    }

    /// The name used in the API.
    pub fn name(self) -> &'static str {
        match self {
            Comparison::PreviousPeriod => "previous_period",
            Comparison::YearOverYear => "year_over_year",
            Comparison::Custom(_) => "custom",
        }
    }

    /// The days `range` is compared with.
    pub fn range(self, range: DateRange) -> DateRange {
        match self {
            Comparison::PreviousPeriod => range.previous(),
            Comparison::YearOverYear => range.year_earlier(),
            Comparison::Custom(other) => other,
        }
    }
}

/// Midnight UTC at the start of `d`.
pub fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// A span of whole UTC days, inclusive at both ends, as callers name periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    /// First day.
    pub first: NaiveDate,
    /// Last day (inclusive).
    pub last: NaiveDate,
}

impl DateRange {
    /// Resolves Plausible's `period` and `date` against today.
    /// `day` is the given date (today by default); `7d`/`30d`/`6mo`/`12mo` end
    /// on it; `month` and `year` are the calendar ones holding it; `custom`
    /// takes `date=YYYY-MM-DD,YYYY-MM-DD`.
    pub fn parse(
        period: Option<&str>,
        date: Option<&str>,
        today: NaiveDate,
    ) -> Result<DateRange, QueryError> {
        let period = period.unwrap_or("30d");
        let anchor = |date: Option<&str>| -> Result<NaiveDate, QueryError> {
            match date {
                None | Some("") | Some("today") => Ok(today),
                Some(s) => parse_date(s, "date"),
            }
        };
        let range = match period {
            "day" => {
                let d = anchor(date)?;
                DateRange { first: d, last: d }
            }
            "7d" | "30d" | "6mo" | "12mo" => {
                let last = anchor(date)?;
                let first = match period {
                    "7d" => last - Duration::days(6),
                    "30d" => last - Duration::days(29),
                    "6mo" => months_back(last.with_day(1).expect("day 1"), 5),
                    _ => months_back(last.with_day(1).expect("day 1"), 11),
                };
                DateRange { first, last }
            }
            "month" => {
                let d = anchor(date)?;
                let first = d.with_day(1).expect("day 1");
                let last = months_back(first, -1) - Duration::days(1);
                DateRange { first, last }
            }
            "year" => {
                let d = anchor(date)?;
                DateRange {
                    first: NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("jan 1"),
                    last: NaiveDate::from_ymd_opt(d.year(), 12, 31).expect("dec 31"),
                }
            }
            "custom" => {
                let s = date
                    .ok_or_else(|| err("date", "period=custom needs date=YYYY-MM-DD,YYYY-MM-DD"))?;
                let (a, b) = s
                    .split_once(',')
                    .ok_or_else(|| err("date", "period=custom needs date=YYYY-MM-DD,YYYY-MM-DD"))?;
                let (first, last) = (parse_date(a.trim(), "date")?, parse_date(b.trim(), "date")?);
                if first > last {
                    return Err(err("date", "the first date is after the last"));
                }
                DateRange { first, last }
            }
            other => {
                return Err(err(
                    "period",
                    format!(
                    "unknown period {other:?}; use day, 7d, 30d, month, 6mo, 12mo, year or custom"
                ),
                ))
            }
        };
        if (range.last - range.first).num_days() > 3660 {
            return Err(err("date", "a period may span at most ten years"));
        }
        Ok(range)
    }

    /// The first instant of the range.
    pub fn from(&self) -> DateTime<Utc> {
        midnight(self.first)
    }

    /// The instant just after the range.
    pub fn until(&self) -> DateTime<Utc> {
        midnight(self.last) + Duration::days(1)
    }

    /// Number of days covered.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    /// The range of the same length that ends the day before this one starts.
    pub fn previous(&self) -> DateRange {
        let last = self.first - Duration::days(1);
        DateRange {
            first: last - Duration::days(self.days() - 1),
            last,
        }
    }

    /// The same days one year earlier (29 February becomes the 28th).
    pub fn year_earlier(&self) -> DateRange {
        let back = |d: NaiveDate| {
            d.with_year(d.year() - 1)
                .or_else(|| (d - Duration::days(1)).with_year(d.year() - 1))
                .expect("a day a year earlier exists")
        };
        DateRange {
            first: back(self.first),
            last: back(self.last),
        }
    }

    /// The interval Plausible would pick for this range.
    pub fn default_interval(&self) -> Interval {
        match self.days() {
            1 => Interval::Hour,
            d if d <= 92 => Interval::Day,
            _ => Interval::Month,
        }
    }
}

fn months_back(first_of_month: NaiveDate, n: i32) -> NaiveDate {
    let total = first_of_month.year() * 12 + first_of_month.month0() as i32 - n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

/// The first day a question may name: before it there is no web analytics
/// to ask about, and bounding dates keeps all date arithmetic in range.
pub const EARLIEST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The last day a question may name.
pub const LATEST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

fn parse_date(s: &str, field: &'static str) -> Result<NaiveDate, QueryError> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| err(field, format!("{s:?} is not a date like 2024-01-31")))?;
    if !(EARLIEST_DAY..=LATEST_DAY).contains(&d) {
        return Err(err(
            field,
            format!("{s:?} is outside {EARLIEST_DAY} to {LATEST_DAY}"),
        ));
    }
    Ok(d)
}

/// A question about one site's traffic, exactly as it will be executed.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Host of the site, the Stats API's `site_id`.
    pub site: String,
    /// Instants covered, `[from, until)`.
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub until: DateTime<Utc>,
    /// The site's time zone: days, hours, weeks and months are local.
    pub tz: Tz,
    /// Numbers wanted.
    pub metrics: Vec<Metric>,
    /// Conditions every counted event or visit must meet.
    pub filters: Vec<Filter>,
    /// Conditions beyond the filters (an `or` across properties), each of
    /// which must hold too; empty for every v1 question.
    pub conditions: Vec<Condition>,
    /// How a breakdown's rows are ordered, before ties go by their key;
    /// empty: by the first metric, largest first (v1's only order).
    pub order: Vec<OrderKey>,
}

/// One key of a breakdown's order (an entry of v2's `order_by`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderKey {
    /// What rows are compared on.
    pub on: Ordered,
    /// Largest (latest, last in byte order) first.
    pub descending: bool,
}

/// What a breakdown's rows can be ordered on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ordered {
    /// A metric the store counts ([`Metric::COUNTS`]).
    Metric(Metric),
    /// The value of the breakdown's `n`th dimension (0 for a single one):
    /// text in byte order, time in time order.
    Part(usize),
}

impl Query {
    /// A query over whole UTC days.
    pub fn for_range(
        site: &str,
        range: DateRange,
        metrics: Vec<Metric>,
        filters: Vec<Filter>,
    ) -> Query {
        Query::for_range_in(site, range, Tz::UTC, metrics, filters)
    }

    /// A query over whole days of the site's time zone `tz`.
    pub fn for_range_in(
        site: &str,
        range: DateRange,
        tz: Tz,
        metrics: Vec<Metric>,
        filters: Vec<Filter>,
    ) -> Query {
        Query {
            site: site.to_string(),
            from: day_start(range.first, tz),
            until: day_start(range.last + Duration::days(1), tz),
            tz,
            metrics,
            filters,
            conditions: Vec::new(),
            order: Vec::new(),
        }
    }

    /// The same question over other whole days of the site (a compared
    /// period).
    pub fn over(&self, range: DateRange) -> Query {
        Query {
            from: self.day_start(range.first),
            until: self.day_start(range.last + Duration::days(1)),
            ..self.clone()
        }
    }

    /// The period `c` compares this one with. Whole days are compared with
    /// the days `c` names; times of day (v2) with the same span just
    /// before (`previous_period`) or the same local times a year earlier,
    /// and with the days of a custom comparison.
    pub fn compared(&self, c: &Comparison) -> Query {
        if self.whole_days() || matches!(c, Comparison::Custom(_)) {
            return self.over(c.range(self.range()));
        }
        let (from, until) = match c {
            Comparison::PreviousPeriod => (self.from - (self.until - self.from), self.from),
            _ => {
                let year_before = |t: DateTime<Utc>| {
                    let local = t.with_timezone(&self.tz).naive_local();
                    let then = local
                        .checked_sub_months(chrono::Months::new(12))
                        .unwrap_or(local);
                    local_instant(then, self.tz)
                };
                (year_before(self.from), year_before(self.until))
            }
        };
        Query {
            from,
            until,
            ..self.clone()
        }
    }

    /// The instant local day `d` begins for this query's site.
    pub fn day_start(&self, d: NaiveDate) -> DateTime<Utc> {
        day_start(d, self.tz)
    }

    /// The local day of `t` for this query's site.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        day_of(t, self.tz)
    }

    /// The start of every `interval` bucket of the period, in order: the
    /// buckets a time series lists, empty ones included.
    pub fn buckets(&self, interval: Interval) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut at = interval.bucket_start(self.from, self.tz);
        while at < self.until {
            out.push(at);
            at = interval.next(at, self.tz);
        }
        out
    }

    /// Whether the query covers whole local days (not times of day, which
    /// only raw events can answer).
    pub fn whole_days(&self) -> bool {
        self.from == self.day_start(self.day_of(self.from))
            && self.until == self.day_start(self.day_of(self.until))
    }

    /// Every filter the question applies: its list, then those within its
    /// conditions.
    pub fn every_filter(&self) -> impl Iterator<Item = &Filter> {
        self.filters
            .iter()
            .chain(self.conditions.iter().flat_map(Condition::filters))
    }

    /// Whether anything filters the question's events.
    pub fn is_filtered(&self) -> bool {
        !self.filters.is_empty() || !self.conditions.is_empty()
    }

    /// The local days covered, as asked.
    pub fn range(&self) -> DateRange {
        DateRange {
            first: self.day_of(self.from),
            last: self.day_of(self.until - Duration::microseconds(1)),
        }
    }
}

/// Limits breakdown pages so one request cannot ask for everything at once.
pub const MAX_BREAKDOWN_LIMIT: usize = 1000;

/// The most rows of a Stats API v2 page, and the default: Plausible's, so
/// that a v2 client asking for 10,000 rows at once is answered, not refused.
pub const MAX_V2_LIMIT: usize = 10_000;

/// The furthest row a breakdown page may start at: far beyond any real
/// breakdown, and small enough that `page × limit` never overflows.
pub const MAX_BREAKDOWN_OFFSET: usize = 10_000_000;

/// The first row of breakdown page `page` (from 1) of `limit` rows.
pub fn breakdown_offset(page: usize, limit: usize) -> Result<usize, QueryError> {
    page.checked_sub(1)
        .and_then(|p| p.checked_mul(limit))
        .filter(|o| *o <= MAX_BREAKDOWN_OFFSET)
        .ok_or_else(|| {
            err(
                "page",
                format!("a page from 1 whose rows start at most {MAX_BREAKDOWN_OFFSET} rows in"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_compared_with_the_span_before_or_the_same_times_a_year_earlier() {
        let tz = Tz::Europe__London;
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let at = |d: NaiveDate, h: u32| local_instant(d.and_hms_opt(h, 0, 0).unwrap(), tz);
        let one_day = DateRange {
            first: day,
            last: day,
        };
        let whole = Query::for_range_in("s", one_day, tz, vec![], vec![]);
        let mut q = whole.clone();
        (q.from, q.until) = (at(day, 9), at(day, 13));
        let before = q.compared(&Comparison::PreviousPeriod);
        assert_eq!((before.from, before.until), (at(day, 5), at(day, 9)));
        let year = q.compared(&Comparison::YearOverYear);
        let then = NaiveDate::from_ymd_opt(2025, 5, 4).unwrap();
        assert_eq!((year.from, year.until), (at(then, 9), at(then, 13)));
        // Over the clock change: 23:00 to 03:00 local is five hours long
        // on the night clocks go back, and its span before is too.
        let night = NaiveDate::from_ymd_opt(2026, 10, 24).unwrap();
        let next = night.succ_opt().unwrap();
        (q.from, q.until) = (at(night, 23), at(next, 3));
        assert_eq!(q.until - q.from, Duration::hours(5));
        let before = q.compared(&Comparison::PreviousPeriod);
        assert_eq!(
            (before.from, before.until),
            (q.from - Duration::hours(5), q.from)
        );
        // Whole days are compared with whole days, as before.
        let c = whole.compared(&Comparison::PreviousPeriod);
        assert_eq!(
            c.range(),
            DateRange {
                first: day.pred_opt().unwrap(),
                last: day.pred_opt().unwrap()
            }
        );
        assert!(c.whole_days());
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_resolve_like_plausible() {
        let today = d("2026-11-23");
        let r = DateRange::parse(Some("7d"), None, today).unwrap();
        assert_eq!((r.first, r.last), (d("2026-11-17"), d("2026-11-23")));
        let r = DateRange::parse(Some("month"), Some("2024-02-10"), today).unwrap();
        assert_eq!((r.first, r.last), (d("2024-02-01"), d("2024-02-29")));
        let r = DateRange::parse(Some("12mo"), None, today).unwrap();
        assert_eq!((r.first, r.last), (d("2025-12-01"), d("2026-11-23")));
        let r = DateRange::parse(Some("custom"), Some("2026-01-01,2026-01-31"), today).unwrap();
        assert_eq!(r.days(), 31);
        assert_eq!(r.previous().last, d("2025-12-31"));
        assert_eq!(r.previous().days(), 31);
        assert!(DateRange::parse(Some("fortnight"), None, today).is_err());
        let leap = DateRange::parse(Some("custom"), Some("2024-02-01,2024-02-29"), today).unwrap();
        let yoy = Comparison::YearOverYear.range(leap);
        assert_eq!((yoy.first, yoy.last), (d("2023-02-01"), d("2023-02-28")));
        let r = DateRange::parse(Some("6mo"), None, today).unwrap();
        assert_eq!((r.first, r.last), (d("2026-06-01"), d("2026-11-23")));
        assert!(DateRange::parse(Some("custom"), Some("2026-02-01,2026-01-01"), today).is_err());
    }

    #[test]
    fn dates_far_outside_the_web_era_are_refused_by_field() {
        let today = d("2026-11-23");
        for (period, date) in [
            ("day", "+262142-12-31"),
            ("month", "-262143-01-01"),
            ("year", "9999-12-31"),
            ("custom", "1999-12-31,2026-01-01"),
        ] {
            let e = DateRange::parse(Some(period), Some(date), today).unwrap_err();
            assert_eq!(e.field, "date", "{period} {date}");
        }
        assert!(DateRange::parse(Some("day"), Some("2199-12-31"), today).is_ok());
    }

    #[test]
    fn a_breakdown_page_that_would_overflow_is_refused() {
        assert_eq!(breakdown_offset(3, 100), Ok(200));
        assert_eq!(breakdown_offset(1 << 62, 1000).unwrap_err().field, "page");
        assert_eq!(breakdown_offset(usize::MAX, 2).unwrap_err().field, "page");
        assert!(breakdown_offset(0, 10).is_err());
    }

    #[test]
    fn filters_parse_with_alternatives_and_operators() {
        let f = Filter::parse_list(Some(
            "event:page==/a|/b\\|c;visit:country!=GB;event:page~tax;event:props:form!~visa",
        ))
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].values, vec!["/a", "/b|c"]);
        assert_eq!(f[1].op, FilterOp::IsNot);
        assert_eq!(f[2].op, FilterOp::Contains);
        assert_eq!(f[3].dimension, Dimension::EventProp("form".into()));
        assert_eq!(f[3].op, FilterOp::DoesNotContain);
        assert!(Filter::parse_list(Some("event:page")).is_err());
        assert!(Filter::parse_list(Some("visit:shoe==9")).is_err());
    }

    #[test]
    fn page_patterns_match_as_the_sql_does() {
        assert!(wildcard_matches("/apply/*", "/apply/start"));
        assert!(!wildcard_matches("/apply/*", "/apply/start/2"));
        assert!(wildcard_matches("/apply/**", "/apply/start/2"));
        assert!(wildcard_matches("/apply**", "/apply"));
        assert!(!wildcard_matches("/apply", "/apply/"));
        assert!(wildcard_matches("/a*c", "/abc"));
        assert!(!wildcard_matches("/a*c", "/a/c"));
    }

    #[test]
    fn buckets_start_and_step() {
        let utc = Tz::UTC;
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 13, 45, 0).unwrap();
        let h = Interval::Hour;
        assert_eq!(h.label(h.bucket_start(t, utc), utc), "2026-11-25 13:00:00");
        let w = Interval::Week;
        assert_eq!(w.label(w.bucket_start(t, utc), utc), "2026-11-23");
        let m = Interval::Month;
        let dec = m.bucket_start(Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap(), utc);
        assert_eq!(m.label(m.next(dec, utc), utc), "2027-01-01");
    }

    #[test]
    fn local_days_and_hours_follow_the_clock_changes() {
        let london: Tz = "Europe/London".parse().unwrap();
        // 29 March 2026: clocks go forward at 01:00 GMT; the day has 23 hours.
        let spring = d("2026-03-29");
        let (start, end) = (
            day_start(spring, london),
            day_start(d("2026-03-30"), london),
        );
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 29, 23, 0, 0).unwrap());
        let hours = std::iter::successors(Some(start), |t| Some(Interval::Hour.next(*t, london)))
            .take_while(|t| *t < end)
            .map(|t| Interval::Hour.label(t, london))
            .collect::<Vec<_>>();
        assert_eq!(hours.len(), 23);
        assert!(!hours.contains(&"2026-03-29 01:00:00".to_string()));
        // 25 October 2026: clocks go back at 02:00 BST; 25 hours, 01:00 twice.
        let autumn = d("2026-10-25");
        let (start, end) = (
            day_start(autumn, london),
            day_start(d("2026-10-26"), london),
        );
        assert_eq!(end - start, Duration::hours(25));
        assert_eq!(Interval::Day.next(start, london), end);
        let second_one = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap(); // 01:30 GMT
        let bucket = Interval::Hour.bucket_start(second_one, london);
        assert_eq!(Interval::Hour.label(bucket, london), "2026-10-25 01:00:00");
        // 23:30 UTC on a summer day is the next local day.
        let late = Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap();
        assert_eq!(day_of(late, london), d("2026-07-02"));
        let q = Query::for_range_in(
            "s",
            DateRange {
                first: d("2026-07-02"),
                last: d("2026-07-02"),
            },
            london,
            vec![],
            vec![],
        );
        assert_eq!(q.from, Utc.with_ymd_and_hms(2026, 7, 1, 23, 0, 0).unwrap());
        assert_eq!(q.range().first, d("2026-07-02"));
    }

    fn f(dim: &str, op: FilterOp, v: &str) -> Filter {
        Filter {
            dimension: Dimension::parse(dim).unwrap(),
            op,
            values: vec![v.into()],
        }
    }

    #[test]
    fn goal_is_not_reads_as_has_not_done() {
        let goal = |op, v| f("event:goal", op, v);
        let mut q = Filtering {
            filters: vec![
                goal(FilterOp::IsNot, "A"),
                f("event:page", FilterOp::Is, "/x"),
            ],
            conditions: Vec::new(),
        };
        let in_or = Condition::Any(vec![
            Condition::One(goal(FilterOp::DoesNotContain, "B")),
            Condition::One(f("visit:source", FilterOp::Is, "G")),
        ]);
        let done = Condition::Done(Box::new(Condition::One(goal(FilterOp::IsNot, "C"))));
        q.conditions = vec![in_or, done.clone()];
        q.goals_not_done();
        let not_done = |c| Condition::NotDone(Box::new(Condition::One(c)));
        assert_eq!(q.filters, vec![f("event:page", FilterOp::Is, "/x")]);
        assert_eq!(
            q.conditions,
            vec![
                Condition::Any(vec![
                    not_done(goal(FilterOp::Contains, "B")),
                    Condition::One(f("visit:source", FilterOp::Is, "G")),
                ]),
                // Inside has_done a goal is an event filter: left for
                // resolve_goals to refuse.
                done,
                not_done(goal(FilterOp::Is, "A")),
            ]
        );
    }
}
