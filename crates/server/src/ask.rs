//! From a request to an authorised question: every route that reads event
//! data comes through here (docs/architecture.md).
//!
//! A handler parses its request once into a [`Question`] (the parsers
//! below), hands it to [`decide`], which asks the one gate
//! (`glasshouse_governance::gate::authorise`) and answers with a
//! [`Decided`]: the question, the [`Grant`] and the question's canonical
//! line. The handler runs exactly `Decided::question`, releases every
//! figure through `Decided`, and answers through [`Decided::answer`], which
//! attaches what the audit middleware logs: the canonical question and the
//! grant's ground. A refusal carries the same, so refused questions are
//! logged as they were parsed, never as raw request text.

use crate::auth::{self, Caller};
use crate::{ApiError, App};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use glasshouse_governance::gate::{self, Grant, ReleaseError};
use glasshouse_model::query::{DateRange, Filter, Metric, Query};
use glasshouse_model::v2::Filtering;
use glasshouse_model::{Question, Shape, Site};
use glasshouse_store::Totals;
use serde_json::Value;

/// Most parameters a query string may carry.
const MAX_PARAMS: usize = 64;

/// A query string, read once. A parameter named twice with different
/// values is refused: the value checked must be the value run.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The parameters of `uri`.
    pub fn from_uri(uri: &Uri) -> Result<Params, ApiError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match out.iter().find(|(name, _)| *name == k) {
                Some((_, before)) if *before != v => {
                    return Err(ApiError::bad_request(format!(
                        "{k}: given twice with different values"
                    )))
                }
                Some(_) => {}
                None => out.push((k.into_owned(), v.into_owned())),
            }
            if out.len() > MAX_PARAMS {
                return Err(ApiError::bad_request(format!(
                    "query: at most {MAX_PARAMS} parameters"
                )));
            }
        }
        Ok(Params(out))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Refuses a body field that the query string names with another value.
    pub fn agree(&self, name: &str, body: Option<&str>) -> Result<(), ApiError> {
        match (self.get(name), body) {
            (Some(a), Some(b)) if a != b => Err(ApiError::bad_request(format!(
                "{name}: the query string and the body give different values"
            ))),
            (Some(_), None) => Err(ApiError::bad_request(format!(
                "{name}: give it in the body, not the query string"
            ))),
            _ => Ok(()),
        }
    }
}

/// The purpose a question is asked for: the one named, or the site's first.
pub fn purpose(site: &Site, asked: Option<&str>) -> String {
    asked
        .filter(|p| !p.is_empty())
        .unwrap_or(&site.purposes[0])
        .to_string()
}

/// Today, by the app's clock.
pub fn today(app: &App) -> NaiveDate {
    app.clock.now().date_naive()
}

/// Today in the site's time zone.
pub fn site_today(app: &App, site: &Site) -> NaiveDate {
    glasshouse_model::query::day_of(app.clock.now(), site.timezone)
}

/// The period named by `period` and `date`, in the site's days.
pub fn range(
    app: &App,
    site: &Site,
    period: Option<&str>,
    date: Option<&str>,
) -> Result<DateRange, ApiError> {
    Ok(DateRange::parse(period, date, site_today(app, site))?)
}

/// A Stats API question about one site.
pub fn stats_question(
    app: &App,
    caller: &Caller,
    p: &Params,
    shape: Shape,
) -> Result<Question, ApiError> {
    let site = auth::known_site(app, p.get("site_id"))?;
    let range = range(app, site, p.get("period"), p.get("date"))?;
    let metrics = Metric::parse_list(p.get("metrics"))?;
    let filters = Filter::parse_list(p.get("filters"))?;
    let said = crate::segments::with_segment(app, caller, site, filters, p.get("segment"))?;
    let mut query = Query::for_range_in(&site.host, range, site.timezone, metrics, said.filters);
    query.conditions = said.conditions;
    let mut question = Question {
        query,
        purpose: purpose(site, p.get("purpose")),
        sites: vec![site.host.clone()],
        shape,
        imports: with_imported(p.get("with_imported"))?,
    };
    question.resolve_goals(&site.goals)?;
    question.check_engagement()?;
    Ok(question)
}

/// v1's `with_imported`: whether the site's imported history is added.
fn with_imported(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("" | "false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "with_imported: true or false, not {other:?}"
        ))),
    }
}

/// A journey question through `site`: the sites its journeys are linked
/// with on every day it reads (before an agreement starts, visits were not
/// linked and its partner's data is not shared). Goals in its filters
/// are the site's.
pub fn journey_question(
    app: &App,
    site: &Site,
    range: DateRange,
    said: Filtering,
    purpose: String,
    shape: Shape,
) -> Result<Question, ApiError> {
    let mut query = Query::for_range_in(&site.host, range, site.timezone, vec![], said.filters);
    query.conditions = said.conditions;
    let mut q = Question {
        query,
        purpose,
        sites: vec![site.host.clone()],
        shape,
        imports: false,
    };
    q.resolve_goals(&site.goals)?;
    let (first, last) = q.days_read();
    q.sites = app.config.journey_sites_over(&site.host, first, last);
    Ok(q)
}

