//! What is collected and what is not: the one list that the JSON register,
//! the HTML page and the DPIA all print, so they cannot disagree.
//!
//! Every line here must stay exactly true to the code: the columns of the
//! events table (`crates/store/src/duck/schema.rs`), what the anonymiser
//! derives and drops (`crates/privacy`), and what the collector and the
//! tracker send (`crates/server`). Change them together.

use serde::Serialize;

/// How long a collected item lives, in the two retention tiers of
/// docs/architecture.md, promise 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Kept only in raw events, so it is gone after the site's
    /// `raw_retention_days`: the identifiers that link one person's events.
    RawOnly,
    /// Kept in raw events for `raw_retention_days`; afterwards at most as
    /// counts in aggregates without any visitor id, for
    /// `aggregate_retention_days`.
    RawThenAggregate,
}

impl Tier {
    /// The stable slug used in the JSON register.
    pub fn slug(self) -> &'static str {
        match self {
            Tier::RawOnly => "raw-only",
            Tier::RawThenAggregate => "raw-then-aggregate",
        }
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Tier::RawOnly => "Raw events only, then deleted",
            Tier::RawThenAggregate => "Raw events, then only as counts",
        }
    }

    /// What the tier means, in full.
    pub fn description(self) -> &'static str {
        match self {
            Tier::RawOnly => {
                "Kept only in raw events and deleted with them when the site's raw retention period ends."
            }
            Tier::RawThenAggregate => {
                "Kept in raw events for the site's raw retention period; after that, at most as totals in aggregates that hold no visitor id, until the aggregate retention period ends."
            }
        }
    }

    /// Both tiers, in the order they apply.
    pub const ALL: [Tier; 2] = [Tier::RawOnly, Tier::RawThenAggregate];
}

/// One item stored with each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Field {
    /// A stable name (the JSON key and, where there is one, the column name).
    pub name: &'static str,
    /// What people call it.
    pub label: &'static str,
    /// What it is, in plain words.
    pub description: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// How long it lives.
    #[serde(serialize_with = "tier_slug")]
    pub tier: Tier,
}

fn tier_slug<S: serde::Serializer>(tier: &Tier, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tier.slug())
}

/// One thing that is deliberately not collected, so the promise can be
/// checked rather than inferred from silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotCollected {
    /// A stable name.
    pub name: &'static str,
    /// What happens to it instead, in plain words.
    pub description: &'static str,
}

