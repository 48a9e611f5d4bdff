//! The PII scrubber for free text: paths, query values, referrers, titles,
//! event names and property values (docs/architecture.md, promise 4).
//!
//! Anything that looks like it could identify a person is replaced by a
//! visible placeholder, so a report shows that something was removed and
//! where. The rules start from what GOV.UK's own analytics PII remover strips
//! and add phone numbers, identifiers and tokens. They are applied in this
//! order (earlier rules win where two overlap):
//!
//! | # | what | examples | becomes |
//! |---|---|---|---|
//! | 1 | JSON Web Tokens | `eyJhbGciOi….eyJzdWIi….sig` | `[token]` |
//! | 2 | values of secret-looking `name=value` pairs inside text: names `state`, `code`, `key`, `auth`, `pwd`, `otp`, `sig`, and any name containing `token`, `password`, `passwd`, `secret`, `apikey`/`api_key`, `sessionid`/`session_id`, `signature` (covers `reset_password_token`, `unlock_token`, OAuth `state`/`code`, `access_token`, `csrf_token`…) | `reset_password_token=abc` | `reset_password_token=[redacted]` |
//! | 3 | e-mail addresses, as GOV.UK does: anything `@` anything (no dot required, so a half-typed search for `jo@gmail` goes too), also `%40` and `%2540` | `jo.bloggs@example.com`, `jo%40example.com`, `/users/jo@x.org/edit` | `[email]` |
//! | 4 | UUIDs | `123e4567-e89b-12d3-a456-426614174000` | `[uuid]` |
//! | 5 | hex runs of 32+ digits (hashes, keys) | `d41d8cd98f00b204e9800998ecf8427e` | `[token]` |
//! | 6 | random-looking runs of 20+ `[A-Za-z0-9_-]`: at least 5, and at least one for every 4 characters, of lower→upper or digit↔letter changes (base64, base64url, base36 session ids). Words and GOV.UK slugs have almost none, so `get-help-with-your-self-assessment-tax-return` stays | `Xk9fQ2mZp4LwR7tBv3Yc` | `[token]` |
//! | 7 | National Insurance numbers: 2 letters, 6 digits (spaced or not), A–D (the first-letter rules are not applied, so HMRC's own example `QQ123456C` is caught) | `QQ123456C`, `qq 12 34 56 c` | `[nino]` |
//! | 8 | visa application numbers | `GWF012345678` | `[visa]` |
//! | 9 | EORI numbers: `GB` or `XI` + 12 or 15 digits | `GB123456789000` | `[eori]` |
//! | 10 | full dates, day **and** month **and** year: `2019-09-17`, `2019/09/17`, `17/09/2019`, `17.09.2019`, `09/17/2019`, `17/09/19` (two-digit years only with `/`), `17 September 2019`, `17th Sept 2019`, `September 17, 2019`, `17-september-2019` | | `[date]` |
//! | 11 | IP addresses: v6 with at least three groups (so `Class::method` stays), then v4 with every octet ≤ 255 | `2001:db8::1`, `::ffff:10.0.0.1`, `81.2.69.142` | `[ip]` |
//! | 12 | vehicle registration marks in the current format (2001 on): two letters, two digits, three letters, spaced or not; a registration identifies the keeper | `AB12 CDE`, `ab12cde` | `[vrm]` |
//! | 13 | UK postcodes, any case, with a space, none, `+` or `%20` between the halves | `SW1A 2AA`, `sw1a2aa`, `SW1A+2AA`, `SW1A%202AA` | `[postcode]` |
//! | 14 | UK phone numbers: `0` or `+44`/`0044` (optionally `(0)`), 9–11 more digits in up to three groups | `07700 900123`, `+44 20 7946 0958`, `020 7946 0958`, `(020) 7946 0958` | `[phone]` |
//! | 15 | international numbers: `+`, then 8–15 digits with spaces, dashes, dots or brackets | `+33 1 23 45 67 89`, `+1 (555) 123-4567` | `[phone]` |
//! | 16 | spaced digit groups adding up to 10+ digits (NHS numbers, UTRs, card numbers) | `943 476 5919`, `4111 1111 1111 1111` | `[number]` |
//! | 17 | any run of 7 or more digits (account, case, reference and phone numbers without spaces; 6 digits and fewer are kept because years, form numbers and short content ids are everywhere in government URLs) | `12345678` | `[number]` |
//!
//! Query parameters are handled before this (see `url.rs`): parameters not on
//! the site's allow-list are dropped, `utm_*` are kept, and the values of
//! secret-named parameters (rule 2's names) become `[redacted]`.
//!
//! **Must not be scrubbed**, and tested: ordinary GOV.UK paths such as
//! `/vat-rates`, `/browse/tax`, `/government/publications/…`,
//! `/guidance/2019-spending-review`, `/news/2019-budget`,
//! `/government/publications/2019/09/some-title`. A bare year, a year range
//! (`2019-20`, `2019-2020`) or a year and month (`2019/09`, `September 2019`)
//! identifies nobody and is what publication slugs are made of; only a full
//! day-month-year date is treated as a possible date of birth and replaced,
//! wherever it appears (so a blog path `/2019/09/17/post` becomes
//! `/[date]/post`). The one exception is a site's `dated_slugs`: under
//! those path prefixes (news, speeches, publications) a date inside a worded
//! slug is kept, as GOV.UK's publication slugs carry their date
//! (`/government/news/pm-statement-10-september-2019`); a segment that is
//! nothing but a date, and dates in query values, titles and properties, are
//! always scrubbed (`scrub_path`).
//!
//! Speed: a byte scan first (no digit, `@`, `=` and no long mixed-case run ⇒
//! nothing to do, no allocation), then one `RegexSet` pass to find which
//! rules match at all, and only those rules run.

