//! Reproducible traffic with a known ground truth.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use glasshouse_privacy::RawEvent;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::IpAddr;

/// User-Agents of real browsers, with the browser family the parser names.
pub const AGENTS: [(&str, &str, &str); 4] = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", "Chrome", "Desktop"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "Mobile"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0", "Firefox", "Desktop"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "Tablet"),
];

/// Referrers, with the source they must be reported as ("" = Direct / None).
pub const REFERRERS: [(&str, &str); 4] = [
    ("", ""),
    ("https://www.google.com/", "Google"),
    ("https://news.example.org/story/1", "news.example.org"),
    ("https://www.bing.com/", "Bing"),
];

/// Pages of the test site.
pub const PAGES: [&str; 6] = [
    "/",
    "/vat-rates",
    "/universal-credit",
    "/universal-credit/how-to-claim",
    "/apply",
    "/contact",
];

/// Places people are in: country and ISO 3166-2 region ("" = unknown).
pub const PLACES: [(&str, &str); 5] = [
    ("GB", "GB-SCT"),
    ("GB", "GB-WLS"),
    ("GB", "GB-ENG"),
    ("IE", "IE-L"),
    ("FR", ""),
];

/// A person: what the server sees of them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Client address.
    pub ip: IpAddr,
    /// Index into `AGENTS`.
    pub agent: usize,
    /// Index into `PLACES`: where `ip` is.
    pub place: usize,
}

/// Where each person's address is, for the anonymiser: what a place
/// database would say of these (documentation-range) addresses, so that
/// the oracle knows every visitor's country and region.
#[derive(Debug, Clone)]
pub struct Places(std::collections::HashMap<IpAddr, usize>);

impl Places {
    /// The places of `people`.
    pub fn of(people: &[Person]) -> Places {
        Places(people.iter().map(|p| (p.ip, p.place)).collect())
    }

    /// The places of the first `n` people of any traffic ([`person`]).
    pub fn first(n: usize) -> Places {
        Places((0..n).map(person).map(|p| (p.ip, p.place)).collect())
    }
}

impl glasshouse_privacy::Locate for Places {
    fn locate(&self, ip: IpAddr) -> glasshouse_privacy::Place {
        self.0
            .get(&ip)
            .map(|i| glasshouse_privacy::Place {
                country: PLACES[*i].0.to_string(),
                region: PLACES[*i].1.to_string(),
            })
            .unwrap_or_default()
    }
}

impl Person {
    /// The User-Agent string.
    pub fn user_agent(&self) -> &'static str {
        AGENTS[self.agent].0
    }
}

/// One event as sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Index into the people.
    pub person: usize,
    /// When it happened (whole seconds).
    pub ts: DateTime<Utc>,
    /// `pageview` or a custom name.
    pub name: String,
    /// Path of the page.
    pub path: String,
    /// Index into `REFERRERS` (only the first event of a visit has one).
    pub referrer: usize,
    /// Custom properties.
    pub props: Vec<(String, String)>,
    /// Whether it counts against bouncing.
    pub interactive: bool,
    /// For an engagement event: scroll depth in percent and engaged
    /// milliseconds, as Plausible's tracker reports them.
    pub engagement: Option<(u8, u32)>,
}

impl Sent {
    /// The full URL of the page on `host`.
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}{}", self.path)
    }

    /// The referrer URL, if any.
    pub fn referrer_url(&self) -> Option<String> {
        let r = REFERRERS[self.referrer].0;
        (!r.is_empty()).then(|| r.to_string())
    }

    /// As the collector would build it.
    pub fn raw(&self, people: &[Person], host: &str) -> RawEvent {
        let p = &people[self.person];
        RawEvent {
            ip: p.ip,
            user_agent: p.user_agent().to_string(),
            name: self.name.clone(),
            url: self.url(host),
            referrer: self.referrer_url(),
            title: None,
            props: self.props.clone(),
            interactive: self.interactive,
            revenue: None,
            engagement: self.engagement.map(|(scroll_depth, engagement_time)| {
                glasshouse_privacy::Engagement {
                    scroll_depth,
                    engagement_time,
                }
            }),
            timestamp: self.ts,
        }
    }

    /// The Events API body for it.
    pub fn body(&self, host: &str) -> serde_json::Value {
        let props: serde_json::Map<String, serde_json::Value> = self
            .props
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let mut body = serde_json::json!({
            "name": self.name, "url": self.url(host), "domain": host,
            "referrer": self.referrer_url(), "props": props, "interactive": self.interactive,
        });
        if let Some((sd, e)) = self.engagement {
            body["sd"] = sd.into();
            body["e"] = e.into();
        }
        body
    }
}

