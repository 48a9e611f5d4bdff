//! The configuration file, parsed and validated in one place.
//!
//! `glasshouse.toml` is the single source of truth for what the installation
//! collects and for whom. A bad file is refused as a whole, with a message
//! naming the file, the line and the field, so an operator never runs with a
//! half-understood configuration.

use crate::governance::{default_purpose, Agreement, Purpose, PurposeCategory};
use crate::role::Role;
use chrono::NaiveDate;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Why a configuration was refused. Every variant says where, so the fix is obvious.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// The TOML is malformed or a field has the wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// The TOML is well formed but says something impossible.
    #[error("{file}:{line}: {field}: {message}")]
    Invalid {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where the database, salts and other state live.
    pub data_dir: PathBuf,
    /// The address under which browsers reach this server, used in the tracker snippet.
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed. Anyone else could forge it.
    pub trusted_proxies: Vec<IpNet>,
    /// MaxMind-format databases, asked in order: a country database gives
    /// countries, a city one (DB-IP's IPv4 and IPv6 files) countries and
    /// first-level regions. Without any, both are unknown.
    pub geoip_database: Vec<PathBuf>,
    /// The organisations that run sites here.
    pub organisations: Vec<Organisation>,
    /// Why data may be processed; every query names one of these.
    pub purposes: Vec<Purpose>,
    /// The sites whose traffic is counted.
    pub sites: Vec<Site>,
    /// Who may see what of whose data, and whether journeys link across sites.
    pub agreements: Vec<Agreement>,
    /// Tokens for the Stats API, stored as hashes so the file itself is not a secret.
    pub api_tokens: Vec<ApiToken>,
    /// Dashboard accounts.
    pub users: Vec<User>,
    /// Where events are stored.
    pub store: StoreChoice,
    /// Most bytes the write-ahead log may hold not yet in the store before
    /// the collector answers 503 (`[store] wal_limit_mb`); None: the
    /// log's default of 1 GiB.
    pub wal_limit_bytes: Option<u64>,
    /// Fewest events or visitors the public register shows for a site;
    /// smaller figures read "fewer than" this (default 10).
    pub register_threshold: u64,
    /// How the server writes its log: lines for people, or JSON for a log
    /// collector.
    pub log_format: LogFormat,
    /// The relay reports and alerts are mailed through, if any.
    pub smtp: Option<crate::mail::Smtp>,
    /// Which organisation's node this installation is, when organisations
    /// each run their own (docs/federation.md); `None` in one shared
    /// installation.
    pub node: Option<crate::federation::NodeSettings>,
}

/// How the server writes its log (`log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event (the default).
    #[default]
    Text,
    /// One JSON object per event, for a log collector.
    Json,
}

/// The store back end: the embedded default, or a ClickHouse server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreChoice {
    /// DuckDB in the data directory: nothing to install.
    #[default]
    DuckDb,
    /// ClickHouse over HTTP: `clickhouse://[user[:password]@]host:port/database[?cluster=NAME]`.
    ClickHouse {
        /// The URL, credentials included (never logged).
        url: String,
    },
}

impl StoreChoice {
    /// Parses `duckdb` or a `clickhouse://` URL, as `--store` and `[store]` take them.
    pub fn parse(s: &str) -> Result<StoreChoice, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("duckdb") {
            return Ok(StoreChoice::DuckDb);
        }
        match s.strip_prefix("clickhouse://") {
            Some(rest)
                if rest.split('/').next().is_some_and(|h| !h.is_empty()) && rest.contains('/') =>
            {
                Ok(StoreChoice::ClickHouse { url: s.to_string() })
            }
            _ => Err(format!(
                "{:?} is not \"duckdb\" or a URL like clickhouse://127.0.0.1:8123/glasshouse",
                redact(s)
            )),
        }
    }

    /// The choice for people to read: the password is never shown.
    pub fn describe(&self) -> String {
        match self {
            StoreChoice::DuckDb => "DuckDB (embedded)".into(),
            StoreChoice::ClickHouse { url } => format!("ClickHouse at {}", redact(url)),
        }
    }
}

/// `url` without the password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// An organisation that runs one or more sites and answers for their data.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// A short stable slug, e.g. `cabinet-office`.
    pub id: String,
    /// The name people know it by.
    pub name: String,
    /// How to reach its data protection officer (an address or a URL).
    #[serde(default)]
    pub dpo: Option<String>,
    /// Where its privacy notice is published.
    #[serde(default)]
    pub privacy_notice: Option<String>,
    /// The public key its agreement signatures verify with
    /// (`ed25519:BASE64`, from `glasshouse agreement keygen`).
    #[serde(default)]
    pub signing_key: Option<String>,
}

