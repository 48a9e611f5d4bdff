//! Alerts: the visitors of a site's last few full hours, compared with the
//! same hours of previous weeks. A drop is often the first sign that a
//! service, or its tracking, broke; a spike, that something sent people to
//! it. Nothing is compared while the usual count is under the site's
//! `min_visitors`: small numbers rise and fall by chance.

use super::{internal, report::thousands, Letter};
use crate::pages::escape_html as escape;
use crate::App;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use glasshouse_model::mail::Alerts;
use glasshouse_model::query::{day_of, Interval};
use glasshouse_model::Site;
use std::collections::HashMap;

/// Most weeks the usual is taken from.
const MAX_WEEKS: i64 = 4;

/// Which way traffic moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Far below the usual.
    Drop,
    /// Far above it.
    Spike,
}

impl Direction {
    /// The kind recorded and counted in `/metrics`.
    pub fn kind(self) -> &'static str {
        match self {
            Direction::Drop => "drop",
            Direction::Spike => "spike",
        }
    }
}

/// An alert to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Which way.
    pub direction: Direction,
    /// The first hour compared.
    pub from: DateTime<Utc>,
    /// The end of the last hour compared.
    pub until: DateTime<Utc>,
    /// Visitors in those hours, hour by hour, summed.
    pub now: u64,
    /// The same, averaged over the weeks compared.
    pub usual: u64,
    /// How many weeks were compared.
    pub weeks: i64,
}

/// Weeks of hourly data the site keeps for comparison.
fn weeks(site: &Site) -> i64 {
    (i64::from(site.raw_retention_days) - 1)
        .div_euclid(7)
        .min(MAX_WEEKS)
}

/// Whether `now` and `usual` differ enough to alert, by the site's rules.
pub fn judge(rules: &Alerts, now: u64, usual: u64) -> Option<Direction> {
    if usual < rules.min_visitors {
        return None;
    }
    let (now, usual) = (u128::from(now), u128::from(usual));
    if now * 100 <= usual * u128::from(100 - rules.drop_percent.min(100)) {
        Some(Direction::Drop)
    } else if now * 100 >= usual * u128::from(100 + rules.spike_percent) {
        Some(Direction::Spike)
    } else {
        None
    }
}

/// Fewest previous weeks with visitors in the hours compared: with fewer,
/// there is no usual to compare with (a new site, or a first week).
const MIN_WEEKS: usize = 2;

/// Most days one timeseries question covers (the API's limit for hours).
const DAYS_PER_QUESTION: i64 = 31;

