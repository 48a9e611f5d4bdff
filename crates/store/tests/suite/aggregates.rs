//! The aggregates suite every back end must pass: aggregates, filters,
//! breakdowns, timeseries, visits, retention — each compared with the
//! answer `glasshouse_testkit::truth` computes from the sent events by
//! plain loops.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use glasshouse_model::query::{DateRange, Dimension, Filter, Interval, Metric, Query};
use glasshouse_model::{ManualClock, Site};
use glasshouse_privacy::{Anonymiser, Salts};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{Ingestor, Sessionizer, Store, StoredEvent, Totals};
use glasshouse_testkit::traffic::{self, Person, Sent};
use glasshouse_testkit::truth::{self, Expected, Visit};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The site the traffic is sent to.
pub const HOST: &str = "test.example";

/// The first day of the traffic.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// The test site's configuration.
pub fn site() -> Site {
    Site {
        host: HOST.into(),
        organisation: "test".into(),
        query_params: vec![],
        props: None,
        raw_retention_days: 30,
        aggregate_retention_days: 761,
        purposes: vec!["service-improvement".into()],
        dated_slugs: vec![],
        goals: vec![],
        timezone: glasshouse_model::query::Tz::UTC,
        reports: vec![],
        alerts: None,
    }
}

/// Sends three days of traffic through the ingest queue into `store`.
pub fn load(store: Arc<dyn Store>) -> (Vec<Person>, Vec<Sent>) {
    let (people, sent) = traffic::generate(7, first_day(), 3, 120);
    let clock = ManualClock::new(Utc.from_utc_datetime(&first_day().and_hms_opt(0, 0, 0).unwrap()));
    let places = Box::new(traffic::Places::of(&people));
    let anonymiser = Anonymiser::placing(Salts::ephemeral(Arc::new(clock)), Some(places));
    let ingestor = Ingestor::start(store, Sessionizer::default(), IngestOptions::default());
    // Several submissions, so visits span batches as they do in production.
    for chunk in sent.chunks(97) {
        let events = chunk
            .iter()
            .map(|s| {
                anonymiser
                    .anonymise(s.raw(&people, HOST), &site(), HOST)
                    .expect("anonymised")
            })
            .collect();
        ingestor.ingest_blocking(events).expect("stored");
    }
    ingestor.shutdown();
    (people, sent)
}

/// `n` page views of one visitor at `url` (on `HOST`) with property
/// `form` = `prop`, five days after the loaded traffic, ready to append as
/// one batch. Visit and journey ids are new on every call.
pub fn stored_batch_at(n: usize, url: &str, prop: &str) -> Vec<StoredEvent> {
    stored_batch_on(5, n, url, prop)
}

/// `n` page views of one visit at noon, `day` days after the first day.
pub fn stored_batch_on(day: i64, n: usize, url: &str, prop: &str) -> Vec<StoredEvent> {
    let start = Utc.from_utc_datetime(
        &(first_day() + Duration::days(day))
            .and_hms_opt(12, 0, 0)
            .unwrap(),
    );
    let clock = ManualClock::new(start);
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(clock)), None);
    let mut sessions = Sessionizer::default();
    (0..n)
        .map(|i| {
            let raw = glasshouse_privacy::RawEvent {
                ip: "192.0.2.7".parse().unwrap(),
                user_agent: traffic::AGENTS[0].0.to_string(),
                name: "pageview".into(),
                url: url.to_string(),
                referrer: None,
                title: None,
                props: vec![("form".into(), prop.into())],
                interactive: true,
                revenue: None,
                engagement: None,
                timestamp: start + Duration::seconds(i as i64),
            };
            sessions.assign(
                anonymiser
                    .anonymise(raw, &site(), HOST)
                    .expect("anonymised"),
            )
        })
        .collect()
}

/// `n` page views of one visitor, each of its own page, a tenth of a
/// second apart on the day `stored_batch_at` writes on.
pub fn stored_pages(n: usize) -> Vec<StoredEvent> {
    let start = Utc.from_utc_datetime(
        &(first_day() + Duration::days(5))
            .and_hms_opt(8, 0, 0)
            .unwrap(),
    );
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(ManualClock::new(start))), None);
    let mut sessions = Sessionizer::default();
    (0..n)
        .map(|i| {
            // Letters only, so no scrubbing rule touches the path.
            let name: String = (0..4)
                .map(|k| (b'a' + (i / 26usize.pow(k) % 26) as u8) as char)
                .collect();
            let raw = glasshouse_privacy::RawEvent {
                ip: "192.0.2.8".parse().unwrap(),
                user_agent: traffic::AGENTS[0].0.to_string(),
                name: "pageview".into(),
                url: format!("https://{HOST}/tail/{name}"),
                referrer: None,
                title: None,
                props: vec![],
                interactive: true,
                revenue: None,
                engagement: None,
                timestamp: start + Duration::milliseconds(100 * i as i64),
            };
            sessions.assign(
                anonymiser
                    .anonymise(raw, &site(), HOST)
                    .expect("anonymised"),
            )
        })
        .collect()
}

