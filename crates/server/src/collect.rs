//! `POST /api/event`: the collector.
//!
//! The body follows Plausible's Events API (`name`, `url`, `domain`,
//! `referrer`, `props`, `interactive`, `revenue`, or the tracker's short keys
//! `n u d r p i $`), so existing integrations work by changing the host.
//! The User-Agent and the client IP come from the request, are used by the
//! anonymiser in memory, and are gone when this handler returns.
//!
//! Answers: 202 once the event is durable; 202 with `x-glasshouse-dropped:
//! REASON` when it is deliberately not recorded (bot, Do Not Track, Global
//! Privacy Control, the visitor objected); 4xx with a JSON reason for bad
//! input; 503 when the ingest queue is full.

use crate::client_ip::client_ip;
use crate::{ApiError, App};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on_service, MethodFilter};
use glasshouse_privacy::{AnonymousEvent, Engagement, RawEvent, Rejection, Revenue};
use glasshouse_store::IngestError;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest accepted body, as the issue sets it: an event is small.
pub const MAX_BODY: usize = 8 * 1024;
pub use glasshouse_privacy::limits::accepted::{
    ENGAGEMENT_TIME as MAX_ENGAGEMENT_TIME, NAME as MAX_NAME, PROPS as MAX_PROPS,
    PROP_KEY as MAX_PROP_KEY, PROP_VALUE as MAX_PROP_VALUE, URL as MAX_URL,
};
/// Most distinct sites one event may be sent to (Plausible's roll-up
/// sites); each is one stored event.
pub const MAX_DOMAINS: usize = 10;

pub fn register(r: &mut crate::routes::Registrar, app: &App) {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let metrics = app.metrics.clone();
    // One concrete stack, boxed once by the router. Each `layer` on a
    // method router boxes again, and the router clones every box below
    // the one it calls for each request: this route answers tens of
    // thousands of requests a second. CORS answers every `OPTIONS`
    // (preflight) itself; other methods are refused with 405.
    let stack = tower::ServiceBuilder::new()
        .layer(cors)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .map_response(move |response| count(&metrics, response))
        .service(collect.with_state(app.clone()));
    r.public(
        "/api/event",
        on_service(MethodFilter::POST.or(MethodFilter::OPTIONS), stack),
    );
}

/// Counts what the collector answered, for `/metrics`.
fn count(metrics: &crate::metrics::Metrics, response: Response) -> Response {
    let status = response.status();
    let label = |reason: &str| crate::metrics::Reason {
        reason: reason.to_string(),
    };
    if let Some(reason) = response
        .headers()
        .get("x-glasshouse-dropped")
        .and_then(|v| v.to_str().ok())
    {
        metrics.dropped.get_or_create(&label(reason)).inc();
    } else if status.is_client_error() || status.is_server_error() {
        let reason = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::SERVICE_UNAVAILABLE => "overloaded",
            s if s.is_server_error() => "server-error",
            _ => "bad-request",
        };
        metrics.rejected.get_or_create(&label(reason)).inc();
    }
    response
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(alias = "n")]
    name: Option<String>,
    #[serde(alias = "u")]
    url: Option<String>,
    #[serde(alias = "d")]
    domain: Option<String>,
    #[serde(alias = "r")]
    referrer: Option<String>,
    #[serde(alias = "p", alias = "m", alias = "meta")]
    props: Option<serde_json::Value>,
    #[serde(alias = "i")]
    interactive: Option<bool>,
    #[serde(alias = "$")]
    revenue: Option<RevenueBody>,
    #[serde(alias = "sd")]
    scroll_depth: Option<serde_json::Value>,
    #[serde(alias = "e")]
    engagement_time: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RevenueBody {
    amount: serde_json::Value,
    currency: String,
}

fn dropped(reason: &'static str) -> Response {
    (
        StatusCode::ACCEPTED,
        [("x-glasshouse-dropped", HeaderValue::from_static(reason))],
        "ok",
    )
        .into_response()
}

