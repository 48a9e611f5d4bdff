//! The numbers a query returns, before they are shaped for an API answer.

use glasshouse_model::query::Metric;

/// Every metric for one row. Computing them together costs little more than
/// one, and keeps each metric's definition in one place (`sql`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Distinct visitor ids.
    pub visitors: u64,
    /// Distinct visits (sessions).
    pub visits: u64,
    /// Page views.
    pub pageviews: u64,
    /// All events, page views included.
    pub events: u64,
    /// Percent of visits with at most one interactive event.
    pub bounce_rate: f64,
    /// Mean visit duration in seconds.
    pub visit_duration: f64,
    /// Mean deepest scroll per visitor on the page, in percent; `None`
    /// where no engagement was reported (or it was not asked for).
    pub scroll_depth: Option<f64>,
    /// Mean engaged seconds per visitor on the page; `None` as above.
    pub time_on_page: Option<f64>,
    /// Visitor–page pairs the engagement means are over, so that days add up.
    pub engaged: u64,
    /// Percent of all visitors who completed the goal (`goals.rs`); `None`
    /// where not asked for.
    pub conversion_rate: Option<f64>,
    /// Percent of the row's visitors who completed the goal; `None` as above.
    pub group_conversion_rate: Option<f64>,
    /// Revenue of the goal's completions in [`Totals::currency`]; `None`
    /// where not asked for or the goals have no currency (`revenue.rs`).
    pub total_revenue: Option<f64>,
    /// Revenue per completion that carried revenue in that currency.
    pub average_revenue: Option<f64>,
    /// The ISO 4217 code both are in.
    pub currency: Option<[u8; 3]>,
}

impl Totals {
    /// The value of one metric, rounded as the API reports it.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Visitors => self.visitors as f64,
            Metric::Visits => self.visits as f64,
            Metric::Pageviews => self.pageviews as f64,
            Metric::Events => self.events as f64,
            Metric::ViewsPerVisit => {
                if self.visits == 0 {
                    0.0
                } else {
                    (self.pageviews as f64 / self.visits as f64 * 100.0).round() / 100.0
                }
            }
            Metric::BounceRate => self.bounce_rate.round(),
            Metric::VisitDuration => self.visit_duration.round(),
            Metric::ScrollDepth => self.scroll_depth.unwrap_or(0.0).round(),
            Metric::TimeOnPage => self.time_on_page.unwrap_or(0.0).round(),
            // Plausible reports conversion rates to one decimal place.
            Metric::ConversionRate => (self.conversion_rate.unwrap_or(0.0) * 10.0).round() / 10.0,
            Metric::GroupConversionRate => {
                (self.group_conversion_rate.unwrap_or(0.0) * 10.0).round() / 10.0
            }
            // Money to the penny.
            Metric::TotalRevenue => (self.total_revenue.unwrap_or(0.0) * 100.0).round() / 100.0,
            Metric::AverageRevenue => (self.average_revenue.unwrap_or(0.0) * 100.0).round() / 100.0,
        }
    }

    /// Whether the metric has a value: engagement metrics have none where
    /// no engagement was reported (the API says null, as Plausible does).
    pub fn has(&self, metric: Metric) -> bool {
        match metric {
            Metric::ScrollDepth => self.scroll_depth.is_some(),
            Metric::TimeOnPage => self.time_on_page.is_some(),
            Metric::ConversionRate => self.conversion_rate.is_some(),
            Metric::GroupConversionRate => self.group_conversion_rate.is_some(),
            Metric::TotalRevenue => self.total_revenue.is_some(),
            Metric::AverageRevenue => self.average_revenue.is_some(),
            _ => true,
        }
    }
}