/// The `i`th person of every traffic: the same address, browser and place
/// whatever the seed, so a server can be told where everyone is before
/// the traffic is made ([`Places::first`]).
pub fn person(i: usize) -> Person {
    Person {
        ip: if i.is_multiple_of(5) {
            format!("2001:db8:{:x}::{:x}", i / 256 + 1, i % 256 + 1)
                .parse()
                .unwrap()
        } else {
            format!("198.51.{}.{}", 100 + i / 250, i % 250 + 1)
                .parse()
                .unwrap()
        },
        agent: i % AGENTS.len(),
        place: (i / AGENTS.len()) % PLACES.len(),
    }
}

/// Traffic for `days` days from `first`, about `visits` visits a day, between
/// 01:00 and 22:00 UTC so no visit crosses midnight. Sorted by time.
pub fn generate(seed: u64, first: NaiveDate, days: u32, visits: usize) -> (Vec<Person>, Vec<Sent>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let people: Vec<Person> = (0..visits.max(4) / 2).map(person).collect();
    let mut sent = Vec::new();
    for d in 0..days {
        let day = Utc.from_utc_datetime(
            &(first + Duration::days(d as i64))
                .and_hms_opt(1, 0, 0)
                .unwrap(),
        );
        for _ in 0..visits {
            // Some people come back: a second visit more than 30 minutes later.
            let person = rng.gen_range(0..people.len());
            let mut at = day + Duration::seconds(rng.gen_range(0..(20 * 3600)));
            let referrer = rng.gen_range(0..REFERRERS.len());
            let pages = rng.gen_range(1..5);
            let mut path = PAGES[rng.gen_range(0..PAGES.len())].to_string();
            for step in 0..pages {
                sent.push(Sent {
                    person,
                    ts: at,
                    name: "pageview".into(),
                    path: path.clone(),
                    referrer: if step == 0 { referrer } else { 0 },
                    props: vec![],
                    interactive: true,
                    engagement: None,
                });
                let gap = rng.gen_range(10..600);
                // Reports of how the page was read: on hide, on blur, on
                // leaving; the depth a running maximum, the time since the
                // last report.
                let mut depth = 0u8;
                for _ in 0..rng.gen_range(0..3) {
                    depth = depth.max(rng.gen_range(0..=100));
                    sent.push(Sent {
                        person,
                        ts: at + Duration::seconds(rng.gen_range(1..gap)),
                        name: "engagement".into(),
                        path: path.clone(),
                        referrer: 0,
                        props: vec![],
                        interactive: false,
                        engagement: Some((depth, rng.gen_range(0..120_000))),
                    });
                }
                if path == "/apply" && rng.gen_bool(0.5) {
                    at += Duration::seconds(rng.gen_range(5..60));
                    let form = if rng.gen_bool(0.7) {
                        "visa"
                    } else {
                        "passport"
                    };
                    sent.push(Sent {
                        person,
                        ts: at,
                        name: "Form submitted".into(),
                        path: path.clone(),
                        referrer: 0,
                        props: vec![("form".into(), form.into())],
                        interactive: true,
                        engagement: None,
                    });
                }
                if rng.gen_bool(0.1) {
                    sent.push(Sent {
                        person,
                        ts: at + Duration::seconds(1),
                        name: "Scrolled".into(),
                        path: path.clone(),
                        referrer: 0,
                        props: vec![],
                        interactive: false,
                        engagement: None,
                    });
                }
                at += Duration::seconds(gap);
                path = PAGES[rng.gen_range(0..PAGES.len())].to_string();
            }
        }
    }
    sent.sort_by_key(|s| s.ts);
    // Events must not cross midnight (the visitor id changes there).
    sent.retain(|s| s.ts.format("%H").to_string().as_str() < "23");
    (people, sent)
}
