//! User-Agent → browser, OS, device class; and bot detection.
//!
//! The User-Agent is read here and never kept: only the classes derived from
//! it leave this module. Parsing uses the ua-parser project's `regexes.yaml`
//! (vendored in `data/`, see `data/README.md`), which costs about ten
//! microseconds per string, so results are kept in a bounded in-memory cache
//! ([`CACHE_ENTRIES`] entries, evicted by use). The cache is keyed by a
//! keyed hash of the User-Agent (`memo.rs`), so it does not hold the
//! User-Agents themselves; it is never written anywhere and dies with the
//! process. Each entry also keeps the User-Agent's digest, which is what the
//! visitor hash reads (`visitor.rs`), so a long User-Agent is hashed once
//! per process rather than twice per event.
//!
//! **Bots** are not counted. A User-Agent is a bot when it is
//! - empty or shorter than [`MIN_AGENT_LEN`] characters (no real browser sends that);
//! - matched by the `isbot` npm package's pattern list (`data/isbot-patterns.json`,
//!   case-insensitive), which includes crawlers, HTTP libraries (curl, wget,
//!   python-requests, Go-http-client, Java…), monitoring, link previewers
//!   and headless browsers (`HeadlessChrome`, `Chrome-Lighthouse`, Cypress);
//! - matched by our additions for automation tools whose UA the list may
//!   miss: PhantomJS, Lighthouse, Playwright, Puppeteer, Selenium,
//!   WebDriver, SlimerJS, Prerender;
//! - classified by ua-parser as the `Spider` browser or device family.
//!
//! **Device class**, first match wins:
//! 1. `Tablet`: iPad, Kindle, Silk, PlayBook, a `Tablet` token (except the
//!    `Tablet PC` token of Windows desktops), or Android without `Mobi`
//!    (Google's rule: Android phones send `Mobile`, tablets do not).
//! 2. `Mobile`: `Mobi` anywhere (MDN's recommended test), iPhone, iPod,
//!    Windows Phone, BlackBerry/BB10, Opera Mini, KaiOS.
//! 3. `Desktop`: Windows, macOS, Linux, ChromeOS, BSD (`Windows NT`,
//!    `Macintosh`, `X11`, `CrOS` in the string, or such an OS family).
//! 4. otherwise `""` (TVs, consoles, unknown).
//!
//! iPads on iPadOS 13 and later send a Mac desktop User-Agent by default and
//! are therefore counted as `Desktop`; no User-Agent rule can tell them apart.

use crate::memo::Memo;
use crate::visitor::AgentDigest;
use quick_cache::sync::Cache;
use std::sync::{Arc, LazyLock};
use ua_parser::{Extractor, Regexes};

/// How many distinct User-Agents the parse cache holds.
pub const CACHE_ENTRIES: usize = 20_000;
/// Shorter User-Agents are treated as bots.
pub const MIN_AGENT_LEN: usize = 16;
/// Only this much of a User-Agent is parsed; real ones are far shorter.
const MAX_PARSED_LEN: usize = 1024;

/// What is derived from a User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentInfo {
    pub(crate) bot: bool,
    pub(crate) browser: String,
    pub(crate) browser_version: String,
    pub(crate) os: String,
    pub(crate) os_version: String,
    pub(crate) device: &'static str,
}

static PARSER: LazyLock<Extractor<'static>> = LazyLock::new(|| {
    let regexes: Regexes<'static> = serde_yaml::from_str(include_str!("../data/regexes.yaml"))
        .expect("vendored regexes.yaml parses");
    Extractor::try_from(regexes).expect("vendored regexes.yaml compiles")
});

/// The isbot patterns, split into those the `regex` crate can run (one
/// combined byte regex, ASCII semantics like JavaScript's) and the few with
/// look-around, which `fancy-regex` runs. A backtracking look-around match
/// costs microseconds, so each one runs only when its pattern with the
/// look-arounds removed (a necessary condition) matched in one `RegexSet`
/// pass.
struct BotPatterns {
    plain: regex::bytes::Regex,
    prefilter: regex::bytes::RegexSet,
    lookaround: Vec<fancy_regex::Regex>,
}