/// Visitors hour by hour on the site-local days `first` to `last`, keyed
/// by the API's hour label; asked through the gate, one question per
/// [`DAYS_PER_QUESTION`] days.
async fn hourly(
    app: &App,
    site: &Site,
    kind: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<HashMap<String, u64>, String> {
    let caller = internal::caller(app, site, kind);
    let mut out = HashMap::new();
    let mut from = first;
    while from <= last {
        let to = (from + Duration::days(DAYS_PER_QUESTION - 1)).min(last);
        let answer = internal::ask(
            app,
            &caller,
            &format!(
                "/api/v1/stats/timeseries?site_id={}&period=custom&date={from},{to}&interval=hour&metrics=visitors",
                site.host
            ),
        )
        .await?;
        for r in answer["results"].as_array().into_iter().flatten() {
            out.insert(
                r["date"].as_str().unwrap_or("").to_string(),
                r["visitors"].as_u64().unwrap_or(0),
            );
        }
        from = to + Duration::days(1);
    }
    Ok(out)
}

/// The alert, if any, for the hours ending at `until` (a full hour), from
/// visitors by hour: the usual is the average of the previous weeks that
/// had visitors at those hours (at least [`MIN_WEEKS`]).
fn evaluate(
    by_hour: &HashMap<String, u64>,
    site: &Site,
    rules: &Alerts,
    until: DateTime<Utc>,
) -> Option<Alert> {
    let from = until - Duration::hours(i64::from(rules.window_hours));
    let sum = |back: i64| -> u64 {
        (0..i64::from(rules.window_hours))
            .map(|h| {
                let t = from + Duration::hours(h) - Duration::weeks(back);
                by_hour
                    .get(&Interval::Hour.label(t, site.timezone))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    let before: Vec<u64> = (1..=weeks(site)).map(sum).filter(|n| *n > 0).collect();
    if before.len() < MIN_WEEKS {
        return None;
    }
    let now = sum(0);
    let usual = before.iter().sum::<u64>() / before.len() as u64;
    judge(rules, now, usual).map(|direction| Alert {
        direction,
        from,
        until,
        now,
        usual,
        weeks: before.len() as i64,
    })
}

/// The last full hour at or before `at`.
fn full_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at - Duration::seconds(at.timestamp().rem_euclid(3600))
}

/// Checks the hours ending at the last full hour before `at`; an alert, if
/// traffic is far from the usual.
pub async fn check(
    app: &App,
    site: &Site,
    rules: &Alerts,
    at: DateTime<Utc>,
) -> Result<Option<Alert>, String> {
    if weeks(site) < MIN_WEEKS as i64 {
        return Ok(None);
    }
    let until = full_hour(at);
    let from = until - Duration::hours(i64::from(rules.window_hours));
    let first = day_of(from - Duration::weeks(weeks(site)), site.timezone);
    let last = day_of(until - Duration::seconds(1), site.timezone);
    let by_hour = hourly(app, site, "alert", first, last).await?;
    Ok(evaluate(&by_hour, site, rules, until))
}

/// Every alert the rules would have sent over the `days` before `at`, hour
/// by hour, one a day at most per kind as when serving: to tune a site's
/// rules before turning them on (`glasshouse alerts`).
pub async fn replay(
    app: &App,
    site: &Site,
    rules: &Alerts,
    at: DateTime<Utc>,
    days: i64,
) -> Result<Vec<Alert>, String> {
    let end = full_hour(at);
    let start = end - Duration::days(days);
    let first = day_of(
        start - Duration::hours(i64::from(rules.window_hours)) - Duration::weeks(weeks(site)),
        site.timezone,
    );
    let last = day_of(end - Duration::seconds(1), site.timezone);
    let by_hour = hourly(app, site, "alert", first, last).await?;
    let mut out: Vec<Alert> = Vec::new();
    let mut until = start + Duration::hours(1);
    while until <= end {
        if let Some(a) = evaluate(&by_hour, site, rules, until) {
            let quiet = out
                .iter()
                .any(|b| b.direction == a.direction && a.until - b.until < Duration::hours(24));
            if !quiet {
                out.push(a);
            }
        }
        until += Duration::hours(1);
    }
    Ok(out)
}

/// The alert to one recipient.
pub fn letter(app: &App, site: &Site, a: &Alert, to: &str, unsubscribe: &str) -> Letter {
    let tz = site.timezone;
    let hours = format!(
        "{} to {} ({} time)",
        a.from.with_timezone(&tz).format("%-d %B %Y, %H:%M"),
        a.until.with_timezone(&tz).format("%H:%M"),
        tz.name()
    );
    let (headline, advice) = match a.direction {
        Direction::Drop => (
            "Traffic has dropped",
            "A drop like this is often the first sign that the service, or its tracking, is broken. Check that the site is up and that its pages still load the glasshouse script.",
        ),
        Direction::Spike => (
            "Traffic has risen sharply",
            "Something may be sending many people to the site: a news story, a campaign, a change of law, or automated traffic.",
        ),
    };
    let subject = format!("{}: {}", site.host, headline.to_lowercase());
    let facts = format!(
        "{} unique visitors from {hours}, against {} usually at those hours (the average of the {} weeks before).",
        thousands(a.now),
        thousands(a.usual),
        a.weeks
    );
    let dashboard = format!(
        "{}/sites/{}?period=day&interval=hour",
        super::report::base_url(app),
        site.host
    );
    let text = format!(
        "{headline} on {}\n\n{facts}\n\n{advice}\n\nSee the dashboard: {dashboard}\n\nYou get this because your address is listed for {}'s alerts in glasshouse. Stop getting them: {unsubscribe}\n",
        site.host, site.host
    );
    let html = format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head><body style=\"margin:0;padding:24px;font-family:Arial,sans-serif;font-size:19px;line-height:1.4;color:#0b0c0c;background:#ffffff\"><main><h1 style=\"font-size:32px;margin:0 0 16px\">{} on {}</h1><p style=\"font-weight:bold\">{}</p><p>{}</p><p><a href=\"{}\" style=\"color:#1d70b8\">See today on the dashboard</a></p></main><footer style=\"margin-top:32px;font-size:16px;color:#505a5f\"><p>You get this because your address is listed for {}’s alerts in glasshouse.</p><p><a href=\"{}\" style=\"color:#1d70b8\">Stop getting these alerts</a></p></footer></body></html>",
        escape(&subject),
        headline,
        escape(&site.host),
        escape(&facts),
        advice,
        escape(&dashboard),
        escape(&site.host),
        escape(unsubscribe)
    );
    Letter {
        to: to.to_string(),
        subject,
        text,
        html,
        unsubscribe: unsubscribe.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_usual_counts_never_alert_and_thresholds_hold() {
        let rules = Alerts {
            to: vec!["a@b.example".into()],
            window_hours: 3,
            drop_percent: 50,
            spike_percent: 200,
            min_visitors: 50,
        };
        assert_eq!(judge(&rules, 0, 49), None, "under the minimum");
        assert_eq!(judge(&rules, 50, 100), Some(Direction::Drop));
        assert_eq!(judge(&rules, 51, 100), None);
        assert_eq!(judge(&rules, 299, 100), None);
        assert_eq!(judge(&rules, 300, 100), Some(Direction::Spike));
    }
}
