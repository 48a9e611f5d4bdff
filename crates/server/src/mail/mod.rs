//! Reports and alerts by e-mail (docs/reports.md).
//!
//! - `report`: a site's weekly or monthly figures, asked through the gate
//!   like any question (`internal::ask`), written as an accessible HTML
//!   mail with a plain-text part, in the site's time zone.
//! - `alerts`: traffic far below or above the same hours of previous weeks.
//! - `schedule`: what is due, sent once (`glasshouse_store::mail`), retried
//!   with growing pauses while the relay fails, counted in `/metrics`.
//! - `unsubscribe`: the link in every mail.
//!
//! Mail goes through the `[smtp]` relay (STARTTLS or TLS, the password
//! read from a file or the environment at each connection and never
//! logged). One message per recipient, each with its own unsubscribe
//! link; the audit log records every question a mail answered and, for
//! the send, how many recipients, never who.

pub mod alerts;
mod internal;
pub mod report;
pub mod schedule;
pub mod unsubscribe;

use crate::App;
use glasshouse_model::mail::{Security, Smtp};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Tries per message before the send is left for the scheduler to retry.
const TRIES: u32 = 3;

/// The pause after a try the relay refused for now (4xx) or that could not
/// reach it, doubled after each.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// Longest a connection to the relay may take to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the mailer keeps in the data directory.
pub struct Mail {
    /// What the relay accepted.
    pub sent: glasshouse_store::mail::SentLog,
    /// Who asked to stop.
    pub unsubscribed: glasshouse_store::mail::Unsubscribed,
    /// Retries and checks in progress.
    pub schedule: schedule::Schedule,
}

impl Mail {
    /// Opens the files in `dir`.
    pub fn open(dir: &std::path::Path) -> std::io::Result<Mail> {
        Ok(Mail {
            sent: glasshouse_store::mail::SentLog::open(dir)?,
            unsubscribed: glasshouse_store::mail::unsubscribed(dir)?,
            schedule: schedule::Schedule::default(),
        })
    }
}

/// One mail to one recipient.
pub struct Letter {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The recipient's unsubscribe address.
    pub unsubscribe: String,
}

fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = || -> Result<TlsParameters, String> {
        let mut b = TlsParameters::builder(smtp.host.clone());
        if let Some(ca) = &smtp.ca_file {
            let pem =
                std::fs::read(ca).map_err(|e| format!("smtp.ca_file {}: {e}", ca.display()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file: {e}"))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| format!("smtp: TLS: {e}"))
    };
    let tls = match smtp.security {
        Security::Tls => Tls::Wrapper(tls()?),
        Security::StartTls => Tls::Required(tls()?),
        Security::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.read()?));
    }
    Ok(builder.build())
}

fn message(smtp: &Smtp, l: &Letter) -> Result<Message, String> {
    let from: Mailbox = smtp.from.parse().map_err(|e| format!("smtp.from: {e}"))?;
    let to: Mailbox = l.to.parse().map_err(|e| format!("recipient: {e}"))?;
    let header = |name: &str, value: String| {
        HeaderName::new_from_ascii(name.to_string())
            .map(|n| HeaderValue::new(n, value))
            .map_err(|e| e.to_string())
    };
    Message::builder()
        .from(from)
        .to(to)
        .subject(l.subject.clone())
        // One click unsubscribes, in mail programs that offer it (RFC 8058).
        .raw_header(header("List-Unsubscribe", format!("<{}>", l.unsubscribe))?)
        .raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".into(),
        )?)
        .raw_header(header("Auto-Submitted", "auto-generated".into())?)
        .multipart(MultiPart::alternative_plain_html(
            l.text.clone(),
            l.html.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// Sends `letter` through the relay, trying again after a refusal for now
/// (4xx) or a failed connection; counted in `/metrics` under `kind`.
/// The error says why, without the recipient.
pub async fn deliver(app: &App, kind: &str, letter: &Letter) -> Result<(), String> {
    let smtp = app
        .config
        .smtp
        .clone()
        .ok_or("no [smtp] relay is configured")?;
    let label = crate::metrics::Reason {
        reason: kind.to_string(),
    };
    let message = message(&smtp, letter)?;
    let mut pause = FIRST_PAUSE;
    let mut last = String::new();
    for attempt in 1..=TRIES {
        let sent = match transport(&smtp) {
            Ok(t) => t.send(message.clone()).await.map_err(|e| {
                // A relay's refusal may quote the address: never logged.
                (
                    e.is_permanent(),
                    glasshouse_privacy::scrub(&e.to_string()).into_owned(),
                )
            }),
            Err(e) => Err((true, e)),
        };
        match sent {
            Ok(_) => {
                app.metrics.mail_sent.get_or_create(&label).inc();
                return Ok(());
            }
            Err((permanent, why)) => {
                app.metrics.mail_failures.get_or_create(&label).inc();
                tracing::warn!(kind, attempt, %why, "the mail relay did not take a message");
                last = why;
                if permanent {
                    break;
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
    Err(last)
}
