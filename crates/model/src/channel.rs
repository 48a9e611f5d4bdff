//! Acquisition channels (`visit:channel`): the marketing channel a visit
//! came through, named and decided as Plausible decides it (its
//! `Plausible.Ingestion.Acquisition`, after Google Analytics 4's default
//! channel group), so that a team's "Organic Search" or "Email" means the
//! same after moving here.
//!
//! A channel is worked out from the visit's stored source and UTM tags
//! when a question asks for it, not stored: it then holds for every stored
//! day, and a change to these rules reaches old visits too. The rules are
//! one table ([`rules`]): [`of`] reads it in Rust (the test oracle and
//! unit tests), and the store writes it as one SQL `CASE` whose tests are
//! the same patterns, bound as parameters.
//!
//! What differs from Plausible, because of what glasshouse keeps:
//! - Ad click ids (`gclid`, `msclkid`) are dropped with the rest of the
//!   query string, so a Google or Bing visit without a paid `utm_medium`
//!   is "Organic Search" where Plausible says "Paid Search".
//! - Sources are this product's names ([`SEARCH`] and the other lists
//!   below name the ones it reports, lower-case), and a `utm_source` is
//!   kept as sent rather than mapped to a brand (`fb` stays `fb`).

use crate::query::literal_regex;
use std::sync::LazyLock;

/// A visit value a channel rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `visit:source` as stored (`""` for direct).
    Source,
    /// `utm_medium`.
    UtmMedium,
    /// `utm_source`.
    UtmSource,
    /// `utm_campaign`.
    UtmCampaign,
}

/// One test of a rule: `pattern` (a regular expression that ignores case,
/// as both stores and Rust's `regex` read it) is found in `field`. No
/// pattern matches an empty value, so a store may skip empty values
/// before running it (most visits carry no UTM tags).
#[derive(Debug, Clone)]
pub struct Test {
    /// The value tested.
    pub field: Field,
    /// What must be found in it.
    pub pattern: String,
}

/// A channel and when a visit is in it: when all tests of any one of
/// `when`'s lists hold, and no earlier rule's did.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The channel's name, as Plausible shows it.
    pub channel: &'static str,
    /// Alternatives, each a list of tests that must all hold.
    pub when: Vec<Vec<Test>>,
}

/// The channel of a visit no rule claims: no source, no telling tag.
pub const FALLBACK: &str = "Direct";

/// Search engines, and the AI assistants people now search with (as
/// Plausible counts them).
pub const SEARCH: &[&str] = &[
    "google",
    "bing",
    "yahoo",
    "yahoo!",
    "yandex",
    "duckduckgo",
    "ecosia",
    "baidu",
    "brave",
    "startpage",
    "qwant",
    "sogou",
    "naver",
    "seznam",
    "ask",
    "aol",
    "chatgpt",
    "chatgpt.com",
    "perplexity",
    "claude",
    "copilot",
    "gemini",
];
/// Social networks and chat.
pub const SOCIAL: &[&str] = &[
    "facebook",
    "twitter",
    "x",
    "linkedin",
    "reddit",
    "instagram",
    "bluesky",
    "threads",
    "tiktok",
    "pinterest",
    "whatsapp",
    "telegram",
    "teams",
    "microsoft teams",
    "slack",
    "discord",
    "github",
    "hacker news",
    "news.ycombinator.com",
    "mastodon.social",
    "vkontakte",
    "tumblr",
    "quora",
    "snapchat",
    "producthunt",
];
/// Video sites.
pub const VIDEO: &[&str] = &["youtube", "vimeo", "twitch", "dailymotion"];
/// Web mail.
pub const EMAIL: &[&str] = &["gmail", "outlook", "mail.yahoo.com", "mail.proton.me"];
/// Shops.
pub const SHOPPING: &[&str] = &[
    "amazon",
    "ebay",
    "etsy",
    "shopify",
    "walmart",
    "aliexpress",
    "temu.com",
];

/// The rules in the order they are tried.
pub fn rules() -> &'static [Rule] {
    static RULES: LazyLock<Vec<Rule>> = LazyLock::new(build);
    &RULES
}

