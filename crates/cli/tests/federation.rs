//! Three organisations, three node processes on 127.0.0.1, each with its
//! own data directory and its own site (docs/federation.md):
//!
//! - traffic with a known number of visitors crossing from GOV.UK to
//!   mygov.scot and to gov.wales; the nodes cross midnight together
//!   (`GLASSHOUSE_CLOCK_OFFSET_FILE`) and compute the day's figures;
//! - released figures equal the truth with ε unset, lie within the
//!   noise's stated bound with ε set, and a figure under `k` is withheld;
//!   both nodes of each exchange show the same figure and audit it;
//! - afterwards no data directory or log holds a link id of the day, the
//!   day's link key, or any address or User-Agent sent;
//! - messages from a node outside the agreement, signed with a wrong key,
//!   altered, replayed, about an undeclared figure or a day outside the
//!   agreement are refused and logged.

use base64::Engine;
use glasshouse_federation::linkkey::LinkKey;
use glasshouse_federation::message::{self, Header, Kind};
use glasshouse_model::signing::{self, SigningKey};
use glasshouse_testkit::process::{free_port, Running};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ORGS: [(&str, &str); 3] = [
    ("cabinet-office", "www.gov.uk"),
    ("scottish-government", "www.mygov.scot"),
    ("welsh-government", "gov.wales"),
];
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

struct Node {
    org: &'static str,
    site: &'static str,
    url: String,
    data: PathBuf,
    config: PathBuf,
    log: PathBuf,
    node_key: SigningKey,
    token: String,
}

fn key(seed: u8) -> SigningKey {
    let mut bytes: [u8; 32] = rand::random();
    bytes[0] = seed;
    SigningKey::from_bytes(&bytes)
}

/// The agreements: GOV.UK with mygov.scot exactly (ε unset), with a
/// figure that too few visitors make; GOV.UK with gov.wales under ε.
fn agreements(nodes: &[Node]) -> String {
    let node = |n: &Node| {
        format!(
            "{{ organisation = \"{}\", url = \"{}\", key = \"{}\" }}",
            n.org,
            n.url,
            signing::public_key_string(&n.node_key)
        )
    };
    let figure = |id: &str, from: &str, to: &str, page: &str| {
        format!(
            "\n[[agreements.figures]]\nid = \"{id}\"\ntitle = \"Read on GOV.UK, then went on\"\nsteps = [{{ site = \"www.gov.uk\", page = \"/brexit/**\" }}, {{ site = \"{to}\", page = \"{page}\" }}]\n# {from}\n"
        )
    };
    format!(
        "\n[[agreements]]\nid = \"uk-scot\"\ntitle = \"GOV.UK and mygov.scot journeys\"\nparties = [\"cabinet-office\", \"scottish-government\"]\nsites = [\"www.gov.uk\", \"www.mygov.scot\"]\npurposes = [\"service-improvement\"]\nmetrics = [\"visitors\"]\nk = 5\nstart = \"2026-01-01\"\nnodes = [{}, {}]\n{}{}\
         \n[[agreements]]\nid = \"uk-wales\"\ntitle = \"GOV.UK and gov.wales journeys\"\nparties = [\"cabinet-office\", \"welsh-government\"]\nsites = [\"www.gov.uk\", \"gov.wales\"]\npurposes = [\"service-improvement\"]\nmetrics = [\"visitors\"]\nk = 5\nepsilon_per_month = 31.0\nstart = \"2026-01-01\"\nnodes = [{}, {}]\n{}",
        node(&nodes[0]),
        node(&nodes[1]),
        figure("brexit-then-apply", "uk", "www.mygov.scot", "/apply/**"),
        figure("brexit-then-contact", "uk", "www.mygov.scot", "/contact/**"),
        node(&nodes[0]),
        node(&nodes[2]),
        figure("brexit-then-apply", "uk", "gov.wales", "/apply/**"),
    )
}

