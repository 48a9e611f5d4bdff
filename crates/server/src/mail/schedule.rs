//! What is due, and sending it once.
//!
//! [`tick`] runs every minute while serving. A report is due from 06:00
//! local time after its period ends; it is sent to each listed recipient
//! who has not unsubscribed and whom the relay has not yet accepted it
//! for (`glasshouse_store::mail::SentLog`), so after a restart a missed
//! report goes out once, and never twice. Only the latest period is sent:
//! a server that was down for three weeks sends last week's report, not
//! three. Alerts are checked once an hour, and one of each kind is sent at
//! most once a day. While the relay fails, the next try waits 1 minute,
//! then 2, 4… up to an hour; `/metrics` counts the failures and what is
//! pending, and the log says why (never to whom).

use super::alerts::{self, Alert};
use super::report::{self, Period};
use super::{deliver, Letter};
use crate::App;
use chrono::{DateTime, Duration, Utc};
use glasshouse_model::mail::Every;
use glasshouse_model::Site;
use glasshouse_store::mail::Sent;
use std::collections::HashMap;
use std::sync::Mutex;

/// First pause after a failed send; doubled up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: i64 = 60;
const LONGEST_PAUSE: i64 = 3600;

/// Fewest hours between two alerts of one kind about one site.
const ALERT_QUIET_HOURS: i64 = 24;

/// A site and a kind of mail.
type Key = (String, String);

/// What the schedule remembers between ticks, in memory: when to try a
/// failed send again, and which hour's alerts were checked.
#[derive(Default)]
pub struct Schedule {
    /// When to try again, and the pause in seconds before that.
    retry: Mutex<HashMap<Key, (DateTime<Utc>, i64)>>,
    checked: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// The token of `address`'s unsubscribe link for `site`'s `kind` of mail
/// (`week`, `month` or `alerts`): opaque, and stable for the installation.
pub fn token(app: &App, site: &str, kind: &str, address: &str) -> String {
    let mac = app.audit.mac(
        "unsubscribe",
        &format!("{site}\n{kind}\n{}", address.to_ascii_lowercase()),
    );
    mac[..32].to_string()
}

fn unsubscribe_url(app: &App, token: &str) -> String {
    format!("{}/unsubscribe/{token}", report::base_url(app))
}

/// The recipients of `kind` about `site` still to get `period`: listed,
/// not unsubscribed, not yet sent to (unless `again`).
fn recipients(
    app: &App,
    site: &str,
    kind: &str,
    group: &str,
    to: &[String],
    period: &str,
    again: bool,
) -> Vec<(String, String)> {
    to.iter()
        .map(|a| (a.clone(), token(app, site, group, a)))
        .filter(|(_, t)| app.mail.unsubscribed.matching(|u| u == t).is_empty())
        .filter(|(_, t)| again || !app.mail.sent.was_sent(site, kind, period, t))
        .collect()
}

/// Whether a failed send of `kind` about `site` should wait still.
fn waiting(app: &App, site: &str, kind: &str, now: DateTime<Utc>) -> bool {
    let retry = app.mail.schedule.retry.lock().expect("retry");
    retry
        .get(&(site.to_string(), kind.to_string()))
        .is_some_and(|(next, _)| now < *next)
}

fn failed(app: &App, site: &str, kind: &str, now: DateTime<Utc>) {
    let mut retry = app.mail.schedule.retry.lock().expect("retry");
    let e = retry
        .entry((site.to_string(), kind.to_string()))
        .or_insert((now, FIRST_PAUSE / 2));
    e.1 = (e.1 * 2).min(LONGEST_PAUSE);
    e.0 = now + Duration::seconds(e.1);
}

fn succeeded(app: &App, site: &str, kind: &str) {
    app.mail
        .schedule
        .retry
        .lock()
        .expect("retry")
        .remove(&(site.to_string(), kind.to_string()));
}

/// Sends `letters` (one per recipient token), recording each the relay
/// accepted; then writes the send to the audit log with the number of
/// recipients. `Err` if any failed.
async fn send_all(
    app: &App,
    site: &Site,
    kind: &str,
    period: &str,
    letters: Vec<(String, Letter)>,
) -> Result<usize, String> {
    let mut sent = 0;
    let mut failure = None;
    for (token, letter) in letters {
        match deliver(app, kind, &letter).await {
            Ok(()) => {
                sent += 1;
                let now = app.clock.now();
                let record = Sent {
                    site: site.host.clone(),
                    kind: kind.to_string(),
                    period: period.to_string(),
                    recipient: token,
                    at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                };
                let mail = app.clone();
                let _ =
                    tokio::task::spawn_blocking(move || mail.mail.sent.record(record, now)).await;
            }
            Err(why) => failure = Some(why),
        }
    }
    if sent > 0 {
        audit_send(app, site, kind, period, sent).await;
    }
    match failure {
        None => Ok(sent),
        Some(why) => Err(why),
    }
}

/// The audit entry of a send: what and how many recipients, never who.
async fn audit_send(app: &App, site: &Site, kind: &str, period: &str, recipients: usize) {
    let entry = glasshouse_audit::Entry::query(
        &site.organisation,
        if matches!(kind, "week" | "month") {
            "report"
        } else {
            "alert"
        },
        &app.audit.pseudonym(kind, &site.host),
        site.purposes.first().map(String::as_str).unwrap_or(""),
        &format!(
            "mail {kind} site={} period={period} recipients={recipients}",
            site.host
        ),
    )
    .at(app.clock.now())
    .rows(recipients as u64)
    .reason(&format!(
        "mailed to {recipients} recipients; ground own organisation {}",
        site.organisation
    ));
    let audit = app.audit.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || audit.log.append(&entry)).await {
        tracing::error!(error = %e, "a mail's audit entry could not be written");
    }
}

