//! IP address → country, from a MaxMind-format (`.mmdb`) database.
//!
//! The country is the only place information the visitor's address yields;
//! the address itself is dropped. Both common layouts are read: MaxMind's
//! GeoIP2/GeoLite2 (`country.iso_code`) and the DB-IP Lite files packaged by
//! ip-location-db (`country_code`). Addresses that are not globally routable
//! (private, loopback, link-local, documentation ranges…) are never looked
//! up and have no country.
//!
//! The free DB-IP Lite database is licensed CC BY 4.0: credit
//! "IP geolocation by DB-IP (<https://db-ip.com>)" wherever countries are shown
//! (see `data/README.md`).

use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// A country database, loaded into memory once and shared read-only.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
}

/// Why a country database could not be opened.
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
    /// The file is a MaxMind DB, but not one that holds countries.
    #[error("{path} is a {kind} database, not a country database (it gives no country for 8.8.8.8 or 81.2.69.142)")]
    NotCountries {
        /// The file that was given.
        path: String,
        /// The database type from its metadata.
        kind: String,
    },
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
}

impl GeoDb {
    /// Opens a `.mmdb` country database and checks that it answers with
    /// countries, so a wrong file (an ASN database, say) is refused at start
    /// rather than silently giving no countries.
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        let shown = path.display().to_string();
        let reader = maxminddb::Reader::open_readfile(path).map_err(|source| GeoError::Open {
            path: shown.clone(),
            source,
        })?;
        let db = GeoDb { reader };
        let probes: [IpAddr; 2] = [[8, 8, 8, 8].into(), [81, 2, 69, 142].into()];
        if probes.iter().all(|ip| db.country(*ip).is_none()) {
            return Err(GeoError::NotCountries {
                path: shown,
                kind: db.reader.metadata().database_type.clone(),
            });
        }
        Ok(db)
    }

    /// The ISO 3166-1 alpha-2 code (upper case) of the country `ip` is
    /// registered in, or `None` when unknown or not a public address.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let ip = ip.to_canonical();
        if !is_public(ip) {
            return None;
        }
        let found = self.reader.lookup(ip).ok()?;
        let record: Record = found.decode().ok()??;
        let code = record
            .country_code
            .or(record.country.and_then(|c| c.iso_code))?;
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| code.to_ascii_uppercase())
    }
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("GeoDb")
            .field("database_type", &m.database_type)
            .field("build_epoch", &m.build_epoch)
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