fn configure(dir: &Path) -> Vec<Node> {
    let org_keys: Vec<SigningKey> = (0..3).map(|i| key(i as u8)).collect();
    let mut nodes: Vec<Node> = ORGS
        .iter()
        .enumerate()
        .map(|(i, (org, site))| {
            let data = dir.join(org);
            std::fs::create_dir_all(&data).unwrap();
            Node {
                org,
                site,
                url: format!("http://127.0.0.1:{}", free_port()),
                config: dir.join(format!("{org}.toml")),
                log: dir.join(format!("{org}.log")),
                data,
                node_key: key(10 + i as u8),
                token: format!("token-of-{org}"),
            }
        })
        .collect();
    let agreements = agreements(&nodes);
    for n in &mut nodes {
        let key_file = dir.join(format!("{}-node.key", n.org));
        std::fs::write(&key_file, signing::signing_key_string(&n.node_key)).unwrap();
        let mut c = format!(
            "listen = \"{}\"\ndata_dir = {:?}\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
            n.url.trim_start_matches("http://"),
            n.data
        );
        for (org, site) in ORGS {
            c += &format!("\n[[organisations]]\nid = \"{org}\"\nname = \"{org}\"\n");
            c += &format!("\n[[sites]]\nhost = \"{site}\"\norganisation = \"{org}\"\ntimezone = \"Europe/London\"\n");
        }
        c += &agreements;
        c += &format!(
            "\n[[api_tokens]]\nname = \"analyst\"\norganisation = \"{}\"\nsha256 = \"{}\"\n",
            n.org,
            hex::encode(Sha256::digest(&n.token))
        );
        c += &format!(
            "\n[node]\norganisation = \"{}\"\nkey_file = {:?}\n",
            n.org, key_file
        );
        let signed = signing::sign_config(
            &c,
            "node.toml",
            |org| {
                ORGS.iter()
                    .position(|(o, _)| *o == org)
                    .map(|i| org_keys[i].clone())
            },
            |_, _| true,
            chrono::Utc::now(),
        )
        .unwrap();
        std::fs::write(&n.config, signed).unwrap();
    }
    nodes
}

// The guard's Drop stops and waits for the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn serve(n: &Node, clock: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["serve", "--config"])
        .arg(&n.config)
        .env("GLASSHOUSE_CLOCK_OFFSET_FILE", clock)
        .env("GLASSHOUSE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&n.log).unwrap()))
        .spawn()
        .unwrap();
    let server = Running::new(child);
    wait(60, &format!("{} ready", n.org), || {
        reqwest::blocking::get(format!("{}/ready", n.url)).is_ok_and(|r| r.status().is_success())
    });
    server
}

fn wait(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "waited {seconds} s for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn state(n: &Node) -> serde_json::Value {
    std::fs::read(n.data.join("federation/state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The day's link key `n` holds with `partner` under `agreement`.
fn link_key(n: &Node, agreement: &str, partner: &str, day: chrono::NaiveDate) -> Option<LinkKey> {
    let k = state(n)["keys"][format!("{agreement}|{partner}|{day}")]["key"]
        .as_str()?
        .to_string();
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(k)
        .ok()?
        .try_into()
        .ok()?;
    Some(LinkKey::from_bytes(bytes))
}

fn view(client: &reqwest::blocking::Client, n: &Node, host: &str, path: &str, visitor: u32) -> u16 {
    client
        .post(format!("{}/api/event", n.url))
        .header("user-agent", format!("{UA} v{visitor}"))
        .header("x-forwarded-for", ip(visitor))
        .body(format!(
            r#"{{"n":"pageview","u":"https://{host}{path}","d":"{host}"}}"#
        ))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn ip(visitor: u32) -> String {
    format!("203.0.{}.{}", 113 + visitor / 250, 1 + visitor % 250)
}

/// The released days of a figure, as node `n` answers them.
fn figure(n: &Node, agreement: &str, figure: &str) -> Vec<serde_json::Value> {
    let r = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/federation/figures?site_id={}&agreement={agreement}&period=7d",
            n.url, n.site
        ))
        .bearer_auth(&n.token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == figure)
        .unwrap()["days"]
        .as_array()
        .unwrap()
        .clone()
}

fn released_on(n: &Node, agreement: &str, fig: &str, day: chrono::NaiveDate) -> serde_json::Value {
    figure(n, agreement, fig)
        .into_iter()
        .find(|d| d["date"] == day.to_string())
        .unwrap_or_default()
}

fn audit_text(n: &Node) -> String {
    std::fs::read_to_string(n.data.join("audit/entries.jsonl")).unwrap_or_default()
}

/// Every file under `dir`, whole.
fn files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
}

/// The forms a secret could take at rest: its bytes, hex and base64.
fn forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    vec![
        bytes.to_vec(),
        hex::encode(bytes).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into_bytes(),
    ]
}

