//! A real server on a free loopback port, in this process, with a clock the
//! test moves.

#![allow(dead_code)]

pub mod recording;

use chrono::{DateTime, Utc};
use glasshouse_model::{Clock, Config, ManualClock};
use glasshouse_privacy::{Anonymiser, Salts};
use glasshouse_server::{App, AppState};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::{DuckStore, Ingestor, Sessionizer, Store};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const HOST: &str = "test.example";
pub const TOKEN: &str = "test-token-of-test-org";
pub const OTHER_TOKEN: &str = "token-of-another-org";
/// A token of the organisation that shares journeys with the test organisation.
pub const PARTNER_TOKEN: &str = "token-of-the-partner-org";
pub const PARTNER: &str = "partner.example";
/// The installation operator's token: every site.
pub const OPERATOR_TOKEN: &str = "token-of-the-operator";

pub struct TestServer {
    pub url: String,
    /// The app being served (its configuration as started).
    pub app: App,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The reads the store was asked, on `Backend::Recorded`.
    pub notes: recording::Notes,
    /// The ClickHouse server, when the store is one; stopped on drop.
    _clickhouse: Option<glasshouse_testkit::clickhouse::Server>,
}

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// DuckDB in the test's directory.
    DuckDb,
    /// A real ClickHouse server started for the test.
    ClickHouse,
    /// DuckDB, noting every read the server makes (`recording.rs`).
    Recorded,
}

pub const PASSWORD: &str = "correct horse battery staple";

static PASSWORD_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
});

/// The test configuration, its agreements signed by every party.
pub fn config_text(dir: &std::path::Path) -> String {
    glasshouse_testkit::signing::signed(&unsigned_config_text(dir))
}

/// The test configuration before its agreements are signed, for edits.
fn unsigned_config_text(dir: &std::path::Path) -> String {
    let hash = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    format!(
        r#"
data_dir = {dir:?}
trusted_proxies = ["127.0.0.1/32"]

[[organisations]]
id = "test-org"
name = "Test Organisation"

[[organisations]]
id = "other-org"
name = "Other Organisation"

[[sites]]
host = "{HOST}"
organisation = "test-org"
query_params = ["q"]

[[sites.goals]]
page = "/apply"

[[sites.goals]]
event = "Form submitted"
props = {{ form = "visa" }}
name = "Visa form"

[[organisations]]
id = "partner-org"
name = "Partner Organisation"

[[sites]]
host = "other.example"
organisation = "other-org"
timezone = "Europe/London"

[[sites]]
host = "{PARTNER}"
organisation = "partner-org"

[[agreements]]
id = "test-partner"
title = "Journeys between the test and partner sites"
parties = ["test-org", "partner-org"]
sites = ["{HOST}", "{PARTNER}"]
purposes = ["service-improvement"]
metrics = ["visitors", "visits"]
breakdowns = ["event:page"]
journeys = true
k = 2
start = "2020-01-01"

[[api_tokens]]
name = "tests"
organisation = "test-org"
role = "analyst"
sha256 = "{}"

[[api_tokens]]
name = "other"
organisation = "other-org"
sha256 = "{}"

[[api_tokens]]
name = "partner"
organisation = "partner-org"
sha256 = "{}"

[[api_tokens]]
name = "operator"
organisation = "test-org"
all_sites = true
sha256 = "{}"

[[users]]
username = "ana"
organisation = "test-org"
role = "analyst"
password_hash = "{}"
"#,
        hash(TOKEN),
        hash(OTHER_TOKEN),
        hash(PARTNER_TOKEN),
        hash(OPERATOR_TOKEN),
        *PASSWORD_HASH,
    )
}

impl TestServer {
    pub async fn start(at: DateTime<Utc>) -> TestServer {
        TestServer::start_edited(at, |c| c).await
    }

    /// A server whose configuration is the test one changed by `edit`.
    pub async fn start_edited(
        at: DateTime<Utc>,
        edit: impl FnOnce(String) -> String,
    ) -> TestServer {
        TestServer::start_on(Backend::DuckDb, at, edit)
            .await
            .expect("DuckDB always starts")
    }

