//! The two sides of the privacy boundary: `RawEvent` (what the browser sent)
//! and `AnonymousEvent` (what may be kept).
//!
//! `AnonymousEvent` has private fields and no public constructor, no
//! `Default`, no `Deserialize`: the only way to get one is
//! [`Anonymiser::anonymise`](crate::Anonymiser::anonymise), so a store that
//! accepts only `AnonymousEvent` cannot be handed a raw request by mistake.

use crate::agent::AgentInfo;
use chrono::{DateTime, Utc};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// One request as the collector received it. It holds personal data (the IP
/// address, the full User-Agent, the unscrubbed URL), so it lives in memory
/// only, for the few microseconds between `collect` and `anonymise`, and is
/// consumed by [`Anonymiser::anonymise`](crate::Anonymiser::anonymise).
///
/// It deliberately implements neither `Debug` nor `Serialize`, so it cannot
/// end up in a log line or a file by accident.
pub struct RawEvent {
    /// The visitor's address, after the collector has applied `trusted_proxies`.
    pub ip: IpAddr,
    /// The full `User-Agent` header.
    pub user_agent: String,
    /// `"pageview"` or the name of a custom event.
    pub name: String,
    /// The page's full URL as the browser sent it.
    pub url: String,
    /// The `document.referrer` the tracker saw, if any.
    pub referrer: Option<String>,
    /// The page title, if the tracker sent it.
    pub title: Option<String>,
    /// Custom properties, values already flattened to strings by the collector.
    pub props: Vec<(String, String)>,
    /// False for events that should not end a bounce (e.g. scroll depth).
    pub interactive: bool,
    /// Money attached to a goal, if any.
    pub revenue: Option<Revenue>,
    /// For an engagement event (Plausible's `engagement`), what the page's
    /// reader did since the last one.
    pub engagement: Option<Engagement>,
    /// When the event happened (the collector's clock).
    pub timestamp: DateTime<Utc>,
}

/// Money attached to an event, e.g. a fee paid at the end of a service. It
/// describes the transaction, not the person, so it passes through unchanged
/// once validated (finite amount, three-letter currency code).
#[derive(Clone, Debug, PartialEq)]
pub struct Revenue {
    /// The amount in `currency`'s major unit (pounds, not pence).
    pub amount: f64,
    /// ISO 4217 code such as `GBP`.
    pub currency: String,
}

/// What Plausible's tracker reports when a page is hidden, loses focus or
/// is left: how far down the reader has scrolled so far, and how long the
/// page was visible and focused since the previous report. It describes the
/// page view, not the person, so it is kept as sent once in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Engagement {
    /// The deepest point scrolled to so far, in percent of the page (0–100).
    pub scroll_depth: u8,
    /// Milliseconds the page was visible and focused since the previous
    /// report for this page view (Plausible's name and unit).
    pub engagement_time: u32,
}

/// The name of engagement events, which are neither page views nor custom
/// events: every count of events, visits and visitors leaves them out, and
/// only the engagement metrics read them.
pub const ENGAGEMENT: &str = "engagement";

/// An event with everything personal removed or replaced: the only type the
/// store accepts. It never held the IP address or the User-Agent, only what
/// was derived from them (a daily visitor id, a country, a browser/OS/device
/// class), and every free-text field has been through [`scrub`](crate::scrub).
///
/// Read it through its getters; it can be made only inside this crate.
#[derive(Clone)]
pub struct AnonymousEvent {
    pub(crate) site: String,
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) visitor_id: u64,
    pub(crate) previous_visitor_id: Option<u64>,
    pub(crate) name: String,
    pub(crate) hostname: String,
    pub(crate) pathname: String,
    pub(crate) query: String,
    pub(crate) title: String,
    pub(crate) referrer: String,
    pub(crate) source: String,
    pub(crate) utm: Utm,
    pub(crate) agent: Arc<AgentInfo>,
    pub(crate) country: String,
    pub(crate) region: String,
    pub(crate) props: Vec<(String, String)>,
    pub(crate) interactive: bool,
    pub(crate) revenue: Option<Revenue>,
    pub(crate) engagement: Option<Engagement>,
}

/// The five campaign parameters, scrubbed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Utm {
    pub(crate) source: String,
    pub(crate) medium: String,
    pub(crate) campaign: String,
    pub(crate) content: String,
    pub(crate) term: String,
}

