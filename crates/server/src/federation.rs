//! Federation over HTTP (docs/federation.md).
//!
//! - `POST /federation/v1/message`: another node's signed message. Its
//!   signature says who sent it; `glasshouse_federation::Node::answer`
//!   asks the gate (`authorise_exchange`); every exchange and every
//!   refusal is written to the audit log.
//! - `GET /api/v1/federation?site_id=H`: the figures the site takes part
//!   in, from the signed agreements (no event data).
//! - `GET /api/v1/federation/figures?site_id=H&agreement=ID&period=…`: the
//!   released figures of each finished day, through the gate like any
//!   question about the partner's site.

use crate::ask::{self, Answer, Params};
use crate::auth::{self, Caller};
use crate::routes::Registrar;
use crate::{blocking, ApiError, App};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use glasshouse_federation::node::{Logged, MAX_MESSAGE_BYTES, PATH};
use glasshouse_governance::gate::federation::FigureRelease;
use glasshouse_model::governance::Agreement;
use glasshouse_model::query::{DateRange, Metric, Query};
use glasshouse_model::{Question, Shape};
use serde_json::{json, Value};

pub fn register(r: &mut Registrar) {
    r.node(
        PATH,
        post(message).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
    )
    .signed("/api/v1/federation", get(list))
    .gated("/api/v1/federation/figures", get(figures));
}