/// A site whose traffic is counted, with the rules that apply to its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Host name as the browser sees it; also the `site_id` of the Stats API.
    pub host: String,
    /// Slug of the owning organisation.
    pub organisation: String,
    /// Query parameters kept in stored URLs; all others are dropped (utm_* are always kept).
    pub query_params: Vec<String>,
    /// Event property keys that are kept; `None` keeps any key (values are still scrubbed).
    pub props: Option<Vec<String>>,
    /// Days that raw events (with daily visitor ids) are kept before deletion.
    pub raw_retention_days: u32,
    /// Days that aggregates without any visitor id are kept.
    pub aggregate_retention_days: u32,
    /// Ids of the purposes this site's data may be queried for; the first is the default.
    pub purposes: Vec<String>,
    /// Path prefixes (e.g. `/government/news`) under which a date inside a
    /// worded slug is kept (`/government/news/pm-statement-10-september-2019`):
    /// publication slugs carry their date. Elsewhere, and for a segment
    /// that is nothing but a date, dates are scrubbed as possible dates of
    /// birth.
    pub dated_slugs: Vec<String>,
    /// What the site counts as conversions (`event:goal`).
    pub goals: Vec<crate::goal::Goal>,
    /// The site's time zone (IANA name): its days, hours, periods and
    /// roll-ups are local. UTC when not configured.
    pub timezone: crate::query::Tz,
    /// Reports mailed regularly about the site.
    pub reports: Vec<crate::mail::Report>,
    /// Mail when its traffic falls or rises far from the usual.
    pub alerts: Option<crate::mail::Alerts>,
}

/// Lower-case hex SHA-256 of an API token: what the configuration stores,
/// so the file admits a token without holding it.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A Stats API token. Only its SHA-256 is configured; the token is shown once when made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// A label for people reading the configuration.
    pub name: String,
    /// Slug of the organisation whose sites the token may query.
    pub organisation: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    /// An operator token: it may administer the installation (reload,
    /// metrics). It reads event data only as a member of its own
    /// organisation, like any other token. Off by default.
    pub all_sites: bool,
    /// What the token may change in its organisation; `viewer` by default.
    pub role: Role,
}

/// A dashboard account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name typed at sign-in.
    pub username: String,
    /// Slug of the account's organisation.
    pub organisation: String,
    /// What the account may do in its organisation.
    pub role: Role,
    /// Argon2 hash in PHC string form.
    pub password_hash: String,
}

/// Longest account name, in characters (sign-in refuses longer ones unread).
pub const MAX_USERNAME: usize = 100;

/// The public register's withholding threshold when the file sets none.
pub const DEFAULT_REGISTER_THRESHOLD: u64 = 10;

/// Retention used when a site does not set one: long enough for monthly reporting.
pub const DEFAULT_RAW_RETENTION_DAYS: u32 = 30;

/// Aggregate retention when a site does not set one: 25 months, so a year can
/// be compared with the year before.
pub const DEFAULT_AGGREGATE_RETENTION_DAYS: u32 = 761;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    #[serde(default)]
    geoip_database: OneOrMore,
    #[serde(default)]
    organisations: Vec<Spanned<Organisation>>,
    #[serde(default)]
    purposes: Vec<Spanned<RawPurpose>>,
    #[serde(default)]
    sites: Vec<Spanned<RawSite>>,
    #[serde(default)]
    agreements: Vec<Spanned<RawAgreement>>,
    #[serde(default)]
    api_tokens: Vec<Spanned<RawToken>>,
    #[serde(default)]
    users: Vec<Spanned<RawUser>>,
    store: Option<Spanned<RawStore>>,
    register_threshold: Option<u64>,
    log_format: Option<String>,
    smtp: Option<Spanned<crate::mail::RawSmtp>>,
    node: Option<Spanned<crate::federation::RawNode>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: String,
    url: Option<String>,
    wal_limit_mb: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    host: String,
    organisation: String,
    #[serde(default)]
    query_params: Vec<String>,
    props: Option<Vec<String>>,
    raw_retention_days: Option<u32>,
    aggregate_retention_days: Option<u32>,
    purposes: Option<Vec<String>>,
    #[serde(default)]
    dated_slugs: Vec<String>,
    #[serde(default)]
    goals: Vec<RawGoal>,
    timezone: Option<String>,
    #[serde(default)]
    reports: Vec<crate::mail::RawReport>,
    alerts: Option<crate::mail::RawAlerts>,
}

/// `[[sites.goals]]`: `page = "/apply/done"`, or `event = "Signup"` with
/// optional `props = { plan = "pro" }`; `name` overrides the shown name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoal {
    page: Option<String>,
    event: Option<String>,
    #[serde(default)]
    props: std::collections::BTreeMap<String, String>,
    name: Option<String>,
    currency: Option<String>,
}

impl RawGoal {
    /// The goal, or what is wrong with it.
    fn into_goal(self) -> Result<crate::goal::Goal, String> {
        use crate::goal::{Goal, GoalKind};
        let kind = match (self.page, self.event) {
            (Some(p), None) if self.props.is_empty() => {
                if !p.starts_with('/') || p.len() > 2000 {
                    return Err(format!(
                        "page {p:?} is not a path pattern such as /apply/**"
                    ));
                }
                GoalKind::Page(p)
            }
            (Some(_), None) => return Err("props go with event goals, not page goals".into()),
            (None, Some(e)) if !e.is_empty() && e.len() <= 120 && e != "pageview" => {
                GoalKind::Event {
                    name: e,
                    props: self.props.into_iter().collect(),
                }
            }
            (None, Some(e)) => {
                return Err(format!(
                    "event {e:?} must be a custom event name (not pageview)"
                ))
            }
            _ => return Err("give either page or event".into()),
        };
        if self
            .name
            .as_ref()
            .is_some_and(|n| n.trim().is_empty() || n.len() > 120)
        {
            return Err("name must be 1 to 120 characters".into());
        }
        match (&self.currency, &kind) {
            (Some(c), _) if !crate::goal::is_currency(c) => {
                return Err(format!(
                    "currency {c:?} is not an ISO 4217 code such as GBP"
                ))
            }
            (Some(_), GoalKind::Page(_)) => {
                return Err("currency goes with event goals (revenue comes with events)".into())
            }
            _ => {}
        }
        let mut goal = Goal::new(kind, self.name);
        goal.currency = self.currency;
        Ok(goal)
    }
}

