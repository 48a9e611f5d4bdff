//! `glasshouse import` on the real binary and the embedded store: what a
//! file holds is stored anonymised and counted as live traffic would be;
//! a bad line stops the import and nothing of the file is stored, with a
//! message naming the line and the field; `--skip-invalid` stores the rest.

use chrono::{Duration, NaiveDate, Utc};
use glasshouse_model::query::{DateRange, Dimension, Metric, Query};
use glasshouse_store::{DuckStore, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SITE: &str = "www.gov.uk";
const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0 ImportTest/7";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1 ImportTest/8";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const EMAIL: &str = "jane.importtest@example.com";

/// The day the test's events are on: ten days ago, so never in the future.
fn day() -> NaiveDate {
    (Utc::now() - Duration::days(10)).date_naive()
}

fn config(dir: &Path) -> PathBuf {
    config_for(dir, "")
}

/// The configuration, with `store` as its `[store]` table (DuckDB if empty).
fn config_for(dir: &Path, store: &str) -> PathBuf {
    let path = dir.join("glasshouse.toml");
    std::fs::write(
        &path,
        format!(
            r#"listen = "127.0.0.1:1"
data_dir = {:?}
{store}
[[organisations]]
id = "gds"
name = "GDS"
[[sites]]
host = "{SITE}"
organisation = "gds"
"#,
            dir.join("data")
        ),
    )
    .unwrap();
    path
}

/// One line: `at` seconds after 09:00 on the test's day.
fn line(at: i64, ip: &str, agent: &str, url: &str) -> String {
    let ts = day().and_hms_opt(9, 0, 0).unwrap().and_utc() + Duration::seconds(at);
    serde_json::json!({
        "timestamp": ts.to_rfc3339(),
        "ip": ip,
        "user_agent": agent,
        "name": "pageview",
        "url": url,
        "domain": SITE,
        "referrer": "https://www.google.com/",
    })
    .to_string()
}

fn page(path: &str) -> String {
    format!("https://{SITE}{path}")
}

/// Two visitors, three visits, six page views, and a crawler.
fn good_lines() -> Vec<String> {
    vec![
        line(0, "203.0.113.41", FIREFOX, &page("/vat-rates")),
        line(5, "198.51.100.77", BOT, &page("/vat-rates")),
        line(60, "203.0.113.41", FIREFOX, &page("/browse/tax")),
        line(
            120,
            "203.0.113.41",
            FIREFOX,
            &page(&format!("/contact/{EMAIL}")),
        ),
        line(300, "2001:db8::5eed", SAFARI, &page("/vat-rates")),
        line(360, "2001:db8::5eed", SAFARI, &page("/register-to-vote")),
        // Two hours on: a new visit by the same person.
        line(7500, "2001:db8::5eed", SAFARI, &page("/vat-rates")),
    ]
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn import(config: &Path, file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .arg("import")
        .args(extra)
        .arg("--config")
        .arg(config)
        .arg(file)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The import failed, saying `expected` and that nothing was imported.
fn assert_refused(out: &Output, expected: &str) {
    assert!(!out.status.success(), "the import should fail");
    let why = stderr(out);
    assert!(why.contains(expected), "{why}");
    assert!(why.contains("nothing was imported"), "{why}");
}

fn store(dir: &Path) -> DuckStore {
    DuckStore::open(&dir.join("data")).unwrap()
}

fn query() -> Query {
    Query::for_range(
        SITE,
        DateRange {
            first: day(),
            last: day(),
        },
        Metric::COUNTS.to_vec(),
        vec![],
    )
}

#[test]
fn an_import_is_counted_as_live_traffic_and_stores_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let file = write(dir.path(), "events.ndjson", &good_lines());
    let out = import(&config, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("imported 6 events"), "{said}");
    assert!(said.contains("1 from bots not counted"), "{said}");

    let store = store(dir.path());
    let totals = store.aggregate(&query()).unwrap();
    assert_eq!(
        (totals.visitors, totals.visits, totals.pageviews),
        (2, 3, 6)
    );
    let pages = store.breakdown(&query(), &Dimension::Page, 10, 0).unwrap();
    let views = |p: &str| pages.iter().find(|(v, _)| v == p).map(|(_, t)| t.pageviews);
    assert_eq!(views("/vat-rates"), Some(3));
    assert_eq!(views("/contact/[email]"), Some(1), "{pages:?}");
    drop(store);

    let all = glasshouse_testkit::files::under(&dir.path().join("data"));
    assert!(!all.is_empty());
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        for needle in [
            "203.0.113.41",
            "2001:db8::5eed",
            "ImportTest/7",
            "ImportTest/8",
            EMAIL,
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains {needle}",
                path.display()
            );
        }
    }
}

