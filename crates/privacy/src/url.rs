//! The page URL: parsed, reduced to what the site allows, and scrubbed.
//!
//! - Only `http` and `https` URLs with a host are accepted; anything else is
//!   refused (the reason never quotes the URL, which may hold personal data).
//! - `hostname`: lower-case, `www.` kept as sent (`www.gov.uk` and `gov.uk`
//!   are different sites to a browser).
//! - `pathname`: percent-decoded (invalid UTF-8 replaced by U+FFFD), scrubbed,
//!   capped at [`MAX_PATH`] bytes, `/` when empty. The fragment is dropped.
//! - `query`: only parameters named in the site's `query_params`, plus
//!   `utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term`
//!   (any case); values scrubbed, and values of secret-looking names
//!   (`token`, `state`, `code`, `password`, `*_token`, `api_key`…) replaced by
//!   `[redacted]` even if the site allows them; re-encoded in their original
//!   order; `""` when nothing is left. Every other parameter is dropped
//!   entirely, name included.

use crate::event::Utm;
use crate::scrub::{scrub_capped, scrub_path};
use glasshouse_model::Site;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use std::borrow::Cow;

/// Longest stored path, in bytes.
pub const MAX_PATH: usize = 2000;
/// Longest stored query parameter value, in bytes.
pub const MAX_QUERY_VALUE: usize = 500;

/// Characters escaped in re-encoded query names and values. `[` and `]` are
/// left alone so placeholders stay readable (`q=[email]`).
const QUERY_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The parts of the page URL that may be kept.
#[derive(Debug)]
pub(crate) struct PageUrl {
    pub(crate) hostname: String,
    pub(crate) pathname: String,
    pub(crate) query: String,
    pub(crate) utm: Utm,
    /// `source` or `ref` parameter (scrubbed), a fallback for the traffic source.
    pub(crate) source_param: Option<String>,
}

/// Whether `raw` is a page URL the anonymiser accepts (`http`, `https` or
/// an app's own scheme, with a host), for callers that must check input before any of it is
/// anonymised; `Err` holds a reason that does not quote the URL.
pub fn check_page_url(raw: &str) -> Result<(), String> {
    page_url(raw).map(|_| ())
}

fn page_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
    // Web pages (http, https) and, as Plausible counts them, screens of
    // mobile and desktop apps under a scheme of their own
    // (`app://localhost/screen`). The web's other schemes are not pages.
    if matches!(url.scheme(), "ftp" | "file" | "ws" | "wss") {
        let scheme: String = url.scheme().chars().take(20).collect();
        return Err(format!(
            "scheme {scheme:?} is not a page's; use http, https or an app's own scheme"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

/// Parses and reduces the page URL; `Err` holds a reason that does not quote the URL.
pub(crate) fn parse_page(raw: &str, site: &Site) -> Result<PageUrl, String> {
    let url = page_url(raw)?;
    let hostname = url.host_str().unwrap_or_default().to_ascii_lowercase();

    let decoded = percent_decode_str(url.path()).decode_utf8_lossy();
    let mut pathname = scrub_path(&decoded, MAX_PATH, &site.dated_slugs);
    if pathname.is_empty() {
        pathname.push('/');
    }

    let mut query = String::new();
    let mut utm = Utm::default();
    let mut source_param = None;
    if let Some(raw_query) = url.query() {
        for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
            if let Some(slot) = utm_slot(&mut utm, &name) {
                let clean = clean_value(&name, &value);
                *slot = clean.clone();
                append(&mut query, &name, &clean);
            } else if site.query_params.iter().any(|p| *p == name) {
                append(&mut query, &name, &clean_value(&name, &value));
            }
            if source_param.is_none()
                && (name.eq_ignore_ascii_case("source") || name.eq_ignore_ascii_case("ref"))
                && !value.is_empty()
            {
                source_param = Some(scrub_capped(&value, crate::referrer::MAX_SOURCE));
            }
        }
    }
    Ok(PageUrl {
        hostname,
        pathname,
        query,
        utm,
        source_param,
    })
}

fn utm_slot<'a>(utm: &'a mut Utm, name: &str) -> Option<&'a mut String> {
    let lower: Cow<str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    match lower.as_ref() {
        "utm_source" => Some(&mut utm.source),
        "utm_medium" => Some(&mut utm.medium),
        "utm_campaign" => Some(&mut utm.campaign),
        "utm_content" => Some(&mut utm.content),
        "utm_term" => Some(&mut utm.term),
        _ => None,
    }
}

