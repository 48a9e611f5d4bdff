//! `glasshouse report --config FILE --site HOST [--every week|month] [--send]`:
//! a site's latest complete report, now. With `--send` it goes to every
//! listed recipient who has not unsubscribed (again, if it went already);
//! without, its plain text is printed. While a server runs on the data
//! directory, that server does it (over `DATA_DIR/control.sock`);
//! otherwise this command opens the directory itself. Either way the
//! figures are asked through the gate and the send is in the audit log.
//!
//! `glasshouse alerts --config FILE --site HOST [--days 30]`: the alerts
//! the site's rules (or the defaults, if it has none) would have sent over
//! the last days, to tune them before they are turned on.

use anyhow::{bail, Context};
use glasshouse_model::mail::Every;
use glasshouse_model::{Clock, Config, SystemClock};
use glasshouse_server::mail::{report, schedule};
use glasshouse_server::App;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// `glasshouse report`.
pub fn run(config_path: &Path, host: &str, every: Option<&str>, send: bool) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let request = json!({"report": {"site": host, "every": every, "send": send}});
    let answer = match glasshouse_store::datadir::DataDir::lock(&config.data_dir) {
        Ok(dir) => here(dir, config, &request)?,
        Err(_) => crate::backup::ask_control(&config.data_dir, &request)?,
    };
    if let Some(e) = answer["error"].as_str() {
        bail!("{e}");
    }
    if let Some(text) = answer["text"].as_str() {
        print!("{text}");
    } else {
        let n = answer["sent"].as_u64().unwrap_or(0);
        println!(
            "sent the report of {host} ({}) to {n} recipient{}",
            answer["period"].as_str().unwrap_or(""),
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// Opens the data directory (no server holds it) and answers here.
fn here(
    _dir: glasshouse_store::datadir::DataDir,
    config: Config,
    request: &Value,
) -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (app, store, ingestor, _) = crate::runtime::assemble(config, clock)?;
        let answer = answer(&app, request).await;
        drop(app);
        if let Ok(ingestor) = Arc::try_unwrap(ingestor) {
            ingestor.shutdown();
        }
        store.checkpoint()?;
        Ok(answer)
    })
}

/// `glasshouse alerts`.
pub fn alerts(config_path: &Path, host: &str, days: u32) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let request = json!({"alerts": {"site": host, "days": days}});
    let answer = match glasshouse_store::datadir::DataDir::lock(&config.data_dir) {
        Ok(dir) => here(dir, config, &request)?,
        Err(_) => crate::backup::ask_control(&config.data_dir, &request)?,
    };
    if let Some(e) = answer["error"].as_str() {
        bail!("{e}");
    }
    print!("{}", answer["text"].as_str().unwrap_or(""));
    Ok(())
}

/// A `{"report": {"site", "every", "send"}}` or `{"alerts": {"site",
/// "days"}}` request, answered by `app`.
pub async fn answer(app: &App, request: &Value) -> Value {
    let answered = if request.get("alerts").is_some() {
        alerts_replay(app, &request["alerts"]).await
    } else {
        report_now(app, &request["report"]).await
    };
    match answered {
        Ok(v) => v,
        Err(e) => json!({"error": format!("{e:#}")}),
    }
}

async fn report_now(app: &App, r: &Value) -> anyhow::Result<Value> {
    let host = r["site"].as_str().unwrap_or("");
    let site = app
        .config
        .site(host)
        .with_context(|| format!("--site: no site {host:?} in the configuration"))?;
    let every = match r["every"].as_str() {
        Some("week") => Every::Week,
        Some("month") => Every::Month,
        Some(other) => bail!("--every: {other:?}; use week or month"),
        None => match site.reports.first() {
            Some(first) => first.every,
            None => bail!("--site: {host} has no [[sites.reports]] in the configuration"),
        },
    };
    let today = glasshouse_model::query::day_of(app.clock.now(), site.timezone);
    let period = report::last_period(every, today);
    let span = format!("{} to {}", period.first, period.last);
    if r["send"].as_bool() != Some(true) {
        let figures = report::figures(app, site, period)
            .await
            .map_err(anyhow::Error::msg)?;
        let letter = report::letter(
            app,
            site,
            every,
            period,
            &figures,
            "preview@localhost.invalid",
            "(unsubscribe link)",
        );
        return Ok(
            json!({"text": format!("Subject: {}\n\n{}", letter.subject, letter.text), "period": span}),
        );
    }
    if app.config.smtp.is_none() {
        bail!("--send: the configuration has no [smtp] relay");
    }
    let sent = schedule::send_report(app, site, every, period, true)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(json!({"sent": sent, "period": span}))
}

async fn alerts_replay(app: &App, r: &Value) -> anyhow::Result<Value> {
    use glasshouse_server::mail::alerts;
    let host = r["site"].as_str().unwrap_or("");
    let site = app
        .config
        .site(host)
        .with_context(|| format!("--site: no site {host:?} in the configuration"))?;
    let days = r["days"].as_i64().unwrap_or(30).clamp(1, 366);
    let (rules, whose) = match &site.alerts {
        Some(a) => (a.clone(), "the site's [sites.alerts]"),
        None => (
            glasshouse_model::mail::Alerts::defaults(),
            "the default rules",
        ),
    };
    let found = alerts::replay(app, site, &rules, app.clock.now(), days)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut text = format!(
        "{host}: {} alert{} over the last {days} days under {whose} (drop {}%, spike {}%, {} hours, usual at least {} visitors)\n",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        rules.drop_percent,
        rules.spike_percent,
        rules.window_hours,
        rules.min_visitors
    );
    for a in &found {
        text += &format!(
            "{} {} to {}: {} visitors, usually {}\n",
            a.direction.kind(),
            a.from
                .with_timezone(&site.timezone)
                .format("%Y-%m-%d %H:%M"),
            a.until.with_timezone(&site.timezone).format("%H:%M"),
            a.now,
            a.usual
        );
    }
    Ok(json!({"text": text, "alerts": found.len()}))
}