/// `n` plain page views, as `stored_batch_at`.
pub fn stored_batch(n: usize) -> Vec<StoredEvent> {
    stored_batch_at(n, &format!("https://{HOST}/batch"), "x")
}

/// The day `stored_batch_at` writes on, as a query.
pub fn batch_day_query(filters: Vec<Filter>) -> Query {
    let day = first_day() + Duration::days(5);
    Query::for_range(
        HOST,
        DateRange {
            first: day,
            last: day,
        },
        Metric::COUNTS.to_vec(),
        filters,
    )
}

pub fn query(days: (u32, u32), filters: &str) -> Query {
    let first = first_day() + Duration::days(days.0 as i64);
    let last = first_day() + Duration::days(days.1 as i64);
    Query::for_range(
        HOST,
        DateRange { first, last },
        Metric::COUNTS.to_vec(),
        Filter::parse_list(Some(filters)).expect("valid filters"),
    )
}

#[track_caller]
pub fn same(actual: &Totals, expected: &Expected, what: &str) {
    assert_eq!(
        (
            actual.visitors,
            actual.visits,
            actual.pageviews,
            actual.events
        ),
        (
            expected.visitors,
            expected.visits,
            expected.pageviews,
            expected.events
        ),
        "{what}: counts (visitors, visits, pageviews, events)"
    );
    assert!(
        (actual.bounce_rate - expected.bounce_rate).abs() < 1e-6,
        "{what}: bounce rate {} vs {}",
        actual.bounce_rate,
        expected.bounce_rate
    );
    assert!(
        (actual.visit_duration - expected.visit_duration).abs() < 1e-6,
        "{what}: duration {} vs {}",
        actual.visit_duration,
        expected.visit_duration
    );
}

#[track_caller]
pub fn same_rows(actual: Vec<(String, Totals)>, expected: BTreeMap<String, Expected>, what: &str) {
    let actual: BTreeMap<String, Totals> = actual.into_iter().collect();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}: row keys"
    );
    for (k, e) in &expected {
        same(&actual[k], e, &format!("{what} [{k}]"));
    }
}

/// The visits of days `days.0..=days.1` (counted from the first day).
pub fn on_days<'a>(visits: &[Visit<'a>], days: (u32, u32)) -> Vec<Visit<'a>> {
    let (a, b) = (
        first_day() + Duration::days(days.0 as i64),
        first_day() + Duration::days(days.1 as i64),
    );
    visits
        .iter()
        .filter(|v| v.visitor.1 >= a && v.visitor.1 <= b)
        .cloned()
        .collect()
}

/// Which sent events a filter should pick.
type EventTest<'a> = Box<dyn Fn(&Sent) -> bool + 'a>;
/// Which visits a filter should keep.
type VisitTest<'a> = Box<dyn Fn(&Visit) -> bool + 'a>;