/// An agreement's signatures, each checked against its party's key over
/// the agreement as configured: one per party at most, by parties only.
/// A signature that does not verify is kept, marked so: the agreement is
/// then not in force, and the register says why.
fn signatures(
    a: &Agreement,
    raw: Vec<RawSignature>,
    organisations: &[Organisation],
) -> Result<Vec<crate::signing::AgreementSignature>, String> {
    let mut out: Vec<crate::signing::AgreementSignature> = Vec::new();
    for s in raw {
        if !a.parties.contains(&s.organisation) {
            return Err(format!(
                "{:?} is not a party to the agreement",
                s.organisation
            ));
        }
        if out.iter().any(|o| o.organisation == s.organisation) {
            return Err(format!(
                "{:?} signed twice; keep one signature",
                s.organisation
            ));
        }
        let signed = chrono::DateTime::parse_from_rfc3339(&s.signed)
            .map_err(|_| format!("signed {:?} is not an RFC 3339 time", s.signed))?
            .with_timezone(&chrono::Utc);
        let key = organisations
            .iter()
            .find(|o| o.id == s.organisation)
            .and_then(|o| o.signing_key.as_deref())
            .and_then(|k| crate::signing::public_key(k).ok());
        let verified = key
            .is_some_and(|k| crate::signing::verify(&k, a, &s.organisation, signed, &s.signature));
        out.push(crate::signing::AgreementSignature {
            organisation: s.organisation,
            signed,
            verified,
        });
    }
    Ok(out)
}

/// The goals of site `i`, checked: valid, uniquely named, not too many.
/// A refusal is the field at fault and why.
fn site_goals(raw: Vec<RawGoal>, i: usize) -> Result<Vec<crate::goal::Goal>, (String, String)> {
    let field = |j: usize| format!("sites[{i}].goals[{j}]");
    if raw.len() > crate::goal::MAX_GOALS {
        return Err((
            format!("sites[{i}].goals"),
            format!("at most {} goals", crate::goal::MAX_GOALS),
        ));
    }
    let mut out: Vec<crate::goal::Goal> = Vec::new();
    for (j, g) in raw.into_iter().enumerate() {
        let goal = g.into_goal().map_err(|m| (field(j), m))?;
        if out.iter().any(|o| o.name == goal.name) {
            return Err((
                field(j),
                format!("{:?} names two goals; give one a name", goal.name),
            ));
        }
        out.push(goal);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: String,
    description: String,
    lawful_basis: String,
    category: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgreement {
    id: String,
    title: String,
    parties: Vec<String>,
    sites: Vec<String>,
    purposes: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    breakdowns: Vec<String>,
    #[serde(default)]
    journeys: bool,
    #[serde(default)]
    publish: bool,
    k: u32,
    epsilon_per_month: Option<f64>,
    start: String,
    end: Option<String>,
    #[serde(default)]
    signatories: Vec<String>,
    #[serde(default)]
    signatures: Vec<RawSignature>,
    #[serde(default)]
    nodes: Vec<crate::federation::AgreementNode>,
    #[serde(default)]
    figures: Vec<crate::federation::RawFigure>,
}

/// One entry of an agreement's `signatures`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    organisation: String,
    signed: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    organisation: String,
    sha256: String,
    #[serde(default)]
    all_sites: bool,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    organisation: String,
    role: String,
    password_hash: String,
}

/// `geoip_database = "file"` or `geoip_database = ["ipv4 file", "ipv6 file"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMore {
    One(PathBuf),
    More(Vec<PathBuf>),
}

impl Default for OneOrMore {
    fn default() -> OneOrMore {
        OneOrMore::More(Vec::new())
    }
}

