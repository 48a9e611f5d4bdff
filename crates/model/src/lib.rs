//! The domain of glasshouse, shared by every other part.
//!
//! This crate sits at the root of the data path (docs/architecture.md): it names the
//! things the other parts hand to each other and does no I/O of its own.
//!
//! - `config`: the configuration file — organisations, purposes, sites,
//!   agreements, API tokens —
//!   parsed and validated once, so every other part can trust it.
//! - `governance`: purposes with their fixed categories and agreements
//!   between organisations, the rules the gate enforces and publishes.
//! - `goal`: what a site counts as a conversion (`event:goal`).
//! - `channel`: the acquisition channel a visit came through
//!   (`visit:channel`), decided by Plausible's rules.
//! - `journey`: path and funnel questions over journeys, which may span
//!   the sites of an agreement.
//! - `clock`: the one source of "now". Salts rotate at UTC midnight and
//!   retention counts days, so tests must be able to move time.
//! - `query`: the query model. A Stats API request is parsed into one `Query`
//!   value (site, period, metrics, filters); the store generates SQL from it.
//! - `question`: the whole question around a `Query`: its purpose, every
//!   site the answer may involve and its shape. The governance gate decides
//!   on that value and the audit log records it, so what is checked is what
//!   is executed (docs/architecture.md).
//! - `role`: what a person or token may change in its own organisation.
//! - `v2`: Plausible's Stats API v2 request, parsed into the same values.

pub mod channel;
pub mod clock;
pub mod config;
pub mod federation;
pub mod goal;
pub mod governance;
pub mod journey;
pub mod mail;
pub mod places;
pub mod query;
pub mod question;
pub mod role;
pub mod signing;
pub mod v2;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ApiToken, Config, ConfigError, Organisation, Site, StoreChoice, User};
pub use governance::{Agreement, Purpose, PurposeCategory};
pub use question::{Question, Shape};
pub use role::Role;