async fn message(State(app): State<App>, body: Bytes) -> Response {
    let Some(node) = app.federation.clone() else {
        return ApiError::not_found("this installation is not a node").into_response();
    };
    let a = app.clone();
    let answered =
        tokio::task::spawn_blocking(move || node.answer(&a.config, &body, a.clock.now())).await;
    match answered {
        Ok(Ok((reply, logged))) => {
            if let Some(l) = logged {
                if !log(&app, &l).await {
                    return ApiError::unavailable("the audit log cannot be written")
                        .into_response();
                }
            }
            (
                StatusCode::OK,
                [("content-type", "application/octet-stream")],
                reply,
            )
                .into_response()
        }
        Ok(Err(refused)) => {
            let refused = *refused;
            log(&app, &refused.logged).await;
            ApiError {
                status: StatusCode::from_u16(refused.status).unwrap_or(StatusCode::FORBIDDEN),
                message: refused.reason,
                audited: None,
            }
            .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Writes an exchange to the audit log, as the partner node's question.
pub async fn log(app: &App, l: &Logged) -> bool {
    let mut entry = glasshouse_audit::Entry::query(
        if l.partner.is_empty() {
            "-"
        } else {
            &l.partner
        },
        "node",
        &format!(
            "node:{}",
            if l.partner.is_empty() {
                "-"
            } else {
                &l.partner
            }
        ),
        "federation",
        &l.what,
    )
    .at(app.clock.now())
    .rows(u64::from(l.figure.is_some()));
    let about = format!(
        "agreement {}{}{}",
        l.agreement,
        l.figure
            .as_deref()
            .map(|f| format!(", figure {f}"))
            .unwrap_or_default(),
        l.day.map(|d| format!(", day {d}")).unwrap_or_default()
    );
    entry = if l.refused {
        entry.refused(&about)
    } else {
        entry.reason(&about)
    };
    let audit = app.audit.clone();
    matches!(
        tokio::task::spawn_blocking(move || audit.log.append(&entry)).await,
        Ok(Ok(_))
    )
}

/// The agreements between nodes that `host` takes part in, as configured.
fn agreements_of<'a>(app: &'a App, host: &'a str) -> impl Iterator<Item = &'a Agreement> + 'a {
    app.config.agreements.iter().filter(move |a| {
        a.figures
            .iter()
            .any(|f| f.steps.iter().any(|s| s.site.eq_ignore_ascii_case(host)))
    })
}

async fn list(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Json<Value>, ApiError> {
    let p = Params::from_uri(&uri)?;
    let site = auth::known_site(&app, p.get("site_id"))?;
    let org = caller.organisation().to_string();
    let out: Vec<Value> = agreements_of(&app, &site.host)
        .filter(|a| a.parties.contains(&org))
        .map(|a| {
            json!({
                "agreement": a.id,
                "title": a.title,
                "parties": a.parties,
                "nodes": a.nodes.iter().map(|n| json!({"organisation": n.organisation, "url": n.url})).collect::<Vec<_>>(),
                "in_force": a.in_force(ask::site_today(&app, site)),
                "figures": a.figures.iter().filter(|f| f.steps.iter().any(|s| s.site.eq_ignore_ascii_case(&site.host))).map(|f| json!({
                    "id": f.id,
                    "title": f.title,
                    "steps": f.steps.iter().map(|s| s.describe()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "site_id": site.host, "agreements": out })))
}

async fn figures(State(app): State<App>, caller: Caller, uri: Uri) -> Result<Answer, ApiError> {
    let p = Params::from_uri(&uri)?;
    let site = auth::known_site(&app, p.get("site_id"))?;
    let range = ask::range(&app, site, p.get("period"), p.get("date"))?;
    let question = |sites: Vec<String>| Question {
        query: Query::for_range_in(
            &site.host,
            range,
            site.timezone,
            vec![Metric::Visitors],
            vec![],
        ),
        purpose: ask::purpose(site, p.get("purpose")),
        sites,
        shape: Shape::Aggregate { compare: None },
        imports: false,
    };
    let found = p
        .get("agreement")
        .and_then(|id| agreements_of(&app, &site.host).find(|a| a.id == id));
    let Some(a) = found else {
        // The site's own figures first: another organisation is refused
        // by the gate before it learns which agreements exist.
        let d = ask::decide(&app, &caller, question(vec![site.host.clone()]))?;
        return Err(d.error(match p.get("agreement") {
            None => ApiError::bad_request("agreement: required"),
            Some(id) => ApiError::not_found(format!(
                "agreement: {id:?} declares no figure about {}",
                site.host
            )),
        }));
    };
    // The question the gate decides: visitors of every site the figures
    // join, for the purpose asked, as for any question about a partner.
    let mut sites = vec![site.host.clone()];
    for f in &a.figures {
        for s in &f.steps {
            if !sites.contains(&s.site) {
                sites.push(s.site.clone());
            }
        }
    }
    let question = question(sites);
    let d = ask::decide(&app, &caller, question)?;
    let node = app.federation.clone();
    let agreement = a.clone();
    let today = ask::site_today(&app, site);
    let body =
        blocking(move || Ok(figures_body(node.as_deref(), &agreement, range, today))).await?;
    d.answer(&app, body)
}

fn figures_body(
    node: Option<&glasshouse_federation::Node>,
    a: &Agreement,
    range: DateRange,
    today: chrono::NaiveDate,
) -> Value {
    let results: Vec<Value> = a
        .figures
        .iter()
        .map(|f| {
            let mut days = Vec::new();
            let mut d = range.first;
            while d <= range.last && d < today {
                let r = node.and_then(|n| n.released(&a.id, &f.id, d));
                let linked = node.is_some_and(|n| n.linking(&a.id, d));
                days.push(day_value(d, r, linked));
                d += chrono::Duration::days(1);
            }
            json!({
                "id": f.id,
                "title": f.title,
                "steps": f.steps.iter().map(|s| s.describe()).collect::<Vec<_>>(),
                "days": days,
            })
        })
        .collect();
    json!({
        "agreement": a.id,
        "title": a.title,
        "k": a.k,
        "epsilon_per_month": a.epsilon_per_month,
        "computed": "privately between the nodes by private set intersection: neither node received the other's events or visitor ids",
        "results": results,
    })
}

fn day_value(
    day: chrono::NaiveDate,
    r: Option<glasshouse_federation::state::Released>,
    linked: bool,
) -> Value {
    let Some(r) = r else {
        // No release: still to compute, or nothing was linked that day
        // (no link key agreed, before the agreement or the node).
        let status = if linked { "pending" } else { "not-linked" };
        return json!({"date": day, "status": status, "visitors": null});
    };
    match r.release {
        Some(
            ref f @ FigureRelease {
                visitors: Some(v),
                epsilon,
                noise_scale,
            },
        ) => json!({
            "date": day, "status": "released", "visitors": v, "epsilon": epsilon,
            "noise_scale": noise_scale,
            "bound_999": f.bound_999(),
            "counted_by": r.counted_by,
        }),
        Some(FigureRelease { visitors: None, .. }) => {
            json!({"date": day, "status": "withheld", "visitors": null, "counted_by": r.counted_by})
        }
        None => {
            json!({"date": day, "status": "unavailable", "visitors": null, "reason": r.unavailable})
        }
    }
}