#[test]
fn a_bad_line_stops_the_import_naming_line_and_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let first = write(dir.path(), "first.ndjson", &good_lines());
    assert!(import(&config, &first, &[]).status.success());

    let cases: [(&str, &str, &str); 3] = [
        ("url", "not a URL", ":4: url:"),
        (
            "domain",
            "https://elsewhere.example/",
            ":4: domain: unknown site",
        ),
        ("utf8", "", ":4: not valid UTF-8"),
    ];
    for (name, url, expected) in cases {
        let mut lines = good_lines();
        lines[3] = line(120, "203.0.113.41", FIREFOX, url);
        if name == "domain" {
            lines[3] = lines[3].replace(SITE, "elsewhere.example");
        }
        let file = write(dir.path(), &format!("{name}.ndjson"), &lines);
        if name == "utf8" {
            let mut bytes = std::fs::read(&file).unwrap();
            let at = lines[..3].iter().map(|l| l.len() + 1).sum::<usize>();
            bytes.splice(at..at, [0xff, 0xfe]);
            std::fs::write(&file, bytes).unwrap();
        }
        let out = import(&config, &file, &[]);
        assert_refused(&out, expected);
        assert_eq!(store(dir.path()).count().unwrap(), 6, "{name}: stored");
    }

    let file = write(dir.path(), "skip.ndjson", &{
        let mut lines = good_lines();
        lines[3] = line(120, "203.0.113.41", FIREFOX, "not a URL");
        lines
    });
    let out = import(&config, &file, &["--skip-invalid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skip.ndjson:4: url:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(store(dir.path()).count().unwrap(), 6 + 5);
}

/// Files are read in blocks of several megabytes: line numbers and visits
/// must run on across them.
#[test]
fn a_file_of_many_blocks_keeps_its_line_numbers_and_its_visits() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // 80 visitors, each with a visit of 500 page views a second apart:
    // 40,000 lines, about 10 MB.
    let mut lines = Vec::new();
    for i in 0..40_000i64 {
        let who = i % 80;
        let ip = format!("10.0.0.{}", who + 1);
        lines.push(line(i / 80, &ip, FIREFOX, &page(&format!("/p{}", i % 97))));
    }
    let bad = 35_001;
    let mut broken = lines.clone();
    broken[bad - 1] = broken[bad - 1].replace("\"pageview\"", "\"\"");
    let file = write(dir.path(), "broken.ndjson", &broken);
    assert!(std::fs::metadata(&file).unwrap().len() > 2 * (4 << 20));
    let out = import(&config, &file, &[]);
    assert_refused(&out, &format!("broken.ndjson:{bad}: name:"));
    assert_eq!(store(dir.path()).count().unwrap(), 0);

    // A line longer than a block (its property value), among the rest:
    // one event, though the reader needs two reads for it.
    let mut long = lines.clone();
    long.push(
        serde_json::json!({
            "timestamp": (day().and_hms_opt(9, 0, 0).unwrap().and_utc()).to_rfc3339(),
            "ip": "10.0.0.1",
            "user_agent": FIREFOX,
            "name": "Long",
            "url": page("/p0"),
            "domain": SITE,
            "props": {"blob": "x".repeat(9 << 20)},
        })
        .to_string(),
    );
    long.extend(lines.iter().take(100).cloned());
    let file = write(dir.path(), "long.ndjson", &long);
    // Refused as the collector refuses it, by its own line number.
    let out = import(&config, &file, &[]);
    assert_refused(&out, "long.ndjson:40001: props.blob:");
    // Skipped on request, and every line after it read too.
    let out = import(&config, &file, &["--skip-invalid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 40100 events"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();

    let file = write(dir.path(), "many.ndjson", &lines);
    let out = import(&config, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let totals = store(dir.path()).aggregate(&query()).unwrap();
    assert_eq!(
        (totals.visitors, totals.visits, totals.pageviews),
        (80, 80, 40_000)
    );
}

/// ClickHouse cannot take rows back, so there the file is checked before
/// anything is sent: a bad line still stores nothing.
#[test]
fn on_clickhouse_a_bad_line_stores_nothing_and_a_good_file_is_counted() {
    let Some(server) = glasshouse_testkit::clickhouse::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("clickhouse://127.0.0.1:{}/import_test", server.http_port);
    let config = config_for(
        dir.path(),
        &format!("[store]\nbackend = \"clickhouse\"\nurl = \"{url}\"\n"),
    );
    let open = || {
        glasshouse_store::ClickHouseStore::open(
            glasshouse_store::ClickHouseConfig::from_url(&url).unwrap(),
        )
        .unwrap()
    };
    let mut lines = good_lines();
    lines[3] = line(120, "203.0.113.41", FIREFOX, "not a URL");
    let out = import(&config, &write(dir.path(), "bad.ndjson", &lines), &[]);
    assert_refused(&out, "bad.ndjson:4: url:");
    assert_eq!(open().count().unwrap(), 0);

    // The check reads blocks in parallel; it still names the first bad line.
    let mut many: Vec<String> = (0..40_000i64)
        .map(|i| {
            line(
                i / 80,
                &format!("10.0.0.{}", i % 80 + 1),
                FIREFOX,
                &page("/p"),
            )
        })
        .collect();
    many[35_000] = line(500, "10.0.0.1", FIREFOX, "not a URL");
    many[39_000] = line(500, "10.0.0.1", FIREFOX, "not a URL either");
    let out = import(&config, &write(dir.path(), "many.ndjson", &many), &[]);
    assert_refused(&out, "many.ndjson:35001: url:");
    assert_eq!(open().count().unwrap(), 0);

    let out = import(
        &config,
        &write(dir.path(), "good.ndjson", &good_lines()),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let totals = open().aggregate(&query()).unwrap();
    assert_eq!(
        (totals.visitors, totals.visits, totals.pageviews),
        (2, 3, 6)
    );
}

/// Every column goes through the bulk path: properties, revenue, the
/// visit's source and the journey's previous page come back as sent.
#[test]
fn properties_revenue_and_visits_come_back_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let ts = day().and_hms_opt(9, 1, 0).unwrap().and_utc();
    let mut lines = good_lines();
    lines.push(
        serde_json::json!({
            "timestamp": ts.to_rfc3339(),
            "ip": "203.0.113.41",
            "user_agent": FIREFOX,
            "name": "Form submitted",
            "url": page("/browse/tax"),
            "domain": SITE,
            "props": {"form": "visa", "step": 3},
            "revenue": {"amount": 10.5, "currency": "GBP"},
        })
        .to_string(),
    );
    let out = import(&config, &write(dir.path(), "props.ndjson", &lines), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = store(dir.path());
    let by = |d: Dimension| store.breakdown(&query(), &d, 10, 0).unwrap();
    let forms = by(Dimension::EventProp("form".into()));
    assert!(
        forms.iter().any(|(v, t)| v == "visa" && t.events == 1),
        "{forms:?}"
    );
    let steps = by(Dimension::EventProp("step".into()));
    assert!(steps.iter().any(|(v, _)| v == "3"), "{steps:?}");
    let sources = by(Dimension::Source);
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].0, "Google");
    assert_eq!(sources[0].1.visits, 3);
    let entries = by(Dimension::EntryPage);
    let entry = |p: &str| entries.iter().find(|(v, _)| v == p).map(|(_, t)| t.visits);
    assert_eq!(entry("/vat-rates"), Some(3), "{entries:?}");
    let browsers = by(Dimension::Browser);
    assert!(browsers.iter().any(|(v, _)| v == "Firefox"), "{browsers:?}");
}