struct Traffic {
    /// Every visitor number that sent an event.
    visitors: Vec<u32>,
}

/// Known crossings: 30 from GOV.UK's /brexit/ to mygov.scot's /apply/,
/// 3 to its /contact/ (under k), 40 to gov.wales's /apply/; and visitors
/// who saw only one side.
fn traffic(nodes: &[Node]) -> Traffic {
    let c = reqwest::blocking::Client::new();
    let (uk, scot, wales) = (&nodes[0], &nodes[1], &nodes[2]);
    let mut visitors = Vec::new();
    let mut both = |v: u32, other: &Node, path: &str| {
        assert_eq!(
            view(&c, uk, "www.gov.uk", &format!("/brexit/guide-{v}"), v),
            202
        );
        assert_eq!(view(&c, other, other.site, path, v), 202);
        visitors.push(v);
    };
    for v in 0..30 {
        both(v, scot, "/apply/settled-status");
    }
    for v in 300..303 {
        both(v, scot, "/contact/us");
    }
    for v in 400..440 {
        both(v, wales, "/apply/council-tax");
    }
    for v in 100..120 {
        assert_eq!(view(&c, uk, "www.gov.uk", "/brexit/", v), 202);
        visitors.push(v);
    }
    for v in 200..215 {
        assert_eq!(view(&c, scot, "www.mygov.scot", "/apply/", v), 202);
        visitors.push(v);
    }
    // A node counts its own organisation's sites only.
    assert_eq!(view(&c, scot, "www.gov.uk", "/brexit/", 999), 400);
    Traffic { visitors }
}

#[test]
fn three_nodes_compute_cross_government_figures_without_sharing_ids() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock-offset");
    std::fs::write(&clock, "0").unwrap();
    let nodes = configure(dir.path());
    let _servers: Vec<Running> = nodes.iter().map(|n| serve(n, &clock)).collect();
    let day = chrono::Utc::now().date_naive();
    let (uk, scot, wales) = (&nodes[0], &nodes[1], &nodes[2]);
    wait(60, "today's link keys", || {
        link_key(uk, "uk-scot", scot.org, day).is_some()
            && link_key(scot, "uk-scot", uk.org, day).is_some()
            && link_key(uk, "uk-wales", wales.org, day).is_some()
            && link_key(wales, "uk-wales", uk.org, day).is_some()
    });
    let keys = [
        link_key(uk, "uk-scot", scot.org, day).unwrap(),
        link_key(uk, "uk-wales", wales.org, day).unwrap(),
    ];
    assert!(keys[0] == link_key(scot, "uk-scot", uk.org, day).unwrap());
    let t = traffic(&nodes);

    // Midnight passes on all three nodes.
    let now = chrono::Utc::now();
    let midnight = (day + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let offset = (midnight - now).num_seconds() + 120;
    std::fs::write(&clock, offset.to_string()).unwrap();
    wait(120, "the figures", || {
        released_on(uk, "uk-scot", "brexit-then-apply", day)["status"] == "released"
            && released_on(uk, "uk-wales", "brexit-then-apply", day)["status"] == "released"
            && released_on(scot, "uk-scot", "brexit-then-contact", day)["status"] != "pending"
            && released_on(wales, "uk-wales", "brexit-then-apply", day)["status"] == "released"
    });
    check_figures(&nodes, day);
    register(&nodes);
    wait(60, "the day's link ids to be erased", || {
        nodes.iter().all(|n| {
            state(n)["linked"].as_array().is_some_and(|l| {
                !l.iter()
                    .any(|d| d.as_str().unwrap().ends_with(&day.to_string()))
            })
        })
    });
    scan(&nodes, &keys, &t);
    refusals(&nodes, day, offset);
}

