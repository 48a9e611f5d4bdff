//! The referrer and the traffic source it is reported as.
//!
//! **Referrer** is kept as host + path only: the query and fragment are
//! dropped (search terms, tokens and tracking ids live there), the path is
//! percent-decoded and scrubbed, and it is `""` when absent, unparseable, not
//! `http(s)`/`android-app`, or the same site as the page (internal navigation
//! is not a source; `www.` is ignored for that comparison).
//!
//! **Source** is what reports group by:
//!
//! 1. a well-known referrer host becomes a name: Google (any `google.<tld>`,
//!    `google.co.uk`, `google.com.au`…), Bing, DuckDuckGo, Yahoo, Yandex,
//!    Ecosia, Baidu, Brave, Startpage, Qwant, Facebook, Twitter (`t.co`,
//!    `x.com`), LinkedIn, Reddit, YouTube, Instagram, Wikipedia, GitHub,
//!    ChatGPT, Perplexity, Claude, Copilot, Gemini, Gmail, Outlook, …;
//! 2. `www.gov.uk` (and bare `gov.uk`) becomes `GOV.UK`. Other `*.gov.uk`
//!    hosts are **not** folded into it: in journeys between government
//!    services, *which* service sent the visitor (`tax.service.gov.uk`,
//!    `www.nhs.uk`, `www.mygov.scot`) is the very thing being measured;
//! 3. any other referrer: its host without a leading `www.`;
//! 4. no (external) referrer: the page's `utm_source`, else its `source` or
//!    `ref` parameter (scrubbed), else `""`, which reports show as
//!    "Direct / None".

use crate::scrub::scrub_capped;
use percent_encoding::percent_decode_str;

/// Longest stored source, in bytes.
pub const MAX_SOURCE: usize = 200;
/// Longest stored referrer, in bytes.
pub const MAX_REFERRER: usize = 1000;

/// Hosts (and their subdomains) with a well-known name.
const KNOWN: &[(&str, &str)] = &[
    ("mail.google.com", "Gmail"),
    ("gemini.google.com", "Gemini"),
    ("t.co", "Twitter"),
    ("twitter.com", "Twitter"),
    ("x.com", "Twitter"),
    ("facebook.com", "Facebook"),
    ("fb.com", "Facebook"),
    ("fb.me", "Facebook"),
    ("linkedin.com", "LinkedIn"),
    ("lnkd.in", "LinkedIn"),
    ("reddit.com", "Reddit"),
    ("youtube.com", "YouTube"),
    ("youtu.be", "YouTube"),
    ("instagram.com", "Instagram"),
    ("wikipedia.org", "Wikipedia"),
    ("github.com", "GitHub"),
    ("chatgpt.com", "ChatGPT"),
    ("chat.openai.com", "ChatGPT"),
    ("perplexity.ai", "Perplexity"),
    ("claude.ai", "Claude"),
    ("copilot.microsoft.com", "Copilot"),
    ("duckduckgo.com", "DuckDuckGo"),
    ("ecosia.org", "Ecosia"),
    ("baidu.com", "Baidu"),
    ("search.brave.com", "Brave"),
    ("startpage.com", "Startpage"),
    ("qwant.com", "Qwant"),
    ("ya.ru", "Yandex"),
    ("outlook.live.com", "Outlook"),
    ("outlook.office.com", "Outlook"),
    ("outlook.office365.com", "Outlook"),
    ("bsky.app", "Bluesky"),
    ("threads.net", "Threads"),
    ("tiktok.com", "TikTok"),
    ("pinterest.com", "Pinterest"),
    ("whatsapp.com", "WhatsApp"),
    ("gov.uk", "GOV.UK"),
];

/// Brands that run one site per country: `brand.<tld>`, `brand.co.<cc>`, `brand.com.<cc>`.
const BRANDS: &[(&str, &str)] = &[
    ("google", "Google"),
    ("bing", "Bing"),
    ("yahoo", "Yahoo"),
    ("yandex", "Yandex"),
];

/// Android apps that send `android-app://<package>/` as the referrer.
const APPS: &[(&str, &str)] = &[
    ("com.google.android.googlequicksearchbox", "Google"),
    ("com.google.android.apps.searchlite", "Google"),
    ("com.google.android.gm", "Gmail"),
    ("com.linkedin.android", "LinkedIn"),
    ("com.facebook.katana", "Facebook"),
    ("com.twitter.android", "Twitter"),
    ("com.reddit.frontpage", "Reddit"),
    ("com.microsoft.teams", "Teams"),
    ("org.telegram.messenger", "Telegram"),
];

/// `(referrer, source)` for an event on `page_host`.
pub(crate) fn referral(
    raw: Option<&str>,
    page_host: &str,
    utm_source: &str,
    source_param: Option<&str>,
) -> (String, String) {
    if let Some((referrer, source)) = raw.and_then(|r| external_referrer(r, page_host)) {
        return (referrer, source);
    }
    let fallback = if !utm_source.is_empty() {
        utm_source
    } else {
        source_param.unwrap_or("")
    };
    let mut source = fallback.to_string();
    source.truncate(crate::scrub::floor_boundary(&source, MAX_SOURCE));
    (String::new(), source)
}

