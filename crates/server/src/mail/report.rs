//! A site's weekly or monthly report: its figures for the period and their
//! change from the period before, its top pages and sources, asked through
//! the gate (`internal::ask`), in the site's time zone; written as an
//! accessible HTML mail (headings, captioned tables, no images) with the
//! same words in a plain-text part.

use super::{internal, Letter};
use crate::pages::escape_html as escape;
use crate::App;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use glasshouse_model::mail::Every;
use glasshouse_model::Site;
use serde_json::Value;

/// Rows of each top list.
const TOP: usize = 5;

/// The days a report covers, in the site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub first: NaiveDate,
    /// The last day.
    pub last: NaiveDate,
}

/// The latest complete period of `every` before `today` (a site-local day):
/// last week, Monday to Sunday, or last month.
pub fn last_period(every: Every, today: NaiveDate) -> Period {
    match every {
        Every::Week => {
            let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            Period {
                first: monday - Duration::days(7),
                last: monday - Duration::days(1),
            }
        }
        Every::Month => {
            let first_this = today.with_day(1).expect("day 1");
            let last = first_this - Duration::days(1);
            Period {
                first: last.with_day(1).expect("day 1"),
                last,
            }
        }
    }
}

/// When a period's report is due: 06:00 local time on the day after it.
pub fn due_at(period: Period, site: &Site) -> DateTime<Utc> {
    let morning = (period.last + Duration::days(1))
        .and_hms_opt(6, 0, 0)
        .expect("06:00");
    glasshouse_model::query::local_instant(morning, site.timezone)
}

/// One figure of the report.
struct Figure {
    label: &'static str,
    value: String,
    change: Option<i64>,
    /// Whether the change is in percentage points (rates), not per cent.
    points: bool,
}

/// What the report says.
pub struct Figures {
    figures: Vec<Figure>,
    pages: Vec<(String, u64)>,
    sources: Vec<(String, u64)>,
}

