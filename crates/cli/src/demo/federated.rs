//! `glasshouse demo --federated`: one node per demo organisation, each a
//! separate process with its own data directory (`DATA/ORG/`) holding only
//! its own site's events, and agreements between the nodes that declare
//! cross-government figures (docs/federation.md).
//!
//! On first run, before anything serves, the nodes agree link keys for the
//! last week and today (the same signed messages they send over HTTP,
//! handed over in this process), and each loads the demo traffic of its
//! own site, marking its visitors with the day's link ids as its collector
//! would. Once serving, the counting nodes compute the finished days'
//! figures with their partners within seconds.

use super::{
    demo_config, key_file, new_secrets, org_keys, sites, write_private, NodeLayout, Secrets,
};
use crate::runtime;
use anyhow::Context;
use glasshouse_model::signing;
use glasshouse_model::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// Days before today whose figures the demo computes (a node agrees link
/// keys at most this far back).
const LINKED_DAYS: i64 = 7;

struct Node {
    org: &'static str,
    listen: SocketAddr,
    dir: PathBuf,
}

impl Node {
    fn config(&self) -> PathBuf {
        self.dir.join(super::CONFIG_FILE)
    }
    fn url(&self) -> String {
        format!("http://{}", self.listen)
    }
}

/// The agreements between the three nodes: GOV.UK with mygov.scot
/// (exact counts over `k`) and GOV.UK with gov.wales (under ε).
fn agreements(nodes: &[Node], keys: &[String]) -> String {
    let node = |i: usize| {
        format!(
            "{{ organisation = \"{}\", url = \"{}\", key = \"{}\" }}",
            nodes[i].org,
            nodes[i].url(),
            keys[i]
        )
    };
    let figure = |id: &str, title: &str, from: &str, site: &str, to: &str| {
        format!("\n[[agreements.figures]]\nid = \"{id}\"\ntitle = \"{title}\"\nsteps = [{{ site = \"www.gov.uk\", page = \"{from}\" }}, {{ site = \"{site}\", page = \"{to}\" }}]\n")
    };
    let mut c = format!(
        "\n[[agreements]]\nid = \"gov-uk-mygov-scot-federated\"\ntitle = \"GOV.UK to mygov.scot journeys, computed between the two governments' nodes\"\nparties = [\"cabinet-office\", \"scottish-government\"]\nsites = [\"www.gov.uk\", \"www.mygov.scot\"]\npurposes = [\"service-improvement\"]\nmetrics = [\"visitors\"]\nk = 5\nstart = \"2025-04-01\"\nend = \"2028-03-31\"\nsignatories = [\"Director of Digital, Government Digital Service, Cabinet Office\", \"Chief Digital Officer, Scottish Government\"]\nnodes = [{}, {}]\n",
        node(0),
        node(1)
    );
    c += &figure(
        "council-tax-reduction",
        "Looked for council tax reduction on GOV.UK, then read mygov.scot's",
        "/apply-council-tax-reduction",
        "www.mygov.scot",
        "/council-tax-reduction**",
    );
    c += &figure(
        "driving-licences",
        "Renewing a driving licence on GOV.UK, then mygov.scot's driving licence pages",
        "/renew-driving-licence",
        "www.mygov.scot",
        "/driving-licences**",
    );
    c += &format!(
        "\n[[agreements]]\nid = \"gov-uk-gov-wales-federated\"\ntitle = \"GOV.UK to GOV.WALES journeys, computed between the two governments' nodes\"\nparties = [\"cabinet-office\", \"welsh-government\"]\nsites = [\"www.gov.uk\", \"gov.wales\"]\npurposes = [\"service-improvement\"]\nmetrics = [\"visitors\"]\nk = 5\nepsilon_per_month = 31.0\nstart = \"2025-04-01\"\nend = \"2028-03-31\"\nsignatories = [\"Director of Digital, Government Digital Service, Cabinet Office\", \"Chief Digital Officer, Welsh Government\"]\nnodes = [{}, {}]\n",
        node(0),
        node(2)
    );
    c += &figure(
        "council-tax-reduction",
        "Looked for council tax reduction on GOV.UK, then went to GOV.WALES's",
        "/apply-council-tax-reduction",
        "gov.wales",
        "/council-tax-reduction**",
    );
    c += &figure(
        "register-to-vote",
        "Registering to vote on GOV.UK, then GOV.WALES's page about it",
        "/register-to-vote",
        "gov.wales",
        "/register-vote**",
    );
    c
}