impl AnonymousEvent {
    /// The configured site host this event was counted for.
    pub fn site(&self) -> &str {
        &self.site
    }
    /// When the event happened, in UTC.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }
    /// The visitor's id for the event's UTC day and scope. It changes every
    /// day, so it links events within one day only.
    pub fn visitor_id(&self) -> u64 {
        self.visitor_id
    }
    /// The same visitor's id under the previous day's salt, while that salt
    /// still exists, so a session can continue across UTC midnight. It is for
    /// session assignment at ingest only and must never be stored.
    pub fn previous_visitor_id(&self) -> Option<u64> {
        self.previous_visitor_id
    }
    /// `"pageview"` or the custom event name (scrubbed).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The page's host, lower-case (`www.` kept as sent).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }
    /// The page's path, percent-decoded and scrubbed; never empty (`/` at least).
    pub fn pathname(&self) -> &str {
        &self.pathname
    }
    /// The allowed query parameters (the site's list plus `utm_*`), values
    /// scrubbed, re-encoded in their original order; `""` if none.
    pub fn query(&self) -> &str {
        &self.query
    }
    /// The page title, scrubbed; `""` if none was sent.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// Where the visitor came from as host + path (no query, no fragment),
    /// scrubbed; `""` for none, or for navigation within the same site.
    pub fn referrer(&self) -> &str {
        &self.referrer
    }
    /// The referrer classified for reports (`"Google"`, `"GOV.UK"`, a host…);
    /// `""` means Direct / None.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// `utm_source` from the page URL, scrubbed; `""` if absent.
    pub fn utm_source(&self) -> &str {
        &self.utm.source
    }
    /// `utm_medium` from the page URL, scrubbed; `""` if absent.
    pub fn utm_medium(&self) -> &str {
        &self.utm.medium
    }
    /// `utm_campaign` from the page URL, scrubbed; `""` if absent.
    pub fn utm_campaign(&self) -> &str {
        &self.utm.campaign
    }
    /// `utm_content` from the page URL, scrubbed; `""` if absent.
    pub fn utm_content(&self) -> &str {
        &self.utm.content
    }
    /// `utm_term` from the page URL, scrubbed; `""` if absent.
    pub fn utm_term(&self) -> &str {
        &self.utm.term
    }
    /// Browser family such as `"Chrome"`; `""` if unknown.
    pub fn browser(&self) -> &str {
        &self.agent.browser
    }
    /// Browser major.minor version such as `"120.0"`; `""` if unknown.
    pub fn browser_version(&self) -> &str {
        &self.agent.browser_version
    }
    /// Operating system family such as `"Windows"`, `"iOS"`; `""` if unknown.
    pub fn os(&self) -> &str {
        &self.agent.os
    }
    /// Operating system major.minor version; `""` if unknown.
    pub fn os_version(&self) -> &str {
        &self.agent.os_version
    }
    /// `"Desktop"`, `"Mobile"`, `"Tablet"`, or `""` when it cannot be told.
    pub fn device(&self) -> &str {
        self.agent.device
    }
    /// ISO 3166-1 alpha-2 country code; `""` when unknown or no database is configured.
    pub fn country(&self) -> &str {
        &self.country
    }
    /// ISO 3166-2 code of the first-level region (`GB-SCT`); `""` when
    /// unknown or the database has no regions.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// Custom properties: keys allowed by the site, values scrubbed.
    pub fn props(&self) -> &[(String, String)] {
        &self.props
    }
    /// False for events that do not count as interaction (they do not end a bounce).
    pub fn interactive(&self) -> bool {
        self.interactive
    }
    /// Money attached to the event, if any.
    pub fn revenue(&self) -> Option<&Revenue> {
        self.revenue.as_ref()
    }
    /// Scroll depth and engaged time, for an engagement event.
    pub fn engagement(&self) -> Option<Engagement> {
        self.engagement
    }
}

/// Written by hand (not derived) to show exactly the getters: it is safe to
/// log because every field is already anonymous, but the previous-day id is
/// left out since it must never leave memory.
impl fmt::Debug for AnonymousEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnonymousEvent")
            .field("site", &self.site)
            .field("timestamp", &self.timestamp)
            .field("visitor_id", &format_args!("{:016x}", self.visitor_id))
            .field("name", &self.name)
            .field("hostname", &self.hostname)
            .field("pathname", &self.pathname)
            .field("query", &self.query)
            .field("title", &self.title)
            .field("referrer", &self.referrer)
            .field("source", &self.source)
            .field("utm", &self.utm)
            .field("browser", &self.agent.browser)
            .field("browser_version", &self.agent.browser_version)
            .field("os", &self.agent.os)
            .field("os_version", &self.agent.os_version)
            .field("device", &self.agent.device)
            .field("country", &self.country)
            .field("region", &self.region)
            .field("props", &self.props)
            .field("interactive", &self.interactive)
            .field("revenue", &self.revenue)
            .field("engagement", &self.engagement)
            .finish()
    }
}