impl Config {
    /// Reads and validates a configuration file. Relative `data_dir` and
    /// `geoip_database` are taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.display().to_string(),
            source,
        })?;
        let mut config = Config::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.data_dir.is_relative() {
            config.data_dir = base.join(&config.data_dir);
        }
        for geo in &mut config.geoip_database {
            if geo.is_relative() {
                *geo = base.join(&*geo);
            }
        }
        Ok(config)
    }

    /// Parses and validates configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            message: e.message().to_string(),
        })?;
        let invalid = |offset: usize, field: String, message: String| ConfigError::Invalid {
            file: file.to_string(),
            line: line_of(text, offset),
            field,
            message,
        };

        let listen = match raw.listen.as_deref() {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(s) => s.parse().map_err(|_| {
                invalid(
                    text.find("listen").unwrap_or(0),
                    "listen".into(),
                    format!("{s:?} is not an address like 127.0.0.1:8080"),
                )
            })?,
        };

        let mut trusted_proxies = Vec::new();
        for (i, p) in raw.trusted_proxies.iter().enumerate() {
            let s = p.get_ref();
            let net = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(
                        p.span().start,
                        format!("trusted_proxies[{i}]"),
                        format!("{s:?} is not an IP address or CIDR range"),
                    )
                })?;
            trusted_proxies.push(net);
        }

        let mut org_ids = HashSet::new();
        let mut organisations = Vec::new();
        for (i, o) in raw.organisations.into_iter().enumerate() {
            let span = o.span();
            let start = span.start;
            let o = o.into_inner();
            if !is_slug(&o.id) {
                return Err(invalid(
                    start,
                    format!("organisations[{i}].id"),
                    format!(
                        "{:?} must be a slug: lower-case letters, digits and '-'",
                        o.id
                    ),
                ));
            }
            if !org_ids.insert(o.id.clone()) {
                return Err(invalid(
                    start,
                    format!("organisations[{i}].id"),
                    format!("{:?} is declared twice", o.id),
                ));
            }
            if let Some(Err(why)) = o.signing_key.as_deref().map(crate::signing::public_key) {
                return Err(invalid(
                    key_offset(text, span.clone(), "signing_key"),
                    format!("organisations[{i}].signing_key"),
                    format!("{why} (make one with glasshouse agreement keygen)"),
                ));
            }
            organisations.push(o);
        }

        let known_org = |org: &str, offset: usize, field: String| {
            if org_ids.contains(org) {
                Ok(())
            } else {
                Err(invalid(
                    offset,
                    field,
                    format!("unknown organisation {org:?}; declare it under [[organisations]]"),
                ))
            }
        };

        let mut purposes: Vec<Purpose> = Vec::new();
        for (i, p) in raw.purposes.into_iter().enumerate() {
            let span = p.span();
            let p = p.into_inner();
            let at = |key: &str| key_offset(text, span.clone(), key);
            if !is_slug(&p.id) {
                return Err(invalid(
                    at("id"),
                    format!("purposes[{i}].id"),
                    format!(
                        "{:?} must be a slug: lower-case letters, digits and '-'",
                        p.id
                    ),
                ));
            }
            if purposes.iter().any(|q| q.id == p.id) {
                return Err(invalid(
                    at("id"),
                    format!("purposes[{i}].id"),
                    format!("{:?} is declared twice", p.id),
                ));
            }
            let Some(category) = PurposeCategory::parse(&p.category) else {
                let allowed: Vec<&str> = PurposeCategory::ALL.iter().map(|c| c.slug()).collect();
                return Err(invalid(
                    at("category"),
                    format!("purposes[{i}].category"),
                    format!(
                        "{:?} is not one of the fixed categories: {}",
                        p.category,
                        allowed.join(", ")
                    ),
                ));
            };
            for (key, value) in [
                ("description", &p.description),
                ("lawful_basis", &p.lawful_basis),
            ] {
                if value.trim().is_empty() {
                    return Err(invalid(
                        at(key),
                        format!("purposes[{i}].{key}"),
                        "must not be empty".into(),
                    ));
                }
            }
            purposes.push(Purpose {
                id: p.id,
                description: p.description,
                lawful_basis: p.lawful_basis,
                category,
            });
        }
        if purposes.is_empty() {
            purposes.push(default_purpose());
        }
        let known_purpose = |id: &str, offset: usize, field: String| {
            if purposes.iter().any(|p| p.id == id) {
                Ok(())
            } else {
                Err(invalid(
                    offset,
                    field,
                    format!("unknown purpose {id:?}; declare it under [[purposes]]"),
                ))
            }
        };

        let mut hosts = HashSet::new();
        let mut sites = Vec::new();
        for (i, s) in raw.sites.into_iter().enumerate() {
            let span = s.span();
            let s = s.into_inner();
            let host = s.host.to_ascii_lowercase();
            if !is_host(&host) {
                return Err(invalid(
                    key_offset(text, span.clone(), "host"),
                    format!("sites[{i}].host"),
                    format!("{:?} is not a host name like www.gov.uk", s.host),
                ));
            }
            if !hosts.insert(host.clone()) {
                return Err(invalid(
                    key_offset(text, span.clone(), "host"),
                    format!("sites[{i}].host"),
                    format!("{host:?} is declared twice"),
                ));
            }
            known_org(
                &s.organisation,
                key_offset(text, span.clone(), "organisation"),
                format!("sites[{i}].organisation"),
            )?;
            let days = s.raw_retention_days.unwrap_or(DEFAULT_RAW_RETENTION_DAYS);
            if days == 0 {
                return Err(invalid(
                    key_offset(text, span.clone(), "raw_retention_days"),
                    format!("sites[{i}].raw_retention_days"),
                    "must be at least 1".into(),
                ));
            }
            let aggregate_days = s
                .aggregate_retention_days
                .unwrap_or(DEFAULT_AGGREGATE_RETENTION_DAYS.max(days));
            if aggregate_days < days {
                return Err(invalid(
                    key_offset(text, span.clone(), "aggregate_retention_days"),
                    format!("sites[{i}].aggregate_retention_days"),
                    format!("must be at least raw_retention_days ({days})"),
                ));
            }
            let site_purposes = match s.purposes {
                None => purposes.iter().map(|p| p.id.clone()).collect(),
                Some(list) => {
                    if list.is_empty() {
                        return Err(invalid(
                            key_offset(text, span.clone(), "purposes"),
                            format!("sites[{i}].purposes"),
                            "must name at least one purpose".into(),
                        ));
                    }
                    for (j, id) in list.iter().enumerate() {
                        known_purpose(
                            id,
                            key_offset(text, span.clone(), "purposes"),
                            format!("sites[{i}].purposes[{j}]"),
                        )?;
                    }
                    list
                }
            };
            for (j, prefix) in s.dated_slugs.iter().enumerate() {
                if !prefix.starts_with('/') || prefix.len() < 2 || prefix.len() > 200 {
                    return Err(invalid(
                        key_offset(text, span.clone(), "dated_slugs"),
                        format!("sites[{i}].dated_slugs[{j}]"),
                        format!("{prefix:?} is not a path prefix such as /government/news"),
                    ));
                }
            }
            let goals = site_goals(s.goals, i).map_err(|(field, message)| {
                invalid(key_offset(text, span.clone(), "goals"), field, message)
            })?;
            let timezone = match &s.timezone {
                None => crate::query::Tz::UTC,
                Some(name) => name.parse().map_err(|_| {
                    invalid(
                        key_offset(text, span.clone(), "timezone"),
                        format!("sites[{i}].timezone"),
                        format!("{name:?} is not an IANA time zone such as Europe/London"),
                    )
                })?,
            };
            let reports = crate::mail::site_reports(s.reports, i).map_err(|(field, message)| {
                invalid(key_offset(text, span.clone(), "reports"), field, message)
            })?;
            let alerts = crate::mail::site_alerts(s.alerts, i).map_err(|(field, message)| {
                invalid(key_offset(text, span.clone(), "alerts"), field, message)
            })?;
            if (!reports.is_empty() || alerts.is_some()) && raw.smtp.is_none() {
                return Err(invalid(
                    key_offset(
                        text,
                        span.clone(),
                        if reports.is_empty() {
                            "alerts"
                        } else {
                            "reports"
                        },
                    ),
                    format!(
                        "sites[{i}].{}",
                        if reports.is_empty() {
                            "alerts"
                        } else {
                            "reports"
                        }
                    ),
                    "mail needs a relay: add [smtp] (host, from, and how to sign in)".into(),
                ));
            }
            sites.push(Site {
                goals,
                timezone,
                reports,
                alerts,
                host,
                organisation: s.organisation,
                query_params: s.query_params,
                props: s.props,
                raw_retention_days: days,
                aggregate_retention_days: aggregate_days,
                purposes: site_purposes,
                dated_slugs: s.dated_slugs,
            });
        }

        let mut agreements: Vec<Agreement> = Vec::new();
        for (i, a) in raw.agreements.into_iter().enumerate() {
            let span = a.span();
            let a = a.into_inner();
            let at = |key: &str| key_offset(text, span.clone(), key);
            let field = |key: &str| format!("agreements[{i}].{key}");
            if !is_slug(&a.id) || agreements.iter().any(|b| b.id == a.id) {
                return Err(invalid(
                    at("id"),
                    field("id"),
                    format!("{:?} must be a slug that no other agreement uses", a.id),
                ));
            }
            let mut parties: Vec<String> = Vec::new();
            for p in &a.parties {
                known_org(p, at("parties"), field("parties"))?;
                if !parties.contains(p) {
                    parties.push(p.clone());
                }
            }
            if parties.len() < 2 {
                return Err(invalid(
                    at("parties"),
                    field("parties"),
                    "an agreement needs at least two different organisations".into(),
                ));
            }
            let mut covered = Vec::new();
            for h in &a.sites {
                let h = h.to_ascii_lowercase();
                let Some(site) = sites.iter().find(|s| s.host == h) else {
                    return Err(invalid(
                        at("sites"),
                        field("sites"),
                        format!("unknown site {h:?}; declare it under [[sites]]"),
                    ));
                };
                if !parties.contains(&site.organisation) {
                    return Err(invalid(
                        at("sites"),
                        field("sites"),
                        format!(
                            "{h:?} belongs to {:?}, which is not a party to the agreement",
                            site.organisation
                        ),
                    ));
                }
                covered.push(h);
            }
            if covered.is_empty() {
                return Err(invalid(
                    at("sites"),
                    field("sites"),
                    "must name at least one site".into(),
                ));
            }
            if a.purposes.is_empty() {
                return Err(invalid(
                    at("purposes"),
                    field("purposes"),
                    "must name at least one purpose".into(),
                ));
            }
            for p in &a.purposes {
                known_purpose(p, at("purposes"), field("purposes"))?;
            }
            for m in &a.metrics {
                if crate::query::Metric::parse(m).is_ok_and(|m| m.is_revenue()) {
                    return Err(invalid(
                        at("metrics"),
                        field("metrics"),
                        format!("{m} is never shared: k and ε protect counts of people, not sums of money"),
                    ));
                }
                if crate::query::Metric::parse(m).is_err() {
                    return Err(invalid(
                        at("metrics"),
                        field("metrics"),
                        format!(
                            "{m:?} is not a metric; use {}",
                            crate::query::Metric::ALL
                                .map(crate::query::Metric::name)
                                .join(", ")
                        ),
                    ));
                }
            }
            for b in &a.breakdowns {
                if crate::query::Dimension::parse(b).is_err() {
                    return Err(invalid(
                        at("breakdowns"),
                        field("breakdowns"),
                        format!("{b:?} is not a property like event:page or visit:source"),
                    ));
                }
            }
            if a.k < 2 {
                return Err(invalid(
                    at("k"),
                    field("k"),
                    "must be at least 2: a row about one visitor is about a person".into(),
                ));
            }
            if let Some(eps) = a.epsilon_per_month {
                if !(eps.is_finite() && eps > 0.0 && eps <= 100.0) {
                    return Err(invalid(
                        at("epsilon_per_month"),
                        field("epsilon_per_month"),
                        format!("{eps} must be a number above 0 and at most 100"),
                    ));
                }
            }
            if a.epsilon_per_month.is_some() {
                if let Some(m) = a.metrics.iter().find(|m| *m != "visitors") {
                    return Err(invalid(
                        at("metrics"),
                        field("metrics"),
                        format!("{m:?} cannot be shared under an ε budget: only visitors, where one daily visitor changes a count by at most one, so the noise can be calibrated"),
                    ));
                }
            }
            let date = |key: &str, s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    invalid(
                        at(key),
                        field(key),
                        format!("{s:?} is not a date like 2026-01-31"),
                    )
                })
            };
            let start = date("start", &a.start)?;
            let end = a.end.as_deref().map(|e| date("end", e)).transpose()?;
            if end.is_some_and(|e| e < start) {
                return Err(invalid(at("end"), field("end"), "is before start".into()));
            }
            if a.journeys {
                if let Some(h) = covered
                    .iter()
                    .find(|h| agreements.iter().any(|b| b.journeys && b.covers(h)))
                {
                    return Err(invalid(
                        at("journeys"),
                        field("journeys"),
                        format!(
                            "{h:?} already links journeys under another agreement; a site can link journeys under one agreement only"
                        ),
                    ));
                }
                // One visitor id across the sites needs one day boundary.
                let zone = |h: &String| sites.iter().find(|s| &s.host == h).map(|s| s.timezone);
                let zones: Vec<_> = covered.iter().filter_map(zone).collect();
                if zones.windows(2).any(|w| w[0] != w[1]) {
                    return Err(invalid(
                        at("journeys"),
                        field("journeys"),
                        "sites linking journeys must share a timezone: a visitor's id lasts one local day".into(),
                    ));
                }
            }
            let site_org = |h: &str| {
                sites
                    .iter()
                    .find(|s| s.host == h)
                    .map(|s| (s.organisation.clone(), s.timezone))
            };
            let figures = crate::federation::check(
                &a.nodes,
                a.figures,
                &crate::federation::Context {
                    parties: &parties,
                    covered: &covered,
                    site_org: &site_org,
                },
            )
            .map_err(|(key, why)| invalid(at(key), field(key), why))?;
            if !a.nodes.is_empty() && a.journeys {
                return Err(invalid(
                    at("journeys"),
                    field("journeys"),
                    "an agreement between nodes links no visits: its figures are computed by private set intersection".into(),
                ));
            }
            if !figures.is_empty() && !a.metrics.iter().any(|m| m == "visitors") {
                return Err(invalid(
                    at("metrics"),
                    field("metrics"),
                    "figures between nodes count visitors: list \"visitors\"".into(),
                ));
            }
            let raw_signatures = a.signatures;
            let mut agreement = Agreement {
                nodes: a.nodes,
                figures,
                signatures: Vec::new(),
                id: a.id,
                title: a.title,
                parties,
                sites: covered,
                purposes: a.purposes,
                metrics: a.metrics,
                breakdowns: a.breakdowns,
                journeys: a.journeys,
                publish: a.publish,
                k: a.k,
                epsilon_per_month: a.epsilon_per_month,
                start,
                end,
                signatories: a.signatories,
            };
            agreement.signatures = signatures(&agreement, raw_signatures, &organisations)
                .map_err(|why| invalid(at("signatures"), field("signatures"), why))?;
            agreements.push(agreement);
        }

        let mut api_tokens = Vec::new();
        for (i, t) in raw.api_tokens.into_iter().enumerate() {
            let span = t.span();
            let t = t.into_inner();
            known_org(
                &t.organisation,
                key_offset(text, span.clone(), "organisation"),
                format!("api_tokens[{i}].organisation"),
            )?;
            let hex = t.sha256.to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    key_offset(text, span.clone(), "sha256"),
                    format!("api_tokens[{i}].sha256"),
                    "must be 64 hex digits (the SHA-256 of the token)".into(),
                ));
            }
            let role = match t.role.as_deref() {
                None => Role::Viewer,
                Some(name) => Role::parse(name).ok_or_else(|| {
                    invalid(
                        key_offset(text, span.clone(), "role"),
                        format!("api_tokens[{i}].role"),
                        format!("{name:?} is not one of viewer, analyst, admin"),
                    )
                })?,
            };
            api_tokens.push(ApiToken {
                name: t.name,
                organisation: t.organisation,
                sha256: hex,
                all_sites: t.all_sites,
                role,
            });
        }

        let mut users = Vec::new();
        let mut usernames = HashSet::new();
        for (i, u) in raw.users.into_iter().enumerate() {
            let span = u.span();
            let u = u.into_inner();
            known_org(
                &u.organisation,
                key_offset(text, span.clone(), "organisation"),
                format!("users[{i}].organisation"),
            )?;
            let Some(role) = Role::parse(&u.role) else {
                return Err(invalid(
                    key_offset(text, span.clone(), "role"),
                    format!("users[{i}].role"),
                    format!("{:?} is not one of viewer, analyst, admin", u.role),
                ));
            };
            if !u.password_hash.starts_with("$argon2") {
                return Err(invalid(
                    key_offset(text, span.clone(), "password_hash"),
                    format!("users[{i}].password_hash"),
                    "must be an argon2 hash (make one with `glasshouse user add`)".into(),
                ));
            }
            if !usernames.insert(u.username.clone()) {
                return Err(invalid(
                    key_offset(text, span.clone(), "username"),
                    format!("users[{i}].username"),
                    format!("{:?} is declared twice", u.username),
                ));
            }
            users.push(User {
                username: u.username,
                organisation: u.organisation,
                role,
                password_hash: u.password_hash,
            });
        }

        let mut wal_limit_bytes = None;
        let store = match raw.store {
            None => StoreChoice::DuckDb,
            Some(s) => {
                let span = s.span();
                let s = s.into_inner();
                if let Some(mb) = s.wal_limit_mb {
                    if !(1..=1_048_576).contains(&mb) {
                        return Err(invalid(
                            key_offset(text, span.clone(), "wal_limit_mb"),
                            "store.wal_limit_mb".into(),
                            format!("{mb} is not between 1 and 1048576 (MiB)"),
                        ));
                    }
                    wal_limit_bytes = Some(mb as u64 * 1024 * 1024);
                }
                match (s.backend.as_str(), s.url) {
                    ("duckdb", None) => StoreChoice::DuckDb,
                    ("clickhouse", Some(url)) => StoreChoice::parse(&url).map_err(|m| {
                        invalid(key_offset(text, span.clone(), "url"), "store.url".into(), m)
                    })?,
                    ("clickhouse", None) => {
                        return Err(invalid(
                            span.start,
                            "store.url".into(),
                            "required for the clickhouse back end, e.g. clickhouse://127.0.0.1:8123/glasshouse".into(),
                        ))
                    }
                    ("duckdb", Some(_)) => {
                        return Err(invalid(
                            key_offset(text, span.clone(), "url"),
                            "store.url".into(),
                            "the duckdb back end lives in data_dir and takes no url".into(),
                        ))
                    }
                    (other, _) => {
                        return Err(invalid(
                            key_offset(text, span.clone(), "backend"),
                            "store.backend".into(),
                            format!("{other:?} is not duckdb or clickhouse"),
                        ))
                    }
                }
            }
        };

        let register_threshold = match raw.register_threshold {
            None => DEFAULT_REGISTER_THRESHOLD,
            Some(0) => {
                return Err(invalid(
                    key_offset(text, 0..text.len(), "register_threshold"),
                    "register_threshold".into(),
                    "must be at least 1".into(),
                ))
            }
            Some(n) => n,
        };
        let log_format = match raw.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    key_offset(text, 0..text.len(), "log_format"),
                    "log_format".into(),
                    format!("{other:?} is not text or json"),
                ))
            }
        };
        let smtp = match raw.smtp {
            None => None,
            Some(s) => {
                let span = s.span();
                let smtp = s.into_inner().check().map_err(|(field, message)| {
                    let key = field.rsplit('.').next().unwrap_or("smtp");
                    invalid(key_offset(text, span, key), field, message)
                })?;
                Some(smtp)
            }
        };
        let node = match raw.node {
            None => None,
            Some(n) => {
                let span = n.span();
                let n = n.into_inner();
                if !organisations.iter().any(|o| o.id == n.organisation) {
                    return Err(invalid(
                        key_offset(text, span, "organisation"),
                        "node.organisation".into(),
                        format!("unknown organisation {:?}", n.organisation),
                    ));
                }
                Some(crate::federation::NodeSettings {
                    organisation: n.organisation,
                    key_file: n.key_file,
                })
            }
        };
        Ok(Config {
            node,
            smtp,
            store,
            wal_limit_bytes,
            register_threshold,
            log_format,
            listen,
            data_dir: raw
                .data_dir
                .unwrap_or_else(|| PathBuf::from("glasshouse-data")),
            public_url: raw.public_url.map(|u| u.trim_end_matches('/').to_string()),
            trusted_proxies,
            geoip_database: match raw.geoip_database {
                OneOrMore::One(p) => vec![p],
                OneOrMore::More(v) => v,
            },
            organisations,
            purposes,
            sites,
            agreements,
            api_tokens,
            users,
        })
    }

    /// The site with this host, if it is configured.
    pub fn site(&self, host: &str) -> Option<&Site> {
        self.sites
            .iter()
            .find(|s| s.host.eq_ignore_ascii_case(host))
    }

    /// Whether this installation holds `host`'s events: every site in one
    /// shared installation; only its own organisation's on a node.
    pub fn holds(&self, host: &str) -> bool {
        match (&self.node, self.site(host)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(n), Some(s)) => s.organisation == n.organisation,
        }
    }

    /// The organisation with this slug, if it is configured.
    pub fn organisation(&self, id: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.id == id)
    }

    /// The purpose with this id, if it is declared.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }

    /// Each site with its time zone, for the store's roll-ups.
    pub fn site_zones(&self) -> Vec<(String, crate::query::Tz)> {
        self.sites
            .iter()
            .map(|s| (s.host.clone(), s.timezone))
            .collect()
    }

    /// Every site's time zone, once each: the salts follow their local days.
    pub fn timezones(&self) -> Vec<crate::query::Tz> {
        let mut out: Vec<crate::query::Tz> = self.sites.iter().map(|s| s.timezone).collect();
        out.sort_by_key(|t| t.name());
        out.dedup();
        out
    }

    /// The agreement in force on `day` that links journeys through `host`, if any.
    pub fn journey_agreement(&self, host: &str, day: NaiveDate) -> Option<&Agreement> {
        self.agreements
            .iter()
            .find(|a| a.journeys && a.covers(host) && a.in_force(day))
    }

    /// The scope of the visitor hash for events on `host` on `day`: the site
    /// alone, or the sorted group of sites whose agreement links journeys.
    /// Visitors can be linked only inside one scope (docs/architecture.md, promise 2).
    pub fn visitor_scope(&self, host: &str, day: NaiveDate) -> String {
        match self.journey_agreement(host, day) {
            None => host.to_ascii_lowercase(),
            Some(a) => {
                let mut sites = a.sites.clone();
                sites.sort();
                format!("agreement:{}:{}", a.id, sites.join(","))
            }
        }
    }

    /// Sites whose journeys are linked with `host` on every day from `first`
    /// to `last`, `host` first: before an agreement starts, visits were not
    /// linked, and its partner's data is not shared.
    pub fn journey_sites_over(&self, host: &str, first: NaiveDate, last: NaiveDate) -> Vec<String> {
        let host = host.to_ascii_lowercase();
        let mut out = vec![host.clone()];
        if let Some(a) = self
            .agreements
            .iter()
            .find(|a| a.journeys && a.covers(&host) && a.in_force(first) && a.in_force(last))
        {
            out.extend(a.sites.iter().filter(|s| **s != host).cloned());
        }
        out
    }

    /// Sites whose journeys are linked with `host` on `day`, `host` first.
    pub fn journey_sites(&self, host: &str, day: NaiveDate) -> Vec<String> {
        let host = host.to_ascii_lowercase();
        let mut out = vec![host.clone()];
        if let Some(a) = self.journey_agreement(&host, day) {
            out.extend(a.sites.iter().filter(|s| **s != host).cloned());
        }
        out
    }
}

