//! The whole question, as the gate decides it and the audit log records it.
//!
//! Every route that reads event data parses its request once into a
//! [`Question`]: the [`Query`] the store executes (site, period, metrics,
//! filters), the purpose it is asked for, every site whose events the answer
//! may involve, and its [`Shape`] (aggregate, time series, breakdown,
//! realtime, next or previous pages, paths, funnel). The governance gate
//! decides on this value, the handler runs exactly this value, and the audit
//! log records its canonical form, so what is checked is what is executed
//! and what is logged (docs/architecture.md).

use crate::journey::FunnelStep;
use crate::query::{
    describe_condition, Comparison, DateRange, Dimension, Filter, Filtering, Interval, Metric,
    Query, QueryError,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Write as _;

/// What kind of answer a question asks for, with what that kind needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Totals over the period, optionally against the previous period.
    Aggregate {
        /// What the period is compared with, if anything.
        compare: Option<Comparison>,
    },
    /// Totals per time bucket.
    Timeseries {
        /// Bucket width.
        interval: Interval,
        /// What the period is compared with, if anything (v2).
        compare: Option<Comparison>,
    },
    /// Totals per value of a property.
    Breakdown {
        /// The property.
        by: Dimension,
        /// Rows per page.
        limit: usize,
        /// Rows skipped before the page (v1's pages of `limit` rows, or
        /// v2's `pagination.offset`).
        offset: usize,
        /// What the period is compared with, if anything (v2).
        compare: Option<Comparison>,
        /// Whether the rows of every page are counted too (v2's
        /// `include.total_rows`), which reads the breakdown on in pages of
        /// [`crate::query::MAX_BREAKDOWN_LIMIT`].
        total_rows: bool,
    },
    /// Visitors in the last five minutes.
    Realtime,
    /// The pages journeys went to after `page`.
    NextPages {
        /// The path explored.
        page: String,
    },
    /// The pages journeys came from before `page`.
    PreviousPages {
        /// The path explored.
        page: String,
    },
    /// Several steps both ways around `page`.
    Paths {
        /// The path explored.
        page: String,
        /// Steps either side.
        depth: u32,
        /// Pages kept per position.
        branches: u32,
    },
    /// Journeys reaching each step in order.
    Funnel {
        /// The steps.
        steps: Vec<FunnelStep>,
        /// Whether the previous period is read too.
        compare: bool,
    },
}

impl Shape {
    /// The name used in the audit log and in refusals.
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Aggregate { .. } => "aggregate",
            Shape::Timeseries { .. } => "timeseries",
            Shape::Breakdown { .. } => "breakdown",
            Shape::Realtime => "realtime",
            Shape::NextPages { .. } => "next-pages",
            Shape::PreviousPages { .. } => "previous-pages",
            Shape::Paths { .. } => "paths",
            Shape::Funnel { .. } => "funnel",
        }
    }

    /// Whether the answer follows journeys, which may cross sites.
    pub fn is_journey(&self) -> bool {
        matches!(
            self,
            Shape::NextPages { .. }
                | Shape::PreviousPages { .. }
                | Shape::Paths { .. }
                | Shape::Funnel { .. }
        )
    }

    /// Whether the previous period is read as well.
    pub fn compares(&self) -> bool {
        matches!(
            self,
            Shape::Aggregate { compare: Some(_) }
                | Shape::Timeseries {
                    compare: Some(_),
                    ..
                }
                | Shape::Breakdown {
                    compare: Some(_),
                    ..
                }
                | Shape::Funnel { compare: true, .. }
        )
    }
}

/// A question about event data, exactly as it will be executed.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Site, period, metrics and filters: what the store runs.
    pub query: Query,
    /// Id of the declared purpose the question is asked for.
    pub purpose: String,
    /// Every site whose events the answer may involve, `query.site` first.
    pub sites: Vec<String>,
    /// The kind of answer.
    pub shape: Shape,
    /// Whether the site's imported history (another product's daily
    /// aggregates) is added where it can answer (`with_imported`,
    /// `include.imports`). It is the same site's data under the same grant.
    pub imports: bool,
}

