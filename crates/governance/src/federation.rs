//! What the register says about agreements between nodes, and about
//! journeys linked in one installation: where the linked ids are, and
//! who could see them (docs/federation.md).

use crate::escape::escape;
use crate::scope::Scope;
use glasshouse_model::Agreement;
use std::fmt::Write;

/// How a figure between nodes is computed, in one sentence.
pub const COMPUTED_BY: &str = "private set intersection cardinality between the two nodes (Diffie–Hellman on ristretto255 over link ids made with a key the nodes agree each day and erase when it ends); the count then gets the agreement's k and differential-privacy noise";

/// What no node ever receives.
pub const NO_NODE_RECEIVES: &str = "No node receives another node's events, visitor ids or link ids; each node's operator sees exact counts for its own side (the size of the sets, and for the counting node the intersection before noise), and k and ε protect what is released beyond the two nodes.";

/// The plain statement for journeys linked inside one installation.
pub const OPERATOR_HOLDS_IDS: &str = "Yes: a visit that moves between these sites on the same day is counted as one journey. To link them, this installation gives a visitor the same daily id on all these sites, so the organisation that operates it holds pseudonymous ids that tie one person's visits to every party's sites for that day (personal data). Each organisation running its own node avoids this (docs/federation.md).";

/// The federation part of an agreement's entry: the nodes, their keys,
/// the figures and how they are computed.
pub fn html(h: &mut String, scope: &Scope, a: &Agreement) {
    if a.nodes.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h4 class=\"govuk-heading-s\">Each organisation keeps its own data</h4>\n<p class=\"govuk-body\">{}</p>",
        escape(NO_NODE_RECEIVES)
    );
    let _ = writeln!(h, "<ul class=\"govuk-list govuk-list--bullet\">");
    for n in &a.nodes {
        let _ = writeln!(
            h,
            "<li>{} runs its node at <code>{}</code>, key <code>{}</code></li>",
            escape(&scope.org_name(&n.organisation)),
            escape(&n.url),
            escape(&n.key)
        );
    }
    let _ = writeln!(h, "</ul>");
    for f in &a.figures {
        let _ = writeln!(
            h,
            "<p class=\"govuk-body\"><strong>{}</strong> (<code>{}</code>): visitors who {}, then {} the same day. Computed by {}.</p>",
            escape(&f.title),
            escape(&f.id),
            escape(&f.steps[0].describe()),
            escape(&f.steps[1].describe()),
            escape(COMPUTED_BY)
        );
    }
}