async fn collect(State(app): State<App>, request: Request) -> Result<Response, ApiError> {
    let (headers, peer, body) = split(request).await?;
    let Event {
        name,
        url,
        domain,
        referrer,
        props,
        interactive,
        revenue,
        engagement,
    } = read_event(&body)?;

    let sites = sites_named(&app.config, &domain)?;

    if header_is(&headers, "dnt", "1") || header_is(&headers, "sec-gpc", "1") {
        return Ok(dropped("do-not-track"));
    }
    if objected(&headers) {
        return Ok(dropped("opted-out"));
    }

    let ip = client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let timestamp = app.clock.now();
    let mut events = Vec::with_capacity(sites.len());
    for site in sites {
        let raw = RawEvent {
            ip,
            user_agent: user_agent.clone(),
            name: name.clone(),
            url: url.clone(),
            referrer: referrer.clone(),
            title: None,
            props: props.clone(),
            interactive,
            revenue: revenue.clone(),
            engagement,
            timestamp,
        };
        let day = glasshouse_model::query::day_of(timestamp, site.timezone);
        let scope = app.config.visitor_scope(&site.host, day);
        match app.anonymiser.anonymise(raw, site, &scope) {
            Ok(event) => {
                // The day's link ids of the figures between nodes this
                // event completes a step of (docs/federation.md).
                if let Some(node) = &app.federation {
                    node.mark(
                        &app.config,
                        &site.host,
                        event.name(),
                        event.pathname(),
                        ip,
                        &user_agent,
                        timestamp,
                    );
                }
                events.push(event)
            }
            Err(Rejection::Bot) => return Ok(dropped("bot")),
            Err(Rejection::InvalidUrl(why)) => {
                return Err(ApiError::bad_request(format!("url: {why}")))
            }
            Err(other) if !other.is_bad_input() => return Err(ApiError::internal(other)),
            Err(other) => return Err(ApiError::bad_request(other.to_string())),
        }
    }
    keep(&app, events).await
}

/// Hands the events to the ingest queue: 202 once they are durable, 503
/// with the reason when the queue or the log of events waiting is full.
async fn keep(app: &App, events: Vec<AnonymousEvent>) -> Result<Response, ApiError> {
    let n = events.len() as u64;
    match app.ingestor.ingest(events).await {
        Ok(()) => {
            app.metrics.accepted.inc_by(n);
            Ok((StatusCode::ACCEPTED, "ok").into_response())
        }
        Err(IngestError::Full) => Err(ApiError::unavailable(
            "too many events at once; try again shortly",
        )),
        Err(IngestError::Backlog) => Err(ApiError::unavailable(
            "the store has been unreachable for a while and the local log of events waiting for it is full; nothing was recorded, try again later",
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The sites an event's `domain` names. Every one must be a site we count;
/// a typo should be loud. A site named twice counts once: one page view is
/// one event per site.
fn sites_named<'c>(
    config: &'c glasshouse_model::Config,
    domain: &str,
) -> Result<Vec<&'c glasshouse_model::Site>, ApiError> {
    let mut sites: Vec<&glasshouse_model::Site> = Vec::new();
    for host in domain.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let site = config
            .site(host)
            .ok_or_else(|| ApiError::bad_request(format!("domain: unknown site {host:?}")))?;
        if !config.holds(&site.host) {
            return Err(ApiError::bad_request(format!(
                "domain: {host:?} is counted by its own organisation's node, not here"
            )));
        }
        if !sites.iter().any(|s| s.host == site.host) {
            sites.push(site);
        }
        if sites.len() > MAX_DOMAINS {
            return Err(ApiError::bad_request(format!(
                "domain: at most {MAX_DOMAINS} sites"
            )));
        }
    }
    if sites.is_empty() {
        return Err(ApiError::bad_request("domain: no site named"));
    }
    Ok(sites)
}

/// The request's headers, the peer's address and the body, read within
/// `MAX_BODY`. The request is taken whole and its headers moved out: the
/// `HeaderMap` extractor would copy every header of every event.
async fn split(request: Request) -> Result<(HeaderMap, SocketAddr, Bytes), ApiError> {
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
        .ok_or_else(|| ApiError::internal("the connection's address is missing"))?;
    let body = Bytes::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(|e: BytesRejection| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!("the body is larger than {MAX_BODY} bytes"),
                audited: None,
            },
            _ => ApiError::bad_request("the body could not be read"),
        })?;
    Ok((headers, peer, body))
}

/// An event body, checked: what the anonymiser is handed with the request.
struct Event {
    name: String,
    url: String,
    domain: String,
    referrer: Option<String>,
    props: Vec<(String, String)>,
    interactive: bool,
    revenue: Option<Revenue>,
    engagement: Option<Engagement>,
}

/// Reads and checks an event body (Plausible's Events API), naming the
/// first field at fault.
fn read_event(body: &[u8]) -> Result<Event, ApiError> {
    let body: EventBody = serde_json::from_slice(body).map_err(|e| {
        if std::str::from_utf8(body).is_err() {
            ApiError::bad_request("the body is not UTF-8")
        } else {
            ApiError::bad_request(format!("the body is not a valid event: {e}"))
        }
    })?;
    let name = required(body.name, "name")?;
    let url = required(body.url, "url")?;
    let domain = required(body.domain, "domain")?;
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::bad_request(format!(
            "name: longer than {MAX_NAME} characters"
        )));
    }
    if url.len() > MAX_URL || body.referrer.as_ref().is_some_and(|r| r.len() > MAX_URL) {
        return Err(ApiError::bad_request(format!(
            "url or referrer: longer than {MAX_URL} bytes"
        )));
    }
    let engagement = engagement(&name, body.scroll_depth, body.engagement_time)?;
    Ok(Event {
        name,
        url,
        domain,
        referrer: body.referrer,
        props: props(body.props)?,
        interactive: body.interactive.unwrap_or(true),
        revenue: body.revenue.map(revenue).transpose()?,
        engagement,
    })
}