use regex::{Captures, Regex, RegexSet};
use std::borrow::Cow;
use std::net::Ipv6Addr;
use std::sync::LazyLock;

/// What a rule does with a match.
enum Action {
    /// Replace the whole match.
    Replace(&'static str),
    /// Keep capture group 1 and replace the rest.
    KeepName(&'static str),
    /// Replace only if the predicate accepts the match.
    If(fn(&str) -> bool, &'static str),
}

/// Rule 10's placeholder.
const DATE: &str = "[date]";

impl Action {
    fn placeholder(&self) -> &'static str {
        match self {
            Action::Replace(p) | Action::KeepName(p) | Action::If(_, p) => p,
        }
    }
}

struct Rule {
    pattern: &'static str,
    action: Action,
}

const MONTHS: &str = "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// Rule 10, dates with the month in words, in either order.
static DATE_WORDS: LazyLock<String> = LazyLock::new(|| {
    let sep = r"(?:\s|\+|%20|-)+";
    format!(
        r"(?i)(?-u:\b)(?:[0-9]{{1,2}}(?:st|nd|rd|th)?{sep}{MONTHS},?{sep}[0-9]{{4}}|{MONTHS}{sep}[0-9]{{1,2}}(?:st|nd|rd|th)?,?{sep}[0-9]{{4}})(?-u:\b)"
    )
});

fn rules() -> Vec<Rule> {
    vec![
        Rule {
            pattern: r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]+)?",
            action: Action::Replace("[token]"),
        },
        Rule {
            pattern: r"(?i)((?-u:\b)(?:[a-z0-9_-]*(?:token|password|passwd|secret|api_?key|session_?id|signature)|state|code|key|auth|pwd|otp|sig)=)[^&\s#;]+",
            action: Action::KeepName("[redacted]"),
        },
        Rule {
            pattern: r#"[^\s/?&#=@:;,'"<>()\[\]{}|\\]+(?:@|%40|%2540)[^\s/?&#=@:;,'"<>()\[\]{}|\\]+"#,
            action: Action::Replace("[email]"),
        },
        Rule {
            pattern: r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            action: Action::Replace("[uuid]"),
        },
        Rule {
            pattern: r"[0-9a-fA-F]{32,}",
            action: Action::Replace("[token]"),
        },
        Rule {
            pattern: r"[A-Za-z0-9_-]{20,}",
            action: Action::If(is_random_looking, "[token]"),
        },
        Rule {
            pattern: r"(?i)(?-u:\b)[a-z]{2}(?:\s|\+|%20)?[0-9]{2}(?:\s|\+|%20)?[0-9]{2}(?:\s|\+|%20)?[0-9]{2}(?:\s|\+|%20)?[a-d](?-u:\b)",
            action: Action::Replace("[nino]"),
        },
        Rule {
            pattern: r"(?i)(?-u:\b)GWF[0-9]{9}(?-u:\b)",
            action: Action::Replace("[visa]"),
        },
        Rule {
            pattern: r"(?i)(?-u:\b)(?:GB|XI)[0-9]{12}(?:[0-9]{3})?(?-u:\b)",
            action: Action::Replace("[eori]"),
        },
        Rule {
            pattern: r"[0-9]+[-/.][0-9]+[-/.][0-9]+",
            action: Action::If(is_numeric_date, "[date]"),
        },
        Rule {
            pattern: DATE_WORDS.as_str(),
            action: Action::Replace("[date]"),
        },
        Rule {
            pattern: r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?",
            action: Action::If(is_ipv6, "[ip]"),
        },
        Rule {
            pattern: r"(?-u:\b)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?-u:\b)",
            action: Action::If(is_ipv4, "[ip]"),
        },
        Rule {
            pattern: r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?:\s|\+|%20)?[a-z]{3}(?-u:\b)",
            action: Action::Replace("[vrm]"),
        },
        Rule {
            pattern: r"(?i)(?-u:\b)(?:[a-z]{1,2}[0-9][a-z0-9]?|GIR)(?:\s|\+|%20)*[0-9][abd-hjlnp-uw-z]{2}(?-u:\b)",
            action: Action::Replace("[postcode]"),
        },
        Rule {
            pattern: r"(?:(?:\+|(?-u:\b)00)44(?:\s|-)?(?:\(0\)(?:\s|-)?)?|\(?(?-u:\b)0)[0-9]{2,4}\)?(?:\s|-)?[0-9]{3,4}(?:\s|-)?[0-9]{3,4}(?-u:\b)",
            action: Action::Replace("[phone]"),
        },
        Rule {
            pattern: r"\+[1-9](?:[\s().-]{0,2}[0-9]){7,14}(?-u:\b)",
            action: Action::Replace("[phone]"),
        },
        Rule {
            pattern: r"(?-u:\b)[0-9]{2,}(?:[\s-][0-9]{2,})+(?-u:\b)",
            action: Action::If(has_ten_digits, "[number]"),
        },
        Rule {
            pattern: r"[0-9]{7,}",
            action: Action::Replace("[number]"),
        },
    ]
}