/// The whole suite, against any back end.
pub fn conformance(store: Arc<dyn Store>) {
    let (people, sent) = load(store.clone());
    assert_eq!(
        store.count().unwrap(),
        sent.len() as u64,
        "every event stored once"
    );
    let all = truth::visits(&sent);
    assert!(all.len() > 300, "enough visits to mean something");

    // Totals, whole range and one day.
    same(
        &store.aggregate(&query((0, 2), "")).unwrap(),
        &truth::totals(&all, |_| true, |_| true),
        "aggregate",
    );
    let day1 = on_days(&all, (1, 1));
    same(
        &store.aggregate(&query((1, 1), "")).unwrap(),
        &truth::totals(&day1, |_| true, |_| true),
        "aggregate, one day",
    );
    same(
        &store.aggregate(&query((5, 6), "")).unwrap(),
        &Expected::default(),
        "aggregate, no traffic",
    );

    // Event filters pick events; a visit counts when it has one.
    let cases: Vec<(&str, EventTest)> = vec![
        ("event:page==/apply", Box::new(|e| e.path == "/apply")),
        ("event:page!=/", Box::new(|e| e.path != "/")),
        (
            "event:page==/vat-rates|/contact",
            Box::new(|e| e.path == "/vat-rates" || e.path == "/contact"),
        ),
        ("event:page~CREDIT", Box::new(|e| e.path.contains("credit"))),
        (
            "event:page!~credit",
            Box::new(|e| !e.path.contains("credit")),
        ),
        (
            "event:page==/universal-credit/**",
            Box::new(|e| e.path.starts_with("/universal-credit/")),
        ),
        (
            "event:name==Form submitted",
            Box::new(|e| e.name == "Form submitted"),
        ),
        (
            "event:props:form==visa",
            Box::new(|e| e.props.iter().any(|(k, v)| k == "form" && v == "visa")),
        ),
        ("event:props:form==(none)", Box::new(|e| e.props.is_empty())),
    ];
    for (filter, keep) in &cases {
        same(
            &store.aggregate(&query((0, 2), filter)).unwrap(),
            &truth::totals(&all, |_| true, keep),
            filter,
        );
    }

    // v2's case rules, said as patterns (`glasshouse_model::v2`): every
    // back end's regular expressions must read them alike.
    let v2_cases: Vec<(serde_json::Value, EventTest)> = vec![
        (
            serde_json::json!(["contains", "event:page", ["Credit"]]),
            Box::new(|e| e.path.contains("Credit")),
        ),
        (
            serde_json::json!(["contains", "event:page", ["t.r"]]),
            Box::new(|e| e.path.contains("t.r")),
        ),
        (
            serde_json::json!(["contains", "event:page", ["t-r"]]),
            Box::new(|e| e.path.contains("t-r")),
        ),
        (
            serde_json::json!(["is", "event:page", ["/APPLY"], {"case_sensitive": false}]),
            Box::new(|e| e.path == "/apply"),
        ),
        (
            serde_json::json!(["is", "event:page", ["/Universal-Credit/**"], {"case_sensitive": false}]),
            Box::new(|e| e.path.starts_with("/universal-credit/")),
        ),
        (
            serde_json::json!(["matches_not", "event:page", ["^/APP"], {"case_sensitive": false}]),
            Box::new(|e| !e.path.starts_with("/app")),
        ),
        (
            serde_json::json!(["matches", "event:page", ["(?i)^/APP"]]),
            Box::new(|e| e.path.starts_with("/app")),
        ),
        (
            serde_json::json!(["is", "event:props:form", ["(NONE)"], {"case_sensitive": false}]),
            Box::new(|e| e.props.is_empty()),
        ),
    ];
    for (tree, keep) in &v2_cases {
        let filters = glasshouse_model::v2::filters(std::slice::from_ref(tree))
            .unwrap()
            .filters;
        let mut q = query((0, 2), "");
        q.filters = filters;
        same(
            &store.aggregate(&q).unwrap(),
            &truth::totals(&all, |_| true, keep),
            &tree.to_string(),
        );
    }

    // Places by name (v2) are their codes in every back end.
    let v2_places: Vec<(serde_json::Value, VisitTest)> = vec![
        (
            serde_json::json!(["is", "visit:country_name", ["United Kingdom"]]),
            Box::new(|v| v.country(&people) == "GB"),
        ),
        (
            serde_json::json!(["is_not", "visit:country_name", ["france"], {"case_sensitive": false}]),
            Box::new(|v| v.country(&people) != "FR"),
        ),
        (
            serde_json::json!(["contains", "visit:region_name", ["land"]]),
            Box::new(|v| matches!(v.region(&people), "GB-SCT" | "GB-ENG")),
        ),
        (
            serde_json::json!(["is", "visit:region_name", ["Atlantis"]]),
            Box::new(|_| false),
        ),
    ];
    for (tree, keep) in &v2_places {
        let mut q = query((0, 2), "");
        q.filters = glasshouse_model::v2::filters(std::slice::from_ref(tree))
            .unwrap()
            .filters;
        same(
            &store.aggregate(&q).unwrap(),
            &truth::totals(&all, keep, |_| true),
            &tree.to_string(),
        );
    }

    // Visit filters keep or drop whole visits.
    let visit_cases: Vec<(&str, VisitTest)> = vec![
        ("visit:source==Google", Box::new(|v| v.source() == "Google")),
        (
            "visit:source==Direct / None",
            Box::new(|v| v.source().is_empty()),
        ),
        (
            "visit:source!=Google|Bing",
            Box::new(|v| v.source() != "Google" && v.source() != "Bing"),
        ),
        ("visit:entry_page==/", Box::new(|v| v.entry_page() == "/")),
        (
            "visit:exit_page==/contact",
            Box::new(|v| v.exit_page() == Some("/contact")),
        ),
        (
            "visit:browser==Firefox",
            Box::new(|v| v.browser(&people) == "Firefox"),
        ),
    ];
    for (filter, keep) in &visit_cases {
        same(
            &store.aggregate(&query((0, 2), filter)).unwrap(),
            &truth::totals(&all, keep, |_| true),
            filter,
        );
    }
    // Both kinds at once.
    same(
        &store
            .aggregate(&query((0, 2), "visit:source==Google;event:page==/apply"))
            .unwrap(),
        &truth::totals(&all, |v| v.source() == "Google", |e| e.path == "/apply"),
        "visit and event filters together",
    );

    // Breakdowns.
    let bd = |dim: Dimension, filters: &str| {
        store
            .breakdown(&query((0, 2), filters), &dim, 1000, 0)
            .unwrap()
    };
    same_rows(
        bd(Dimension::Page, ""),
        truth::by_event(&all, |e| Some(e.path.clone())),
        "by page",
    );
    // A page larger than `sql::SMALL_PAGE` pairs every value with its
    // visits instead of the page's values only: the same figures.
    same_rows(
        store
            .breakdown(&query((0, 2), ""), &Dimension::Page, usize::MAX, 0)
            .unwrap(),
        truth::by_event(&all, |e| Some(e.path.clone())),
        "by page, every value at once",
    );
    same_rows(
        bd(Dimension::EventName, ""),
        truth::by_event(&all, |e| Some(e.name.clone())),
        "by event name",
    );
    same_rows(
        bd(Dimension::EventProp("form".into()), ""),
        truth::by_event(&all, |e| {
            Some(
                e.props
                    .first()
                    .map(|p| p.1.clone())
                    .unwrap_or_else(|| "(none)".into()),
            )
        }),
        "by form property",
    );
    same_rows(
        bd(Dimension::EntryPage, ""),
        truth::by_visit(&all, |v| Some(v.entry_page().to_string())),
        "by entry page",
    );
    same_rows(
        bd(Dimension::ExitPage, ""),
        truth::by_visit(&all, |v| v.exit_page().map(str::to_string)),
        "by exit page",
    );
    same_rows(
        bd(Dimension::Source, ""),
        truth::by_visit(&all, |v| Some(shown_source(v))),
        "by source",
    );
    same_rows(
        bd(Dimension::Browser, ""),
        truth::by_visit(&all, |v| Some(v.browser(&people).to_string())),
        "by browser",
    );
    same_rows(
        bd(Dimension::Region, ""),
        // Unknown regions are left out, as unknown countries are.
        truth::by_visit(&all, |v| {
            Some(v.region(&people).to_string()).filter(|r| !r.is_empty())
        }),
        "by region",
    );
    let scots: Vec<Visit> = all
        .iter()
        .filter(|v| v.region(&people) == "GB-SCT")
        .cloned()
        .collect();
    same_rows(
        bd(Dimension::Page, "visit:region==GB-SCT"),
        truth::by_event(&scots, |e| Some(e.path.clone())),
        "by page, visits from Scotland",
    );
    let google: Vec<Visit> = all
        .iter()
        .filter(|v| v.source() == "Google")
        .cloned()
        .collect();
    same_rows(
        bd(Dimension::Page, "visit:source==Google"),
        truth::by_event(&google, |e| Some(e.path.clone())),
        "by page, Google visits",
    );

    several_dimensions(store.as_ref(), &all, &people, &bd);

    // Order and paging: largest first, then by value; pages do not overlap.
    let rows = bd(Dimension::Page, "");
    assert!(
        rows.windows(2).all(|w| w[0].1.visitors > w[1].1.visitors
            || (w[0].1.visitors == w[1].1.visitors && w[0].0 < w[1].0)),
        "ordered"
    );
    let page2 = store
        .breakdown(&query((0, 2), ""), &Dimension::Page, 2, 2)
        .unwrap();
    assert_eq!(
        page2.iter().map(|r| &r.0).collect::<Vec<_>>(),
        rows[2..4].iter().map(|r| &r.0).collect::<Vec<_>>(),
        "second page of two"
    );
    // Ordered by a visit metric, the page of values is chosen by it, also
    // for an event property (whose visit metrics are computed after the
    // counts).
    for (metric, dim) in [
        (Metric::Visits, Dimension::Page),
        (Metric::BounceRate, Dimension::Page),
        (Metric::VisitDuration, Dimension::Page),
        (Metric::BounceRate, Dimension::Source),
    ] {
        let mut q = query((0, 2), "");
        q.metrics = vec![metric, Metric::Visitors];
        let got = store.breakdown(&q, &dim, 2, 1).unwrap();
        let expected = bd(dim.clone(), "");
        let mut expected: Vec<(String, f64)> = expected
            .into_iter()
            .map(|(k, t)| (k, t.get(metric)))
            .collect();
        let got: Vec<(String, f64)> = got.into_iter().map(|(k, t)| (k, t.get(metric))).collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Compared as the API rounds them; ties within a rounding unit may
        // fall either way, so the values are what must agree.
        assert_eq!(
            got.iter().map(|r| r.1).collect::<Vec<_>>(),
            expected[1..3].iter().map(|r| r.1).collect::<Vec<_>>(),
            "{metric:?} by {dim:?}, second row on"
        );
    }

    // Timeseries: one bucket per day with traffic.
    let series = store.timeseries(&query((0, 2), ""), Interval::Day).unwrap();
    assert_eq!(series.len(), 3);
    for (i, (start, totals)) in series.iter().enumerate() {
        assert_eq!(start.date_naive(), first_day() + Duration::days(i as i64));
        same(
            totals,
            &truth::totals(&on_days(&all, (i as u32, i as u32)), |_| true, |_| true),
            &format!("day {i}"),
        );
    }
    let hours = store
        .timeseries(&query((1, 1), ""), Interval::Hour)
        .unwrap();
    assert_eq!(
        hours.iter().map(|h| h.1.pageviews).sum::<u64>(),
        truth::totals(&day1, |_| true, |_| true).pageviews,
        "hours add up to the day"
    );

    // Current visitors: distinct visitors since an instant.
    let last = sent.last().unwrap().ts;
    let since = last - Duration::minutes(5);
    let expected: std::collections::BTreeSet<_> = sent
        .iter()
        .filter(|s| s.ts >= since)
        .map(|s| (s.person, s.ts.date_naive()))
        .collect();
    assert_eq!(
        store.current_visitors(HOST, since).unwrap(),
        expected.len() as u64,
        "current visitors"
    );
    assert_eq!(
        store.current_visitors("other.example", since).unwrap(),
        0,
        "other sites are separate"
    );

    // Visits in progress survive a restart.
    let open = store.recent_sessions(last - Duration::minutes(30)).unwrap();
    assert!(!open.is_empty());
    assert!(open
        .iter()
        .all(|s| s.last_seen > (last - Duration::minutes(30)).timestamp_micros()));

    engagement(store.as_ref(), &sent);
    goals(store.as_ref(), &all);

    // Retention deletes exactly what is older than the cutoff.
    let cutoff = Utc.from_utc_datetime(
        &(first_day() + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    let older = sent.iter().filter(|s| s.ts < cutoff).count() as u64;
    assert_eq!(store.delete_before(HOST, cutoff).unwrap(), older);
    assert_eq!(store.count().unwrap(), sent.len() as u64 - older);
    same(
        &store.aggregate(&query((0, 0), "")).unwrap(),
        &Expected::default(),
        "deleted day is empty",
    );
    same(
        &store.aggregate(&query((2, 2), "")).unwrap(),
        &truth::totals(&on_days(&all, (2, 2)), |_| true, |_| true),
        "kept day is intact",
    );
    super::conditions::conditions(store.as_ref(), &all, &people);
    super::conditions::random_trees(store.as_ref(), &all, &people);
    super::whole_visit::whole_visit(store.as_ref());
    channels(store.as_ref(), &all);
}

/// Scroll depth and time on page per page, and with a page filter, as the
/// oracle gathers them from the engagement events sent.
fn engagement(store: &dyn Store, sent: &[Sent]) {
    let reported = sent.iter().filter(|s| s.engagement.is_some()).count();
    assert!(
        reported > 200,
        "enough engagement to mean something: {reported}"
    );
    let mut q = query((0, 2), "");
    q.metrics = vec![Metric::Visitors, Metric::ScrollDepth, Metric::TimeOnPage];
    let expected = truth::engagement_by_page(sent, |_| true);
    let rows = store.breakdown(&q, &Dimension::Page, 100, 0).unwrap();
    assert_eq!(rows.len(), glasshouse_testkit::traffic::PAGES.len());
    for (page, t) in &rows {
        let (sd, secs) = expected[page];
        let (got_sd, got_secs) = (t.scroll_depth.unwrap(), t.time_on_page.unwrap());
        assert!(
            (got_sd - sd).abs() < 1e-6,
            "{page}: scroll depth {got_sd} vs {sd}"
        );
        assert!(
            (got_secs - secs).abs() < 1e-6,
            "{page}: time {got_secs} vs {secs}"
        );
    }
    let mut q = query((0, 2), "event:page==/apply");
    q.metrics = vec![Metric::ScrollDepth, Metric::TimeOnPage];
    let t = store.aggregate(&q).unwrap();
    let (sd, secs) = truth::engagement_by_page(sent, |s| s.path == "/apply")["/apply"];
    assert!((t.scroll_depth.unwrap() - sd).abs() < 1e-6);
    assert!((t.time_on_page.unwrap() - secs).abs() < 1e-6);
    // Not asked for, not computed; no report on the day, none to give.
    assert_eq!(
        store.aggregate(&query((0, 2), "")).unwrap().scroll_depth,
        None
    );
    let mut q = query((5, 6), "event:page==/apply");
    q.metrics = vec![Metric::ScrollDepth];
    assert_eq!(store.aggregate(&q).unwrap().scroll_depth, None);
}

/// Goal completions and conversion rates, against the oracle applying
/// each goal's definition (`Goal::completed_by`) to the events sent.
fn goals(store: &dyn Store, all: &[Visit]) {
    use glasshouse_model::goal::{Goal, GoalKind};
    use glasshouse_store::goals;
    let form = |props: &[(&str, &str)]| GoalKind::Event {
        name: "Form submitted".into(),
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let defined = vec![
        Goal::new(GoalKind::Page("/universal-credit/**".into()), None),
        Goal::new(GoalKind::Page("/apply".into()), None),
        Goal::new(form(&[("form", "visa")]), Some("Visa form".into())),
        Goal::new(form(&[]), None),
        Goal::new(GoalKind::Page("/never-visited".into()), None),
    ];
    let completes = |g: &Goal, e: &Sent| g.completed_by(&e.name, &e.path, &e.props);
    let everyone = truth::totals(all, |_| true, |_| true).visitors;
    let raw_from = first_day();
    let goal_filter = |goals: Vec<Goal>| Filter {
        values: goals.iter().map(|g| g.name.clone()).collect(),
        dimension: Dimension::Goal(goals),
        op: glasshouse_model::query::FilterOp::Is,
    };
    let mut q = query((0, 2), "");
    q.metrics.push(Metric::ConversionRate);
    // Filtered by each goal: its conversions, and the share of everyone.
    for g in &defined {
        let mut one = q.clone();
        one.filters.push(goal_filter(vec![g.clone()]));
        let got = goals::aggregate(store, &one, raw_from).unwrap();
        let want = truth::totals(all, |_| true, |e| completes(g, e));
        same(&got, &want, &format!("goal {}", g.name));
        let rate = want.visitors as f64 * 100.0 / everyone as f64;
        assert!(
            (got.conversion_rate.unwrap() - rate).abs() < 1e-9,
            "{}",
            g.name
        );
    }
    // Either of two goals: events completing any.
    let mut two = q.clone();
    two.filters.push(goal_filter(defined[..2].to_vec()));
    same(
        &goals::aggregate(store, &two, raw_from).unwrap(),
        &truth::totals(
            all,
            |_| true,
            |e| defined[..2].iter().any(|g| completes(g, e)),
        ),
        "either of two goals",
    );
    // By goal: a row per goal with conversions.
    let rows = goals::breakdown(
        store,
        &q,
        &Dimension::Goal(defined.clone()),
        100,
        0,
        raw_from,
    )
    .unwrap();
    let expected: BTreeMap<String, Expected> = defined
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                truth::totals(all, |_| true, |e| completes(g, e)),
            )
        })
        .filter(|(_, t)| t.events > 0)
        .collect();
    for (name, t) in &rows {
        let rate = expected[name].visitors as f64 * 100.0 / everyone as f64;
        assert!((t.conversion_rate.unwrap() - rate).abs() < 1e-9, "{name}");
    }
    same_rows(rows, expected, "by goal");
    // By goal and page, and by source and goal: per goal, the rows of the
    // events completing it.
    let key = |parts: &[String]| Dimension::join_key(parts);
    let counts = vec![
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::Events,
    ];
    let counted = Query {
        metrics: counts,
        ..q.clone()
    };
    let goal = Dimension::Goal(defined.clone());
    let source = shown_source;
    type Key<'k> = dyn Fn(&Goal, &Visit, &Sent) -> String + 'k;
    let cases: [(Vec<Dimension>, &Key); 2] = [
        (vec![goal.clone(), Dimension::Page], &|g, _, e| {
            key(&[g.name.clone(), e.path.clone()])
        }),
        (vec![Dimension::Source, goal.clone()], &|g, v, _| {
            key(&[source(v), g.name.clone()])
        }),
    ];
    for (parts, keyed) in cases {
        let by = Dimension::Tuple(parts);
        let rows = goals::breakdown(store, &counted, &by, 1000, 0, raw_from).unwrap();
        let mut expected = BTreeMap::new();
        for g in &defined {
            expected.extend(truth::by_visit_and_event(all, |v, e| {
                completes(g, e).then(|| keyed(g, v, e))
            }));
        }
        same_rows(rows.clone(), expected, &format!("by {by}"));
        let page = goals::breakdown(store, &counted, &by, 2, 1, raw_from).unwrap();
        assert_eq!(page, rows[1..3].to_vec(), "by {by}: a page");
        let mut by_name = counted.clone();
        by_name.order = vec![glasshouse_model::query::OrderKey {
            on: glasshouse_model::query::Ordered::Part(1),
            descending: true,
        }];
        let rows = goals::breakdown(store, &by_name, &by, 1000, 0, raw_from).unwrap();
        let part = |k: &str| by.split_key(k)[1].clone();
        assert!(
            rows.windows(2).all(|w| part(&w[0].0) > part(&w[1].0)
                || (part(&w[0].0) == part(&w[1].0) && w[0].0 < w[1].0)),
            "by {by}, second part backwards"
        );
    }
    // By source, filtered by a goal: each source's own conversion rate.
    let mut by_source = q.clone();
    by_source.metrics.push(Metric::GroupConversionRate);
    by_source
        .filters
        .push(goal_filter(vec![defined[2].clone()]));
    let rows = goals::breakdown(store, &by_source, &Dimension::Source, 100, 0, raw_from).unwrap();
    assert!(!rows.is_empty());
    for (source, t) in &rows {
        let stored = if source == "Direct / None" {
            ""
        } else {
            source.as_str()
        };
        let of_source = |v: &Visit| v.source() == stored;
        let converted = truth::totals(all, of_source, |e| completes(&defined[2], e)).visitors;
        let whole = truth::totals(all, of_source, |_| true).visitors;
        assert_eq!(t.visitors, converted, "{source}");
        let rate = converted as f64 * 100.0 / whole as f64;
        assert!(
            (t.group_conversion_rate.unwrap() - rate).abs() < 1e-9,
            "{source}"
        );
    }
}