/// A rule's alternatives with their patterns compiled.
type Compiled = Vec<Vec<(Field, regex::Regex)>>;

/// The channel of a visit with these stored values.
pub fn of(source: &str, utm_medium: &str, utm_source: &str, utm_campaign: &str) -> &'static str {
    static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
        rules()
            .iter()
            .map(|r| {
                r.when
                    .iter()
                    .map(|all| {
                        all.iter()
                            .map(|t| (t.field, regex::Regex::new(&t.pattern).expect("a rule")))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    });
    let value = |f: Field| match f {
        Field::Source => source,
        Field::UtmMedium => utm_medium,
        Field::UtmSource => utm_source,
        Field::UtmCampaign => utm_campaign,
    };
    for (rule, when) in rules().iter().zip(COMPILED.iter()) {
        if when
            .iter()
            .any(|all| all.iter().all(|(f, re)| re.is_match(value(*f))))
        {
            return rule.channel;
        }
    }
    FALLBACK
}

/// Every channel a visit can be in, in the order they are tried.
pub fn names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = rules().iter().map(|r| r.channel).collect();
    out.push(FALLBACK);
    out
}

fn test(field: Field, pattern: String) -> Test {
    Test { field, pattern }
}

/// The value is one of `words`, ignoring case.
fn is(field: Field, words: &[&str]) -> Test {
    test(field, format!("^(?i:{})$", alternatives(words)))
}

/// The value holds one of `words`, ignoring case.
fn has(field: Field, words: &[&str]) -> Test {
    test(field, format!("(?i:{})", alternatives(words)))
}

/// The value is whole matched by `pattern`, ignoring case.
fn whole(field: Field, pattern: &str) -> Test {
    test(field, format!("^(?i:{pattern})$"))
}

fn alternatives(words: &[&str]) -> String {
    let escaped: Vec<String> = words.iter().map(|w| literal_regex(w)).collect();
    escaped.join("|")
}

/// Plausible's paid mediums.
const PAID_MEDIUM: &str = ".*cp.*|ppc|retargeting|paid.*";
/// Plausible's shopping campaigns.
const SHOPPING_CAMPAIGN: &str = ".*(([^a-df-z]|^)shop|shopping).*";
/// Tagged sources that are paid whatever the medium: `adwords`, and a
/// brand followed by `-ad`, `_ads` and the like (`facebook_ad`, `yt-ads`).
const PAID_SOURCE: &str = "adwords|[a-z0-9.]+[-_]ads?";
/// Words that mark e-mail in a tag.
const EMAIL_TAGS: &[&str] = &["email", "e-mail", "e_mail", "e mail", "newsletter"];

/// A rule from its name and alternatives.
fn rule(channel: &'static str, when: Vec<Vec<Test>>) -> Rule {
    Rule { channel, when }
}

/// A paid rule for sources of `category`: a paid medium or a paid source.
fn paid(channel: &'static str, category: &[&str]) -> Rule {
    use Field::*;
    rule(
        channel,
        vec![
            vec![is(Source, category), whole(UtmMedium, PAID_MEDIUM)],
            vec![is(Source, category), whole(UtmSource, PAID_SOURCE)],
        ],
    )
}

