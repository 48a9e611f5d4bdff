//! The CSV files of a Plausible export, and how each becomes daily rows of
//! glasshouse's roll-up properties.
//!
//! Columns are found by their header, so files of any Plausible version
//! read alike; a column we do not keep (cities, browser and system
//! versions, `utm_content`, `utm_term`, hostnames, the links and paths of
//! custom events, the legacy time on page) is dropped, and a column we do
//! not know is refused, so that nothing is read wrongly in silence.

use glasshouse_privacy::imported;
use glasshouse_privacy::limits::accepted;

/// A roll-up property an export column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prop {
    Total,
    Page,
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Browser,
    Os,
    Device,
    Country,
    Region,
    Name,
}

impl Prop {
    /// The roll-up's key for it (`rollup::dimensions`).
    pub fn key(self) -> &'static str {
        match self {
            Prop::Total => "total",
            Prop::Page => "page",
            Prop::EntryPage => "entry_page",
            Prop::ExitPage => "exit_page",
            Prop::Source => "source",
            Prop::Referrer => "referrer",
            Prop::UtmSource => "utm_source",
            Prop::UtmMedium => "utm_medium",
            Prop::UtmCampaign => "utm_campaign",
            Prop::Browser => "browser",
            Prop::Os => "os",
            Prop::Device => "device",
            Prop::Country => "country",
            Prop::Region => "region",
            Prop::Name => "name",
        }
    }

    /// The value as glasshouse stores it live, or `None` for "not known"
    /// (left out of breakdowns, as live rows without it are). Errors name
    /// the limit shared with the collector.
    pub fn value(self, raw: &str, dated_slugs: &[String]) -> Result<Option<String>, String> {
        let limit = match self {
            Prop::Name => accepted::NAME,
            _ => accepted::URL,
        };
        if raw.chars().count() > limit {
            return Err(format!("longer than {limit} characters"));
        }
        let raw = raw.trim();
        let value = match self {
            Prop::Total => String::new(),
            Prop::Source if raw.is_empty() => glasshouse_store::sql::DIRECT.to_string(),
            _ if raw.is_empty() => return Ok(None),
            Prop::Page | Prop::EntryPage | Prop::ExitPage => imported::page(raw, dated_slugs),
            Prop::Source => imported::source(raw),
            Prop::Referrer => imported::referrer(raw),
            Prop::UtmSource | Prop::UtmMedium | Prop::UtmCampaign => imported::utm(raw),
            Prop::Name if raw == "pageview" || raw == glasshouse_privacy::ENGAGEMENT => {
                // Page views are counted from the visitors file; engagement
                // is how a page was read, not an event.
                return Ok(None);
            }
            Prop::Name => imported::name(raw),
            Prop::Browser => rename(raw, &[("Microsoft Edge", "Edge")]),
            Prop::Os => rename(raw, &[("Mac", "macOS"), ("GNU/Linux", "Linux")]),
            // Laptops are desktops to glasshouse: no User-Agent tells them apart.
            Prop::Device => rename(raw, &[("Laptop", "Desktop")]),
            Prop::Country => match raw.to_ascii_uppercase() {
                c if c.len() == 2 && c != "ZZ" && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
                _ => return Ok(None),
            },
            Prop::Region => raw.to_ascii_uppercase(),
        };
        Ok(Some(value))
    }
}

/// Plausible's name for a value where glasshouse has another.
fn rename(raw: &str, names: &[(&str, &str)]) -> String {
    names
        .iter()
        .find(|(theirs, _)| *theirs == raw)
        .map_or(raw, |(_, ours)| ours)
        .to_string()
}

/// One kind of export file.
pub struct Table {
    /// Its name, as in `imported_<name>_YYYYMMDD_YYYYMMDD.csv`.
    pub name: &'static str,
    /// Columns that name a property's value (none: the day's totals).
    pub keys: &'static [(&'static str, Prop)],
    /// Figures every row must have.
    pub required: &'static [&'static str],
    /// Figures read when present (exports of different versions differ).
    pub optional: &'static [&'static str],
    /// Columns known and not kept.
    pub dropped: &'static [&'static str],
}

/// The figures of visits every session-level table carries.
const VISIT_FIGURES: [&str; 4] = ["visits", "visit_duration", "bounces", "pageviews"];

