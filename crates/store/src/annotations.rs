//! Annotations: dated notes per site (a release, a press campaign, an
//! outage, a change of law) that explain a chart's rises and falls. They
//! are written by the organisation's analysts, not derived from visits,
//! and kept in `annotations.json` in the data directory (a [`ListFile`]).

use crate::listfile::ListFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most annotations one site may keep.
pub const MAX_PER_SITE: usize = 1000;

/// Longest annotation, in characters.
pub const MAX_TEXT: usize = 500;

/// One dated note.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Annotation {
    /// A random id.
    pub id: String,
    /// Host of the site it belongs to.
    pub site: String,
    /// The day it is about, in the site's time zone (`YYYY-MM-DD`).
    pub date: chrono::NaiveDate,
    /// What happened.
    pub text: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
    /// Pseudonym of the account or token that wrote it.
    pub owner: String,
}

/// The annotations file, held in memory and written through on every change.
pub type Annotations = ListFile<Annotation>;

impl Annotations {
    /// Reads `DIR/annotations.json`, or starts empty when there is none.
    pub fn open(dir: &Path) -> std::io::Result<Annotations> {
        ListFile::at(dir.join("annotations.json"))
    }

    /// The annotations of one site on days in `[from, to]`, by date.
    pub fn of_site(
        &self,
        host: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Vec<Annotation> {
        let mut out = self.matching(|a| a.site == host && a.date >= from && a.date <= to);
        out.sort_by(|a, b| a.date.cmp(&b.date).then(a.updated.cmp(&b.updated)));
        out
    }
}