/// A visit's source as breakdowns show it: none is `Direct / None`.
pub fn shown_source(v: &Visit) -> String {
    match v.source() {
        "" => "Direct / None".to_string(),
        s => s.to_string(),
    }
}

/// A breakdown over the first three days, by a dimension, with filters.
type Breakdown<'a> = dyn Fn(Dimension, &str) -> Vec<(String, Totals)> + 'a;

/// Breakdowns by several dimensions at once (v2's list): a row per
/// combination that occurs, its key the parts' values joined; a part whose
/// empty value means "not known" leaves the row out, as alone.
fn several_dimensions(store: &dyn Store, all: &[Visit], people: &[Person], bd: &Breakdown<'_>) {
    let key = |parts: &[String]| Dimension::join_key(parts);
    let source = shown_source;
    let tuple = |parts: &[Dimension]| Dimension::Tuple(parts.to_vec());
    same_rows(
        bd(tuple(&[Dimension::Source, Dimension::Page]), ""),
        truth::by_visit_and_event(all, |v, e| Some(key(&[source(v), e.path.clone()]))),
        "by source and page",
    );
    same_rows(
        bd(tuple(&[Dimension::Country, Dimension::Browser]), ""),
        truth::by_visit(all, |v| {
            Some(key(&[
                v.country(people).to_string(),
                v.browser(people).to_string(),
            ]))
        }),
        "by country and browser",
    );
    same_rows(
        bd(tuple(&[Dimension::Page, Dimension::Region]), ""),
        truth::by_visit_and_event(all, |v, e| {
            let region = v.region(people);
            (!region.is_empty()).then(|| key(&[e.path.clone(), region.to_string()]))
        }),
        "by page and region, unknown regions left out",
    );
    let form = |e: &Sent| {
        e.props
            .first()
            .map(|p| p.1.clone())
            .unwrap_or_else(|| "(none)".into())
    };
    same_rows(
        bd(
            tuple(&[Dimension::EventName, Dimension::EventProp("form".into())]),
            "",
        ),
        truth::by_event(all, |e| Some(key(&[e.name.clone(), form(e)]))),
        "by event name and form property",
    );
    let day = |e: &Sent| {
        let midnight = e.ts.date_naive().and_hms_opt(0, 0, 0).expect("midnight");
        midnight.and_utc().timestamp_micros().to_string()
    };
    same_rows(
        bd(
            tuple(&[Dimension::Time(Interval::Day), Dimension::Page]),
            "",
        ),
        truth::by_event(all, |e| Some(key(&[day(e), e.path.clone()]))),
        "by day and page",
    );
    let google: Vec<Visit> = all
        .iter()
        .filter(|v| v.source() == "Google")
        .cloned()
        .collect();
    same_rows(
        bd(
            tuple(&[Dimension::Source, Dimension::Page]),
            "visit:source==Google",
        ),
        truth::by_visit_and_event(&google, |v, e| Some(key(&[source(v), e.path.clone()]))),
        "by source and page, Google visits",
    );

    // Paging, and a filter on the rows' own keys (how a compared period
    // and group conversion rates pick their rows): the same figures.
    let by = tuple(&[Dimension::Source, Dimension::Page]);
    let rows = bd(by.clone(), "");
    let page2 = store
        .breakdown(&query((0, 2), ""), &by, 3, 3)
        .expect("second page");
    assert_eq!(
        page2.iter().map(|r| &r.0).collect::<Vec<_>>(),
        rows[3..6].iter().map(|r| &r.0).collect::<Vec<_>>(),
        "second page of three"
    );
    let picked: Vec<String> = rows[..4].iter().map(|r| r.0.clone()).collect();
    let mut q = query((0, 2), "");
    q.filters.push(Filter {
        dimension: by.clone(),
        op: glasshouse_model::query::FilterOp::Is,
        values: picked.clone(),
    });
    let filtered = store.breakdown(&q, &by, 1000, 0).expect("filtered by keys");
    assert_eq!(
        filtered,
        rows[..4].to_vec(),
        "filtered on its own keys: the same rows"
    );
    ordered(store, &by);
}