fn clean_value(name: &str, value: &str) -> String {
    if is_secret_param(name) && !value.is_empty() {
        "[redacted]".to_string()
    } else {
        scrub_capped(value, MAX_QUERY_VALUE)
    }
}

/// Parameter names whose values are secrets (password reset and unlock
/// tokens, OAuth `state` and `code`, API keys, session ids, signatures),
/// never kept even when a site lists them.
pub(crate) fn is_secret_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "state" | "code" | "key" | "auth" | "pwd" | "otp" | "sig" | "pin"
    ) || [
        "token",
        "password",
        "passwd",
        "secret",
        "apikey",
        "api_key",
        "sessionid",
        "session_id",
        "signature",
    ]
    .iter()
    .any(|s| lower.contains(s))
}

fn append(query: &mut String, name: &str, value: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    query.extend(utf8_percent_encode(name, QUERY_ESCAPE));
    query.push('=');
    query.extend(utf8_percent_encode(value, QUERY_ESCAPE));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(params: &[&str]) -> Site {
        Site {
            host: "www.gov.uk".into(),
            organisation: "gds".into(),
            query_params: params.iter().map(|s| s.to_string()).collect(),
            props: None,
            raw_retention_days: 30,
            aggregate_retention_days: 761,
            purposes: vec!["service-improvement".into()],
            dated_slugs: vec![],
            goals: vec![],
            timezone: glasshouse_model::query::Tz::UTC,
            reports: vec![],
            alerts: None,
        }
    }

    #[test]
    fn only_allowed_parameters_survive_in_order() {
        let p = parse_page(
            "https://WWW.GOV.UK/search/all?keywords=vat&email=jo%40x.com&utm_source=news&q=SW1A+2AA&page=2#top",
            &site(&["q", "keywords", "page"]),
        )
        .unwrap();
        assert_eq!(p.hostname, "www.gov.uk");
        assert_eq!(p.pathname, "/search/all");
        assert_eq!(p.query, "keywords=vat&utm_source=news&q=[postcode]&page=2");
        assert_eq!(p.utm.source, "news");
    }

    #[test]
    fn secret_parameters_are_redacted_even_when_allowed() {
        let p = parse_page(
            "https://www.gov.uk/reset?reset_password_token=abc&state=xyz&code=&lang=cy",
            &site(&["reset_password_token", "state", "code", "lang"]),
        )
        .unwrap();
        assert_eq!(
            p.query,
            "reset_password_token=[redacted]&state=[redacted]&code=&lang=cy"
        );
    }

    #[test]
    fn paths_are_decoded_scrubbed_and_capped() {
        let p = parse_page(
            "http://x.gov.uk/users/jo%40example.com/caf%C3%A9%FF",
            &site(&[]),
        )
        .unwrap();
        assert_eq!(p.pathname, "/users/[email]/café\u{fffd}");
        let p = parse_page("https://x.gov.uk", &site(&[])).unwrap();
        assert_eq!(p.pathname, "/");
        let long = format!("https://x.gov.uk/{}", "a/".repeat(3000));
        let p = parse_page(&long, &site(&[])).unwrap();
        assert!(p.pathname.len() <= MAX_PATH);
    }

    #[test]
    fn app_screens_are_pages_under_their_own_scheme() {
        let p = parse_page(
            "app://localhost/screen/settings?utm_source=push",
            &site(&[]),
        )
        .unwrap();
        assert_eq!(
            (p.hostname.as_str(), p.pathname.as_str()),
            ("localhost", "/screen/settings")
        );
        assert_eq!(p.utm.source, "push");
        // Scrubbed like any other path.
        let p = parse_page("app://localhost/user/jo@example.com", &site(&[])).unwrap();
        assert!(!p.pathname.contains("jo@"), "{}", p.pathname);
        for bad in [
            "app:screen",
            "app:///screen",
            "file:///etc/passwd",
            "wss://x.gov.uk/",
        ] {
            assert!(parse_page(bad, &site(&[])).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_do_not_quote_the_url() {
        for bad in [
            "ftp://x.gov.uk/jo@example.com",
            "not a url jo@example.com",
            "/relative/jo@example.com",
            "javascript:alert('jo@example.com')",
            "data:text/plain,jo@example.com",
        ] {
            let reason = parse_page(bad, &site(&[])).unwrap_err();
            assert!(!reason.contains("jo@"), "{reason}");
        }
    }
}