/// The scroll depth and engaged time of an `engagement` event, as
/// Plausible's tracker sends them (`sd`, `e`); other events carry neither.
/// A depth over 100 (the page grew while read) counts as 100.
fn engagement(
    name: &str,
    sd: Option<serde_json::Value>,
    e: Option<serde_json::Value>,
) -> Result<Option<Engagement>, ApiError> {
    if name != glasshouse_privacy::ENGAGEMENT {
        if sd.is_some() || e.is_some() {
            return Err(ApiError::bad_request(
                "sd, e: only engagement events carry scroll depth and engaged time",
            ));
        }
        return Ok(None);
    }
    let number = |v: Option<serde_json::Value>, field: &str| {
        v.as_ref()
            .and_then(serde_json::Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| ApiError::bad_request(format!("{field}: required, a number 0 or more")))
    };
    let sd = number(sd, "sd")?.round().min(100.0) as u8;
    let e = number(e, "e")?.round();
    if e > f64::from(MAX_ENGAGEMENT_TIME) {
        return Err(ApiError::bad_request(format!(
            "e: at most {MAX_ENGAGEMENT_TIME} milliseconds"
        )));
    }
    Ok(Some(Engagement {
        scroll_depth: sd,
        engagement_time: e as u32,
    }))
}

fn required(v: Option<String>, field: &str) -> Result<String, ApiError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::bad_request(format!("{field}: required"))),
    }
}

fn header_is(headers: &HeaderMap, name: &str, value: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == value)
}

/// True when the browser carries the opt-out cookie set by `/optout`.
fn objected(headers: &HeaderMap) -> bool {
    crate::sessions::cookie(headers, "glasshouse_optout") == Some("1")
}

/// Props arrive as an object, or (older trackers) as a JSON string of one.
/// Values must be scalars; they are kept as text.
fn props(value: Option<serde_json::Value>) -> Result<Vec<(String, String)>, ApiError> {
    use serde_json::Value;
    let object = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(o)) => o,
            _ => return Err(ApiError::bad_request("props: must be an object")),
        },
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::bad_request("props: must be an object")),
    };
    if object.len() > MAX_PROPS {
        return Err(ApiError::bad_request(format!(
            "props: more than {MAX_PROPS} properties"
        )));
    }
    let mut out = Vec::with_capacity(object.len());
    for (k, v) in object {
        if k.is_empty() || k.chars().count() > MAX_PROP_KEY {
            return Err(ApiError::bad_request(format!(
                "props: keys must be 1 to {MAX_PROP_KEY} characters"
            )));
        }
        let v = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "props: {k:?} must be a string, number or boolean"
                )))
            }
        };
        if v.chars().count() > MAX_PROP_VALUE {
            return Err(ApiError::bad_request(format!(
                "props: {k:?} is longer than {MAX_PROP_VALUE} characters"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn revenue(r: RevenueBody) -> Result<Revenue, ApiError> {
    let amount = match &r.amount {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|a| a.is_finite())
    .ok_or_else(|| ApiError::bad_request("revenue.amount: must be a number"))?;
    let currency = r.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::bad_request(
            "revenue.currency: must be an ISO 4217 code like GBP",
        ));
    }
    Ok(Revenue { amount, currency })
}

#[cfg(test)]
mod fuzz {
    //! The collector's body parser fed random bytes and near-valid JSON:
    //! never a panic, every refusal a 4xx with a reason. 10^5 cases in the
    //! test command (`GLASSHOUSE_FUZZ_CASES` sets another number).
    use super::read_event;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("GLASSHOUSE_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000)
    }

    fn value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::json;
        prop_oneof![
            any::<String>().prop_map(|s| json!(s)),
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(json!(null)),
            Just(json!({"amount": "12.5", "currency": "gbp"})),
            Just(json!({"a": 1, "b": [1]})),
            Just(json!("{\"form\": \"visa\"}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_body_is_an_event_or_a_reasoned_refusal(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            fields in proptest::collection::vec(
                (prop_oneof![Just("n"), Just("name"), Just("u"), Just("url"), Just("d"), Just("domain"),
                    Just("r"), Just("p"), Just("props"), Just("i"), Just("$"), Just("revenue"), Just("x")], value()),
                0..8,
            ),
        ) {
            let object: serde_json::Map<String, serde_json::Value> =
                fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            for body in [bytes, serde_json::to_vec(&object).unwrap()] {
                if let Err(e) = read_event(&body) {
                    prop_assert!(e.status.is_client_error() && !e.message.is_empty());
                }
            }
        }
    }
}