fn check_figures(nodes: &[Node], day: chrono::NaiveDate) {
    let (uk, scot, wales) = (&nodes[0], &nodes[1], &nodes[2]);
    // ε unset: the truth, on both nodes.
    for n in [uk, scot] {
        let f = released_on(n, "uk-scot", "brexit-then-apply", day);
        assert_eq!(f["visitors"], 30, "{}: {f}", n.org);
        let under_k = released_on(n, "uk-scot", "brexit-then-contact", day);
        assert_eq!(under_k["status"], "withheld", "{}: {under_k}", n.org);
        assert!(under_k["visitors"].is_null());
    }
    // ε set: within the stated bound, the same on both nodes.
    let f = released_on(uk, "uk-wales", "brexit-then-apply", day);
    let v = f["visitors"].as_f64().unwrap();
    let bound = f["bound_999"].as_f64().unwrap();
    assert!((v - 40.0).abs() <= bound, "{f}");
    assert!(bound > 0.0 && f["epsilon"].as_f64().unwrap() > 0.0, "{f}");
    assert_eq!(
        released_on(wales, "uk-wales", "brexit-then-apply", day)["visitors"],
        f["visitors"]
    );
    // Both nodes of each exchange audited it.
    assert!(audit_text(uk).contains(&format!(
        "federation figure counted agreement=uk-scot figure=brexit-then-apply day={day} released=30"
    )));
    assert!(audit_text(scot).contains(&format!(
        "federation figure received agreement=uk-scot figure=brexit-then-apply day={day} released=30"
    )));
    assert!(audit_text(scot).contains("federation intersection answered agreement=uk-scot"));
    assert!(audit_text(wales).contains("federation figure received agreement=uk-wales"));
    // A figure of a day not yet over is pending, never computed early.
    let today = released_on(
        uk,
        "uk-scot",
        "brexit-then-apply",
        day + chrono::Duration::days(1),
    );
    assert!(today.is_null() || today["status"] == "pending", "{today}");
}

/// No stored byte or log line holds a link id of the day, its link key,
/// or an address or User-Agent that was sent.
fn scan(nodes: &[Node], keys: &[LinkKey; 2], t: &Traffic) {
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for k in keys {
        for f in forms(&k.to_bytes()) {
            secrets.push(("the day's link key".into(), f));
        }
        for v in &t.visitors {
            let id = k.link_id(ip(*v).parse().unwrap(), &format!("{UA} v{v}"));
            for f in forms(&id) {
                secrets.push((format!("visitor {v}'s link id"), f));
            }
        }
    }
    for v in &t.visitors {
        secrets.push((format!("visitor {v}'s address"), ip(*v).into_bytes()));
        secrets.push((
            format!("visitor {v}'s User-Agent"),
            format!("{UA} v{v}").into_bytes(),
        ));
    }
    let mut all = Vec::new();
    for n in nodes {
        files(&n.data, &mut all);
        all.push((n.log.clone(), std::fs::read(&n.log).unwrap()));
    }
    assert!(all.len() > 20, "{} files", all.len());
    let finder = aho_corasick::AhoCorasick::new(secrets.iter().map(|(_, s)| s)).unwrap();
    for (path, bytes) in &all {
        if let Some(m) = finder.find(bytes) {
            panic!(
                "{} holds {}",
                path.display(),
                secrets[m.pattern().as_usize()].0
            );
        }
    }
}

/// Sends a sealed message to `n`; the status and the reason.
fn post(n: &Node, bytes: Vec<u8>) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}{}", n.url, glasshouse_federation::node::PATH))
        .body(bytes)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap_or_default())
}

