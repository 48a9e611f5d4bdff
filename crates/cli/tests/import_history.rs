//! `glasshouse import-history` on the real binary, with the committed
//! fixture files (a Plausible CE export's file names and headers): after
//! the import the Stats API, asked for imported data, answers what the
//! files say, and without it nothing; importing twice counts once; a bad
//! file names file, line and column and stores nothing; days the site has
//! its own data for are left out; `--delete` takes it all back; no stored
//! byte holds the e-mail address in a page of the export. On ClickHouse
//! too.

use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "history-test-token";
const SITE: &str = "www.gov.uk";
const PERIOD: &str = "period=custom&date=2025-10-01,2025-10-31";
const EMAIL: &str = "jo.bloggs@example.com";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plausible-export")
}

/// The configuration (`store` a `[store]` table, DuckDB if empty) and the
/// server's address.
fn config(dir: &Path, store: &str) -> (PathBuf, String) {
    let port = free_port();
    let path = dir.join("glasshouse.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\n{store}\n\
             [[organisations]]\nid = \"gds\"\nname = \"GDS\"\n\
             [[sites]]\nhost = \"{SITE}\"\norganisation = \"gds\"\ntimezone = \"Europe/London\"\naggregate_retention_days = 3650\n\
             [[sites]]\nhost = \"gov.wales\"\norganisation = \"gds\"\n\
             [[api_tokens]]\nname = \"t\"\norganisation = \"gds\"\nsha256 = \"{}\"\n",
            dir.join("data"),
            hex::encode(Sha256::digest(TOKEN))
        ),
    )
    .unwrap();
    (path, format!("http://127.0.0.1:{port}"))
}