/// Automation tools added to the isbot list.
const EXTRA_BOT_PATTERNS: &[&str] = &[
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "playwright",
    "puppeteer",
    "selenium",
    "webdriver",
    "slimerjs",
    "prerender",
];

static BOTS: LazyLock<BotPatterns> = LazyLock::new(|| {
    let list: Vec<String> = serde_json::from_str(include_str!("../data/isbot-patterns.json"))
        .expect("vendored isbot-patterns.json parses");
    let has_lookaround = |p: &str| ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|l| p.contains(l));
    let plain: Vec<&str> = list
        .iter()
        .map(String::as_str)
        .filter(|p| !has_lookaround(p))
        .chain(EXTRA_BOT_PATTERNS.iter().copied())
        .collect();
    let combined = plain
        .iter()
        .map(|p| format!("(?:{})", js_class_ranges(p)))
        .collect::<Vec<_>>()
        .join("|");
    let plain = regex::bytes::RegexBuilder::new(&combined)
        .unicode(false)
        .case_insensitive(true)
        .size_limit(64 << 20)
        .build()
        .expect("isbot patterns compile");
    let with_lookaround: Vec<&str> = list
        .iter()
        .map(String::as_str)
        .filter(|p| has_lookaround(p))
        .collect();
    let prefilter = regex::bytes::RegexSetBuilder::new(
        with_lookaround
            .iter()
            .map(|p| js_class_ranges(&strip_lookaround(p))),
    )
    .unicode(false)
    .case_insensitive(true)
    .build()
    .expect("isbot prefilters compile");
    let lookaround = with_lookaround
        .iter()
        .map(|p| {
            fancy_regex::Regex::new(&format!("(?i){p}"))
                .expect("isbot look-around pattern compiles")
        })
        .collect();
    BotPatterns {
        plain,
        prefilter,
        lookaround,
    }
});

/// JavaScript reads `-` next to a class escape inside `[...]` (as in
/// `[\w\d-.]`) as a literal hyphen; the `regex` crate refuses it as a range.
/// Escape such hyphens.
fn js_class_ranges(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let is_shorthand = |c: char| matches!(c, 'w' | 'W' | 'd' | 'D' | 's' | 'S');
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut in_class = false;
    let mut previous_was_shorthand = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            out.push(c);
            out.push(chars[i + 1]);
            previous_was_shorthand = in_class && is_shorthand(chars[i + 1]);
            i += 2;
            continue;
        }
        if in_class && c == '-' {
            let next_is_shorthand = chars.get(i + 1) == Some(&'\\')
                && chars.get(i + 2).is_some_and(|n| is_shorthand(*n));
            if previous_was_shorthand || next_is_shorthand {
                out.push_str("\\-");
                previous_was_shorthand = false;
                i += 1;
                continue;
            }
        }
        if c == '[' && !in_class {
            in_class = true;
        } else if c == ']' && in_class {
            in_class = false;
        }
        previous_was_shorthand = false;
        out.push(c);
        i += 1;
    }
    out
}

/// The pattern with every look-around group removed: it matches whenever
/// the original does (and more), so it can decide cheaply when the original
/// is worth running.
fn strip_lookaround(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &pattern[i..];
        if ["(?=", "(?!", "(?<=", "(?<!"]
            .iter()
            .any(|l| rest.starts_with(l))
        {
            // Skip to the matching close parenthesis.
            let mut depth = 0usize;
            let mut in_class = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 1,
                    b'[' if !in_class => in_class = true,
                    b']' if in_class => in_class = false,
                    b'(' if !in_class => depth += 1,
                    b')' if !in_class => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        let c = rest.chars().next().expect("not at the end");
        out.push(c);
        if c == '\\' {
            if let Some(next) = rest[1..].chars().next() {
                out.push(next);
                i += next.len_utf8();
            }
        }
        i += c.len_utf8();
    }
    out
}