impl Question {
    /// Fills `event:goal` in the filters and the breakdown with the site's
    /// goals (the ones a filter picks; all of them for a breakdown), then
    /// checks the conversion metrics have the goal they need
    /// ([`Filtering::resolve_goals`]).
    pub fn resolve_goals(&mut self, goals: &[crate::goal::Goal]) -> Result<(), QueryError> {
        let q = &mut self.query;
        let mut said = Filtering {
            filters: std::mem::take(&mut q.filters),
            conditions: std::mem::take(&mut q.conditions),
        };
        let resolved = said.resolve_goals(goals);
        (q.filters, q.conditions) = (said.filters, said.conditions);
        resolved?;
        if let Shape::Breakdown { by, .. } = &mut self.shape {
            match by {
                Dimension::Tuple(parts) => {
                    for part in parts.iter_mut().filter(|p| p.is_goal()) {
                        *part = Dimension::Goal(goals.to_vec());
                    }
                }
                by if by.is_goal() => *by = Dimension::Goal(goals.to_vec()),
                _ => {}
            }
        }
        self.check_conversion()
    }

    /// The goals the `event:goal` filters pick.
    pub fn goal_filter_goals(&self) -> impl Iterator<Item = &crate::goal::Goal> {
        self.query.filters.iter().flat_map(|f| match &f.dimension {
            Dimension::Goal(goals) => goals.as_slice(),
            _ => &[],
        })
    }

    /// Whether a filter on `event:goal` is present.
    pub fn has_goal_filter(&self) -> bool {
        self.query.filters.iter().any(|f| f.dimension.is_goal())
    }

    /// Refuses conversion metrics without a goal: `conversion_rate` needs a
    /// goal filter or a breakdown by goal, `group_conversion_rate` a goal
    /// filter and a breakdown by another property (as in Plausible).
    fn check_conversion(&self) -> Result<(), QueryError> {
        let m = &self.query.metrics;
        let beside_goal = matches!(&self.shape, Shape::Breakdown { by: Dimension::Tuple(parts), .. } if parts.iter().any(Dimension::is_goal));
        if beside_goal
            && m.iter()
                .any(|m| *m == Metric::GroupConversionRate || m.is_revenue())
        {
            return Err(QueryError::new(
                "metrics",
                "group_conversion_rate and revenue are given by event:goal alone; beside other dimensions it takes counts and conversion_rate",
            ));
        }
        let by_goal = matches!(&self.shape, Shape::Breakdown { by, .. } if by.is_goal());
        let by_other = matches!(&self.shape, Shape::Breakdown { by, .. } if !by.is_goal());
        let filtered = self.has_goal_filter();
        let shaped = matches!(
            self.shape,
            Shape::Aggregate { .. } | Shape::Timeseries { .. } | Shape::Breakdown { .. }
        );
        if m.contains(&Metric::ConversionRate) && !(shaped && (filtered || by_goal || beside_goal))
        {
            return Err(QueryError::new(
                "metrics",
                "conversion_rate needs a filter on event:goal or a breakdown by event:goal",
            ));
        }
        if let Some(r) = m.iter().find(|m| m.is_revenue()) {
            let currency = crate::goal::currency_of(self.goal_filter_goals());
            let aggregate = matches!(self.shape, Shape::Aggregate { .. });
            if !(by_goal || (aggregate && currency.is_some())) {
                return Err(QueryError::new(
                    "metrics",
                    format!(
                        "{} needs a breakdown by event:goal, or totals filtered on revenue goals of one currency",
                        r.name()
                    ),
                ));
            }
        }
        if m.contains(&Metric::GroupConversionRate) && !(filtered && by_other) {
            return Err(QueryError::new(
                "metrics",
                "group_conversion_rate needs a filter on event:goal and a breakdown by another property",
            ));
        }
        Ok(())
    }

