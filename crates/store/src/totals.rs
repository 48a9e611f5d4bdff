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
        }
    }
}
