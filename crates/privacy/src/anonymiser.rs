//! The one function that crosses the privacy boundary: `RawEvent` in,
//! `AnonymousEvent` (or a reason for refusing it) out.

use crate::agent::{Agents, Known};
use crate::event::{AnonymousEvent, RawEvent, Revenue};
use crate::geo::{GeoDb, Place};
use crate::referrer::referral;
use crate::salts::{SaltError, Salts};
use crate::scrub::scrub_capped;
use chrono::NaiveDate;
use glasshouse_model::Site;
use std::io;
use zeroize::Zeroize;

/// Longest stored event name, in bytes.
pub const MAX_NAME: usize = 120;
/// Longest stored page title, in bytes.
pub const MAX_TITLE: usize = 500;
/// Most custom properties kept per event; the rest are dropped.
pub const MAX_PROPS: usize = 30;
/// Longest stored property key, in bytes.
pub const MAX_PROP_KEY: usize = 100;
/// Longest stored property value, in bytes.
pub const MAX_PROP_VALUE: usize = 1000;

/// Why an event was not counted. None of the messages quotes the URL, the
/// User-Agent or the address, so a rejection can be logged safely.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The User-Agent is a bot, crawler, HTTP library or headless browser.
    #[error("not counted: the User-Agent is a bot, crawler or automated browser")]
    Bot,
    /// The page URL is not an `http(s)` URL with a host.
    #[error("invalid page URL: {0}")]
    InvalidUrl(String),
    /// Something else about the event is malformed (empty name, bad revenue).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The event's UTC day has no salt: persistent salts exist only for today
    /// and yesterday, so older or future events cannot get a visitor id.
    #[error(
        "no salt for {0} (UTC): visitor ids can only be made for today and yesterday; \
         import older events with ephemeral salts"
    )]
    NoSalt(NaiveDate),
    /// Today's salt could not be saved, so counting would not survive a restart.
    #[error("cannot save the daily salts: {0}")]
    SaltStorage(#[source] io::Error),
}

impl Rejection {
    /// True when the event itself is at fault (answer 4xx or drop quietly);
    /// false when the server is (answer 5xx so the tracker may retry).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Rejection::SaltStorage(_))
    }
}

/// Turns raw requests into anonymous events. One per process, shared by all
/// request handlers through an `Arc` (it is `Send + Sync`): it owns the daily
/// salts, the optional country database and the User-Agent cache.
pub struct Anonymiser {
    salts: Salts,
    geo: Option<Box<dyn Locate>>,
    agents: Agents,
}

/// Places an IP address. A [`GeoDb`] does, from its databases; tests of
/// the store use a fixed table so that their oracle knows every visitor's
/// place without a 130 MB database (the database itself is tested in
/// `tests/geo.rs`).
pub trait Locate: Send + Sync + std::fmt::Debug {
    /// The country and first-level region of `ip`; empty when unknown.
    fn locate(&self, ip: std::net::IpAddr) -> Place;

    /// Whom pages showing places must credit, if anyone.
    fn credit(&self) -> Option<&'static str> {
        None
    }
}

impl Locate for GeoDb {
    fn locate(&self, ip: std::net::IpAddr) -> Place {
        GeoDb::locate(self, ip)
    }

    fn credit(&self) -> Option<&'static str> {
        GeoDb::credit(self)
    }
}

impl Anonymiser {
    /// Builds the anonymiser and compiles the User-Agent, bot and scrubbing
    /// patterns now (about a second), so the first request is not slow.
    /// Without a country database every country is `""`.
    pub fn new(salts: Salts, geo: Option<GeoDb>) -> Anonymiser {
        Anonymiser::placing(salts, geo.map(|g| Box::new(g) as Box<dyn Locate>))
    }

    /// Builds the anonymiser with any way of placing addresses.
    pub fn placing(salts: Salts, geo: Option<Box<dyn Locate>>) -> Anonymiser {
        crate::scrub::warm_up();
        Anonymiser {
            salts,
            geo,
            agents: Agents::new(),
        }
    }