/// Loads and compiles the vendored data now (about a second) rather than on
/// the first request.
pub(crate) fn warm_up() {
    LazyLock::force(&PARSER);
    LazyLock::force(&BOTS);
}

/// What is known of a User-Agent: its classes and its digest.
#[derive(Clone)]
pub(crate) struct Known {
    pub(crate) info: Arc<AgentInfo>,
    pub(crate) digest: AgentDigest,
}

/// User-Agent classification with its cache; shared by all request handlers.
pub(crate) struct Agents {
    cache: Cache<u128, Known>,
    memo: Memo,
    bot: Arc<AgentInfo>,
}

impl Agents {
    pub(crate) fn new() -> Agents {
        warm_up();
        Agents {
            cache: Cache::new(CACHE_ENTRIES),
            memo: Memo::new(),
            bot: Arc::new(AgentInfo {
                bot: true,
                browser: String::new(),
                browser_version: String::new(),
                os: String::new(),
                os_version: String::new(),
                device: "",
            }),
        }
    }

    /// The classes and digest of `user_agent`, from the cache when seen
    /// before.
    pub(crate) fn classify(&self, user_agent: &str) -> Known {
        let key = self.memo.key(user_agent.as_bytes());
        if let Some(hit) = self.cache.get(&key) {
            return hit;
        }
        let ua = user_agent.trim();
        let info = if ua.chars().count() < MIN_AGENT_LEN {
            self.bot.clone()
        } else {
            Arc::new(parse(
                &ua[..crate::scrub::floor_boundary(ua, MAX_PARSED_LEN)],
            ))
        };
        let known = Known {
            info,
            digest: AgentDigest::of(user_agent),
        };
        self.cache.insert(key, known.clone());
        known
    }
}

/// Is this User-Agent a bot by the pattern lists?
fn is_listed_bot(ua: &str) -> bool {
    let bots = &*BOTS;
    bots.plain.is_match(ua.as_bytes())
        || bots
            .prefilter
            .matches(ua.as_bytes())
            .iter()
            .any(|i| bots.lookaround[i].is_match(ua).unwrap_or(false))
}

fn parse(ua: &str) -> AgentInfo {
    let (browser, os, device) = PARSER.extract(ua);
    let browser_family = browser.as_ref().map(|b| b.family.as_ref()).unwrap_or("");
    let device_family = device.as_ref().map(|d| d.device.as_ref()).unwrap_or("");
    let bot = is_listed_bot(ua) || browser_family == "Spider" || device_family == "Spider";
    let os_family = os.as_ref().map(|o| o.os.as_ref()).unwrap_or("");
    AgentInfo {
        bot,
        browser: browser_name(browser_family).to_string(),
        browser_version: browser
            .as_ref()
            .map(|b| version(b.major, b.minor))
            .unwrap_or_default(),
        os: os_name(os_family).to_string(),
        os_version: os
            .as_ref()
            .map(|o| version(o.major.as_deref(), o.minor.as_deref()))
            .unwrap_or_default(),
        device: device_class(ua, os_family),
    }
}

/// `major.minor`, or `major`, or `""`.
fn version(major: Option<&str>, minor: Option<&str>) -> String {
    match (major, minor) {
        (Some(major), Some(minor)) if !minor.is_empty() => format!("{major}.{minor}"),
        (Some(major), _) => major.to_string(),
        _ => String::new(),
    }
}

/// One name per browser whatever the device (the device has its own column).
fn browser_name(family: &str) -> &str {
    match family {
        "Other" => "",
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Mobile Safari" => "Safari",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Edge Mobile" => "Edge",
        "Opera Mobile" => "Opera",
        other => other,
    }
}

