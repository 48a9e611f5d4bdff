//! The audit log records the question that ran: for random requests to
//! every gated read (site, period, metrics, filters and shape given in the
//! query string, the body, twice, or contradicting each other), each read
//! the store received is the one the request's audit entry names, and a
//! refused or malformed request reads nothing.

mod support;

use chrono::{Duration, TimeZone, Utc};
use glasshouse_model::query::{Condition, Query};
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestCaseError, TestRunner};
use serde_json::{json, Value};
use support::recording::Asked;
use support::{Backend, TestServer, CHROME, HOST, PARTNER, PARTNER_TOKEN, TOKEN};

#[derive(Debug, Clone)]
enum Req {
    Get(String),
    Funnel { query: String, body: Value },
    V2(Value),
}

fn site() -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => Just(HOST), 1 => Just(PARTNER), 1 => Just("other.example")]
}

fn period() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "period=day",
        "period=7d",
        "period=30d",
        "period=month",
        "period=custom&date=2026-01-10,2026-01-14",
        "period=day&date=2026-01-12",
        "period=custom&date=2019-12-01,2020-01-05",
    ])
    .prop_map(String::from)
}

fn filters() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(
        vec![
            "event:page==/a",
            "visit:source==Google",
            "visit:browser!=Chrome",
            "event:page~/b",
            "event:name==Signup",
        ],
        0..=2,
    )
}

fn metrics() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(
        vec![
            "visitors",
            "visits",
            "pageviews",
            "bounce_rate",
            "visit_duration",
            "events",
        ],
        0..=3,
    )
}