/// Runs the federated demo in `data`: this process serves the Cabinet
/// Office's node at `listen`, the others serve on the next two ports.
pub fn run(data: &Path, listen: SocketAddr, days: u32, events: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let data = data.canonicalize()?;
    let nodes: Vec<Node> = sites::ORGANISATIONS
        .iter()
        .enumerate()
        .map(|(i, (org, _))| Node {
            org,
            listen: SocketAddr::new(listen.ip(), listen.port() + i as u16),
            dir: data.join(org),
        })
        .collect();
    let secrets_path = data.join(super::SECRETS_FILE);
    if !nodes[0].config().exists() {
        // Each node's directory is held while it is filled.
        let mut locks = Vec::new();
        for n in &nodes {
            std::fs::create_dir_all(&n.dir)?;
            locks.push(glasshouse_store::datadir::DataDir::lock(&n.dir)?);
        }
        set_up(&data, &nodes, &secrets_path, days, events)?;
        drop(locks);
    }
    let secrets: Secrets = toml::from_str(&std::fs::read_to_string(&secrets_path)?)?;
    let _others: Vec<Served> = nodes[1..]
        .iter()
        .map(spawn)
        .collect::<anyhow::Result<_>>()?;
    let first = &nodes[0];
    let dir = glasshouse_store::datadir::DataDir::lock(&first.dir)?;
    let config = Config::load(&first.config())?;
    runtime::serve(dir, config, &first.config(), move |config| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for n in &nodes {
            let _ = writeln!(out, "node {}: {}", n.org, n.url());
        }
        for (org, token) in &secrets.organisation_tokens {
            let _ = writeln!(out, "token {org}: {token}");
        }
        let _ = writeln!(out, "dashboard: http://{}/", config.listen);
        let _ = writeln!(out, "login: {} {}", secrets.username, secrets.password);
        let _ = writeln!(out, "api token: {}", secrets.api_token);
        let _ = writeln!(out, "tracker: <script defer data-site=\"www.gov.uk\" src=\"http://{}/js/glasshouse.js\"></script>", config.listen);
        let _ = out.flush();
    })
}

fn set_up(
    data: &Path,
    nodes: &[Node],
    secrets_path: &Path,
    days: u32,
    events: u64,
) -> anyhow::Result<()> {
    let secrets = new_secrets();
    write_private(&secrets_path.to_path_buf(), &toml::to_string(&secrets)?)?;
    let keys = org_keys(data)?;
    let mut node_keys = Vec::new();
    for n in nodes {
        let key = key_file(&data.join("keys").join(format!("{}-node.key", n.org)))?;
        node_keys.push(signing::public_key_string(&key));
    }
    let agreements = agreements(nodes, &node_keys);
    for n in nodes {
        std::fs::create_dir_all(&n.dir)?;
        let layout = NodeLayout {
            organisation: n.org,
            agreements: &agreements,
            key_file: &data.join("keys").join(format!("{}-node.key", n.org)),
        };
        let text = demo_config(&secrets, n.listen, &n.dir, None, Some(&layout))?;
        let signed = signing::sign_config(
            &text,
            super::CONFIG_FILE,
            |o| keys.get(o).cloned(),
            |_, _| true,
            chrono::Utc::now(),
        )?;
        std::fs::write(n.config(), signed)?;
    }
    let configs: Vec<Config> = nodes
        .iter()
        .map(|n| Config::load(&n.config()))
        .collect::<Result<_, _>>()?;
    let opened: Vec<std::sync::Arc<glasshouse_federation::Node>> = configs
        .iter()
        .map(|c| glasshouse_federation::Node::open(c)?.context("a node configuration"))
        .collect::<anyhow::Result<_>>()?;
    link_keys(&configs, &opened)?;
    for (c, n) in configs.iter().zip(&opened) {
        let started = std::time::Instant::now();
        let stored = super::traffic::load(c, days, events, Some(n))?;
        n.sync()?;
        eprintln!(
            "{}: loaded {stored} demo events of its own site in {:.1} s",
            n.organisation(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The link keys of the last week and today between every pair of nodes.
fn link_keys(
    configs: &[Config],
    nodes: &[std::sync::Arc<glasshouse_federation::Node>],
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let today = now.date_naive();
    for a in configs[0].agreements.iter().filter(|a| !a.nodes.is_empty()) {
        let i = nodes
            .iter()
            .position(|n| n.organisation() == a.nodes[0].organisation)
            .context("node")?;
        let j = nodes
            .iter()
            .position(|n| n.organisation() == a.nodes[1].organisation)
            .context("node")?;
        let (first, second) = if nodes[i].organisation() < nodes[j].organisation() {
            (i, j)
        } else {
            (j, i)
        };
        for back in 0..=LINKED_DAYS {
            let day = today - chrono::Duration::days(back);
            nodes[first]
                .handshake_with(&nodes[second], &configs[second], a, day, now)
                .map_err(|why| anyhow::anyhow!("agreeing the link key of {day}: {why}"))?;
        }
    }
    Ok(())
}

/// A node served by a child process, stopped with this one.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn spawn(n: &Node) -> anyhow::Result<Served> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--config"]).arg(n.config());
    // SAFETY: prctl only sets a flag of the child: it is stopped if this
    // process dies without stopping it.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting the {} node", n.org))?;
    let served = Served(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(n.listen).is_err() {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the {} node did not start",
            n.org
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(served)
}