    /// A server on `backend`; `None` when ClickHouse tests are skipped
    /// (`GLASSHOUSE_SKIP_CLICKHOUSE=1`).
    pub async fn start_on(
        backend: Backend,
        at: DateTime<Utc>,
        edit: impl FnOnce(String) -> String,
    ) -> Option<TestServer> {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("glasshouse.toml");
        // Signed after the edit, as the parties would sign what runs.
        let text = glasshouse_testkit::signing::signed(&edit(unsigned_config_text(dir.path())));
        std::fs::write(&config_path, text).unwrap();
        let config = Config::load(&config_path).unwrap();
        let clock = ManualClock::new(at);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let notes = recording::Notes::default();
        let (store, clickhouse): (Arc<dyn Store>, _) = match backend {
            Backend::DuckDb => (Arc::new(DuckStore::open(dir.path()).unwrap()), None),
            Backend::Recorded => {
                let inner = Arc::new(DuckStore::open(dir.path()).unwrap());
                let notes = notes.clone();
                (Arc::new(recording::Recording { inner, notes }), None)
            }
            Backend::ClickHouse => {
                let server = glasshouse_testkit::clickhouse::start()?;
                // Its own database: tests may share one server
                // (GLASSHOUSE_CLICKHOUSE_PORT) and run at once.
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let database = format!(
                    "server_tests_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                let url = format!("clickhouse://127.0.0.1:{}/{database}", server.http_port);
                glasshouse_testkit::clickhouse::execute(
                    server.http_port,
                    &format!("DROP DATABASE IF EXISTS {database}"),
                );
                let store = glasshouse_store::ClickHouseStore::open(
                    glasshouse_store::ClickHouseConfig::from_url(&url).unwrap(),
                )
                .unwrap();
                (Arc::new(store), Some(server))
            }
        };
        // As `glasshouse serve` starts: salts and roll-ups follow the sites' days.
        let salts = Salts::open(dir.path(), shared.clone()).unwrap();
        salts.set_zones(&config.timezones()).unwrap();
        store.set_zones(&config.site_zones());
        // Where the test traffic's people are, as a place database would say.
        let places = glasshouse_testkit::traffic::Places::first(10_000);
        let anonymiser = Anonymiser::placing(salts, Some(Box::new(places)));
        let ingestor = Ingestor::start(
            store.clone(),
            Sessionizer::default(),
            IngestOptions::default(),
        );
        let app = App::new(AppState {
            config: Arc::new(config),
            anonymiser: Arc::new(anonymiser),
            ingestor: Arc::new(ingestor),
            store: store.clone(),
            clock: shared,
            sessions: Default::default(),
            funnels: Arc::new(glasshouse_store::saved::SavedFunnels::open(dir.path()).unwrap()),
            annotations: Arc::new(
                glasshouse_store::annotations::Annotations::open(dir.path()).unwrap(),
            ),
            segments: Arc::new(glasshouse_store::segments::Segments::open(dir.path()).unwrap()),
            links: Arc::new(glasshouse_store::links::Links::open(dir.path()).unwrap()),
            link_views: Arc::new(glasshouse_store::links::ViewCounts::open(dir.path()).unwrap()),
            mail: Arc::new(glasshouse_server::mail::Mail::open(dir.path()).unwrap()),
            audit: Arc::new(glasshouse_server::audit::Audit::open(dir.path(), None).unwrap()),
            budgets: Arc::new(glasshouse_privacy::budget::Budgets::open(dir.path()).unwrap()),
            releases: Arc::new(glasshouse_governance::gate::Releases::open(dir.path()).unwrap()),
            federation: None,
            register: Arc::default(),
            reload: Default::default(),
            metrics: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        let reloader = glasshouse_server::reload::Reloader::new(config_path, app);
        let task = tokio::spawn(async move {
            glasshouse_server::serve_reloadable(listener, &reloader, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Some(TestServer {
            url,
            app: served,
            clock,
            store,
            dir,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            notes,
            _clickhouse: clickhouse,
        })
    }

    /// Stops serving and waits until everything queued is written.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub async fn post_event(
        &self,
        ip: &str,
        ua: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api/event", self.url))
            .header("user-agent", ua)
            .header("x-forwarded-for", ip)
            .header("content-type", "text/plain")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// The query line of every audit log entry, oldest first.
    pub fn audit_queries(&self) -> Vec<String> {
        let log = &self.app.audit.log;
        log.entries(0, log.size())
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.query)
            .collect()
    }

    pub async fn stats(&self, path_and_query: &str) -> (u16, serde_json::Value) {
        self.stats_as(TOKEN, path_and_query).await
    }

    pub async fn stats_as(&self, token: &str, path_and_query: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(format!("{}{}", self.url, path_and_query))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

pub const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36";