    /// Refuses engagement metrics where they have no meaning: they are per
    /// page (a breakdown by page, or totals with a filter on the page, as
    /// in Plausible), and read engagement events, which a filter on the
    /// event's name or properties would leave out.
    pub fn check_engagement(&self) -> Result<(), QueryError> {
        let q = &self.query;
        if !q.metrics.iter().any(|m| m.is_engagement()) {
            return Ok(());
        }
        let on_page = q.filters.iter().any(|f| f.dimension == Dimension::Page);
        let per_page = match &self.shape {
            Shape::Aggregate { .. } => on_page,
            Shape::Breakdown { by, .. } => *by == Dimension::Page,
            _ => false,
        };
        if !per_page {
            return Err(QueryError::new(
                "metrics",
                "scroll_depth and time_on_page are per page: break down by event:page, or ask for totals with a filter on event:page",
            ));
        }
        if q.every_filter().any(|f| {
            matches!(
                f.dimension,
                Dimension::EventName | Dimension::EventProp(_) | Dimension::Goal(_)
            )
        }) {
            return Err(QueryError::new(
                "filters",
                "scroll_depth and time_on_page read engagement events, which a filter on event:name, event:props or event:goal would leave out",
            ));
        }
        Ok(())
    }

    /// The days the answer is about, as asked (the site's local days).
    pub fn range(&self) -> DateRange {
        self.query.range()
    }

    /// The period as logged: its local days (`2026-03-04..2026-03-10`), or
    /// its first and last second in UTC where it gives times of day.
    pub fn period(&self) -> String {
        let q = &self.query;
        if q.whole_days() {
            let range = self.range();
            return format!("{}..{}", range.first, range.last);
        }
        let second = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!(
            "{}..{}",
            second(q.from),
            second(q.until - chrono::Duration::seconds(1))
        )
    }

    /// What the period is compared with, if it is.
    pub fn comparison(&self) -> Option<Comparison> {
        match &self.shape {
            Shape::Aggregate { compare: Some(c) }
            | Shape::Timeseries {
                compare: Some(c), ..
            }
            | Shape::Breakdown {
                compare: Some(c), ..
            } => Some(*c),
            Shape::Funnel { compare: true, .. } => Some(Comparison::PreviousPeriod),
            _ => None,
        }
    }

    /// The question's query over the compared period, if it is compared
    /// (`Query::compared`).
    pub fn compared_query(&self) -> Option<Query> {
        self.comparison().map(|c| self.query.compared(&c))
    }

    /// The days the period is compared with, if it is.
    pub fn compared_range(&self) -> Option<DateRange> {
        self.compared_query().map(|q| q.range())
    }

    /// Every day whose events the answer reads: the period, and the one it
    /// is compared with (and the days between, so that the span read is
    /// one range).
    pub fn days_read(&self) -> (NaiveDate, NaiveDate) {
        let range = self.range();
        match self.compared_range() {
            Some(c) => (c.first.min(range.first), c.last.max(range.last)),
            None => (range.first, range.last),
        }
    }