/// Messages to GOV.UK's node that must be refused, each logged.
fn refusals(nodes: &[Node], day: chrono::NaiveDate, offset: i64) {
    let (uk, scot, wales) = (&nodes[0], &nodes[1], &nodes[2]);
    let config = glasshouse_model::Config::load(&uk.config).unwrap();
    let a = config
        .agreements
        .iter()
        .find(|a| a.id == "uk-scot")
        .unwrap();
    let terms = glasshouse_governance::gate::federation::terms_digest(a);
    let now = chrono::Utc::now() + chrono::Duration::seconds(offset);
    let header = |figure: &str, day: chrono::NaiveDate, from: &str| {
        Header::new(
            Kind::Psi,
            "uk-scot",
            &terms,
            Some(figure),
            day,
            from,
            uk.org,
            now,
        )
    };
    let refused_before = audit_text(uk).matches("federation message refused").count();
    let undeclared = message::seal(header("no-such-figure", day, scot.org), b"", &scot.node_key);
    let (status, why) = post(uk, undeclared.clone());
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("declares no figure"), "{why}");
    let (status, why) = post(uk, undeclared);
    assert_eq!(status, 409, "a replay: {why}");
    assert!(why.contains("replay"), "{why}");
    let mut altered = message::seal(
        header("brexit-then-apply", day, scot.org),
        b"points",
        &scot.node_key,
    );
    *altered.last_mut().unwrap() ^= 1;
    let (status, why) = post(uk, altered);
    assert_eq!(status, 401, "{why}");
    let wrong = message::seal(header("brexit-then-apply", day, scot.org), b"", &key(99));
    let (status, why) = post(uk, wrong);
    assert_eq!(status, 401, "{why}");
    let outsider = message::seal(
        header("brexit-then-apply", day, wales.org),
        b"",
        &wales.node_key,
    );
    let (status, why) = post(uk, outsider);
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("not a partner node"), "{why}");
    let before_start: chrono::NaiveDate = "2025-06-01".parse().unwrap();
    let early = message::seal(
        header("brexit-then-apply", before_start, scot.org),
        b"",
        &scot.node_key,
    );
    let (status, why) = post(uk, early);
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("outside"), "{why}");
    // The figure of a day already released is never computed again.
    let h = Header::new(
        Kind::Psi,
        "uk-scot",
        &terms,
        Some("brexit-then-apply"),
        day,
        uk.org,
        scot.org,
        now,
    );
    let (status, why) = post(scot, message::seal(h, b"", &uk.node_key));
    assert_eq!(status, 409, "{why}");
    assert!(why.contains("already released"), "{why}");
    let (status, _) = post(uk, b"not a message".to_vec());
    assert_eq!(status, 400);
    let refused = audit_text(uk).matches("federation message refused").count() - refused_before;
    assert!(refused >= 7, "{refused} refusals logged");
}

/// Both nodes' registers show the federation: nodes, keys, figures, how
/// they are computed, and that no node receives another's ids.
fn register(nodes: &[Node]) {
    for n in &nodes[..2] {
        let json: serde_json::Value =
            reqwest::blocking::get(format!("{}/transparency.json", n.url))
                .unwrap()
                .json()
                .unwrap();
        let a = json["agreements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == "uk-scot")
            .unwrap();
        let f = &a["federation"];
        assert_eq!(f["nodes"].as_array().unwrap().len(), 2, "{a}");
        assert_eq!(f["figures"][0]["id"], "brexit-then-apply");
        assert!(f["no_node_receives"]
            .as_str()
            .unwrap()
            .contains("No node receives"));
        assert_eq!(a["linked_ids_held_by_operator"], false);
        let page = reqwest::blocking::get(format!("{}/transparency", n.url))
            .unwrap()
            .text()
            .unwrap();
        assert!(
            page.contains("Each organisation keeps its own data"),
            "{}",
            n.org
        );
        assert!(page.contains(&signing::public_key_string(&nodes[1].node_key)));
    }
}