struct Compiled {
    set: RegexSet,
    rules: Vec<(Regex, Action)>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let rules = rules();
    let set = RegexSet::new(rules.iter().map(|r| r.pattern)).expect("scrub patterns compile");
    let rules = rules
        .into_iter()
        .map(|r| {
            (
                Regex::new(r.pattern).expect("scrub pattern compiles"),
                r.action,
            )
        })
        .collect();
    Compiled { set, rules }
});

/// Compiles the patterns now rather than on the first request.
pub(crate) fn warm_up() {
    LazyLock::force(&COMPILED);
}

/// Replaces personal data in free text by placeholders (`[email]`,
/// `[postcode]`, `[nino]`, `[visa]`, `[eori]`, `[date]`, `[vrm]`, `[phone]`, `[uuid]`,
/// `[number]`, `[token]`, `[ip]`, `[redacted]`); see the module
/// documentation for the exact rules. Text with nothing to replace is
/// returned borrowed, without allocating.
pub fn scrub(text: &str) -> Cow<'_, str> {
    scrub_rules(text, false)
}

/// Scrubs with every rule, or every rule but the dates' (rule 10).
fn scrub_rules(text: &str, keep_dates: bool) -> Cow<'_, str> {
    if !worth_a_look(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    let compiled = &*COMPILED;
    let matches = compiled.set.matches(text);
    if !matches.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for i in matches.iter() {
        let (re, action) = &compiled.rules[i];
        if keep_dates && action.placeholder() == DATE {
            continue;
        }
        let replaced = match action {
            Action::Replace(placeholder) => re.replace_all(&out, *placeholder),
            Action::KeepName(placeholder) => {
                re.replace_all(&out, |c: &Captures| format!("{}{placeholder}", &c[1]))
            }
            Action::If(check, placeholder) => re.replace_all(&out, |c: &Captures| {
                if check(&c[0]) {
                    (*placeholder).to_string()
                } else {
                    c[0].to_string()
                }
            }),
        };
        if let Cow::Owned(new) = replaced {
            out = Cow::Owned(new);
        }
    }
    out
}