fn os_name(family: &str) -> &str {
    match family {
        "Other" => "",
        "Mac OS X" => "macOS",
        other => other,
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The device class; see the module documentation for the rule.
fn device_class(ua: &str, os_family: &str) -> &'static str {
    let mobi = contains(ua, "mobi");
    let android = contains(ua, "android");
    if contains(ua, "ipad")
        || contains(ua, "kindle")
        || contains(ua, "silk/")
        || contains(ua, "playbook")
        || (contains(ua, "tablet") && !contains(ua, "tablet pc"))
        || (android && !mobi)
    {
        return "Tablet";
    }
    if mobi
        || contains(ua, "iphone")
        || contains(ua, "ipod")
        || contains(ua, "windows phone")
        || contains(ua, "blackberry")
        || contains(ua, "bb10")
        || contains(ua, "opera mini")
        || contains(ua, "kaios")
    {
        return "Mobile";
    }
    let desktop_os = matches!(
        os_family,
        "Windows"
            | "Mac OS X"
            | "Linux"
            | "Ubuntu"
            | "Fedora"
            | "Debian"
            | "Chrome OS"
            | "FreeBSD"
            | "OpenBSD"
            | "NetBSD"
    );
    if desktop_os
        || contains(ua, "windows nt")
        || contains(ua, "macintosh")
        || contains(ua, "x11")
        || contains(ua, "cros")
    {
        return "Desktop";
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_lists_load() {
        warm_up();
        assert!(
            BOTS.lookaround.len() < 20,
            "most patterns run in the fast engine"
        );
    }

    #[test]
    fn javascript_class_hyphens_are_escaped() {
        assert_eq!(js_class_ranges(r"[\w\d-.]+"), r"[\w\d\-.]+");
        assert_eq!(js_class_ranges(r"[a-z][\w-]+"), r"[a-z][\w\-]+");
        assert_eq!(js_class_ranges(r"a-b[0-9]"), r"a-b[0-9]");
    }

    #[test]
    fn lookarounds_are_stripped_for_the_prefilter() {
        assert_eq!(
            strip_lookaround(r"(?<! channel/|google/)google(?!(?:wv|app|/google| pixel))"),
            "google"
        );
        assert_eq!(
            strip_lookaround(r"(?:^|[^g])news(?!sapphire)"),
            "(?:^|[^g])news"
        );
        assert_eq!(strip_lookaround(r"(?<! cu)bots?(?:\b|_)"), r"bots?(?:\b|_)");
        assert_eq!(strip_lookaround(r"a(?![)(])b\(c"), r"ab\(c");
    }

    #[test]
    fn lookaround_patterns_still_decide() {
        warm_up();
        assert!(is_listed_bot(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ));
        assert!(is_listed_bot("Mozilla/5.0 (compatible; SomeScanner/1.0)"));
        assert!(!is_listed_bot("Mozilla/5.0 (Linux; Android 14; Google Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"));
        assert!(!is_listed_bot("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"));
    }

    #[test]
    fn the_cache_returns_the_same_answer() {
        let agents = Agents::new();
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let a = agents.classify(ua);
        let b = agents.classify(ua);
        assert!(Arc::ptr_eq(&a.info, &b.info));
        assert_eq!(a.info.browser, "Chrome");
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.digest, AgentDigest::of(ua));
    }

    #[test]
    fn the_cache_holds_no_user_agent() {
        let agents = Agents::new();
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 glasshouse-marker";
        agents.classify(ua);
        // Every key is a number and every value is derived: nothing in an
        // entry is the User-Agent or a piece of it beyond its classes.
        for (key, known) in agents.cache.iter() {
            assert_eq!(key, agents.memo.key(ua.as_bytes()));
            assert_eq!(known.info.browser, "Firefox");
            assert!(!format!("{:?}", known.info).contains("glasshouse-marker"));
        }
        assert_eq!(agents.cache.len(), 1);
    }

    #[test]
    fn short_agents_are_bots_also_from_the_cache() {
        let agents = Agents::new();
        assert!(agents.classify("curl").info.bot);
        assert!(agents.classify("curl").info.bot);
        assert!(agents.classify("   ").info.bot);
    }
}