/// Everything stored with an event, in the order of the events table.
pub const COLLECTED: &[Field] = &[
    Field {
        name: "site",
        label: "Site",
        description: "Which of our websites the page belongs to.",
        source: "The website that sent the event",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "time",
        label: "Time",
        description: "When it happened, to the second, in UTC.",
        source: "Our server's clock",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "visitor_id",
        label: "Daily visitor number",
        description: "A daily visitor number: a keyed BLAKE3 hash of the day's secret salt, the visitor scope (this site, or the sites of a journey agreement), your IP address and your browser's User-Agent, cut to 64 bits. It changes every day and cannot be turned back into the IP address or User-Agent.",
        source: "Worked out on our server from your IP address and User-Agent, which are then dropped",
        tier: Tier::RawOnly,
    },
    Field {
        name: "visit_id",
        label: "Visit number",
        description: "A number for one visit: one visitor's events with gaps of less than 30 minutes.",
        source: "Worked out on our server from the daily visitor number",
        tier: Tier::RawOnly,
    },
    Field {
        name: "journey",
        label: "Journey",
        description: "A journey number and the page's position in the journey, so that a visit that moves between the sites of a journey agreement is counted as one journey.",
        source: "Worked out on our server from the daily visitor number",
        tier: Tier::RawOnly,
    },
    Field {
        name: "previous_page",
        label: "Previous page",
        description: "The site and page viewed just before this one in the same journey.",
        source: "Worked out on our server from the journey",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "name",
        label: "What happened",
        description: "What happened: a page view, or a named event such as a file download, with personal information removed.",
        source: "Our tracking script or the site's own code",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "hostname",
        label: "Host name",
        description: "The host name of the page's address.",
        source: "The page address",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "pathname",
        label: "Page path",
        description: "The path of the page's address, with personal information removed (see below). The part after # is never kept.",
        source: "The page address",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "query",
        label: "Allowed query parameters",
        description: "Only the query parameters the site allows, plus utm_ campaign tags; their values have personal information removed, and values of secret-looking parameters (such as tokens and passwords) are replaced. Every other parameter is dropped, name included.",
        source: "The page address",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "entry_page",
        label: "Entry page",
        description: "The first page of the visit.",
        source: "Worked out on our server from the visit",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "referrer",
        label: "Referrer",
        description: "The host and path of the page that linked to ours, with personal information removed; its query and fragment are dropped, and links within the same site are not kept.",
        source: "Your browser's Referer",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "source",
        label: "Source",
        description: "Where the visit came from, as a name such as Google or GOV.UK, or the linking site's host.",
        source: "The referrer or the utm_source tag",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "utm",
        label: "Campaign tags",
        description: "Campaign tags in the page address: utm_source, utm_medium, utm_campaign, utm_content and utm_term, with personal information removed.",
        source: "The page address",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "browser",
        label: "Browser",
        description: "The browser's family and version, such as Firefox 128.",
        source: "Your browser's User-Agent, which is then dropped",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "os",
        label: "Operating system",
        description: "The operating system's family and version, such as Android 14.",
        source: "Your browser's User-Agent, which is then dropped",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "device",
        label: "Device class",
        description: "The kind of device: desktop, mobile or tablet.",
        source: "Your browser's User-Agent, which is then dropped",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "country",
        label: "Country",
        description: "The country your IP address belongs to, when a country database is installed.",
        source: "Looked up from your IP address in a country or city database (DB-IP Lite), after which the IP address is dropped",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "region",
        label: "Region",
        description: "The first-level region of that country your IP address belongs to, such as Scotland, Wales or Bavaria, when a city database is installed. Nothing finer is kept: the database also names a town, a postcode and map coordinates, which we drop, because a town can narrow a visitor down to a few people while telling Scotland from Wales is all a service needs. Mobile networks often route through another region, so regions of mobile visitors are often wrong.",
        source: "Looked up from your IP address in a city database (DB-IP Lite), after which the IP address and everything but the region are dropped",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "engagement",
        label: "Scroll depth and time on page",
        description: "When you leave or hide a page: how far down it you scrolled, in percent, and for how many seconds it was visible and in use. Sent as its own event, which is not counted as a page view or a custom event.",
        source: "Our tracking script (or Plausible's), from the page's scroll position and visibility",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "props",
        label: "Event properties",
        description: "Custom event properties the site sends, such as the address of a downloaded file; values have personal information removed, and only the keys the site allows are kept when it lists them.",
        source: "Our tracking script or the site's own code",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "interactive",
        label: "Interactive",
        description: "Whether the event was something you did (rather than something the page did by itself), so it can count towards engagement.",
        source: "Our tracking script or the site's own code",
        tier: Tier::RawThenAggregate,
    },
    Field {
        name: "revenue",
        label: "Revenue",
        description: "An amount and currency, only for events that the site marks as a payment.",
        source: "The site's own code",
        tier: Tier::RawThenAggregate,
    },
];

