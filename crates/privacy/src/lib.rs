//! The privacy boundary of glasshouse.
//!
//! ```text
//! tracker.js ─▶ collect ─▶ anonymise ─▶ ingest queue ─▶ store …
//!               RawEvent    (this crate)  AnonymousEvent
//! ```
//!
//! The HTTP collector builds a [`RawEvent`] — the visitor's IP address, the
//! full User-Agent, the full URL — and hands it straight to
//! [`Anonymiser::anonymise`]. What comes out is an [`AnonymousEvent`], the
//! only type the store accepts. Its fields are private and it has no public
//! constructor, `Default` or `Deserialize`, so nothing outside this crate can
//! make one: the compiler enforces that a raw request is never stored.
//!
//! What this crate promises (docs/architecture.md, "The promises"):
//!
//! 1. **No IP address, raw User-Agent or unscrubbed URL leaves it.** They are
//!    used in memory to derive a visitor id, a country and a
//!    browser/OS/device class, then dropped (their buffers overwritten). This
//!    crate never stores or logs them; rejections never quote them.
//! 2. **Visitor ids die daily.** `visitor id = BLAKE3-keyed(salt of the UTC
//!    day; scope, IP, BLAKE3(User-Agent))` truncated to 64 bits ([`Salts`]). Salts are
//!    random, exist only for today and yesterday, and are then erased from
//!    memory and disk, so days cannot be linked, not even by the operator.
//!    This is pseudonymisation, not anonymisation; the store keeps ids only
//!    for the site's `raw_retention_days`.
//! 3. **PII is scrubbed at the edge.** Paths, query values, referrers,
//!    titles, event names and property values go through [`scrub`]; query
//!    parameters not on the site's allow-list are dropped.
//! 4. **Bots are not counted** ([`Rejection::Bot`]).
//!
//! One file per job: `salts.rs` (daily salts), `visitor.rs` (the hash),
//! `scrub.rs` (PII rules), `url.rs` (page URL), `referrer.rs` (referrer and
//! source), `agent.rs` (User-Agent and bots), `geo.rs` (country),
//! `event.rs` (the two event types), `anonymiser.rs` (putting it together).

mod agent;
mod anonymiser;
pub mod budget;
pub mod dp;
pub mod durable;
mod event;
mod geo;
pub mod imported;
mod memo;
mod referrer;
mod salts;
mod scrub;
mod url;
mod visitor;

pub use anonymiser::{Anonymiser, Locate, Rejection};
pub use event::{AnonymousEvent, Engagement, RawEvent, Revenue, ENGAGEMENT};
pub use geo::{region_code, GeoDb, GeoError, Place};
pub use salts::{Salts, SALTS_FILE};
pub use scrub::scrub;
pub use url::check_page_url;

/// Limits on stored lengths, in bytes, and of the User-Agent cache; public so
/// the transparency page can state them.
pub mod limits {
    pub use crate::agent::{CACHE_ENTRIES, MIN_AGENT_LEN};
    pub use crate::anonymiser::{MAX_NAME, MAX_PROPS, MAX_PROP_KEY, MAX_PROP_VALUE, MAX_TITLE};
    pub use crate::referrer::{MAX_REFERRER, MAX_SOURCE};
    pub use crate::url::{MAX_PATH, MAX_QUERY_VALUE};

    /// What an event may hold to be accepted at all, by the collector and
    /// by `glasshouse import` alike (one limit, one constant): beyond these
    /// an event is refused with the field named, not cut.
    pub mod accepted {
        /// Longest event name, in characters.
        pub const NAME: usize = 120;
        /// Most custom properties.
        pub const PROPS: usize = 30;
        /// Longest property key, in characters.
        pub const PROP_KEY: usize = 300;
        /// Longest property value, in characters.
        pub const PROP_VALUE: usize = 2000;
        /// Longest URL or referrer, in bytes.
        pub const URL: usize = 2000;
        /// Longest engaged time one engagement event may report, in
        /// milliseconds: a day; the tracker reports at every hide or blur.
        pub const ENGAGEMENT_TIME: u32 = 86_400_000;
    }
}
