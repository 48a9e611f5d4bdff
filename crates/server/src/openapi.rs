//! The OpenAPI 3.1 description of the public HTTP API, served at
//! `/api/openapi.json`. It is written out here rather than derived, because
//! the API's shape is a compatibility contract (Plausible's) that must not
//! drift when handlers are refactored; a test checks that every route the
//! router serves is described.

use axum::Json;
use serde_json::{json, Value};

fn param(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": {"type": "string"}, "description": description})
}

fn stats_params(extra: Vec<Value>) -> Vec<Value> {
    let mut p = vec![
        param("site_id", true, "Host of the site, e.g. www.gov.uk."),
        param("period", false, "day, 7d, 30d (default), month, 6mo, 12mo, year or custom."),
        param("date", false, "Anchor date YYYY-MM-DD (default today, UTC); for custom: YYYY-MM-DD,YYYY-MM-DD."),
        param("filters", false, "Plausible v1 filters: event:page==/a|/b;visit:country!=GB;event:page~tax. == is, != is not, ~ contains, !~ does not contain; * and ** are wildcards in page filters."),
        param("segment", false, "Id of a saved segment (GET /api/v1/segments): its filters are added to filters."),
        param("purpose", false, "Id of the declared purpose the question is asked for (default: the site's first); another organisation's site is answered only under an agreement that allows it."),
    ];
    p.extend(extra);
    p
}

fn metrics_param() -> Value {
    param("metrics", false, "Comma-separated: visitors (default), visits, pageviews, views_per_visit, bounce_rate, visit_duration, events.")
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
        "404": {"$ref": "#/components/responses/NotFound"}
    })
}

/// The document.
pub fn spec() -> Value {
    let mut doc = core();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), sharing()) {
        paths.extend(more);
    }
    doc
}