fn glasshouse(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn import(config: &Path, dir: &Path) -> Output {
    let mut args = vec!["import-history", "--site", SITE];
    let dir = dir.to_str().unwrap().to_string();
    args.push(&dir);
    glasshouse(&args, config)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn serve(config: &Path, url: &str) -> Running {
    let log = config.with_extension("log");
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let server = Running::new(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::blocking::get(format!("{url}/ready")).is_ok_and(|r| r.status().is_success()) {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn get(url: &str, q: &str) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .get(format!("{url}{q}"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn v2(url: &str, body: serde_json::Value) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .post(format!("{url}/api/v2/query"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// One fixture file's lines, as maps from column to cell.
fn lines(table: &str) -> Vec<BTreeMap<String, String>> {
    let path = fixtures().join(format!("imported_{table}_20251001_20251031.csv"));
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn n(line: &BTreeMap<String, String>, col: &str) -> u64 {
    line[col].parse().unwrap_or(0)
}

/// `figure` summed per value of `key` (renamed as glasshouse names it).
fn summed(
    table: &str,
    key: &str,
    figure: &str,
    rename: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for l in lines(table) {
        if let Some(k) = rename(&l[key]) {
            *out.entry(k).or_insert(0) += n(&l, figure);
        }
    }
    out
}

fn same(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// `property`'s breakdown of `metric` over the fixture's month, imports included.
fn breakdown(url: &str, property: &str, metric: &str) -> BTreeMap<String, u64> {
    let key = property.split(':').nth(1).unwrap();
    let body = get(
        url,
        &format!("/api/v1/stats/breakdown?site_id={SITE}&{PERIOD}&metrics={metric}&property={property}&with_imported=true"),
    );
    assert_eq!(body["imports_included"], true, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[key].as_str().unwrap().to_string(),
                r[metric].as_u64().unwrap(),
            )
        })
        .collect()
}

fn total(url: &str, imported: bool) -> serde_json::Value {
    let with = if imported { "&with_imported=true" } else { "" };
    get(
        url,
        &format!("/api/v1/stats/aggregate?site_id={SITE}&{PERIOD}&metrics=visitors,visits,pageviews,events,bounce_rate,visit_duration{with}"),
    )
}

/// Every breakdown the export fills answers what the files say.
fn answers_as_the_files_say(url: &str) {
    let days = lines("visitors");
    let sum = |c: &str| days.iter().map(|l| n(l, c)).sum::<u64>();
    let custom: u64 = lines("custom_events")
        .iter()
        .filter(|l| l["name"] != "engagement")
        .map(|l| n(l, "events"))
        .sum();
    let body = total(url, true);
    let r = &body["results"];
    assert_eq!(r["visitors"]["value"], sum("visitors"), "{body}");
    assert_eq!(r["visits"]["value"], sum("visits"));
    assert_eq!(r["pageviews"]["value"], sum("pageviews"));
    assert_eq!(r["events"]["value"], sum("pageviews") + custom);
    let rate = (sum("bounces") as f64 * 100.0 / sum("visits") as f64).round();
    assert_eq!(r["bounce_rate"]["value"].as_f64().unwrap(), rate);
    let duration = (sum("visit_duration") as f64 / sum("visits") as f64).round();
    assert_eq!(r["visit_duration"]["value"].as_f64().unwrap(), duration);
    // Without imported data asked for, the site has none of its own.
    assert_eq!(total(url, false)["results"]["visitors"]["value"], 0);

    let direct = |v: &str| {
        Some(if v.is_empty() {
            "Direct / None".into()
        } else {
            v.to_string()
        })
    };
    assert_eq!(
        breakdown(url, "visit:source", "visitors"),
        summed("sources", "source", "visitors", &direct)
    );
    assert_eq!(
        breakdown(url, "visit:utm_campaign", "visits"),
        summed("sources", "utm_campaign", "visits", &same)
    );
    let scrubbed = |v: &str| Some(v.replace(EMAIL, "[email]"));
    assert_eq!(
        breakdown(url, "event:page", "pageviews"),
        summed("pages", "page", "pageviews", &scrubbed)
    );
    assert_eq!(
        breakdown(url, "visit:entry_page", "visits"),
        summed("entry_pages", "entry_page", "entrances", &same)
    );
    assert_eq!(
        breakdown(url, "visit:exit_page", "visits"),
        summed("exit_pages", "exit_page", "exits", &same)
    );
    assert_eq!(
        breakdown(url, "visit:country", "visitors"),
        summed("locations", "country", "visitors", &same)
    );
    assert_eq!(
        breakdown(url, "visit:region", "visitors"),
        summed("locations", "region", "visitors", &same)
    );
    let device = |v: &str| {
        Some(if v == "Laptop" {
            "Desktop".into()
        } else {
            v.to_string()
        })
    };
    assert_eq!(
        breakdown(url, "visit:device", "visitors"),
        summed("devices", "device", "visitors", &device)
    );
    let browser = |v: &str| {
        Some(if v == "Microsoft Edge" {
            "Edge".into()
        } else {
            v.to_string()
        })
    };
    assert_eq!(
        breakdown(url, "visit:browser", "visitors"),
        summed("browsers", "browser", "visitors", &browser)
    );
    let os = |v: &str| {
        Some(match v {
            "Mac" => "macOS".into(),
            "GNU/Linux" => "Linux".into(),
            v => v.to_string(),
        })
    };
    assert_eq!(
        breakdown(url, "visit:os", "visitors"),
        summed("operating_systems", "operating_system", "visitors", &os)
    );
    let mut events = summed("custom_events", "name", "events", &|v| {
        (v != "engagement").then(|| v.to_string())
    });
    events.insert("pageview".into(), sum("pageviews"));
    assert_eq!(breakdown(url, "event:name", "events"), events);

    // Scroll depth is Plausible's: the sum of depths over the visits
    // that reported one; a page without any has none.
    let body = get(url, &format!("/api/v1/stats/breakdown?site_id={SITE}&{PERIOD}&metrics=visitors,scroll_depth,time_on_page&property=event:page&with_imported=true"));
    let pages = lines("pages");
    for row in body["results"].as_array().unwrap() {
        let page = row["page"].as_str().unwrap();
        let of: Vec<_> = pages
            .iter()
            .filter(|l| scrubbed(&l["page"]).unwrap() == page)
            .collect();
        let depth: u64 = of.iter().map(|l| n(l, "total_scroll_depth")).sum();
        let visits: u64 = of.iter().map(|l| n(l, "total_scroll_depth_visits")).sum();
        if visits == 0 {
            assert!(row["scroll_depth"].is_null(), "{row}");
        } else {
            assert_eq!(
                row["scroll_depth"].as_f64().unwrap(),
                (depth as f64 / visits as f64).round(),
                "{row}"
            );
            assert!(row["time_on_page"].as_f64().unwrap() > 0.0, "{row}");
        }
    }

    // Each day is the file's day.
    let body = get(
        url,
        &format!(
            "/api/v1/stats/timeseries?site_id={SITE}&{PERIOD}&metrics=visitors&with_imported=true"
        ),
    );
    let series: Vec<u64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["visitors"].as_u64().unwrap())
        .collect();
    assert_eq!(
        series,
        days.iter().map(|l| n(l, "visitors")).collect::<Vec<_>>()
    );
}

/// v2's `include.imports`, and why imported days are left out when they are.
fn v2_says_when_imports_are_included(url: &str) {
    let ask = |extra: serde_json::Value| {
        let mut body = serde_json::json!({"site_id": SITE, "metrics": ["visitors"], "date_range": ["2025-10-01", "2025-10-31"], "include": {"imports": true}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        v2(url, body)
    };
    let body = ask(serde_json::json!({"dimensions": ["visit:source"]}));
    assert_eq!(body["meta"]["imports_included"], true, "{body}");
    let google = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dimensions"][0] == "Google")
        .unwrap();
    assert_eq!(
        google["metrics"][0],
        summed("sources", "source", "visitors", &same)["Google"]
    );
    for (extra, reason) in [
        (
            serde_json::json!({"filters": [["is", "visit:browser", ["Edge"]]]}),
            "unsupported_query",
        ),
        (
            serde_json::json!({"dimensions": ["visit:city"]}),
            "unsupported_query",
        ),
        (
            serde_json::json!({"dimensions": ["time:hour"], "date_range": ["2025-10-01", "2025-10-02"]}),
            "unsupported_interval",
        ),
        (
            serde_json::json!({"date_range": ["2025-12-01", "2025-12-31"]}),
            "out_of_range",
        ),
        (
            serde_json::json!({"site_id": "gov.wales"}),
            "no_imported_data",
        ),
    ] {
        let body = ask(extra.clone());
        if body.get("error").is_some() {
            // A property glasshouse does not have at all is refused outright.
            assert!(extra["dimensions"][0] == "visit:city", "{body}");
            continue;
        }
        assert_eq!(body["meta"]["imports_included"], false, "{extra}: {body}");
        assert_eq!(
            body["meta"]["imports_skip_reason"], reason,
            "{extra}: {body}"
        );
    }
    let body = v2(
        url,
        serde_json::json!({"site_id": SITE, "metrics": ["visitors"], "date_range": ["2025-10-01", "2025-10-31"]}),
    );
    assert_eq!(body["meta"]["imports_included"], false, "{body}");
    assert_eq!(body["results"][0]["metrics"][0], 0, "{body}");
}

/// Every byte under `dir`, searched for `needle`.
fn stored_anywhere(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(stored_anywhere(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path);
        }
    }
    found
}

/// A copy of the fixtures with `change` applied to one file's text.
fn broken(dir: &Path, table: &str, change: impl Fn(String) -> String) -> PathBuf {
    let out = dir.join(format!("broken-{table}"));
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with(&format!("imported_{table}_")) {
            text = change(text);
        }
        std::fs::write(out.join(name), text).unwrap();
    }
    out
}

/// Replaces the cell at (line, column), both from 1.
fn cell(text: String, line: usize, column: usize, value: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[column - 1] = value;
                cells.join(",")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bad files are refused, naming file, line and column, and leave what
/// was stored as it was.
fn bad_files_store_nothing(dir: &Path, config: &Path, visitors_before: &dyn Fn() -> u64) {
    let before = visitors_before();
    let cases = [
        (
            "pages",
            cell(lines_text("pages"), 5, 5, "12x"),
            "line 5, column 5 (visitors): not a whole number",
        ),
        (
            "visitors",
            cell(lines_text("visitors"), 3, 1, "2025-13-01"),
            "line 3, column 1 (date): not a date",
        ),
        (
            "devices",
            cell(lines_text("devices"), 2, 1, "2025-11-02"),
            "line 2, column 1 (date): 2025-11-02 is outside",
        ),
        (
            "browsers",
            lines_text("browsers").replacen("browser_version", "colour", 1),
            "line 1, column 3 (colour): not a column of Plausible's browsers file",
        ),
        (
            "sources",
            lines_text("sources").replacen(",visitors,", ",people,", 1),
            "line 1, column 10 (people): not a column",
        ),
        (
            "custom_events",
            cell(lines_text("custom_events"), 4, 2, &"x".repeat(121)),
            "line 4, column 2 (name): longer than 120 characters",
        ),
        (
            "locations",
            cell(lines_text("locations"), 7, 5, ""),
            "line 7, column 5 (visitors): not a whole number",
        ),
    ];
    for (table, changed, expected) in cases {
        let d = broken(dir, table, |_| changed.clone());
        let out = import(config, &d);
        assert!(!out.status.success(), "{table}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains(&format!("imported_{table}_20251001_20251031.csv")),
            "{said}"
        );
        assert!(said.contains(expected), "{table}: {said}");
        assert_eq!(visitors_before(), before, "{table}: something was stored");
        std::fs::remove_dir_all(d).unwrap();
    }
    // A file whose name is not an export's, and two files over the same days.
    let d = broken(dir, "none", |t| t);
    std::fs::write(d.join("notes.csv"), "a,b\n").unwrap();
    assert!(text(&import(config, &d)).contains("notes.csv: not a file of a Plausible export"));
    std::fs::remove_file(d.join("notes.csv")).unwrap();
    std::fs::copy(
        d.join("imported_pages_20251001_20251031.csv"),
        d.join("imported_pages_20251015_20251020.csv"),
    )
    .unwrap();
    assert!(text(&import(config, &d)).contains("two pages files over the same days"));
    assert_eq!(visitors_before(), before);
}

fn lines_text(table: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("imported_{table}_20251001_20251031.csv")))
        .unwrap()
}

fn imported_visitors(url: &str) -> u64 {
    total(url, true)["results"]["visitors"]["value"]
        .as_u64()
        .unwrap()
}

#[test]
fn an_export_answers_as_its_files_say_and_can_be_taken_back() {
    let dir = tempfile::tempdir().unwrap();
    let (config, url) = config(dir.path(), "");
    let out = import(&config, &fixtures());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out)
            .contains("imported 31 days of www.gov.uk (2025-10-01 to 2025-10-31) from 10 files"),
        "{}",
        text(&out)
    );
    {
        let _server = serve(&config, &url);
        answers_as_the_files_say(&url);
        v2_says_when_imports_are_included(&url);
    }
    // Nothing of the e-mail address in a page of the export is stored.
    assert_eq!(
        stored_anywhere(&dir.path().join("data"), EMAIL.as_bytes()),
        Vec::<PathBuf>::new()
    );

    // The same files again count once; bad files change nothing.
    let out = import(&config, &fixtures());
    assert!(out.status.success(), "{}", text(&out));
    let visitors = || {
        let _server = serve(&config, &url);
        imported_visitors(&url)
    };
    let all: u64 = lines("visitors").iter().map(|l| n(l, "visitors")).sum();
    assert_eq!(visitors(), all);
    bad_files_store_nothing(dir.path(), &config, &visitors);

    // Deleted, it is gone.
    let out = glasshouse(&["import-history", "--site", SITE, "--delete"], &config);
    assert!(
        text(&out).contains("deleted the imported history of www.gov.uk: 31 days"),
        "{}",
        text(&out)
    );
    assert_eq!(visitors(), 0);
}

#[test]
fn days_the_site_has_its_own_data_for_are_not_imported() {
    let dir = tempfile::tempdir().unwrap();
    let (config, url) = config(dir.path(), "");
    // One event of the site's own on 20 October 2025.
    let events = dir.path().join("events.ndjson");
    std::fs::write(
        &events,
        serde_json::json!({
            "timestamp": "2025-10-20T10:00:00Z", "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "name": "pageview", "url": format!("https://{SITE}/own"), "domain": SITE,
        })
        .to_string(),
    )
    .unwrap();
    let out = glasshouse(&["import", events.to_str().unwrap()], &config);
    assert!(out.status.success(), "{}", text(&out));
    let out = import(&config, &fixtures());
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("imported 19 days of www.gov.uk (2025-10-01 to 2025-10-19)"),
        "{said}"
    );
    assert!(said.contains("days from 2025-10-20 on left out"), "{said}");
    let _server = serve(&config, &url);
    let expected: u64 = lines("visitors")
        .iter()
        .filter(|l| l["date"].as_str() < "2025-10-20")
        .map(|l| n(l, "visitors"))
        .sum();
    assert_eq!(imported_visitors(&url), expected + 1);
}

#[test]
fn on_clickhouse_an_export_is_checked_whole_then_stored_once() {
    let Some(server) = glasshouse_testkit::clickhouse::start() else {
        eprintln!("skipped: no ClickHouse server binary on this machine");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ch = format!("clickhouse://127.0.0.1:{}/history_test", server.http_port);
    let (config, url) = config(
        dir.path(),
        &format!("[store]\nbackend = \"clickhouse\"\nurl = \"{ch}\"\n"),
    );
    let visitors = || {
        let _server = serve(&config, &url);
        imported_visitors(&url)
    };
    // A bad last file stores nothing of the good ones before it.
    let d = broken(dir.path(), "visitors", |t| cell(t, 31, 2, "-4"));
    let out = import(&config, &d);
    assert!(
        text(&out).contains("line 31, column 2 (visitors): not a whole number"),
        "{}",
        text(&out)
    );
    assert_eq!(visitors(), 0);
    for _ in 0..2 {
        let out = import(&config, &fixtures());
        assert!(out.status.success(), "{}", text(&out));
    }
    {
        let _server = serve(&config, &url);
        answers_as_the_files_say(&url);
    }
    let out = glasshouse(&["import-history", "--site", SITE, "--delete"], &config);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(visitors(), 0);
}