fn build() -> Vec<Rule> {
    use Field::*;
    let paid_medium = || whole(UtmMedium, PAID_MEDIUM);
    let shopping_campaign = || whole(UtmCampaign, SHOPPING_CAMPAIGN);
    vec![
        rule(
            "Cross-network",
            vec![vec![has(UtmCampaign, &["cross-network"])]],
        ),
        rule(
            "Paid Shopping",
            vec![
                vec![is(Source, SHOPPING), paid_medium()],
                vec![shopping_campaign(), paid_medium()],
            ],
        ),
        paid("Paid Search", SEARCH),
        paid("Paid Social", SOCIAL),
        paid("Paid Video", VIDEO),
        rule(
            "Display",
            vec![vec![is(
                UtmMedium,
                &["display", "banner", "expandable", "interstitial", "cpm"],
            )]],
        ),
        rule("Paid Other", vec![vec![paid_medium()]]),
        rule(
            "Organic Shopping",
            vec![vec![is(Source, SHOPPING)], vec![shopping_campaign()]],
        ),
        rule(
            "Organic Social",
            vec![
                vec![is(Source, SOCIAL)],
                vec![is(
                    UtmMedium,
                    &[
                        "social",
                        "social-network",
                        "social-media",
                        "sm",
                        "social network",
                        "social media",
                    ],
                )],
            ],
        ),
        rule(
            "Organic Video",
            vec![vec![is(Source, VIDEO)], vec![has(UtmMedium, &["video"])]],
        ),
        rule("Organic Search", vec![vec![is(Source, SEARCH)]]),
        rule(
            "Email",
            vec![
                vec![is(Source, EMAIL)],
                vec![has(UtmSource, EMAIL_TAGS)],
                vec![has(UtmMedium, EMAIL_TAGS)],
            ],
        ),
        rule("Affiliates", vec![vec![is(UtmMedium, &["affiliate"])]]),
        rule("Audio", vec![vec![is(UtmMedium, &["audio"])]]),
        rule(
            "SMS",
            vec![vec![is(UtmSource, &["sms"])], vec![is(UtmMedium, &["sms"])]],
        ),
        rule(
            "Mobile Push Notifications",
            vec![
                vec![test(UtmMedium, "(?i:push)$".into())],
                vec![has(UtmMedium, &["mobile", "notification"])],
                vec![is(Source, &["firebase"])],
            ],
        ),
        rule(
            "Referral",
            vec![
                vec![is(UtmMedium, &["referral", "app", "link"])],
                vec![test(Source, "(?s:.)".into())],
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_fall_in_plausibles_channels() {
        let cases = [
            // (source, utm_medium, utm_source, utm_campaign, channel)
            ("", "", "", "", "Direct"),
            ("Google", "", "", "", "Organic Search"),
            ("Google", "cpc", "", "", "Paid Search"),
            ("Bing", "", "bing_ads", "", "Paid Search"),
            ("ChatGPT", "", "", "", "Organic Search"),
            ("Facebook", "", "", "", "Organic Social"),
            ("Facebook", "paid_social", "", "", "Paid Social"),
            ("YouTube", "", "", "", "Organic Video"),
            ("YouTube", "cpv", "", "", "Paid Video"),
            ("news.example.org", "", "", "", "Referral"),
            ("GOV.UK", "", "", "", "Referral"),
            ("", "referral", "", "", "Referral"),
            ("newsletter", "", "newsletter", "", "Email"),
            ("Gmail", "", "", "", "Email"),
            ("", "E-Mail", "", "", "Email"),
            ("", "display", "", "", "Display"),
            ("", "retargeting", "", "", "Paid Other"),
            ("", "cpc", "", "winter-shop", "Paid Shopping"),
            ("", "", "", "shopping-week", "Organic Shopping"),
            ("", "", "", "workshop", "Direct"),
            ("x", "", "", "brand_cross-network", "Cross-network"),
            ("", "social", "", "", "Organic Social"),
            ("", "Video", "", "", "Organic Video"),
            ("", "affiliate", "", "", "Affiliates"),
            ("", "audio", "", "", "Audio"),
            ("sms", "", "sms", "", "SMS"),
            ("", "web-push", "", "", "Mobile Push Notifications"),
            ("firebase", "", "firebase", "", "Mobile Push Notifications"),
        ];
        for (source, medium, utm_source, campaign, want) in cases {
            assert_eq!(
                of(source, medium, utm_source, campaign),
                want,
                "{source:?} {medium:?} {utm_source:?} {campaign:?}"
            );
        }
    }

    #[test]
    fn no_test_matches_an_empty_value() {
        for rule in rules() {
            for t in rule.when.iter().flatten() {
                let re = regex::Regex::new(&t.pattern).unwrap();
                assert!(!re.is_match(""), "{}: {}", rule.channel, t.pattern);
            }
        }
    }

    #[test]
    fn every_rule_names_a_distinct_channel() {
        let names = names();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(names.len(), 18);
    }
}