/// Shared links and saved segments.
fn sharing() -> Value {
    let secured = json!([{"bearer": []}]);
    json!({
            "/api/v1/links": {
                "get": {"summary": "The site's shared links that work now (never their secret); analysts and admins", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                        "responses": ok("The links", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/SharedLink"}}}}))},
                "post": {"summary": "Make a read-only link to the site's dashboard for people without an account (analysts and admins); audited",
                         "description": "The answer's url holds the link's secret and is shown only this once. The link reads as the caller's organisation under `purpose`, limited to `segment`; a partner's figures appear only where their agreement sets publish = true. Its views are written to the audit log once a day per link.",
                         "security": secured,
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["site_id"], "properties": {
                             "site_id": {"type": "string"}, "purpose": {"type": "string", "description": "A purpose the site allows; its first by default."},
                             "expires": {"type": "string", "description": "A last day (YYYY-MM-DD, in the site's time zone) or an instant (RFC 3339)."},
                             "password": {"type": "string", "maxLength": 1024}, "segment": {"type": "string", "description": "Id of a saved segment."},
                             "embed": {"type": "array", "items": {"type": "string"}, "maxItems": 10, "description": "Origins (https://host) whose pages may show it in a frame; not with a password."}}}}}},
                         "responses": {"201": {"description": "Made: the link with its url", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SharedLink"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
            },
            "/api/v1/links/{id}": {
                "delete": {"summary": "Withdraw a link: it answers 404 at once", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                           "responses": {"204": {"description": "Withdrawn"}, "404": {"$ref": "#/components/responses/NotFound"}}}
            },
            "/api/v1/segments": {
                "get": {"summary": "Saved segments of a site the caller may apply (their own and the organisation's shared ones)", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                        "responses": ok("The segments", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Segment"}}}}))},
                "post": {"summary": "Save a segment: a name and Stats API v2 filters, personal or shared with the organisation (sharing: analysts and admins)", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "filters"], "properties": {"name": {"type": "string", "maxLength": 100}, "filters": {"type": "array"}, "shared": {"type": "boolean"}}}}}},
                         "responses": {"201": {"description": "Saved", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Segment"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
            },
            "/api/v1/segments/{id}": {
                "put": {"summary": "Change a segment (its owner; a shared one, analysts and admins)", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, param("site_id", true, "Host of the site.")],
                        "responses": {"200": {"description": "Changed"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "delete": {"summary": "Delete a segment", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, param("site_id", true, "Host of the site.")],
                           "responses": {"204": {"description": "Deleted"}, "404": {"$ref": "#/components/responses/NotFound"}}}
            },
            "/share/{secret}": {"get": {"summary": "A shared link's read-only dashboard (HTML, no sign-in; a password form first if it has one; ?embed=true for a frame). 404 once withdrawn or expired", "parameters": [{"name": "secret", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "HTML"}, "404": {"description": "The link does not work"}}}}
    })
}

/// Everything else.
fn core() -> Value {
    let secured = json!([{"bearer": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "glasshouse",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Privacy-preserving web analytics for public services. The Events and Stats APIs keep the paths, parameters and answers of Plausible's, so existing clients work by changing the host."
        },
        "paths": {
            "/api/event": {"post": {
                "summary": "Record a page view or custom event",
                "description": "Plausible-compatible Events API. The User-Agent and client IP are taken from the request and used only in memory. 202 means the event is durably stored; a 202 with x-glasshouse-dropped means it was deliberately not recorded (bot, do-not-track, opted-out).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}, "text/plain": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                "responses": {
                    "202": {"description": "Stored (or deliberately dropped, see x-glasshouse-dropped)", "headers": {"x-glasshouse-dropped": {"schema": {"type": "string", "enum": ["bot", "do-not-track", "opted-out"]}}}},
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "413": {"$ref": "#/components/responses/BadRequest"},
                    "503": {"description": "The ingest queue is full; retry shortly", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                }
            }},
            "/api/v1/stats/aggregate": {"get": {
                "summary": "Totals over a period",
                "security": secured,
                "parameters": stats_params(vec![metrics_param(), param("compare", false, "previous_period adds a change (percent; points for bounce_rate) against the period before.")]),
                "responses": ok("Totals", json!({"type": "object", "properties": {"results": {"type": "object", "additionalProperties": {"type": "object", "properties": {"value": {"type": "number"}, "change": {"type": "number"}}}}}}))
            }},
            "/api/v1/stats/timeseries": {"get": {
                "summary": "Metrics per time bucket",
                "security": secured,
                "parameters": stats_params(vec![metrics_param(), param("interval", false, "hour, day (or date), week or month; defaults to hour for one day, day up to 92 days, month beyond.")]),
                "responses": ok("One row per bucket, empty buckets included", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"date": {"type": "string"}}, "additionalProperties": {"type": "number"}}}}}))
            }},
            "/api/v1/stats/breakdown": {"get": {
                "summary": "Metrics per value of a property",
                "security": secured,
                "parameters": stats_params(vec![
                    param("property", true, "event:page, event:name, event:hostname, event:props:KEY, visit:entry_page, visit:exit_page, visit:source, visit:referrer, visit:utm_source, visit:utm_medium, visit:utm_campaign, visit:utm_content, visit:utm_term, visit:browser, visit:browser_version, visit:os, visit:os_version, visit:device, visit:country, visit:region (ISO 3166-2, e.g. GB-SCT)."),
                    metrics_param(),
                    param("limit", false, "Rows per page, 1 to 1000 (default 100)."),
                    param("page", false, "Page number from 1."),
                ]),
                "responses": ok("Rows, largest first by the first metric", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object"}}}}))
            }},
            "/api/v1/stats/realtime/visitors": {"get": {
                "summary": "Visitors in the last 5 minutes",
                "security": secured,
                "parameters": [param("site_id", true, "Host of the site.")],
                "responses": ok("A number", json!({"type": "integer"}))
            }},
            "/api/v1/stats/next-pages": {"get": {
                "summary": "Pages viewed right after a page, across the sites of a journey agreement",
                "security": secured,
                "parameters": stats_params(vec![param("page", true, "Path of the page, e.g. /apply.")]),
                "responses": ok("Most visits first", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/PathRow"}}}}))
            }},
            "/api/v1/stats/previous-pages": {"get": {
                "summary": "Pages viewed right before a page, across the sites of a journey agreement",
                "security": secured,
                "parameters": stats_params(vec![param("page", true, "Path of the page, e.g. /apply.")]),
                "responses": ok("Most visits first", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/PathRow"}}}}))
            }},
            "/api/v1/stats/paths": {"get": {
                "summary": "Journeys through a page, several steps both ways, as Sankey nodes and links",
                "security": secured,
                "parameters": stats_params(vec![
                    param("page", true, "Path of the page explored."),
                    param("depth", false, "Steps either way, 1 to 5 (default 3)."),
                    param("branches", false, "Pages kept per position, 1 to 20 (default 6); the rest are (other pages)."),
                ]),
                "responses": ok("Nodes (position, site, page, kind: page, entrance, exit or other) and links (source, target, visits, visitors)", json!({"type": "object", "properties": {"page": {"$ref": "#/components/schemas/PathRow"}, "nodes": {"type": "array", "items": {"type": "object"}}, "links": {"type": "array", "items": {"type": "object"}}}}))
            }},
            "/api/v1/stats/funnel": {"post": {
                "summary": "Visits reaching each step of a funnel, in order",
                "security": secured,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FunnelRequest"}}}},
                "responses": ok("One row per step; comparison when asked", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/FunnelRow"}}, "comparison": {"type": "object"}}}))
            }},
            "/api/v2/query": {"post": {
                "summary": "Plausible's Stats API v2 query: metrics, a date range, one dimension (a property or time), a filter tree, order, pagination, comparisons",
                "security": secured,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["site_id", "metrics", "date_range"], "properties": {
                    "site_id": {"type": "string"},
                    "metrics": {"type": "array", "items": {"type": "string"}},
                    "date_range": {"oneOf": [{"type": "string", "enum": ["day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all"]}, {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2, "maxItems": 2}]},
                    "dimensions": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
                    "filters": {"type": "array"},
                    "order_by": {"type": "array"},
                    "include": {"type": "object"},
                    "pagination": {"type": "object", "properties": {"limit": {"type": "integer"}, "offset": {"type": "integer"}}},
                    "purpose": {"type": "string"}
                }}}}},
                "responses": ok("Rows of metrics and dimensions, with meta and the query as understood", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"metrics": {"type": "array"}, "dimensions": {"type": "array"}, "comparison": {"type": "object"}}}}, "meta": {"type": "object"}, "query": {"type": "object"}}}))
            }},
            "/api/v1/funnels": {
                "get": {"summary": "Saved funnels of a site", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                        "responses": ok("The funnels", json!({"type": "object", "properties": {"funnels": {"type": "array", "items": {"$ref": "#/components/schemas/SavedFunnel"}}}}))},
                "post": {"summary": "Save a funnel (a signed-in browser sends x-csrf-token)", "security": secured,
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FunnelDefinition"}}}},
                         "responses": {"201": {"description": "Saved"}, "400": {"$ref": "#/components/responses/BadRequest"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
            },
            "/api/v1/funnels/{id}": {
                "put": {"summary": "Change a saved funnel", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FunnelDefinition"}}}},
                        "responses": {"200": {"description": "Changed"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "delete": {"summary": "Delete a saved funnel", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, param("site_id", true, "Host of the site.")],
                           "responses": {"204": {"description": "Deleted"}, "404": {"$ref": "#/components/responses/NotFound"}}}
            },
            "/api/v1/federation": {
                "get": {"summary": "Agreements between nodes the site takes part in, with their figures (docs/federation.md)", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                        "responses": ok("The agreements and figures", json!({"type": "object"}))}
            },
            "/api/v1/federation/figures": {
                "get": {"summary": "Each finished day's figure computed with the partner's node by private set intersection: released (with noise bounds under ε), withheld under k, pending, not-linked or unavailable", "security": secured,
                        "parameters": stats_params(vec![param("agreement", true, "Id of the agreement between nodes.")]),
                        "responses": ok("The figures, day by day", json!({"type": "object", "properties": {"results": {"type": "array"}}}))}
            },
            "/api/v1/annotations": {
                "get": {"summary": "Annotations of a site (dated notes), by date", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                        "responses": ok("The annotations", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "date": {"type": "string", "format": "date"}, "text": {"type": "string"}}}}}}))},
                "post": {"summary": "Add an annotation (analysts and admins; a signed-in browser sends x-csrf-token); audited by id, not text", "security": secured, "parameters": [param("site_id", true, "Host of the site.")],
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["date", "text"], "properties": {"date": {"type": "string", "format": "date"}, "text": {"type": "string", "maxLength": 500}}}}}},
                         "responses": {"201": {"description": "Added"}, "400": {"$ref": "#/components/responses/BadRequest"}, "403": {"$ref": "#/components/responses/Forbidden"}}}
            },
            "/api/v1/annotations/{id}": {
                "put": {"summary": "Change an annotation", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, param("site_id", true, "Host of the site.")],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["date", "text"], "properties": {"date": {"type": "string", "format": "date"}, "text": {"type": "string", "maxLength": 500}}}}}},
                        "responses": {"200": {"description": "Changed"}, "404": {"$ref": "#/components/responses/NotFound"}}},
                "delete": {"summary": "Delete an annotation", "security": secured, "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, param("site_id", true, "Host of the site.")],
                           "responses": {"204": {"description": "Deleted"}, "404": {"$ref": "#/components/responses/NotFound"}}}
            },
            "/api/v1/admin/reload": {"post": {
                "summary": "Read the configuration file again and apply it; recorded in the audit log",
                "description": "An operator token only. The file is validated whole: on any mistake nothing changes and the answer names the file, line and field.",
                "security": secured,
                "responses": {"200": {"description": "Applied: {\"reloaded\": true, \"changes\": [...]}"}, "400": {"$ref": "#/components/responses/BadRequest"}, "403": {"$ref": "#/components/responses/Forbidden"}}
            }},
            "/transparency": {"get": {"summary": "The public transparency register (HTML), for the installation or ?site=HOST; audit log paged with ?page=N", "responses": {"200": {"description": "HTML"}, "404": {"$ref": "#/components/responses/NotFound"}}}},
            "/transparency.json": {"get": {"summary": "The transparency register for machines", "responses": {"200": {"description": "JSON"}}}},
            "/transparency/dpia": {"get": {"summary": "The data protection impact assessment (HTML, or Markdown with ?format=md), for the installation or ?site=HOST", "responses": {"200": {"description": "HTML or Markdown"}}}},
            "/transparency/log/checkpoint": {"get": {"summary": "The audit log's latest signed checkpoint (C2SP signed note, Ed25519)", "responses": {"200": {"description": "text/plain"}}}},
            "/transparency/log/key": {"get": {"summary": "The audit log's verifier key", "responses": {"200": {"description": "text/plain"}}}},
            "/transparency/log/entries": {"get": {"summary": "Audit log entries", "parameters": [param("start", false, "First index (default 0)."), param("count", false, "At most 1000 (default 100).")], "responses": {"200": {"description": "{\"size\", \"entries\": [{\"index\", \"entry\"}]}"}}}},
            "/transparency/log/proof/inclusion": {"get": {"summary": "RFC 6962 inclusion proof", "parameters": [param("index", true, "Entry index."), param("size", true, "Tree size.")], "responses": {"200": {"description": "{\"index\", \"size\", \"leaf_hash\", \"proof\"}"}, "400": {"$ref": "#/components/responses/BadRequest"}}}},
            "/transparency/log/proof/consistency": {"get": {"summary": "RFC 6962 consistency proof", "parameters": [param("old", true, "Older tree size."), param("new", true, "Newer tree size.")], "responses": {"200": {"description": "{\"old\", \"new\", \"proof\"}"}, "400": {"$ref": "#/components/responses/BadRequest"}}}},
            "/metrics": {"get": {"summary": "Prometheus/OpenMetrics counters: events accepted, dropped and rejected by reason, ingest queue, commit and query latency, salts, audit log size (operator token)", "security": secured, "responses": {"200": {"description": "text"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
            "/js/glasshouse.js": {"get": {"summary": "The tracker script", "responses": {"200": {"description": "JavaScript"}}}},
            "/js/plausible-objection.js": {"get": {"summary": "The /optout hand-off for sites on Plausible's tracker (sets localStorage.plausible_ignore)", "responses": {"200": {"description": "JavaScript"}}}},
            "/optout": {"get": {"summary": "The page where a visitor objects to being counted", "responses": {"200": {"description": "HTML"}}}},
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "{\"status\":\"ok\"}"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API token; the configuration holds its SHA-256."}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "PathRow": {"type": "object", "required": ["site", "page", "visits", "visitors"], "properties": {"site": {"type": "string"}, "page": {"type": "string"}, "visits": {"type": "integer"}, "visitors": {"type": "integer"}}},
                "FunnelStep": {"oneOf": [
                    {"type": "object", "required": ["page"], "properties": {"page": {"type": "string", "description": "Path pattern: * within a segment, ** across"}, "site": {"type": "string", "description": "Another site of a journey agreement"}}},
                    {"type": "object", "required": ["event"], "properties": {"event": {"type": "string"}}}
                ]},
                "FunnelRequest": {"type": "object", "required": ["site_id", "steps"], "properties": {
                    "site_id": {"type": "string"}, "period": {"type": "string"}, "date": {"type": "string"}, "filters": {"type": "string"}, "purpose": {"type": "string"},
                    "steps": {"type": "array", "minItems": 2, "maxItems": 8, "items": {"$ref": "#/components/schemas/FunnelStep"}},
                    "compare": {"type": "string", "enum": ["previous_period"]}}},
                "FunnelRow": {"type": "object", "properties": {"step": {"type": "integer"}, "label": {"type": "string"}, "visits": {"type": ["integer", "null"]}, "visitors": {"type": ["integer", "null"]}, "conversion_rate": {"type": ["number", "null"]}, "dropoff": {"type": ["integer", "null"]}, "median_seconds": {"type": ["number", "null"]}, "suppressed": {"type": "boolean"}}},
                "SharedLink": {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string", "description": "Only in the answer that made it."}, "site_id": {"type": "string"}, "purpose": {"type": "string"}, "created": {"type": "string"}, "expires": {"type": ["string", "null"]}, "password": {"type": "boolean"}, "segment": {"type": ["object", "null"]}, "embed": {"type": "array", "items": {"type": "string"}}}},
                "Segment": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "filters": {"type": "array"}, "shared": {"type": "boolean"}, "mine": {"type": "boolean"}}},
                "FunnelDefinition": {"type": "object", "required": ["site_id", "name", "steps"], "properties": {"site_id": {"type": "string"}, "name": {"type": "string", "maxLength": 120}, "steps": {"type": "array", "minItems": 2, "maxItems": 8, "items": {"$ref": "#/components/schemas/FunnelStep"}}}},
                "SavedFunnel": {"type": "object", "properties": {"id": {"type": "string"}, "site": {"type": "string"}, "name": {"type": "string"}, "steps": {"type": "array", "items": {"$ref": "#/components/schemas/FunnelStep"}}, "updated": {"type": "string", "format": "date-time"}}},
                "Event": {"type": "object", "required": ["name", "url", "domain"], "properties": {
                    "name": {"type": "string", "maxLength": 120, "description": "pageview or a custom event name (short key n)"},
                    "url": {"type": "string", "maxLength": 2000, "description": "Full URL of the page (u)"},
                    "domain": {"type": "string", "description": "Configured site host, or several separated by commas (d)"},
                    "referrer": {"type": ["string", "null"], "maxLength": 2000, "description": "(r)"},
                    "props": {"description": "Custom properties: an object of scalars, at most 30 (p)", "oneOf": [{"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}, {"type": "string"}]},
                    "interactive": {"type": "boolean", "default": true, "description": "false for events that should not affect bounce rate (i)"},
                    "revenue": {"type": "object", "required": ["amount", "currency"], "properties": {"amount": {"type": ["number", "string"]}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}, "description": "($)"}
                }}
            },
            "responses": {
                "BadRequest": {"description": "The request is wrong; the reason says how", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Unauthorized": {"description": "Missing or invalid API token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Forbidden": {"description": "The token may not query this site", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "NotFound": {"description": "No such site", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