    /// Every metric the answer reports: the ones asked for, and visits and
    /// visitors for journeys, whose answers always hold both.
    pub fn metrics_reported(&self) -> Vec<Metric> {
        let mut out = self.query.metrics.clone();
        if self.shape.is_journey() {
            for m in [Metric::Visitors, Metric::Visits] {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Every property the answer reveals values of: the breakdown's, the
    /// filters', pages for journeys and event names for event steps.
    pub fn properties_revealed(&self) -> Vec<Dimension> {
        let mut out: Vec<Dimension> = self
            .query
            .every_filter()
            .map(|f| f.dimension.clone())
            .collect();
        match &self.shape {
            // A tuple reveals each of its properties; time is no property.
            Shape::Breakdown { by, .. } => out.extend(
                by.parts()
                    .iter()
                    .filter(|d| !matches!(d, Dimension::Time(_)))
                    .cloned(),
            ),
            Shape::Funnel { steps, .. } => {
                out.push(Dimension::Page);
                if steps.iter().any(|s| matches!(s, FunnelStep::Event { .. })) {
                    out.push(Dimension::EventName);
                }
            }
            s if s.is_journey() => out.push(Dimension::Page),
            _ => {}
        }
        let mut unique = Vec::new();
        for d in out {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        unique
    }

    /// The question in one bounded line, as the audit log keeps it. Every
    /// value a caller typed passes through `scrub` (which removes personal
    /// data) and is cut to [`AUDIT_VALUE_CHARS`]; the whole line to
    /// [`AUDIT_LINE_CHARS`].
    pub fn canonical(&self, scrub: &dyn Fn(&str) -> String) -> String {
        let value = |v: &str| bounded(&scrub(v), AUDIT_VALUE_CHARS);
        let mut out = format!(
            "{} site={} period={} purpose={}",
            self.shape.name(),
            self.query.site,
            self.period(),
            value(&self.purpose)
        );
        if self.sites.len() > 1 {
            let _ = write!(out, " sites={}", self.sites.join(","));
        }
        let metrics: Vec<&str> = self.query.metrics.iter().map(|m| m.name()).collect();
        if !metrics.is_empty() {
            let _ = write!(out, " metrics={}", metrics.join(","));
        }
        for f in &self.query.filters {
            let op = f.op.symbol();
            let values: Vec<String> = f.values.iter().map(|v| value(v)).collect();
            let _ = write!(
                out,
                " filter={}{op}{}",
                value(&f.dimension.to_string()),
                values.join("|")
            );
        }
        for c in &self.query.conditions {
            let _ = write!(out, " filter={}", describe_condition(c, &value));
        }
        match &self.shape {
            Shape::Aggregate { .. } => {}
            Shape::Timeseries { interval, .. } => {
                let _ = write!(out, " interval={interval:?}");
            }
            Shape::Breakdown {
                by,
                limit,
                offset,
                total_rows,
                ..
            } => {
                let _ = write!(
                    out,
                    " by={} limit={limit} offset={offset}",
                    value(&by.to_string())
                );
                if *total_rows {
                    out.push_str(" total_rows");
                }
                for k in &self.query.order {
                    let on = match k.on {
                        crate::query::Ordered::Metric(m) => m.name().to_string(),
                        crate::query::Ordered::Part(i) => format!("dimension{}", i + 1),
                    };
                    let dir = if k.descending { "desc" } else { "asc" };
                    let _ = write!(out, " order={on}:{dir}");
                }
            }
            Shape::Realtime => {}
            Shape::NextPages { page } | Shape::PreviousPages { page } => {
                let _ = write!(out, " page={}", value(page));
            }
            Shape::Paths {
                page,
                depth,
                branches,
            } => {
                let _ = write!(
                    out,
                    " page={} depth={depth} branches={branches}",
                    value(page)
                );
            }
            Shape::Funnel { steps, compare } => {
                let labels: Vec<String> = steps.iter().map(|s| value(&s.label())).collect();
                let _ = write!(out, " steps={}", labels.join(" > "));
                if *compare {
                    out.push_str(" compare=previous_period");
                }
            }
        }
        if let (Some(c), false) = (
            self.compared_range(),
            matches!(self.shape, Shape::Funnel { .. }),
        ) {
            match &self.shape {
                Shape::Aggregate {
                    compare: Some(Comparison::Custom(_)),
                }
                | Shape::Timeseries {
                    compare: Some(Comparison::Custom(_)),
                    ..
                }
                | Shape::Breakdown {
                    compare: Some(Comparison::Custom(_)),
                    ..
                } => {
                    let _ = write!(out, " compare=custom:{}..{}", c.first, c.last);
                }
                Shape::Aggregate { compare: Some(k) }
                | Shape::Timeseries {
                    compare: Some(k), ..
                }
                | Shape::Breakdown {
                    compare: Some(k), ..
                } => {
                    let _ = write!(out, " compare={}", k.name());
                }
                _ => {}
            }
        }
        if self.imports {
            out.push_str(" imports");
        }
        bounded(&out, AUDIT_LINE_CHARS)
    }
}

/// Longest value a caller typed that the audit log keeps, in characters.
pub const AUDIT_VALUE_CHARS: usize = 200;

/// Longest audit line of a question, in characters.
pub const AUDIT_LINE_CHARS: usize = 4000;

fn bounded(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// Filters as a question's canonical form lists them, for callers that log
/// a refused request before a whole question could be formed.
pub fn describe_filters(filters: &[Filter]) -> String {
    filters
        .iter()
        .map(|f| f.dimension.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Filter, Metric};

    fn question(shape: Shape) -> Question {
        let range = DateRange::parse(Some("7d"), Some("2026-03-10"), NaiveDate::MIN).unwrap();
        Question {
            query: Query::for_range(
                "www.gov.uk",
                range,
                vec![Metric::Visitors],
                Filter::parse_list(Some("event:page==/contact/ana@example.com")).unwrap(),
            ),
            purpose: "service-improvement".into(),
            sites: vec!["www.gov.uk".into()],
            shape,
            imports: false,
        }
    }

    #[test]
    fn the_canonical_line_holds_scrubbed_bounded_values() {
        let q = question(Shape::Breakdown {
            compare: None,
            total_rows: false,
            by: Dimension::Page,
            limit: 10,
            offset: 0,
        });
        let line = q.canonical(&|v: &str| v.replace("ana@example.com", "(email)"));
        assert_eq!(
            line,
            "breakdown site=www.gov.uk period=2026-03-04..2026-03-10 purpose=service-improvement \
             metrics=visitors filter=event:page==/contact/(email) by=event:page limit=10 offset=0"
        );
        let mut long = q.clone();
        long.query.filters[0].values = vec!["x".repeat(70_000)];
        let line = long.canonical(&|v: &str| v.to_string());
        assert!(line.chars().count() < 400, "{}", line.len());
    }

    #[test]
    fn comparing_reads_the_previous_period_too() {
        let q = question(Shape::Aggregate {
            compare: Some(Comparison::PreviousPeriod),
        });
        assert_eq!(
            q.days_read(),
            (
                NaiveDate::from_ymd_opt(2026, 2, 25).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
            )
        );
    }

    #[test]
    fn journeys_report_visits_and_reveal_pages_and_event_names() {
        let q = question(Shape::Funnel {
            steps: vec![
                FunnelStep::Page {
                    page: "/a".into(),
                    site: None,
                },
                FunnelStep::Event {
                    event: "Sent".into(),
                },
            ],
            compare: false,
        });
        assert_eq!(q.metrics_reported(), vec![Metric::Visitors, Metric::Visits]);
        assert!(q.properties_revealed().contains(&Dimension::EventName));
    }

    #[test]
    fn several_dimensions_reveal_each_property_and_log_their_order() {
        let mut q = question(Shape::Breakdown {
            by: Dimension::Tuple(vec![
                Dimension::Time(Interval::Day),
                Dimension::Page,
                Dimension::Country,
            ]),
            limit: 10,
            offset: 30,
            compare: None,
            total_rows: false,
        });
        q.query.filters.clear();
        q.query.order = vec![crate::query::OrderKey {
            on: crate::query::Ordered::Part(0),
            descending: false,
        }];
        assert_eq!(
            q.properties_revealed(),
            vec![Dimension::Page, Dimension::Country]
        );
        let line = q.canonical(&|v: &str| v.to_string());
        assert!(
            line.contains(
                " by=time:day,event:page,visit:country limit=10 offset=30 order=dimension1:asc"
            ),
            "{line}"
        );
    }
}