const METRICS: [(&str, &str); 5] = [
    ("visitors", "Unique visitors"),
    ("visits", "Visits"),
    ("pageviews", "Page views"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
];

fn shown(metric: &str, v: &Value) -> String {
    let n = v.as_f64().unwrap_or(0.0);
    match metric {
        "bounce_rate" => format!("{}%", n.round()),
        "visit_duration" => {
            let s = n.round() as u64;
            if s < 60 {
                format!("{s}s")
            } else {
                format!("{}m {:02}s", s / 60, s % 60)
            }
        }
        _ => thousands(n.round() as u64),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn top(answer: &Value, property: &str) -> Vec<(String, u64)> {
    answer["results"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .take(TOP)
                .map(|r| {
                    let name = r[property].as_str().unwrap_or("").to_string();
                    (name, r["visitors"].as_u64().unwrap_or(0))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The report's figures for `period`, asked through the gate as the site's
/// organisation.
pub async fn figures(app: &App, site: &Site, period: Period) -> Result<Figures, String> {
    let caller = internal::caller(app, site, "report");
    let base = format!(
        "site_id={}&period=custom&date={},{}",
        site.host, period.first, period.last
    );
    let metrics: Vec<&str> = METRICS.iter().map(|(m, _)| *m).collect();
    let aggregate = internal::ask(
        app,
        &caller,
        &format!(
            "/api/v1/stats/aggregate?{base}&metrics={}&compare=previous_period",
            metrics.join(",")
        ),
    )
    .await?;
    let pages = internal::ask(
        app,
        &caller,
        &format!("/api/v1/stats/breakdown?{base}&property=event:page&limit={TOP}"),
    )
    .await?;
    let sources = internal::ask(
        app,
        &caller,
        &format!("/api/v1/stats/breakdown?{base}&property=visit:source&limit={TOP}"),
    )
    .await?;
    let figures = METRICS
        .iter()
        .map(|(m, label)| {
            let r = &aggregate["results"][*m];
            Figure {
                label,
                value: shown(m, &r["value"]),
                change: r["change"].as_i64(),
                points: *m == "bounce_rate",
            }
        })
        .collect();
    Ok(Figures {
        figures,
        pages: top(&pages, "page"),
        sources: top(&sources, "source"),
    })
}

fn change_text(f: &Figure, before: &str) -> String {
    let unit = if f.points { " points" } else { "%" };
    match f.change {
        None => "no figure to compare".into(),
        Some(0) => format!("no change on {before}"),
        Some(c) if c > 0 => format!("up {c}{unit} on {before}"),
        Some(c) => format!("down {}{unit} on {before}", -c),
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// Where the installation is reached, for links in mail.
pub fn base_url(app: &App) -> String {
    app.config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", app.config.listen))
}

/// The report to one recipient.
pub fn letter(
    app: &App,
    site: &Site,
    every: Every,
    period: Period,
    f: &Figures,
    to: &str,
    unsubscribe: &str,
) -> Letter {
    let (noun, before) = match every {
        Every::Week => ("Weekly", "the week before"),
        Every::Month => ("Monthly", "the month before"),
    };
    let span = format!("{} to {}", day(period.first), day(period.last));
    let subject = format!("{}: {} report, {span}", site.host, noun.to_lowercase());
    let dashboard = format!(
        "{}/sites/{}?period=custom&date={},{}",
        base_url(app),
        site.host,
        period.first,
        period.last
    );
    let zone = site.timezone.name();
    let mut text = format!("{noun} report for {}\n{span} ({zone} time)\n\n", site.host);
    for fig in &f.figures {
        text += &format!(
            "{}: {} ({})\n",
            fig.label,
            fig.value,
            change_text(fig, before)
        );
    }
    for (title, rows) in [("Top pages", &f.pages), ("Top sources", &f.sources)] {
        text += &format!("\n{title} (unique visitors)\n");
        if rows.is_empty() {
            text += "None in this period.\n";
        }
        for (name, n) in rows.iter() {
            text += &format!("- {name}: {}\n", thousands(*n));
        }
    }
    text += &format!(
        "\nSee the dashboard: {dashboard}\n\nYou get this because your address is listed for {}'s {} report in glasshouse. Stop getting it: {unsubscribe}\n",
        site.host,
        noun.to_lowercase()
    );
    Letter {
        to: to.to_string(),
        subject: subject.clone(),
        html: html(
            site,
            noun,
            before,
            &span,
            zone,
            f,
            &dashboard,
            unsubscribe,
            &subject,
        ),
        text,
        unsubscribe: unsubscribe.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn html(
    site: &Site,
    noun: &str,
    before: &str,
    span: &str,
    zone: &str,
    f: &Figures,
    dashboard: &str,
    unsubscribe: &str,
    subject: &str,
) -> String {
    let cell =
        "padding:8px 12px 8px 0;border-bottom:1px solid #b1b4b6;text-align:left;vertical-align:top";
    let mut h = format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head><body style=\"margin:0;padding:24px;font-family:Arial,sans-serif;font-size:19px;line-height:1.4;color:#0b0c0c;background:#ffffff\"><main>",
        escape(subject)
    );
    h += &format!(
        "<h1 style=\"font-size:32px;margin:0 0 8px\">{noun} report for {}</h1><p style=\"margin:0 0 24px;color:#505a5f\">{} ({} time)</p>",
        escape(&site.host),
        escape(span),
        escape(zone)
    );
    h += &format!("<table style=\"border-collapse:collapse;margin-bottom:32px\"><caption style=\"text-align:left;font-weight:bold;font-size:24px;padding-bottom:8px\">Figures, compared with {before}</caption><thead><tr><th scope=\"col\" style=\"{cell}\">Figure</th><th scope=\"col\" style=\"{cell}\">Value</th><th scope=\"col\" style=\"{cell}\">Change</th></tr></thead><tbody>");
    for fig in &f.figures {
        h += &format!(
            "<tr><th scope=\"row\" style=\"{cell}\">{}</th><td style=\"{cell};font-weight:bold\">{}</td><td style=\"{cell}\">{}</td></tr>",
            fig.label,
            escape(&fig.value),
            escape(&change_text(fig, before))
        );
    }
    h += "</tbody></table>";
    for (title, column, rows) in [
        ("Top pages", "Page", &f.pages),
        ("Top sources", "Source", &f.sources),
    ] {
        h += &format!("<table style=\"border-collapse:collapse;margin-bottom:32px\"><caption style=\"text-align:left;font-weight:bold;font-size:24px;padding-bottom:8px\">{title}</caption><thead><tr><th scope=\"col\" style=\"{cell}\">{column}</th><th scope=\"col\" style=\"{cell}\">Unique visitors</th></tr></thead><tbody>");
        if rows.is_empty() {
            h += &format!("<tr><td style=\"{cell}\" colspan=\"2\">None in this period</td></tr>");
        }
        for (name, n) in rows.iter() {
            h += &format!(
                "<tr><td style=\"{cell}\">{}</td><td style=\"{cell}\">{}</td></tr>",
                escape(name),
                thousands(*n)
            );
        }
        h += "</tbody></table>";
    }
    h += &format!(
        "<p><a href=\"{}\" style=\"color:#1d70b8\">See the dashboard for this period</a></p></main><footer style=\"margin-top:32px;font-size:16px;color:#505a5f\"><p>You get this because your address is listed for {}’s {} report in glasshouse, which counts visits without cookies or personal data.</p><p><a href=\"{}\" style=\"color:#1d70b8\">Stop getting this report</a></p></footer></body></html>",
        escape(dashboard),
        escape(&site.host),
        noun.to_lowercase(),
        escape(unsubscribe)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_the_last_complete_week_and_month() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // Wednesday 2 December 2026.
        let w = last_period(Every::Week, d("2026-12-02"));
        assert_eq!((w.first, w.last), (d("2026-11-23"), d("2026-11-29")));
        let w = last_period(Every::Week, d("2026-11-30"));
        assert_eq!(
            (w.first, w.last),
            (d("2026-11-23"), d("2026-11-29")),
            "on Monday"
        );
        let m = last_period(Every::Month, d("2026-03-01"));
        assert_eq!((m.first, m.last), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
