//! IP address → country and first-level region, from MaxMind-format
//! (`.mmdb`) databases.
//!
//! The country and its first-level region (a UK nation, a German Land, a US
//! state) are the only place information the visitor's address yields; the
//! address itself is dropped, and so are the city, postcode and coordinates
//! a city database also holds: a town narrows a visitor down far more than
//! the service needs to tell Scotland from Wales.
//!
//! Both common layouts are read: MaxMind's GeoIP2/GeoLite2
//! (`country.iso_code`, `subdivisions[0].iso_code`) and the DB-IP Lite files
//! packaged by ip-location-db (`country_code`, and `state1`, an English name
//! that the model's `data/regions.tsv` maps to its ISO 3166-2 code). Addresses that are
//! not globally routable (private, loopback, link-local, documentation
//! ranges…) are never looked up and have no place.
//!
//! The free DB-IP Lite databases are licensed CC BY 4.0: credit
//! "IP geolocation by DB-IP (<https://db-ip.com>)" wherever places are shown
//! (see `data/README.md`).

use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Where an address is registered, as coarsely as the service needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// ISO 3166-1 alpha-2 code, upper case; `""` when unknown.
    pub country: String,
    /// ISO 3166-2 code of the first-level region (`GB-SCT`); `""` when unknown.
    pub region: String,
}

/// One or more databases, loaded into memory once and shared read-only.
/// Several files are asked in order (DB-IP ships its city database as an
/// IPv4 and an IPv6 file); the first that knows the address answers.
pub struct GeoDb {
    readers: Vec<maxminddb::Reader<Vec<u8>>>,
    credit: Option<&'static str>,
}

/// Who the pages must credit for places, by the files' names: DB-IP Lite's
/// licence (CC BY 4.0) asks for a credit wherever its places are shown, and
/// its files' metadata does not name it (ip-location-db names them
/// `dbip-*.mmdb`).
fn credit_for(paths: &[PathBuf]) -> Option<&'static str> {
    let named = |p: &PathBuf| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().contains("dbip"))
    };
    paths.iter().any(named).then_some("DB-IP")
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file is missing, unreadable, or not a MaxMind DB.
    #[error("cannot open the country database {path}: {source}")]
    Open {
        /// The file that was given.
        path: String,
        /// What went wrong.
        source: maxminddb::MaxMindDbError,
    },
    /// The files are MaxMind DBs, but none holds countries.
    #[error("{path} is a {kind} database, not a country or city database (it gives no country for 8.8.8.8 or 81.2.69.142)")]
    NotCountries {
        /// The files that were given.
        path: String,
        /// The database type from the first file's metadata.
        kind: String,
    },
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    #[serde(borrow)]
    country: Option<Coded<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<Coded<'a>>>,
}

#[derive(Deserialize)]
struct Coded<'a> {
    iso_code: Option<&'a str>,
}

/// The ISO 3166-2 code of DB-IP's English name for a first-level region of
/// `country`, from the model's table of places (`data/regions.tsv`).
pub use glasshouse_model::places::region_code;

fn is_code(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl GeoDb {
    /// Opens one `.mmdb` database.
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        GeoDb::open_all(&[path.to_path_buf()])
    }

    /// Opens `.mmdb` databases, asked in the order given, and checks that
    /// together they answer with countries, so a wrong file (an ASN
    /// database, say) is refused at start rather than silently giving no
    /// countries.
    pub fn open_all(paths: &[PathBuf]) -> Result<GeoDb, GeoError> {
        let mut readers = Vec::new();
        for path in paths {
            let reader =
                maxminddb::Reader::open_readfile(path).map_err(|source| GeoError::Open {
                    path: path.display().to_string(),
                    source,
                })?;
            readers.push(reader);
        }
        let db = GeoDb {
            readers,
            credit: credit_for(paths),
        };
        let probes: [IpAddr; 2] = [[8, 8, 8, 8].into(), [81, 2, 69, 142].into()];
        if probes.iter().all(|ip| db.locate(*ip).country.is_empty()) {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(GeoError::NotCountries {
                path: shown.join(", "),
                kind: db
                    .readers
                    .first()
                    .map(|r| r.metadata().database_type.clone())
                    .unwrap_or_default(),
            });
        }
        Ok(db)
    }

    /// Whom pages showing places must credit ("DB-IP"), if anyone.
    pub fn credit(&self) -> Option<&'static str> {
        self.credit
    }

    /// The ISO 3166-1 alpha-2 code (upper case) of the country `ip` is
    /// registered in, or `None` when unknown or not a public address.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        Some(self.locate(ip).country).filter(|c| !c.is_empty())
    }

    /// The country and first-level region `ip` is registered in; empty
    /// parts when unknown or not a public address.
    pub fn locate(&self, ip: IpAddr) -> Place {
        let ip = ip.to_canonical();
        if !is_public(ip) {
            return Place::default();
        }
        self.readers
            .iter()
            .find_map(|r| {
                let found = r.lookup(ip).ok()?;
                let record: Record = found.decode().ok()??;
                place(&record)
            })
            .unwrap_or_default()
    }
}

fn place(record: &Record<'_>) -> Option<Place> {
    let country = record
        .country_code
        .or(record.country.as_ref().and_then(|c| c.iso_code))
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))?
        .to_ascii_uppercase();
    let maxmind = record
        .subdivisions
        .as_ref()
        .and_then(|s| s.first())
        .and_then(|s| s.iso_code)
        .filter(|c| is_code(c, 1..=3))
        .map(|c| format!("{country}-{}", c.to_ascii_uppercase()));
    let region = maxmind
        .or_else(|| {
            record
                .state1
                .and_then(|name| region_code(&country, name))
                .map(str::to_string)
        })
        .unwrap_or_default();
    Some(Place { country, region })
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<&str> = self
            .readers
            .iter()
            .map(|r| r.metadata().database_type.as_str())
            .collect();
        f.debug_struct("GeoDb")
            .field("database_types", &types)
            .finish()
    }
}

/// Globally routable unicast, by the special-purpose registries.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "192.0.2.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "81.2.69.142",
            "8.8.8.8",
            "2a00:1450:4009::1",
            "::ffff:81.2.69.142",
        ] {
            assert!(
                is_public(ip.parse::<IpAddr>().unwrap().to_canonical()),
                "{ip}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let e = GeoDb::open(Path::new("/nonexistent/country.mmdb")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/country.mmdb"), "{e}");
    }
}
