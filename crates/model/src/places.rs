//! Names of places: countries (ISO 3166-1 alpha-2) and first-level regions
//! (ISO 3166-2), as stored, and the English names people read and filter
//! by.
//!
//! Events keep only codes (`GB`, `GB-SCT`). The names come from two tables
//! compiled in: `data/countries.tsv` (Debian's iso-codes, by
//! `scripts/countries-table.py`) and `data/regions.tsv` (DB-IP's English
//! region names and the codes they stand for, by
//! `scripts/regions-table.py`), which the anonymiser also uses to turn
//! DB-IP's names into codes and the dashboard to name regions. So the
//! Stats API's `visit:country_name` and `visit:region_name` say what the
//! dashboard shows.

use std::collections::HashMap;
use std::sync::OnceLock;

/// What no stored code is: a filter whose names match no place asks for
/// this, and finds nothing.
pub const NO_PLACE: &str = "-";

struct Tables {
    /// (country, DB-IP's region name) → region code.
    region_codes: HashMap<(&'static str, &'static str), &'static str>,
    /// Code → name, in the tables' order (the first name of a region).
    countries: Vec<(&'static str, &'static str)>,
    regions: Vec<(&'static str, &'static str)>,
    country_names: HashMap<&'static str, &'static str>,
    region_names: HashMap<&'static str, &'static str>,
}

fn rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Tables {
            region_codes: HashMap::new(),
            countries: Vec::new(),
            regions: Vec::new(),
            country_names: HashMap::new(),
            region_names: HashMap::new(),
        };
        for f in rows(include_str!("../data/countries.tsv")) {
            if let [code, name] = f[..] {
                t.countries.push((code, name));
                t.country_names.insert(code, name);
            }
        }
        for f in rows(include_str!("../data/regions.tsv")) {
            if let [country, name, code] = f[..] {
                t.region_codes.insert((country, name), code);
                if !t.region_names.contains_key(code) {
                    t.region_names.insert(code, name);
                    t.regions.push((code, name));
                }
            }
        }
        t
    })
}

/// The ISO 3166-2 code of DB-IP's English name for a first-level region of
/// `country`, if the table has it.
pub fn region_code(country: &str, name: &str) -> Option<&'static str> {
    tables().region_codes.get(&(country, name)).copied()
}

/// Which kind of place a name is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A country (`visit:country`).
    Country,
    /// A first-level region (`visit:region`).
    Region,
}

impl Place {
    /// The English name of a stored code; `None` for an unknown code
    /// (and for the empty code of an unknown place).
    pub fn name(self, code: &str) -> Option<&'static str> {
        match self {
            Place::Country => tables().country_names.get(code).copied(),
            Place::Region => tables().region_names.get(code).copied(),
        }
    }

    /// The property the codes are stored under.
    pub fn dimension(self) -> crate::query::Dimension {
        match self {
            Place::Country => crate::query::Dimension::Country,
            Place::Region => crate::query::Dimension::Region,
        }
    }

    /// The codes whose names `matches` accepts, in the table's order.
    pub fn codes_named(self, matches: impl Fn(&str) -> bool) -> Vec<&'static str> {
        let all = match self {
            Place::Country => &tables().countries,
            Place::Region => &tables().regions,
        };
        all.iter()
            .filter(|(_, name)| matches(name))
            .map(|(code, _)| *code)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_table_maps_uk_nations_and_only_to_codes_of_their_country() {
        assert_eq!(region_code("GB", "Scotland"), Some("GB-SCT"));
        assert_eq!(region_code("GB", "Wales"), Some("GB-WLS"));
        assert_eq!(region_code("GB", "England"), Some("GB-ENG"));
        assert_eq!(region_code("GB", "Northern Ireland"), Some("GB-NIR"));
        assert_eq!(region_code("DE", "Bavaria"), Some("DE-BY"));
        assert_eq!(region_code("US", "California"), Some("US-CA"));
        assert_eq!(region_code("GB", "Bavaria"), None);
        assert!(tables().region_codes.len() > 3000);
        for ((country, name), code) in &tables().region_codes {
            let (c, sub) = code.split_once('-').expect("CC-SUB");
            assert_eq!(c, *country, "{name} maps to {code}");
            assert!(
                (1..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{code}"
            );
        }
    }

    #[test]
    fn codes_and_names_go_both_ways() {
        assert_eq!(region_code("GB", "Scotland"), Some("GB-SCT"));
        assert_eq!(Place::Region.name("GB-WLS"), Some("Wales"));
        assert_eq!(Place::Country.name("GB"), Some("United Kingdom"));
        assert_eq!(Place::Country.name("KR"), Some("South Korea"));
        assert_eq!(Place::Country.name(""), None);
        assert_eq!(
            Place::Country.codes_named(|n| n == "United Kingdom"),
            ["GB"]
        );
        assert_eq!(Place::Region.codes_named(|n| n == "Scotland"), ["GB-SCT"]);
        // Every region's code names its country, and every country is named.
        for (code, _) in &tables().regions {
            let country = &code[..2];
            assert!(Place::Country.name(country).is_some(), "{code}");
        }
        assert!(tables().countries.len() > 240);
        assert!(!Place::Country
            .codes_named(|n| n == NO_PLACE)
            .contains(&NO_PLACE));
    }
}
