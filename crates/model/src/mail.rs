//! Mail settings: the SMTP relay that reports and alerts go through
//! (`[smtp]`), and what each site sends (`[[sites.reports]]`,
//! `[sites.alerts]`). Checked when the configuration loads; a mistake
//! names its field. The relay's password is read from a file or the
//! environment when mail is sent, and never kept in the configuration.

use serde::Deserialize;
use std::path::PathBuf;

/// Most recipients of one report or of a site's alerts.
pub const MAX_RECIPIENTS: usize = 50;

/// Longest e-mail address (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// A plain connection upgraded with STARTTLS before anything is sent
    /// (port 587); refused if the relay does not offer it.
    StartTls,
    /// No encryption: only to a relay on this machine.
    None,
}

/// Where the relay's password is read from when mail is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// A file holding it (the first line).
    File(PathBuf),
    /// An environment variable holding it.
    Env(String),
}

impl Password {
    /// The password, read now.
    pub fn read(&self) -> Result<String, String> {
        match self {
            Password::File(p) => std::fs::read_to_string(p)
                .map(|s| s.lines().next().unwrap_or("").to_string())
                .map_err(|e| format!("smtp.password_file {}: {e}", p.display())),
            Password::Env(v) => {
                std::env::var(v).map_err(|_| format!("smtp.password_env: {v} is not set"))
            }
        }
    }
}

/// `[smtp]`: the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    /// Host name of the relay (also the name its certificate must carry).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// The account to sign in as, if the relay wants one.
    pub username: Option<String>,
    /// Where the account's password is.
    pub password: Option<Password>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// A certificate authority (PEM) to trust besides the usual ones, for
    /// a relay with a private certificate.
    pub ca_file: Option<PathBuf>,
}

/// How often a report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Every {
    /// On Monday morning, about the week before (Monday to Sunday).
    Week,
    /// On the first of the month, about the month before.
    Month,
}

impl Every {
    /// The name in the configuration and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Every::Week => "week",
            Every::Month => "month",
        }
    }
}

/// `[[sites.reports]]`: a report sent regularly to listed addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How often.
    pub every: Every,
    /// Who receives it.
    pub to: Vec<String>,
}

/// `[sites.alerts]`: mail when traffic falls or rises far from the same
/// hours of previous weeks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    /// Who receives them.
    pub to: Vec<String>,
    /// Hours compared, ending at the last full hour.
    pub window_hours: u32,
    /// A drop: at least this many per cent below the usual.
    pub drop_percent: u32,
    /// A spike: at least this many per cent above the usual.
    pub spike_percent: u32,
    /// Fewest visitors the usual must count before anything is compared:
    /// small numbers rise and fall by chance.
    pub min_visitors: u64,
}

