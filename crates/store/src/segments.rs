//! Saved segments: a named set of filters for one site, kept by a person
//! for themselves or shared with their organisation, and applied from the
//! dashboard's filter bar or by the API (`segment` in v1, Plausible's
//! `["is", "segment", [id]]` in v2). They are definitions people write,
//! not data about visitors, kept in `segments.json` in the data directory
//! (a [`ListFile`]).

use crate::listfile::ListFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most segments one site may keep.
pub const MAX_PER_SITE: usize = 500;

/// Longest segment name, in characters.
pub const MAX_NAME: usize = 100;

/// One saved segment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// A random id.
    pub id: String,
    /// Host of the site it belongs to.
    pub site: String,
    /// What people call it ("Visitors from Scotland").
    pub name: String,
    /// Its filters, as Plausible's Stats API v2 writes them
    /// (`[["is", "visit:region", ["GB-SCT"]]]`), checked when saved.
    pub filters: serde_json::Value,
    /// Pseudonym of the account or token that made it.
    pub owner: String,
    /// Seen by the whole organisation, or by its owner only.
    pub shared: bool,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

impl Segment {
    /// Whether the caller with pseudonym `actor` may see and apply it.
    pub fn visible_to(&self, actor: &str) -> bool {
        self.shared || self.owner == actor
    }
}

/// The segments file, held in memory and written through on every change.
pub type Segments = ListFile<Segment>;

impl Segments {
    /// Reads `DIR/segments.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<Segments> {
        ListFile::at(dir.join("segments.json"))
    }

    /// The segment `id` of site `host`, if there is one.
    pub fn find(&self, host: &str, id: &str) -> Option<Segment> {
        self.matching(|s| s.id == id && s.site == host)
            .into_iter()
            .next()
    }

    /// The segments of `host` that `actor` may see, by name.
    pub fn of_site(&self, host: &str, actor: &str) -> Vec<Segment> {
        let mut out = self.matching(|s| s.site == host && s.visible_to(actor));
        out.sort_by_key(|s| s.name.to_lowercase());
        out
    }
}
