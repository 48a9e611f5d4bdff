//! `GET /transparency.json`: the register as a stable machine-readable
//! document, for journalists, researchers and partner organisations who
//! want to check or archive it rather than read it.
//!
//! The shape is versioned by `format`; fields are added, never renamed or
//! removed, within one version.

use crate::collected::{
    Tier, COLLECTED, NOT_COLLECTED, OPTOUT_PATH, PSEUDONYMISATION, SALT_DAYS_KEPT, SALT_LIFETIME,
    SCRUBBED, VISITOR_COUNTING, VISITOR_ID_BITS, VISIT_GAP_MINUTES,
};
use crate::inventory::{AuditPage, Inventory};
use crate::scope::{agreement_status, Scope};
use crate::DPIA_PATH;
use chrono::SecondsFormat;
use glasshouse_model::{Agreement, Config, PurposeCategory, Site};
use serde_json::{json, Value};

/// The value of the document's `format` field.
pub const FORMAT: &str = "glasshouse-transparency-v1";

/// Why the fixed list of purpose categories has no political category, said
/// in the register itself so the absence is a stated promise.
pub const NO_POLITICAL_CATEGORY: &str = "There is no category for political or campaigning use. Purposes can only be declared with one of these categories, so data collected here cannot be used to target, persuade or profile people politically.";

/// The whole register as JSON. `audit` is the page of audit entries to
/// include; "today" (for `in_force`) is the inventory's `generated_at`.
pub fn json(config: &Config, inventory: &Inventory, audit: &AuditPage) -> Value {
    let scope = Scope::new(config, None, inventory.generated_at);
    json!({
        "format": FORMAT,
        "installation": {
            "generated_at": inventory.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "store": inventory.store_backend,
            "public_url": config.public_url,
            "country_lookup": !config.geoip_database.is_empty(),
        },
        "collected": COLLECTED,
        "retention_tiers": Tier::ALL.iter().map(|t| json!({
            "id": t.slug(),
            "label": t.label(),
            "description": t.description(),
        })).collect::<Vec<_>>(),
        "not_collected": NOT_COLLECTED,
        "scrubbed": SCRUBBED,
        "visitor_counting": {
            "description": VISITOR_COUNTING,
            "hash": "BLAKE3 keyed with the day's salt over (scope, IP address, BLAKE3 digest of the User-Agent)",
            "visitor_id_bits": VISITOR_ID_BITS,
            "salt": {
                "bytes": 32,
                "rotates": "at midnight UTC",
                "days_kept": SALT_DAYS_KEPT,
                "description": SALT_LIFETIME,
            },
            "visit_gap_minutes": VISIT_GAP_MINUTES,
            "cookies": false,
            "pseudonymisation": PSEUDONYMISATION,
            "do_not_track_honoured": true,
            "global_privacy_control_honoured": true,
            "optout": OPTOUT_PATH,
            "bots_dropped": true,
        },
        "organisations": config.organisations.iter().map(|o| json!({
            "id": o.id,
            "name": o.name,
            "dpo": o.dpo,
            "privacy_notice": o.privacy_notice,
        })).collect::<Vec<_>>(),
        "purposes": {
            "declared": config.purposes.iter().map(|p| json!({
                "id": p.id,
                "description": p.description,
                "lawful_basis": p.lawful_basis,
                "category": p.category.slug(),
                "category_label": p.category.label(),
            })).collect::<Vec<_>>(),
            "allowed_categories": PurposeCategory::ALL.iter().map(|c| json!({
                "slug": c.slug(),
                "label": c.label(),
            })).collect::<Vec<_>>(),
            "note": NO_POLITICAL_CATEGORY,
        },
        "sites": config.sites.iter().map(|s| site(&scope, inventory, s)).collect::<Vec<_>>(),
        "agreements": config.agreements.iter().map(|a| agreement(&scope, a)).collect::<Vec<_>>(),
        "links": inventory.links.iter().map(|l| json!({
            "id": l.id,
            "site": l.site,
            "organisation": l.organisation,
            "purpose": l.purpose,
            "created": l.created,
            "expires": l.expires.map(|e| e.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "password": l.password,
            "segment": l.segment,
            "embed": l.embed,
        })).collect::<Vec<_>>(),
        "audit_log": {
            "size": inventory.audit_log_size,
            "latest_checkpoint": inventory.audit_checkpoint,
            "public_key": inventory.audit_public_key,
            "verified": audit.verified,
            "page": audit.page,
            "per_page": audit.per_page,
            "total": audit.total,
            "pages": audit.pages(),
            "entries": audit.entries,
        },
        "dpia": DPIA_PATH,
    })
}

fn site(scope: &Scope, inventory: &Inventory, s: &Site) -> Value {
    let visitor_scope = match scope.journey_agreement(&s.host) {
        None => json!({ "kind": "site", "description": "this site only" }),
        Some(a) => json!({
            "kind": "agreement",
            "description": "the sites of a journey agreement",
            "agreement": a.id,
            "sites": a.sites,
        }),
    };
    let live = inventory.site(&s.host);
    json!({
        "host": s.host,
        "organisation": s.organisation,
        "purposes": s.purposes,
        "raw_retention_days": s.raw_retention_days,
        "aggregate_retention_days": s.aggregate_retention_days,
        "query_params": s.query_params,
        "props": s.props,
        "props_note": match &s.props {
            None => "any property key is kept (values are still scrubbed)",
            Some(_) => "only these property keys are kept (values are scrubbed)",
        },
        "visitor_scope": visitor_scope,
        "agreements": scope.config.agreements.iter().filter(|a| a.covers(&s.host)).map(|a| a.id.as_str()).collect::<Vec<_>>(),
        "inventory": {
            "events_stored": live.events_stored,
            "oldest_event": live.oldest_event.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "visitors_last_30_days": live.visitors_last_30_days,
        },
    })
}

fn agreement(scope: &Scope, a: &Agreement) -> Value {
    json!({
        "id": a.id,
        "title": a.title,
        "parties": a.parties,
        "sites": a.sites,
        "purposes": a.purposes,
        "metrics": a.metrics,
        "breakdowns": a.breakdowns,
        "journeys": a.journeys,
        "publish": a.publish,
        "k": a.k,
        "epsilon_per_month": a.epsilon_per_month,
        "start": a.start.to_string(),
        "end": a.end.map(|d| d.to_string()),
        "signatories": a.signatories,
        "signatures": a.signatures,
        "unsigned_by": a.unsigned_by(),
        "in_force": a.in_force(scope.today),
        "status": agreement_status(a, scope.today).0,
        "linked_ids_held_by_operator": a.journeys,
        "federation": (!a.nodes.is_empty()).then(|| json!({
            "nodes": a.nodes.iter().map(|n| json!({"organisation": n.organisation, "url": n.url, "key": n.key})).collect::<Vec<_>>(),
            "figures": a.figures,
            "computed_by": crate::federation::COMPUTED_BY,
            "no_node_receives": crate::federation::NO_NODE_RECEIVES,
        })),
    })
}