/// What the audit log records of a question: its canonical line, the
/// purpose and the ground it was answered (or refused) on.
#[derive(Debug, Clone)]
pub struct Audited {
    /// The canonical, scrubbed, bounded question.
    pub question: String,
    /// The purpose id.
    pub purpose: String,
    /// The grant's ground, or empty for a refusal.
    pub ground: String,
    /// Rows the answer holds (0 for a refusal).
    pub rows: u64,
}

/// A question the gate let through, with its grant.
pub struct Decided {
    /// Exactly what runs.
    pub question: Question,
    /// Why it may run, and how its answer is released.
    pub grant: Grant,
    /// The canonical line, as logged and as the key of a kept answer.
    pub canonical: String,
    /// The day the decision was made on.
    pub today: NaiveDate,
}

/// The canonical line of a question, its values scrubbed of personal data.
pub fn canonical(q: &Question) -> String {
    q.canonical(&|v: &str| glasshouse_privacy::scrub(v).into_owned())
}

/// Asks the gate about `question` for `caller`.
pub fn decide(app: &App, caller: &Caller, mut question: Question) -> Result<Decided, ApiError> {
    if let Some(link) = &caller.principal.link {
        // A shared link reads under its purpose, within its segment.
        question.purpose = link.purpose.clone();
        let q = &mut question.query;
        let segment = Filtering {
            filters: link.filters.clone(),
            conditions: link.conditions.clone(),
        };
        crate::segments::add(&mut q.filters, &mut q.conditions, segment)?;
    }
    let today = today(app);
    let canonical = canonical(&question);
    match gate::authorise(&app.config, &caller.principal, &question, today) {
        Ok(grant) => Ok(Decided {
            question,
            grant,
            canonical,
            today,
        }),
        Err(refusal) => Err(ApiError::forbidden(refusal.to_string()).audited(Audited {
            question: canonical,
            purpose: question.purpose,
            ground: String::new(),
            rows: 0,
        })),
    }
}

impl Decided {
    /// What the audit log records of this question.
    pub fn audited(&self) -> Audited {
        Audited {
            question: self.canonical.clone(),
            purpose: self.question.purpose.clone(),
            ground: self.grant.ground_text(),
            rows: 0,
        }
    }

    /// Today in the time zone of the question's site: where its raw
    /// events begin (`tiers::raw_from`) is counted from it.
    pub fn local_today(&self, app: &App) -> NaiveDate {
        self.question.query.day_of(app.clock.now())
    }

    /// Marks an error as about this question, for the log.
    pub fn error(&self, e: impl Into<ApiError>) -> ApiError {
        e.into().audited(self.audited())
    }

    /// The query the store runs: the question's, with visitors always
    /// counted for shared data, since `k` is about visitors.
    pub fn executed(&self, query: &Query) -> Query {
        let mut q = query.clone();
        if self.grant.shared() && !q.metrics.contains(&Metric::Visitors) {
            q.metrics.push(Metric::Visitors);
        }
        q
    }

    /// Releases visitor counts under the grant (`None`: withheld).
    pub fn release_counts(
        &self,
        app: &App,
        visitors: &[u64],
    ) -> Result<Vec<Option<u64>>, ApiError> {
        self.grant
            .release(app.budgets.as_ref(), self.today, visitors)
            .map_err(|e| match e {
                ReleaseError::Refused(r) => self.error(ApiError::forbidden(r.to_string())),
                ReleaseError::Failed(why) => self.error(ApiError::internal(why)),
            })
    }

    /// Releases rows of totals in place; `None` marks a withheld row.
    pub fn release(&self, app: &App, rows: &mut [Option<Totals>]) -> Result<(), ApiError> {
        if !self.grant.shared() {
            return Ok(());
        }
        let visitors: Vec<u64> = rows
            .iter()
            .map(|r| r.map(|t| t.visitors).unwrap_or(0))
            .collect();
        let released = self.release_counts(app, &visitors)?;
        for (row, count) in rows.iter_mut().zip(released) {
            match (row.as_mut(), count) {
                (Some(t), Some(v)) => t.visitors = v,
                _ => *row = None,
            }
        }
        Ok(())
    }

    /// The noisy answer already released today for this question, if any.
    pub fn kept(&self, app: &App) -> Option<Answer> {
        app.releases
            .get(&self.grant, &self.canonical, self.today)
            .map(|body| Answer(self.audited(), body))
    }

    /// The answer, kept durably for the day before it is sent where it
    /// carries noise.
    pub fn answer(&self, app: &App, body: Value) -> Result<Answer, ApiError> {
        app.releases
            .keep(&self.grant, &self.canonical, self.today, &body)
            .map_err(|e| self.error(ApiError::internal(e)))?;
        Ok(Answer(self.audited(), body))
    }
}

/// A JSON answer with what the audit log records of its question.
pub struct Answer(Audited, Value);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let Answer(mut audited, body) = self;
        audited.rows = rows_in(&body);
        let mut r = Json(body).into_response();
        r.extensions_mut().insert(audited);
        r
    }
}

/// Rows in an answer, as the audit log counts them: the length of its
/// `results` or `links` list, or 1 for another document.
fn rows_in(body: &Value) -> u64 {
    ["results", "links"]
        .iter()
        .find_map(|k| body[*k].as_array().map(|a| a.len() as u64))
        .unwrap_or(1)
}
