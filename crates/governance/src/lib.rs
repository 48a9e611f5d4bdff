//! The gate, and what a data protection officer and a citizen read: the
//! public transparency register and the data protection impact assessment
//! (docs/architecture.md; promises 5 to 8 of docs/architecture.md).
//!
//! - [`gate`] — [`gate::authorise`], the one decision about who may see
//!   what: a [`gate::Grant`] naming one ground (the caller's own
//!   organisation, or one agreement covering the whole question), which
//!   owns the release of the answer under the agreement's `k` and ε.
//!
//! Everything else here is a pure function from the live configuration
//! ([`glasshouse_model::Config`]) and an [`Inventory`] of what is actually
//! stored to a document, so that what is published is what is configured
//! and enforced, and cannot go stale. No I/O, no database: the server and
//! the CLI fill the [`Inventory`] and the [`AuditPage`] and serve the result.
//!
//! - [`transparency::json`] — `GET /transparency.json`, a stable
//!   machine-readable register.
//! - [`transparency::html`] — `GET /transparency`, the page citizens read
//!   (a fragment in GOV.UK Design System markup, for the site's layout).
//! - [`dpia::markdown`] and [`dpia::html`] — `glasshouse dpia` and
//!   `GET /transparency/dpia`: the impact assessment following the ICO
//!   template, with the parts only a person can write clearly marked.
//!
//! One file per job: `inventory.rs` (inputs), `escape.rs` (HTML and
//! Markdown escaping), `collected.rs` (what is and is not collected: one
//! list for every output), `scope.rs` (which slice of the configuration a
//! page covers), `risks.rs` (the risk register), `doc.rs` (a small
//! document model rendered to Markdown and HTML), `transparency_json.rs`,
//! `transparency_html.rs`, `dpia.rs`.

#![deny(missing_docs)]

pub mod collected;
mod doc;
pub mod dpia;
mod escape;
mod federation;
mod format;
pub mod gate;
mod inventory;
pub mod risks;
mod scope;
mod transparency_html;
mod transparency_json;

pub use escape::{escape, markdown as escape_markdown, url_component};
pub use inventory::{AuditPage, AuditRow, Inventory, PublicCount, SharedLink, SiteInventory};

/// Where the DPIA is published, linked from the register.
pub const DPIA_PATH: &str = "/transparency/dpia";

/// Where the machine-readable register is published.
pub const JSON_PATH: &str = "/transparency.json";

/// The public transparency register, as JSON and as HTML.
pub mod transparency {
    pub use crate::transparency_html::html;
    pub use crate::transparency_json::{json, FORMAT, NO_POLITICAL_CATEGORY};
}