/// Rows in the order asked (`Query::order`): by parts and counts either
/// way, ties by key; read in pages, the same order.
fn ordered(store: &dyn Store, by: &Dimension) {
    use glasshouse_model::query::{OrderKey, Ordered};
    use std::cmp::Ordering;
    let key = |on, descending| OrderKey { on, descending };
    let day_page = Dimension::Tuple(vec![Dimension::Time(Interval::Day), Dimension::Page]);
    type Cmp = Box<dyn Fn(&(String, Totals), &(String, Totals)) -> Ordering>;
    let part = |by: &Dimension, k: &str, i: usize| by.split_key(k)[i].clone();
    let cases: Vec<(Dimension, Vec<OrderKey>, Cmp)> = vec![
        (
            day_page.clone(),
            vec![
                key(Ordered::Part(0), false),
                key(Ordered::Metric(Metric::Visitors), true),
            ],
            Box::new({
                let by = day_page.clone();
                move |a, b| {
                    let day = |k: &str| part(&by, k, 0).parse::<i64>().unwrap();
                    day(&a.0)
                        .cmp(&day(&b.0))
                        .then(b.1.visitors.cmp(&a.1.visitors))
                }
            }),
        ),
        (
            by.clone(),
            // Visits are counted after the values: the page is chosen late.
            vec![
                key(Ordered::Metric(Metric::Visits), true),
                key(Ordered::Part(1), true),
            ],
            Box::new({
                let by = by.clone();
                move |a, b| {
                    b.1.visits
                        .cmp(&a.1.visits)
                        .then_with(|| part(&by, &b.0, 1).cmp(&part(&by, &a.0, 1)))
                }
            }),
        ),
        (
            Dimension::Page,
            vec![key(Ordered::Part(0), true)],
            Box::new(|a, b| b.0.cmp(&a.0)),
        ),
        (
            Dimension::Source,
            vec![key(Ordered::Metric(Metric::Pageviews), false)],
            Box::new(|a, b| a.1.pageviews.cmp(&b.1.pageviews)),
        ),
    ];
    for (by, order, cmp) in cases {
        let mut q = query((0, 2), "");
        q.order = order.clone();
        let rows = store.breakdown(&q, &by, 1000, 0).expect("ordered");
        let mut want = rows.clone();
        want.sort_by(|a, b| cmp(a, b).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(rows, want, "{by} ordered by {order:?}");
        assert!(rows.len() > 3, "{by}: {} rows", rows.len());
        let page = store.breakdown(&q, &by, 2, 1).expect("a page");
        assert_eq!(page, rows[1..3].to_vec(), "{by}: a page, same order");
        // Summed outside the database (roll-ups, imports): the same order.
        let again = glasshouse_store::tiers::page_of_largest(&q, &by, rows.clone(), 1000, 0);
        assert_eq!(again, rows, "{by}: sorted outside the database");
    }
}

/// Acquisition channels (`visit:channel`): the loaded traffic against the
/// model's rules, then visits sent with tags, each against the channel
/// Plausible's rules give it, written out by hand.
fn channels(store: &dyn Store, all: &[Visit]) {
    use glasshouse_model::channel;
    let of = |v: &Visit| channel::of(v.source(), "", "", "").to_string();
    let kept = on_days(all, (2, 2));
    let day = |dim: Dimension, filters: &str| {
        store
            .breakdown(&query((2, 2), filters), &dim, 1000, 0)
            .unwrap()
    };
    same_rows(
        day(Dimension::Channel, ""),
        truth::by_visit(&kept, |v| Some(of(v))),
        "by channel",
    );
    same_rows(
        day(Dimension::Channel, "event:page==/apply"),
        truth::by_visit_and_event(&kept, |v, e| (e.path == "/apply").then(|| of(v))),
        "by channel, an event filter",
    );
    same_rows(
        day(
            Dimension::Tuple(vec![Dimension::Channel, Dimension::Source]),
            "",
        ),
        truth::by_visit(&kept, |v| {
            Some(Dimension::join_key(&[of(v), shown_source(v)]))
        }),
        "by channel and source",
    );
    same(
        &store
            .aggregate(&query((2, 2), "visit:channel==Organic Search"))
            .unwrap(),
        &truth::totals(&kept, |v| of(v) == "Organic Search", |_| true),
        "filtered on a channel",
    );

    let sent = [
        (None, "", "Direct"),
        (Some("https://www.google.com/"), "", "Organic Search"),
        (
            Some("https://www.google.co.uk/"),
            "?utm_medium=cpc",
            "Paid Search",
        ),
        (Some("https://www.facebook.com/"), "", "Organic Social"),
        (
            None,
            "?utm_source=Facebook&utm_medium=Paid_Social",
            "Paid Social",
        ),
        (Some("https://m.youtube.com/"), "", "Organic Video"),
        (None, "?utm_source=newsletter&utm_medium=email", "Email"),
        (Some("https://mail.google.com/"), "", "Email"),
        (
            None,
            "?utm_source=ads.example&utm_medium=display",
            "Display",
        ),
        (Some("https://news.example.org/a"), "", "Referral"),
        (
            None,
            "?utm_source=partner&utm_campaign=spring_cross-network",
            "Cross-network",
        ),
        (None, "?utm_source=text&utm_medium=sms", "SMS"),
    ];
    let events: Vec<StoredEvent> = sent
        .iter()
        .enumerate()
        .map(|(i, (referrer, tags, _))| {
            tagged_visit(
                i,
                referrer.map(str::to_string),
                &format!("https://{HOST}/start{tags}"),
            )
        })
        .collect();
    store.append(&events).unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, channel) in &sent {
        *expected.entry(channel.to_string()).or_default() += 1;
    }
    let tagged_day = |filters: &str| query((12, 12), filters);
    let rows: BTreeMap<String, u64> = store
        .breakdown(&tagged_day(""), &Dimension::Channel, 100, 0)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.visitors))
        .collect();
    assert_eq!(rows, expected, "tagged visits by channel");
    assert_eq!(
        store
            .aggregate(&tagged_day("visit:channel==Email|SMS"))
            .unwrap()
            .visitors,
        3,
        "filtered on two channels"
    );
}

/// One page view at `url` from `referrer`, the `i`th visitor of its own,
/// twelve days after the loaded traffic.
fn tagged_visit(i: usize, referrer: Option<String>, url: &str) -> StoredEvent {
    let at = Utc.from_utc_datetime(
        &(first_day() + Duration::days(12))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    );
    let anonymiser = Anonymiser::new(Salts::ephemeral(Arc::new(ManualClock::new(at))), None);
    let raw = glasshouse_privacy::RawEvent {
        ip: format!("192.0.2.{}", 20 + i).parse().unwrap(),
        user_agent: traffic::AGENTS[0].0.to_string(),
        name: "pageview".into(),
        url: url.to_string(),
        referrer,
        title: None,
        props: vec![],
        interactive: true,
        revenue: None,
        engagement: None,
        timestamp: at + Duration::seconds(i as i64),
    };
    Sessionizer::default().assign(
        anonymiser
            .anonymise(raw, &site(), HOST)
            .expect("anonymised"),
    )
}
