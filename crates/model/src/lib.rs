//! The domain of glasshouse, shared by every other part.
//!
//! This crate sits at the root of the data path (see DESIGN.md): it names the
//! things the other parts hand to each other and does no I/O of its own.
//!
//! - `config`: the configuration file — organisations, sites, API tokens —
//!   parsed and validated once, so every other part can trust it.
//! - `clock`: the one source of "now". Salts rotate at UTC midnight and
//!   retention counts days, so tests must be able to move time.
//! - `query`: the query model. A Stats API request is parsed into one `Query`
//!   value; the store generates SQL from it and (later) the governance gate
//!   inspects the very same value, so what is checked is what is executed.

pub mod clock;
pub mod config;
pub mod query;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ApiToken, Config, ConfigError, Organisation, Site, User};