/// Sends `site`'s `every` report about `period`: to every listed recipient
/// not unsubscribed, or (unless `again`) only those not yet sent it. The
/// number sent.
pub async fn send_report(
    app: &App,
    site: &Site,
    every: Every,
    period: Period,
    again: bool,
) -> Result<usize, String> {
    let Some(r) = site.reports.iter().find(|r| r.every == every) else {
        return Err(format!(
            "{} has no {} report in the configuration",
            site.host,
            every.name()
        ));
    };
    let key = period.first.to_string();
    let to = recipients(
        app,
        &site.host,
        every.name(),
        every.name(),
        &r.to,
        &key,
        again,
    );
    if to.is_empty() {
        return Ok(0);
    }
    let figures = report::figures(app, site, period).await?;
    let letters = to
        .into_iter()
        .map(|(address, token)| {
            let url = unsubscribe_url(app, &token);
            (
                token,
                report::letter(app, site, every, period, &figures, &address, &url),
            )
        })
        .collect();
    send_all(app, site, every.name(), &key, letters).await
}

async fn send_alert(app: &App, site: &Site, a: &Alert) -> Result<usize, String> {
    let Some(rules) = &site.alerts else {
        return Ok(0);
    };
    let kind = a.direction.kind();
    let key = a.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let letters = recipients(app, &site.host, kind, "alerts", &rules.to, &key, false)
        .into_iter()
        .map(|(address, token)| {
            let url = unsubscribe_url(app, &token);
            (token, alerts::letter(app, site, a, &address, &url))
        })
        .collect();
    send_all(app, site, kind, &key, letters).await
}

/// One site's due reports; whether something is still pending.
async fn reports_due(app: &App, site: &Site, now: DateTime<Utc>) -> bool {
    let mut pending = false;
    let today = glasshouse_model::query::day_of(now, site.timezone);
    for r in &site.reports {
        let period = report::last_period(r.every, today);
        let kind = r.every.name();
        if now < report::due_at(period, site) || waiting(app, &site.host, kind, now) {
            pending |= waiting(app, &site.host, kind, now);
            continue;
        }
        match send_report(app, site, r.every, period, false).await {
            Ok(_) => succeeded(app, &site.host, kind),
            Err(why) => {
                tracing::error!(site = %site.host, kind, %why, "a report could not be sent; it will be tried again");
                failed(app, &site.host, kind, now);
                pending = true;
            }
        }
    }
    pending
}

/// One site's alerts, checked once per hour; whether one is pending.
async fn alerts_due(app: &App, site: &Site, now: DateTime<Utc>) -> bool {
    let Some(rules) = &site.alerts else {
        return false;
    };
    let hour = now - Duration::seconds(now.timestamp().rem_euclid(3600));
    let seen = app
        .mail
        .schedule
        .checked
        .lock()
        .expect("checked")
        .get(&site.host)
        .copied();
    if seen == Some(hour) || waiting(app, &site.host, "alerts", now) {
        return waiting(app, &site.host, "alerts", now);
    }
    let alert = match alerts::check(app, site, rules, now).await {
        Ok(a) => a,
        Err(why) => {
            tracing::error!(site = %site.host, %why, "traffic could not be checked for alerts");
            return false;
        }
    };
    app.mail
        .schedule
        .checked
        .lock()
        .expect("checked")
        .insert(site.host.clone(), hour);
    let Some(a) = alert else { return false };
    let quiet = app
        .mail
        .sent
        .last(&site.host, a.direction.kind())
        .is_some_and(|s| {
            DateTime::parse_from_rfc3339(&s.at)
                .is_ok_and(|at| now - at.with_timezone(&Utc) < Duration::hours(ALERT_QUIET_HOURS))
        });
    if quiet {
        return false;
    }
    match send_alert(app, site, &a).await {
        Ok(_) => {
            succeeded(app, &site.host, "alerts");
            false
        }
        Err(why) => {
            tracing::error!(site = %site.host, %why, "an alert could not be sent; it will be tried again");
            failed(app, &site.host, "alerts", now);
            // Checked again at the next try.
            app.mail
                .schedule
                .checked
                .lock()
                .expect("checked")
                .remove(&site.host);
            true
        }
    }
}

/// Everything due now, for every site; sets `/metrics`' pending count.
pub async fn tick(app: &App) {
    if app.config.smtp.is_none() {
        return;
    }
    let now = app.clock.now();
    let mut pending = 0;
    for site in &app.config.sites {
        pending += i64::from(reports_due(app, site, now).await);
        pending += i64::from(alerts_due(app, site, now).await);
    }
    app.metrics.mail_pending.set(pending);
}