/// The offset of `key = ...` inside the table spanning `span`, or the table's start.
fn key_offset(text: &str, span: std::ops::Range<usize>, key: &str) -> usize {
    let table = &text[span.start.min(text.len())..span.end.min(text.len())];
    table
        .match_indices(key)
        .find(|(i, _)| {
            let before_ok =
                *i == 0 || table.as_bytes()[i - 1] == b'\n' || table.as_bytes()[i - 1] == b' ';
            let after = table[i + key.len()..].trim_start();
            before_ok && after.starts_with('=')
        })
        .map(|(i, _)| span.start + i)
        .unwrap_or(span.start)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "127.0.0.1:9000"
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]

[[organisations]]
id = "cabinet-office"
name = "Cabinet Office"

[[sites]]
host = "www.gov.uk"
organisation = "cabinet-office"
query_params = ["q"]
"#;

    #[test]
    fn a_good_file_parses_with_defaults() {
        let c = Config::parse(GOOD, "g.toml").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.site("WWW.GOV.UK").unwrap().raw_retention_days, 30);
    }

    #[test]
    fn the_log_limit_is_set_in_mib_and_checked() {
        assert_eq!(Config::parse(GOOD, "g.toml").unwrap().wal_limit_bytes, None);
        let with = |v: &str| format!("{GOOD}\n[store]\nbackend = \"duckdb\"\nwal_limit_mb = {v}\n");
        let c = Config::parse(&with("64"), "g.toml").unwrap();
        assert_eq!(c.wal_limit_bytes, Some(64 << 20));
        let e = error_of(&with("0"));
        assert!(
            e.starts_with("g.toml:16: store.wal_limit_mb: 0 is not between 1 and 1048576"),
            "{e}"
        );
    }

    fn error_of(text: &str) -> String {
        Config::parse(text, "g.toml").unwrap_err().to_string()
    }

    #[test]
    fn mistakes_are_named_with_file_line_and_field() {
        let e = error_of(&GOOD.replace(
            "organisation = \"cabinet-office\"",
            "organisation = \"nobody\"",
        ));
        assert!(
            e.starts_with("g.toml:11: sites[0].organisation: unknown organisation \"nobody\""),
            "{e}"
        );
        let e = error_of(&GOOD.replace("\"10.0.0.0/8\"", "\"ten\""));
        assert!(
            e.contains("trusted_proxies[1]") && e.contains("g.toml:3"),
            "{e}"
        );
        let e = error_of(&GOOD.replace("www.gov.uk", "https://www.gov.uk/"));
        assert!(e.contains("sites[0].host"), "{e}");
        let e = error_of(&format!("{GOOD}\ncolour = \"blue\"\n"));
        assert!(
            e.contains("g.toml:14") && e.contains("unknown field `colour`"),
            "{e}"
        );
        let e = error_of(&format!(
            "{GOOD}\n[[sites]]\nhost = \"www.gov.uk\"\norganisation = \"cabinet-office\"\n"
        ));
        assert!(e.contains("declared twice"), "{e}");
        let e = error_of(&GOOD.replace("127.0.0.1:9000", "localhost"));
        assert!(e.contains("listen"), "{e}");
    }
}