/// Scrubs a page path. Under one of `dated_slugs` (path prefixes such as
/// `/government/news`), a date inside a worded slug is kept
/// (`pm-statement-10-september-2019`), as publication slugs carry their
/// date; a segment that is nothing but a date is still scrubbed, and so is
/// every other kind of personal data. Elsewhere every rule applies.
pub(crate) fn scrub_path(path: &str, max: usize, dated_slugs: &[String]) -> String {
    let under = dated_slugs.iter().any(|prefix| {
        path.strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if !under {
        return scrub_capped(path, max);
    }
    let capped = scrub_capped_with(path, max, |segment_path| {
        segment_path
            .split('/')
            .map(|segment| {
                let strict = scrub(segment);
                if strict == DATE || !strict.contains(DATE) {
                    strict.into_owned()
                } else {
                    scrub_rules(segment, true).into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    });
    capped
}

/// Scrubs `text` and caps it at `max` bytes (cut at a character boundary).
/// Long input is cut before scrubbing too, so nobody can make the scrubber
/// work on megabytes; the cut falls back to the last space or `/`, so no
/// half of an e-mail address or token is left that the rules would no
/// longer recognise.
pub(crate) fn scrub_capped(text: &str, max: usize) -> String {
    scrub_capped_with(text, max, |t| scrub(t).into_owned())
}

fn scrub_capped_with(text: &str, max: usize, scrub: impl Fn(&str) -> String) -> String {
    let mut input = text;
    if text.len() > max {
        input = &text[..floor_boundary(text, max.saturating_add(64))];
        if let Some(i) = input.rfind([' ', '/']) {
            input = &input[..i];
        }
    }
    let mut out = scrub(input);
    out.truncate(floor_boundary(&out, max));
    out
}

/// The largest index `<= at` that is a character boundary of `text`.
pub(crate) fn floor_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut i = at;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The cheap pre-check: can any rule possibly match? Every rule needs a
/// digit, an `@`, a `=`, or (rule 6 without digits) a long run with many
/// lower→upper changes.
fn worth_a_look(bytes: &[u8]) -> bool {
    let mut run = 0usize;
    let mut changes = 0usize;
    let mut previous = 0u8;
    for &b in bytes {
        if b.is_ascii_digit() || b == b'@' || b == b'=' {
            return true;
        }
        if b.is_ascii_alphabetic() || b == b'_' || b == b'-' {
            run += 1;
            if previous.is_ascii_lowercase() && b.is_ascii_uppercase() {
                changes += 1;
            }
            if run >= 20 && changes >= 5 {
                return true;
            }
        } else {
            run = 0;
            changes = 0;
        }
        previous = b;
    }
    false
}

/// Rule 6: does a long `[A-Za-z0-9_-]` run look random rather than like words?
fn is_random_looking(run: &str) -> bool {
    let bytes = run.as_bytes();
    let changes = bytes
        .windows(2)
        .filter(|w| {
            let (a, b) = (w[0], w[1]);
            (a.is_ascii_lowercase() && b.is_ascii_uppercase())
                || (a.is_ascii_digit() && b.is_ascii_alphabetic())
                || (a.is_ascii_alphabetic() && b.is_ascii_digit())
        })
        .count();
    changes >= 5 && changes * 4 >= bytes.len()
}

/// Rule 10: three numbers separated by `-`, `/` or `.` that form a full date.
fn is_numeric_date(candidate: &str) -> bool {
    let mut parts = candidate.split(['-', '/', '.']);
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let num = |s: &str| s.parse::<u32>().ok();
    let (Some(x), Some(y), Some(z)) = (num(a), num(b), num(c)) else {
        return false;
    };
    let day = |d: u32| (1..=31).contains(&d);
    let month = |m: u32| (1..=12).contains(&m);
    let short = |s: &str| (1..=2).contains(&s.len());
    let year_first = a.len() == 4 && short(b) && short(c) && month(y) && day(z);
    let year_last =
        c.len() == 4 && short(a) && short(b) && day(x) && day(y) && (month(x) || month(y));
    let two_digit_year = candidate.contains('/')
        && !candidate.contains(['-', '.'])
        && c.len() == 2
        && short(a)
        && short(b)
        && day(x)
        && day(y)
        && (month(x) || month(y));
    year_first || year_last || two_digit_year
}

fn is_ipv4(candidate: &str) -> bool {
    candidate.split('.').all(|o| o.parse::<u8>().is_ok())
}

/// An IPv6 address with at least three non-empty groups (or an IPv4 tail),
/// so `std::io` or `::1` are left alone.
fn is_ipv6(candidate: &str) -> bool {
    candidate.parse::<Ipv6Addr>().is_ok()
        && (candidate.contains('.') || candidate.split(':').filter(|g| !g.is_empty()).count() >= 3)
}

fn has_ten_digits(candidate: &str) -> bool {
    candidate.bytes().filter(u8::is_ascii_digit).count() >= 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_worded_slugs_are_kept_only_under_the_listed_prefixes() {
        let news = vec![
            "/government/news".to_string(),
            "/government/speeches".to_string(),
        ];
        let p = |path: &str| scrub_path(path, 2000, &news);
        assert_eq!(
            p("/government/news/pm-statement-10-september-2019"),
            "/government/news/pm-statement-10-september-2019"
        );
        assert_eq!(
            p("/government/speeches/chancellor-speech-2019-09-17"),
            "/government/speeches/chancellor-speech-2019-09-17"
        );
        // Elsewhere, the strict rule: a date of birth can sit in a path.
        assert_eq!(
            p("/apply/pm-statement-10-september-2019"),
            "/apply/pm-statement-[date]"
        );
        assert_eq!(
            p("/government/newsletter/born-10-september-2019"),
            "/government/newsletter/born-[date]"
        );
        // A segment that is only a date, and other personal data, go anyway.
        assert_eq!(
            p("/government/news/2019-09-17/x"),
            "/government/news/[date]/x"
        );
        assert_eq!(
            p("/government/news/17-september-2019"),
            "/government/news/[date]"
        );
        assert_eq!(
            p("/government/news/contact-jo@example.com-10-september-2019"),
            "/government/news/[email]"
        );
        assert_eq!(p("/government/news/QQ123456C"), "/government/news/[nino]");
        assert_eq!(
            scrub_path("/government/news/pm-statement-10-september-2019", 2000, &[]),
            "/government/news/pm-statement-[date]"
        );
    }

    #[test]
    fn clean_text_is_borrowed() {
        for text in ["/vat-rates", "Apply for a passport - GOV.UK", ""] {
            assert!(matches!(scrub(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn every_rule_is_reachable_past_the_pre_check() {
        for (text, expected) in [
            ("aBcDeFgHiJkLmNoPqRsTuVwX", "[token]"),
            ("jo@x", "[email]"),
            ("token=abc", "token=[redacted]"),
        ] {
            assert_eq!(scrub(text), expected);
        }
    }

    #[test]
    fn numeric_dates() {
        for yes in [
            "2019-09-17",
            "17/09/2019",
            "9/17/2019",
            "17.09.2019",
            "17/09/19",
            "2019/9/1",
        ] {
            assert!(is_numeric_date(yes), "{yes}");
        }
        for no in [
            "2019-20-21",
            "1.2.3",
            "10.11.12",
            "020-7946-0958",
            "2019-2020-2021",
            "17-09-19",
            "32/01/2019",
        ] {
            assert!(!is_numeric_date(no), "{no}");
        }
    }
}