impl Alerts {
    /// The rules a site gets when `[sites.alerts]` names only `to`.
    pub fn defaults() -> Alerts {
        Alerts {
            to: Vec::new(),
            window_hours: 3,
            drop_percent: 50,
            spike_percent: 200,
            min_visitors: 50,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSmtp {
    host: String,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    from: String,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    every: String,
    to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    to: Vec<String>,
    window_hours: Option<u32>,
    drop_percent: Option<u32>,
    spike_percent: Option<u32>,
    min_visitors: Option<u64>,
}

/// A refusal: the field at fault, and why.
type Refused = (String, String);

fn refuse(field: &str, why: impl Into<String>) -> Refused {
    (field.to_string(), why.into())
}

/// Whether `s` is a plain e-mail address (`local@domain.example`), with
/// nothing that could add a header or a second recipient.
pub fn valid_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= MAX_ADDRESS
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"".contains(c))
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// The sender: an address, or `Name <address>`.
fn valid_from(s: &str) -> bool {
    match s.rsplit_once('<') {
        None => valid_address(s),
        Some((name, rest)) => {
            rest.strip_suffix('>').is_some_and(valid_address)
                && !name.chars().any(|c| c.is_control() || "<>\"".contains(c))
        }
    }
}

impl RawSmtp {
    /// The relay, checked.
    pub(crate) fn check(self) -> Result<Smtp, Refused> {
        let security = match self.security.as_deref().unwrap_or("starttls") {
            "tls" => Security::Tls,
            "starttls" => Security::StartTls,
            "none" => Security::None,
            other => {
                return Err(refuse(
                    "smtp.security",
                    format!("{other:?}: use starttls, tls or none"),
                ))
            }
        };
        let host = self.host.trim().to_ascii_lowercase();
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        {
            return Err(refuse("smtp.host", format!("{host:?} is not a host name")));
        }
        if security == Security::None && !matches!(host.as_str(), "localhost" | "127.0.0.1") {
            return Err(refuse(
                "smtp.security",
                "none is only for a relay on this machine (localhost); use starttls or tls",
            ));
        }
        if !valid_from(self.from.trim()) {
            return Err(refuse(
                "smtp.from",
                format!("{:?} is not an address or Name <address>", self.from),
            ));
        }
        let password = match (self.password_file, self.password_env) {
            (Some(_), Some(_)) => {
                return Err(refuse(
                    "smtp.password_file",
                    "give password_file or password_env, not both",
                ))
            }
            (Some(f), None) => Some(Password::File(f)),
            (None, Some(v)) => Some(Password::Env(v)),
            (None, None) => None,
        };
        if password.is_some() != self.username.is_some() {
            return Err(refuse(
                "smtp.username",
                "username and a password (password_file or password_env) go together",
            ));
        }
        if let Some(Password::File(f)) = &password {
            if !f.is_file() {
                return Err(refuse(
                    "smtp.password_file",
                    format!("{} is not a readable file", f.display()),
                ));
            }
        }
        let port = self.port.unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        Ok(Smtp {
            host,
            port,
            security,
            username: self.username,
            password,
            from: self.from.trim().to_string(),
            ca_file: self.ca_file,
        })
    }
}

fn recipients(to: Vec<String>, field: &str) -> Result<Vec<String>, Refused> {
    if to.is_empty() || to.len() > MAX_RECIPIENTS {
        return Err(refuse(field, format!("1 to {MAX_RECIPIENTS} addresses")));
    }
    let mut out: Vec<String> = Vec::new();
    for a in to {
        let a = a.trim().to_string();
        if !valid_address(&a) {
            return Err(refuse(field, format!("{a:?} is not an e-mail address")));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&a)) {
            out.push(a);
        }
    }
    Ok(out)
}

/// The reports of site `i`, checked.
pub(crate) fn site_reports(raw: Vec<RawReport>, i: usize) -> Result<Vec<Report>, Refused> {
    let mut out: Vec<Report> = Vec::new();
    for (j, r) in raw.into_iter().enumerate() {
        let field = format!("sites[{i}].reports[{j}]");
        let every = match r.every.as_str() {
            "week" => Every::Week,
            "month" => Every::Month,
            other => {
                return Err(refuse(
                    &format!("{field}.every"),
                    format!("{other:?}: use week or month"),
                ))
            }
        };
        if out.iter().any(|o| o.every == every) {
            return Err(refuse(
                &format!("{field}.every"),
                format!(
                    "a second {} report; list every address in one",
                    every.name()
                ),
            ));
        }
        let to = recipients(r.to, &format!("{field}.to"))?;
        out.push(Report { every, to });
    }
    Ok(out)
}

/// The alerts of site `i`, checked.
pub(crate) fn site_alerts(raw: Option<RawAlerts>, i: usize) -> Result<Option<Alerts>, Refused> {
    let Some(a) = raw else { return Ok(None) };
    let field = |k: &str| format!("sites[{i}].alerts.{k}");
    let to = recipients(a.to, &field("to"))?;
    let d = Alerts::defaults();
    let window_hours = a.window_hours.unwrap_or(d.window_hours);
    if !(1..=24).contains(&window_hours) {
        return Err(refuse(&field("window_hours"), "1 to 24"));
    }
    let drop_percent = a.drop_percent.unwrap_or(d.drop_percent);
    if !(10..=100).contains(&drop_percent) {
        return Err(refuse(&field("drop_percent"), "10 to 100"));
    }
    let spike_percent = a.spike_percent.unwrap_or(d.spike_percent);
    if !(10..=10_000).contains(&spike_percent) {
        return Err(refuse(&field("spike_percent"), "10 to 10000"));
    }
    Ok(Some(Alerts {
        to,
        window_hours,
        drop_percent,
        spike_percent,
        min_visitors: a.min_visitors.unwrap_or(d.min_visitors),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_addresses_are_recipients() {
        for ok in ["team@gov.example", "a.b+reports@digital.gov.uk"] {
            assert!(valid_address(ok), "{ok}");
        }
        for bad in [
            "",
            "team",
            "@gov.uk",
            "team@gov",
            "a b@gov.uk",
            "a@gov.uk\r\nBcc: x@y.z",
            "a@gov.uk,b@gov.uk",
            "<a@gov.uk>",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
        assert!(valid_from("glasshouse <analytics@gov.example>"));
        assert!(!valid_from("glass\"house <analytics@gov.example>"));
    }
}