/// What is never collected or stored.
pub const NOT_COLLECTED: &[NotCollected] = &[
    NotCollected {
        name: "ip_address",
        description: "Your IP address. It is used in memory to work out the daily visitor number, the country and the region, then dropped. No database column, log line or file holds it.",
    },
    NotCollected {
        name: "user_agent",
        description: "Your browser's full User-Agent text. It is used in memory to work out the visitor number and the browser, operating system and device class, then overwritten and dropped.",
    },
    NotCollected {
        name: "cookies_and_identifiers",
        description: "Cookies, local storage or any other identifier kept in your browser. The only thing ever stored in your browser is the note that you objected, glasshouse_optout=1, which is the same for everybody who objects and identifies nobody.",
    },
    NotCollected {
        name: "fingerprinting",
        description: "Screen size, fonts, plugins, language, time zone, canvas or any other browser fingerprint. Only what is listed above is read.",
    },
    NotCollected {
        name: "unscrubbed_addresses",
        description: "Page and referrer addresses as they were: personal information is removed before anything is stored, query parameters the site does not allow are dropped, and the part after # is never kept.",
    },
    NotCollected {
        name: "page_title",
        description: "Page titles. Our tracking script does not send them and our server does not accept them.",
    },
    NotCollected {
        name: "form_content",
        description: "What you type into forms, your name, your account or anything you are logged in as.",
    },
    NotCollected {
        name: "do_not_track",
        description: "Visits from browsers that send Do Not Track or Global Privacy Control: they are not recorded at all, not even counted.",
    },
    NotCollected {
        name: "objections",
        description: "Visits after you object on the /optout page, with one click: they are not recorded at all.",
    },
    NotCollected {
        name: "bots",
        description: "Visits by bots, crawlers and automated browsers: they are dropped.",
    },
    NotCollected {
        name: "cross_day_linking",
        description: "Any link between your visits on different days: the salt that makes a day's visitor numbers is erased, so not even we can link them.",
    },
];

/// The kinds of personal information removed from addresses, referrers,
/// event names and properties before anything is stored (docs/architecture.md, promise
/// 4; the rules are in `crates/privacy/src/scrub.rs`).
pub const SCRUBBED: &[&str] = &[
    "e-mail addresses",
    "UK postcodes",
    "National Insurance numbers",
    "phone numbers (UK and international)",
    "full dates, such as dates of birth",
    "runs of 7 or more digits and long spaced number groups (account, case, NHS and card numbers)",
    "IP addresses",
    "vehicle registration marks",
    "visa application and EORI numbers",
    "UUIDs, long hexadecimal strings and random-looking tokens",
    "values of secret-looking parameters such as token, password, code and state",
];

/// How many days' salts exist at any time for a time zone: today's and
/// yesterday's (so a visit across midnight still joins up); older ones are
/// erased.
pub const SALT_DAYS_KEPT: u32 = 2;

/// Bits of the keyed hash kept as the visitor id.
pub const VISITOR_ID_BITS: u32 = 64;

/// Minutes of inactivity after which a new visit starts.
pub const VISIT_GAP_MINUTES: u32 = 30;

/// The public path of the objection page.
pub const OPTOUT_PATH: &str = "/optout";

/// How the visitor id is made, in one paragraph for people.
pub const VISITOR_COUNTING: &str = "We count visitors without cookies. For each event our server works out a daily visitor number: a keyed BLAKE3 hash of a secret salt for the day (the site's local day, from midnight to midnight in its time zone), the visitor scope, your IP address and your browser's User-Agent, cut to 64 bits. The IP address and User-Agent are then dropped. The scope is the site alone, unless the site is in a journey agreement, when it is the group of sites in that agreement: only there can a visit from one site to another be joined up, and only on the same day. There is no cookie and nothing is added to links.";

/// How long salts live, in one paragraph for people.
pub const SALT_LIFETIME: &str = "Each salt is 32 random bytes made for one day of the site's time zone. Only today's and yesterday's salts exist (yesterday's so that a visit across midnight joins up); older ones are erased from memory and disk. Once a salt is gone nobody, including us, can work out that day's visitor numbers again, so your visits on different days cannot be linked.";

/// The honest status of the visitor id under UK GDPR, in one paragraph.
pub const PSEUDONYMISATION: &str = "Hashing is pseudonymisation, not anonymisation (as the ICO explains): while a day's salt exists, someone who held the salt and knew your IP address and User-Agent could work out your visitor number for that day, so those numbers are pseudonymous personal data. We therefore keep raw events, which carry visitor numbers, only for each site's raw retention period, and after that keep only totals that carry no visitor number.";