/// A query string, with `site_id` given once, twice (the same or another
/// value), or not at all.
fn common() -> impl Strategy<Value = String> {
    (
        site(),
        prop::option::weighted(0.15, site()),
        period(),
        filters(),
    )
        .prop_map(|(s, again, p, f)| {
            let mut q = format!("site_id={s}&{p}");
            if let Some(again) = again {
                q.push_str(&format!("&site_id={again}"));
            }
            if !f.is_empty() {
                q.push_str(&format!("&filters={}", urlencode(&f.join(";"))));
            }
            q
        })
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn request() -> impl Strategy<Value = Req> {
    let aggregate = (common(), metrics(), any::<bool>()).prop_map(|(c, m, compare)| {
        let mut q = format!("/api/v1/stats/aggregate?{c}");
        if !m.is_empty() {
            q.push_str(&format!("&metrics={}", m.join(",")));
        }
        if compare {
            q.push_str("&compare=previous_period");
        }
        Req::Get(q)
    });
    let timeseries = (
        common(),
        metrics(),
        prop::sample::select(vec!["date", "month"]),
    )
        .prop_map(|(c, m, i)| {
            let m = if m.is_empty() {
                "visitors".to_string()
            } else {
                m.join(",")
            };
            Req::Get(format!(
                "/api/v1/stats/timeseries?{c}&metrics={m}&interval={i}"
            ))
        });
    let breakdown = (
        common(),
        prop::sample::select(vec![
            "event:page",
            "visit:source",
            "visit:browser",
            "event:name",
        ]),
        1u32..20,
        1u32..4,
    )
        .prop_map(|(c, by, limit, page)| {
            Req::Get(format!(
                "/api/v1/stats/breakdown?{c}&property={by}&limit={limit}&page={page}"
            ))
        });
    let neighbours = (common(), any::<bool>()).prop_map(|(c, next)| {
        let path = if next { "next-pages" } else { "previous-pages" };
        Req::Get(format!("/api/v1/stats/{path}?{c}&page=/a"))
    });
    let paths = (common(), 1u32..4)
        .prop_map(|(c, depth)| Req::Get(format!("/api/v1/stats/paths?{c}&page=/a&depth={depth}")));
    let realtime =
        site().prop_map(|s| Req::Get(format!("/api/v1/stats/realtime/visitors?site_id={s}")));
    let funnel = (site(), prop::option::of(site()), period(), any::<bool>()).prop_map(
        |(s, in_query, p, partner_step)| {
            let mut steps = vec![json!({"page": "/a"}), json!({"event": "Signup"})];
            if partner_step {
                steps.push(json!({"page": "/b", "site": PARTNER}));
            }
            let mut body = json!({"site_id": s, "steps": steps});
            for part in p.split('&') {
                let (k, v) = part.split_once('=').expect("k=v");
                body[k] = json!(v);
            }
            let query = in_query.map(|q| format!("site_id={q}")).unwrap_or_default();
            Req::Funnel { query, body }
        },
    );
    prop_oneof![
        aggregate,
        timeseries,
        breakdown,
        neighbours,
        paths,
        realtime,
        funnel,
        v2()
    ]
}

/// A v2 query: totals, by day or by a property (paged, perhaps with every
/// row counted), with a filter tree and perhaps a comparison.
fn v2() -> impl Strategy<Value = Req> {
    let range = prop::sample::select(vec![
        json!("day"),
        json!("7d"),
        json!(["2026-01-10", "2026-01-14"]),
        json!(["2019-12-01", "2020-01-05"]),
        json!(["2026-01-15T09:30:00Z", "2026-01-15T13:59:59+00:00"]),
    ]);
    let filters = prop::sample::subsequence(
        vec![
            json!(["is", "event:page", ["/a"]]),
            json!(["not", ["is", "visit:source", ["Google"]]]),
            json!(["and", [["contains", "event:page", ["/b"]]]]),
            json!([
                "or",
                [
                    ["is", "visit:browser", ["Chrome"]],
                    ["is", "visit:browser", ["Firefox"]]
                ]
            ]),
            json!(["matches", "event:page", ["^/a"]]),
            json!([
                "or",
                [
                    ["is", "event:page", ["/a"]],
                    ["is", "visit:source", ["Google"]]
                ]
            ]),
        ],
        0..=2,
    );
    let dims = prop::sample::select(vec![
        json!([]),
        json!(["time:day"]),
        json!(["event:page"]),
        json!(["visit:source"]),
    ]);
    (site(), range, metrics(), filters, dims, 1usize..5, 0usize..3, any::<bool>(), prop::option::of(prop::sample::select(vec!["previous_period", "year_over_year"])))
        .prop_map(|(s, range, m, f, dims, limit, page, total_rows, compare)| {
            let m: Vec<&str> = if m.is_empty() { vec!["visitors"] } else { m.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect() };
            let mut body = json!({"site_id": s, "metrics": m, "date_range": range, "dimensions": dims, "filters": f,
                "pagination": {"limit": limit, "offset": limit * page}, "include": {"total_rows": total_rows}});
            if let Some(mode) = compare {
                body["include"]["comparisons"] = json!({"mode": mode});
            }
            Req::V2(body)
        })
}

/// The parts of an audit line that a read must match.
fn query_parts(q: &Query) -> Vec<String> {
    let last = (q.until - Duration::microseconds(1)).date_naive();
    let period = if q.whole_days() {
        format!("period={}..{} ", q.from.date_naive(), last)
    } else {
        let second = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        format!(
            "period={}..{} ",
            second(q.from),
            second(q.until - Duration::seconds(1))
        )
    };
    let mut out = vec![format!("site={} ", q.site), period];
    for f in &q.filters {
        let op = f.op.symbol();
        out.push(format!(" filter={}{op}{}", f.dimension, f.values.join("|")));
    }
    // The one condition drawn: an `or` of two filters.
    for c in &q.conditions {
        let Condition::Any(parts) = c else {
            panic!("no other condition is asked: {c:?}")
        };
        let said: Vec<String> = parts
            .iter()
            .map(|p| match p {
                Condition::One(f) => {
                    format!("{}{}{}", f.dimension, f.op.symbol(), f.values.join("|"))
                }
                other => panic!("no other condition is asked: {other:?}"),
            })
            .collect();
        out.push(format!(" filter=({})", said.join(" or ")));
    }
    out
}

fn token_in(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    Some(line[start..].split(' ').next().unwrap_or("").to_string())
}

/// Checks one read against the logged line; `first` says whether it is the
/// request's first read (a compared period's second read is the period
/// before, which the line names as `compare=previous_period`).
fn matches(line: &str, asked: &Asked, first: bool) -> Result<(), String> {
    let (query, extra): (&Query, Vec<String>) = match asked {
        Asked::Aggregate(q) => (q, vec![]),
        Asked::Timeseries(q, _) => (q, vec![]),
        Asked::Breakdown(q, by, limit, offset) => {
            let logged = |name| token_in(line, name).and_then(|v| v.parse::<usize>().ok());
            let (Some(l), Some(o)) = (logged("limit"), logged("offset")) else {
                return Err("a breakdown ran but the log names no limit and offset".into());
            };
            // Counting every row reads on in pages of the largest size.
            let counting = line.contains(" total_rows")
                && *limit == glasshouse_model::query::MAX_BREAKDOWN_LIMIT
                && offset % limit == 0;
            // The compared period is read for the rows shown, from its first.
            let compared = !first && line.contains(" compare=") && (*limit, *offset) == (l, 0);
            if (*limit, *offset) != (l, o) && !counting && !compared {
                return Err(format!(
                    "rows {offset}.. ({limit}) ran, rows {o}.. ({l}) logged"
                ));
            }
            (q, vec![format!(" by={by} ")])
        }
        Asked::Paths(p) => (&p.query, vec![format!(" page={}", p.page)]),
        Asked::Funnel(f) => {
            let labels: Vec<String> = f.steps.iter().map(|s| s.label()).collect();
            (&f.query, vec![format!(" steps={}", labels.join(" > "))])
        }
        Asked::Current(site) => {
            return line
                .contains(&format!("site={site} "))
                .then_some(())
                .ok_or(format!("realtime read of {site}"));
        }
    };
    // The compared period of a breakdown is read for the rows shown only:
    // one more filter, on the property broken down by. Not where imported
    // days are read too (`v2::compared_rows`): then the read has the
    // logged filters only, and the last of them may be on that property.
    let trimmed;
    let logged_filters = line.matches(" filter=").count();
    let query = match asked {
        Asked::Breakdown(q, by, ..) if !first && line.contains(" compare=") => {
            let mut q = q.clone();
            if q.filters.len() + q.conditions.len() > logged_filters
                && q.filters.last().is_some_and(|f| &f.dimension == by)
            {
                q.filters.pop();
            }
            trimmed = q;
            &trimmed
        }
        _ => query,
    };
    let mut parts = query_parts(query);
    if !first {
        parts.remove(1);
    }
    parts.extend(extra);
    for part in &parts {
        if !line.contains(part.as_str()) {
            return Err(format!("{part:?} ran but is not in the log"));
        }
    }
    if logged_filters != query.filters.len() + query.conditions.len() {
        return Err(format!(
            "{} filters ran, {logged_filters} logged",
            query.filters.len() + query.conditions.len()
        ));
    }
    let ran: Vec<&str> = query.metrics.iter().map(|m| m.name()).collect();
    let logged = token_in(line, "metrics").unwrap_or_default();
    let logged: Vec<&str> = logged.split(',').filter(|m| !m.is_empty()).collect();
    // Visitors are always counted for a shared answer (k is about them).
    let unlogged: Vec<&&str> = ran.iter().filter(|m| !logged.contains(m)).collect();
    if logged.iter().any(|m| !ran.contains(m)) || unlogged.iter().any(|m| **m != "visitors") {
        return Err(format!("metrics {ran:?} ran, {logged:?} logged"));
    }
    Ok(())
}

#[test]
fn every_read_is_the_one_its_audit_entry_names() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
    let server = rt
        .block_on(TestServer::start_on(Backend::Recorded, start, |c| c))
        .expect("DuckDB starts");
    rt.block_on(async {
        for (host, path) in [(HOST, "/a"), (HOST, "/b"), (PARTNER, "/b")] {
            let event = json!({"n": "pageview", "u": format!("https://{host}{path}"), "d": host});
            let r = server.post_event("198.51.100.7", CHROME, &event).await;
            assert_eq!(r.status().as_u16(), 202);
        }
    });
    let mut runner = TestRunner::new(Cases {
        cases: 300,
        failure_persistence: None,
        ..Cases::default()
    });
    let strategy = (request(), prop::bool::weighted(0.3));
    let answered = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&strategy, |(req, as_partner)| {
            let token = if as_partner { PARTNER_TOKEN } else { TOKEN };
            server.notes.lock().unwrap().clear();
            let before = server.app.audit.log.size();
            let status = rt.block_on(send(&server, token, &req));
            let asked = std::mem::take(&mut *server.notes.lock().unwrap());
            let log = &server.app.audit.log;
            prop_assert_eq!(log.size(), before + 1, "one audit entry per request");
            let (_, entry) = log.entries(before, 1).unwrap().remove(0);
            let line = entry.query;
            if std::env::var_os("GLASSHOUSE_SHOW_STATUS").is_some() {
                eprintln!("{status} {req:?} {line}");
            }
            if status != 200 {
                prop_assert!(
                    asked.is_empty(),
                    "{status} for {req:?}, yet it read {asked:?}"
                );
                return Ok(());
            }
            prop_assert!(!asked.is_empty(), "200 for {req:?} with no read");
            answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for (i, a) in asked.iter().enumerate() {
                matches(&line, a, i == 0).map_err(|why| {
                    TestCaseError::fail(format!("{why}\nline: {line}\nread: {a:?}"))
                })?;
            }
            Ok(())
        })
        .unwrap();
    // Not vacuous: many of the random questions were answered.
    let answered = answered.into_inner();
    eprintln!("{answered} of 300 answered");
    assert!(answered >= 90, "only {answered} of 300 answered");
}

async fn send(server: &TestServer, token: &str, req: &Req) -> u16 {
    let r = match req {
        Req::Get(path) => server.http.get(format!("{}{path}", server.url)),
        Req::Funnel { query, body } => server
            .http
            .post(format!("{}/api/v1/stats/funnel?{query}", server.url))
            .json(body),
        Req::V2(body) => server
            .http
            .post(format!("{}/api/v2/query", server.url))
            .json(body),
    };
    r.bearer_auth(token).send().await.unwrap().status().as_u16()
}