    /// Whom pages showing places must credit (DB-IP's licence asks it).
    pub fn geo_credit(&self) -> Option<&'static str> {
        self.geo.as_ref().and_then(|g| g.credit())
    }

    /// The daily salts, e.g. to show which days have one.
    pub fn salts(&self) -> &Salts {
        &self.salts
    }

    /// Sets the time zones whose local days the salts follow (the sites').
    pub fn set_zones(&self, zones: &[chrono_tz::Tz]) -> std::io::Result<()> {
        self.salts.set_zones(zones)
    }

    /// Whether countries are looked up.
    pub fn has_geo(&self) -> bool {
        self.geo.is_some()
    }

    /// Rotates the salts if the UTC day has changed (see
    /// [`Salts::check_rotation`]); call it from a timer so yesterday's
    /// yesterday is erased at midnight even when no event arrives.
    pub fn check_rotation(&self) -> io::Result<()> {
        self.salts.check_rotation()
    }

    /// Anonymises one event for `site`. `scope` is the hash scope: the site's
    /// host, or an agreement id when cross-site journeys are allowed, so the
    /// same person gets the same id on every site of that agreement (and only
    /// there). The raw event is consumed and its User-Agent and URL buffers
    /// are overwritten before they are freed.
    pub fn anonymise(
        &self,
        mut raw: RawEvent,
        site: &Site,
        scope: &str,
    ) -> Result<AnonymousEvent, Rejection> {
        let result = self.build(&raw, site, scope);
        raw.user_agent.zeroize();
        raw.url.zeroize();
        if let Some(r) = raw.referrer.as_mut() {
            r.zeroize();
        }
        result
    }

    fn build(&self, raw: &RawEvent, site: &Site, scope: &str) -> Result<AnonymousEvent, Rejection> {
        let Known {
            info: agent,
            digest,
        } = self.agents.classify(&raw.user_agent);
        if agent.bot {
            return Err(Rejection::Bot);
        }
        let name = raw.name.trim();
        if name.is_empty() {
            return Err(Rejection::InvalidEvent("the event name is empty".into()));
        }
        let page = crate::url::parse_page(&raw.url, site).map_err(Rejection::InvalidUrl)?;
        let revenue = match &raw.revenue {
            None => None,
            Some(r) => Some(valid_revenue(r)?),
        };
        let engaged = name == crate::ENGAGEMENT;
        if engaged != raw.engagement.is_some() {
            return Err(Rejection::InvalidEvent(
                "an engagement event, and only one, carries scroll depth and engaged time".into(),
            ));
        }
        if raw.engagement.is_some_and(|e| e.scroll_depth > 100) {
            return Err(Rejection::InvalidEvent(
                "the scroll depth is a percentage, 0 to 100".into(),
            ));
        }
        let (visitor_id, previous_visitor_id) = self
            .salts
            .visitor_ids(raw.timestamp, site.timezone, scope, raw.ip, &digest)
            .map_err(|e| match e {
                SaltError::NoSalt(day) => Rejection::NoSalt(day),
                SaltError::Io(e) => Rejection::SaltStorage(e),
            })?;
        let place = self
            .geo
            .as_ref()
            .map(|g| g.locate(raw.ip))
            .unwrap_or_default();
        let (referrer, source) = referral(
            raw.referrer.as_deref(),
            &page.hostname,
            &page.utm.source,
            page.source_param.as_deref(),
        );
        let title = raw
            .title
            .as_deref()
            .map(|t| scrub_capped(t.trim(), MAX_TITLE))
            .unwrap_or_default();
        let props = raw
            .props
            .iter()
            .filter(|(key, _)| match &site.props {
                None => true,
                Some(allowed) => allowed.iter().any(|a| a == key),
            })
            .take(MAX_PROPS)
            .map(|(key, value)| {
                (
                    scrub_capped(key, MAX_PROP_KEY),
                    scrub_capped(value, MAX_PROP_VALUE),
                )
            })
            .collect();
        Ok(AnonymousEvent {
            site: site.host.clone(),
            timestamp: raw.timestamp,
            visitor_id,
            previous_visitor_id,
            name: scrub_capped(name, MAX_NAME),
            hostname: page.hostname,
            pathname: page.pathname,
            query: page.query,
            title,
            referrer,
            source,
            utm: page.utm,
            agent,
            country: place.country,
            region: place.region,
            props,
            // Reading a page is not an interaction that ends a bounce.
            interactive: raw.interactive && !engaged,
            revenue,
            engagement: raw.engagement,
        })
    }
}

fn valid_revenue(r: &Revenue) -> Result<Revenue, Rejection> {
    if !r.amount.is_finite() {
        return Err(Rejection::InvalidEvent(
            "the revenue amount is not a finite number".into(),
        ));
    }
    let currency = r.currency.trim();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Rejection::InvalidEvent(
            "the revenue currency must be a three-letter ISO 4217 code such as GBP".into(),
        ));
    }
    Ok(Revenue {
        amount: r.amount,
        currency: currency.to_ascii_uppercase(),
    })
}

impl std::fmt::Debug for Anonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anonymiser")
            .field("salts", &self.salts)
            .field("geo", &self.geo)
            .finish_non_exhaustive()
    }
}