fn external_referrer(raw: &str, page_host: &str) -> Option<(String, String)> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let source = match url.scheme() {
        "http" | "https" => {
            if without_www(&host) == without_www(&page_host.to_ascii_lowercase()) {
                return None;
            }
            classify(&host)
        }
        "android-app" => APPS
            .iter()
            .find(|(package, _)| *package == host)
            .map(|(_, name)| name.to_string())
            .unwrap_or_else(|| host.clone()),
        _ => return None,
    };
    let path = percent_decode_str(url.path()).decode_utf8_lossy();
    let referrer = scrub_capped(&format!("{host}{path}"), MAX_REFERRER);
    let mut source = crate::scrub::scrub(&source).into_owned();
    source.truncate(crate::scrub::floor_boundary(&source, MAX_SOURCE));
    Some((referrer, source))
}

fn without_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

/// The source name of a referrer host (lower-case).
pub(crate) fn classify(host: &str) -> String {
    let host = host.trim_end_matches('.');
    if host == "gov.uk" || host == "www.gov.uk" {
        return "GOV.UK".to_string();
    }
    for (domain, name) in KNOWN {
        if *domain == "gov.uk" {
            continue;
        }
        if host == *domain
            || (host.len() > domain.len()
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
        {
            return name.to_string();
        }
    }
    let labels: Vec<&str> = host.split('.').collect();
    for (brand, name) in BRANDS {
        if let Some(i) = labels.iter().position(|l| l == brand) {
            let rest = &labels[i + 1..];
            let country_tld = match rest {
                [tld] => !tld.is_empty(),
                [second, cc] => matches!(*second, "co" | "com" | "org" | "net") && cc.len() == 2,
                _ => false,
            };
            if country_tld {
                return name.to_string();
            }
        }
    }
    without_www(host).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_sources() {
        for (host, name) in [
            ("www.google.com", "Google"),
            ("www.google.co.uk", "Google"),
            ("google.de", "Google"),
            ("www.google.com.au", "Google"),
            ("news.google.com", "Google"),
            ("mail.google.com", "Gmail"),
            ("www.bing.com", "Bing"),
            ("cn.bing.com", "Bing"),
            ("duckduckgo.com", "DuckDuckGo"),
            ("uk.search.yahoo.com", "Yahoo"),
            ("yandex.ru", "Yandex"),
            ("www.ecosia.org", "Ecosia"),
            ("www.baidu.com", "Baidu"),
            ("l.facebook.com", "Facebook"),
            ("m.facebook.com", "Facebook"),
            ("t.co", "Twitter"),
            ("x.com", "Twitter"),
            ("www.linkedin.com", "LinkedIn"),
            ("old.reddit.com", "Reddit"),
            ("m.youtube.com", "YouTube"),
            ("l.instagram.com", "Instagram"),
            ("en.m.wikipedia.org", "Wikipedia"),
            ("github.com", "GitHub"),
            ("chatgpt.com", "ChatGPT"),
            ("www.perplexity.ai", "Perplexity"),
            ("www.gov.uk", "GOV.UK"),
            ("gov.uk", "GOV.UK"),
            ("www.tax.service.gov.uk", "tax.service.gov.uk"),
            ("www.mygov.scot", "mygov.scot"),
            ("www.gov.wales", "gov.wales"),
            ("notgoogle.com", "notgoogle.com"),
            ("google.example.org", "google.example.org"),
            ("xt.co", "xt.co"),
        ] {
            assert_eq!(classify(host), name, "{host}");
        }
    }

    #[test]
    fn referrers_are_host_and_path_only() {
        let (r, s) = referral(
            Some("https://www.google.co.uk/search?q=jo%40example.com#x"),
            "www.gov.uk",
            "",
            None,
        );
        assert_eq!(
            (r.as_str(), s.as_str()),
            ("www.google.co.uk/search", "Google")
        );
        let (r, s) = referral(
            Some("https://forum.example.org/u/jo@example.com/"),
            "www.gov.uk",
            "",
            None,
        );
        assert_eq!(
            (r.as_str(), s.as_str()),
            ("forum.example.org/u/[email]/", "forum.example.org")
        );
        let (r, s) = referral(
            Some("android-app://com.google.android.gm/"),
            "www.gov.uk",
            "",
            None,
        );
        assert_eq!(
            (r.as_str(), s.as_str()),
            ("com.google.android.gm/", "Gmail")
        );
    }

    #[test]
    fn internal_and_missing_referrers_fall_back_to_campaign_tags() {
        for raw in [
            None,
            Some(""),
            Some("https://gov.uk/foo"),
            Some("https://www.gov.uk/x"),
            Some("nonsense"),
            Some("file:///tmp/x"),
        ] {
            assert_eq!(
                referral(raw, "www.gov.uk", "", None),
                (String::new(), String::new()),
                "{raw:?}"
            );
            assert_eq!(
                referral(raw, "www.gov.uk", "newsletter", Some("other")),
                (String::new(), "newsletter".to_string())
            );
            assert_eq!(
                referral(raw, "www.gov.uk", "", Some("other")),
                (String::new(), "other".to_string())
            );
        }
    }
}
