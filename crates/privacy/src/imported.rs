//! Values from another product's aggregated export (Plausible's CSV files,
//! read by `glasshouse import-history`): they hold no visitor, but their
//! paths, referrers, campaign tags and event names are free text written
//! from visitors' URLs, so they pass the same scrubbing, to the same
//! lengths, as a live event's (docs/architecture.md, promise 4) before
//! anything is stored.

use crate::anonymiser::MAX_NAME;
use crate::referrer::{MAX_REFERRER, MAX_SOURCE};
use crate::scrub::{scrub_capped, scrub_path};
use crate::url::{MAX_PATH, MAX_QUERY_VALUE};

/// Cuts `text` at the first of `marks`.
fn before<'a>(text: &'a str, marks: &[char]) -> &'a str {
    text.find(marks).map_or(text, |at| &text[..at])
}

/// A page, entry or exit page: the path without query or fragment,
/// scrubbed as live paths are (dates kept in the site's `dated_slugs`).
pub fn page(path: &str, dated_slugs: &[String]) -> String {
    scrub_path(before(path, &['?', '#']), MAX_PATH, dated_slugs)
}

/// A referrer, kept as live ones are: host and path, without scheme,
/// query or fragment, scrubbed.
pub fn referrer(text: &str) -> String {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    scrub_capped(before(rest, &['?', '#']), MAX_REFERRER)
}

/// A source name.
pub fn source(text: &str) -> String {
    scrub_capped(text, MAX_SOURCE)
}

/// A UTM tag's value.
pub fn utm(text: &str) -> String {
    scrub_capped(text, MAX_QUERY_VALUE)
}

/// A custom event's name.
pub fn name(text: &str) -> String {
    scrub_capped(text, MAX_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_values_are_scrubbed_as_live_ones() {
        assert_eq!(
            page("/users/jo@example.com/edit?token=abc#x", &[]),
            "/users/[email]/edit"
        );
        assert_eq!(
            referrer("https://mail.example.org/read/QQ123456C?q=1"),
            "mail.example.org/read/[nino]"
        );
        assert_eq!(utm("newsletter-SW1A 2AA"), "newsletter-[postcode]");
        assert_eq!(name("Signup"), "Signup");
        assert_eq!(page("/vat-rates", &[]), "/vat-rates");
    }
}
