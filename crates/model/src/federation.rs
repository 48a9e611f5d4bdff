//! Federation in the configuration: which node this installation is, the
//! partner nodes an agreement names (each with the address it answers on
//! and its pinned public key), and the cross-government figures it
//! declares (docs/federation.md).
//!
//! A node holds only its own organisation's events. Everything here is
//! part of the agreement's signed terms (`crate::signing::canonical`), so
//! no operator can point an agreement at another node or add a figure.

use serde::{Deserialize, Serialize};

/// Which organisation this installation is the node of, and where its
/// node key is (`[node]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSettings {
    /// The organisation whose events this node holds; other
    /// organisations' sites are declared only so agreements can name them.
    pub organisation: String,
    /// The node's Ed25519 key (32 bytes of base64, from `glasshouse
    /// agreement keygen`), which signs every message it sends.
    pub key_file: std::path::PathBuf,
}

/// A party's node as an agreement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementNode {
    /// The party that runs it.
    pub organisation: String,
    /// Its base URL, e.g. `https://analytics.gov.scot`.
    pub url: String,
    /// Its node key (`ed25519:BASE64`): messages from the node must verify with it.
    pub key: String,
}

/// A cross-government figure an agreement declares: visitors who did the
/// first step on one party's site and then the second on another party's,
/// on the same day, computed between their nodes by private set
/// intersection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// A slug unique within the agreement.
    pub id: String,
    /// What it counts, in words people read on the dashboard and register.
    pub title: String,
    /// The two steps, in order; each on a site of a different node.
    pub steps: [Step; 2],
}

/// One step of a figure: a page view on a path pattern, or a custom event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The site it happens on.
    pub site: String,
    /// A path pattern (`*` within a segment, `**` across), for page views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// A custom event's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

impl Step {
    /// Whether an event (name and path) completes the step.
    pub fn completed_by(&self, name: &str, path: &str) -> bool {
        match (&self.page, &self.event) {
            (Some(p), _) => name == "pageview" && crate::query::wildcard_matches(p, path),
            (None, Some(e)) => name == e,
            (None, None) => false,
        }
    }

    /// The step in words: `a page view on /apply/** on www.mygov.scot`.
    pub fn describe(&self) -> String {
        match (&self.page, &self.event) {
            (Some(p), _) => format!("viewed {p} on {}", self.site),
            (None, Some(e)) => format!("sent the event {e:?} on {}", self.site),
            (None, None) => String::new(),
        }
    }
}

/// A figure as written in the configuration (`[[agreements.figures]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFigure {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) steps: Vec<Step>,
}

/// `[node]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub(crate) organisation: String,
    pub(crate) key_file: std::path::PathBuf,
}

/// What an agreement needs to know of the configuration to check its
/// nodes and figures.
pub(crate) struct Context<'a> {
    pub(crate) parties: &'a [String],
    pub(crate) covered: &'a [String],
    pub(crate) site_org: &'a dyn Fn(&str) -> Option<(String, chrono_tz::Tz)>,
}

/// Checks an agreement's nodes and figures; the error names the key.
pub(crate) fn check(
    nodes: &[AgreementNode],
    raw: Vec<RawFigure>,
    cx: &Context,
) -> Result<Vec<Figure>, (&'static str, String)> {
    for (i, n) in nodes.iter().enumerate() {
        if !cx.parties.contains(&n.organisation) {
            return Err((
                "nodes",
                format!("{:?} is not a party to the agreement", n.organisation),
            ));
        }
        if nodes[..i].iter().any(|m| m.organisation == n.organisation) {
            return Err(("nodes", format!("{:?} has two nodes", n.organisation)));
        }
        if !(n.url.starts_with("https://") || n.url.starts_with("http://"))
            || url_host(&n.url).is_empty()
        {
            return Err(("nodes", format!("{:?} is not an http(s) URL", n.url)));
        }
        crate::signing::public_key(&n.key)
            .map_err(|why| ("nodes", format!("the key of {:?} {why}", n.organisation)))?;
    }
    if !raw.is_empty() && nodes.len() < 2 {
        return Err((
            "figures",
            "figures are computed between nodes: name at least two under nodes".into(),
        ));
    }
    if !nodes.is_empty() {
        let zones: Vec<_> = cx
            .covered
            .iter()
            .filter_map(|h| (cx.site_org)(h).map(|(_, tz)| tz))
            .collect();
        if zones.windows(2).any(|w| w[0] != w[1]) {
            return Err((
                "sites",
                "the sites of an agreement between nodes must share a timezone, which says when the day ends".into(),
            ));
        }
    }
    let mut out: Vec<Figure> = Vec::new();
    for f in raw {
        if !crate::config::is_slug(&f.id) || out.iter().any(|g| g.id == f.id) {
            return Err((
                "figures",
                format!("{:?} must be a slug no other figure uses", f.id),
            ));
        }
        let [first, second]: [Step; 2] = f
            .steps
            .try_into()
            .map_err(|_| ("figures", format!("{:?} needs exactly two steps", f.id)))?;
        let mut owners = Vec::new();
        for s in [&first, &second] {
            owners.push(
                check_step(s, nodes, cx)
                    .map_err(|why| ("figures", format!("figure {:?}: {why}", f.id)))?,
            );
        }
        if owners[0].0 == owners[1].0 {
            return Err((
                "figures",
                format!(
                    "figure {:?}: both steps are {:?}'s; a figure joins two nodes",
                    f.id, owners[0].0
                ),
            ));
        }
        if owners[0].1 != owners[1].1 {
            return Err((
                "figures",
                format!(
                    "figure {:?}: the two sites must share a timezone, which says when the day ends",
                    f.id
                ),
            ));
        }
        out.push(Figure {
            id: f.id,
            title: f.title,
            steps: [first, second],
        });
    }
    Ok(out)
}

fn check_step(
    s: &Step,
    nodes: &[AgreementNode],
    cx: &Context,
) -> Result<(String, chrono_tz::Tz), String> {
    let host = s.site.to_ascii_lowercase();
    if !cx.covered.contains(&host) {
        return Err(format!("{:?} is not a site of the agreement", s.site));
    }
    let (org, tz) = (cx.site_org)(&host).ok_or_else(|| format!("unknown site {host:?}"))?;
    if !nodes.iter().any(|n| n.organisation == org) {
        return Err(format!("{org:?} has no node in the agreement"));
    }
    match (&s.page, &s.event) {
        (Some(p), None) if p.starts_with('/') => Ok((org, tz)),
        (None, Some(e)) if !e.is_empty() => Ok((org, tz)),
        _ => Err("each step has either page = \"/path\" or event = \"Name\"".into()),
    }
}

/// The host of a base URL.
pub fn url_host(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
}