/// Every file of an export.
pub const TABLES: [Table; 10] = [
    Table {
        name: "visitors",
        keys: &[],
        required: &[
            "visitors",
            "pageviews",
            "bounces",
            "visits",
            "visit_duration",
        ],
        optional: &[],
        dropped: &[],
    },
    Table {
        name: "sources",
        keys: &[
            ("source", Prop::Source),
            ("referrer", Prop::Referrer),
            ("utm_source", Prop::UtmSource),
            ("utm_medium", Prop::UtmMedium),
            ("utm_campaign", Prop::UtmCampaign),
        ],
        required: &["visitors", "visits"],
        optional: &["visit_duration", "bounces", "pageviews"],
        dropped: &["utm_content", "utm_term"],
    },
    Table {
        name: "pages",
        keys: &[("page", Prop::Page)],
        required: &["visitors", "pageviews"],
        optional: &[
            "visits",
            "total_scroll_depth",
            "total_scroll_depth_visits",
            "total_time_on_page",
            "total_time_on_page_visits",
            "scroll_depth",
            "pageleave_visitors",
        ],
        dropped: &["hostname", "exits", "time_on_page", "active_visitors"],
    },
    Table {
        name: "entry_pages",
        keys: &[("entry_page", Prop::EntryPage)],
        required: &["visitors", "entrances"],
        optional: &["visit_duration", "bounces", "pageviews"],
        dropped: &[],
    },
    Table {
        name: "exit_pages",
        keys: &[("exit_page", Prop::ExitPage)],
        required: &["visitors", "exits"],
        optional: &["visit_duration", "bounces", "pageviews"],
        dropped: &[],
    },
    Table {
        name: "custom_events",
        keys: &[("name", Prop::Name)],
        required: &["visitors", "events"],
        optional: &[],
        dropped: &["link_url", "path"],
    },
    Table {
        name: "locations",
        keys: &[("country", Prop::Country), ("region", Prop::Region)],
        required: &["visitors"],
        optional: &VISIT_FIGURES,
        dropped: &["city"],
    },
    Table {
        name: "devices",
        keys: &[("device", Prop::Device)],
        required: &["visitors"],
        optional: &VISIT_FIGURES,
        dropped: &[],
    },
    Table {
        name: "browsers",
        keys: &[("browser", Prop::Browser)],
        required: &["visitors"],
        optional: &VISIT_FIGURES,
        dropped: &["browser_version"],
    },
    Table {
        name: "operating_systems",
        keys: &[("operating_system", Prop::Os)],
        required: &["visitors"],
        optional: &VISIT_FIGURES,
        dropped: &["operating_system_version"],
    },
];

/// The table a file name names, with the first and last day it covers:
/// `imported_<table>_YYYYMMDD_YYYYMMDD.csv` (or without `imported_`, as
/// Plausible also accepts).
pub fn parse_file_name(
    name: &str,
) -> Option<(&'static Table, chrono::NaiveDate, chrono::NaiveDate)> {
    let stem = name.strip_suffix(".csv")?;
    let stem = stem.strip_prefix("imported_").unwrap_or(stem);
    let (rest, last) = stem.rsplit_once('_')?;
    let (table, first) = rest.rsplit_once('_')?;
    let day = |s: &str| {
        (s.len() == 8)
            .then(|| chrono::NaiveDate::parse_from_str(s, "%Y%m%d").ok())
            .flatten()
    };
    let t = TABLES.iter().find(|t| t.name == table)?;
    Some((t, day(first)?, day(last)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plausibles() {
        let (t, a, b) =
            parse_file_name("imported_operating_systems_20240101_20241231.csv").unwrap();
        assert_eq!(
            (t.name, a.to_string(), b.to_string()),
            (
                "operating_systems",
                "2024-01-01".into(),
                "2024-12-31".into()
            )
        );
        assert_eq!(
            parse_file_name("pages_20240101_20240131.csv")
                .unwrap()
                .0
                .name,
            "pages"
        );
        for bad in [
            "imported_cities_20240101_20240131.csv",
            "imported_pages_2024_20240131.csv",
            "imported_pages_20240101_20240131.txt",
            "notes.csv",
        ] {
            assert!(parse_file_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn values_are_glasshouses() {
        let v = |p: Prop, s: &str| p.value(s, &[]).unwrap();
        assert_eq!(v(Prop::Source, ""), Some("Direct / None".into()));
        assert_eq!(v(Prop::Browser, "Microsoft Edge"), Some("Edge".into()));
        assert_eq!(v(Prop::Os, "Mac"), Some("macOS".into()));
        assert_eq!(v(Prop::Device, "Laptop"), Some("Desktop".into()));
        assert_eq!(v(Prop::Country, "ZZ"), None);
        assert_eq!(v(Prop::Region, ""), None);
        assert_eq!(v(Prop::Name, "engagement"), None);
        assert_eq!(
            v(Prop::Page, "/apply/jo@example.com"),
            Some("/apply/[email]".into())
        );
        assert!(Prop::Name
            .value(&"x".repeat(accepted::NAME + 1), &[])
            .is_err());
    }
}
