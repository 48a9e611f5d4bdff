//! Assembling the data path from a configuration and serving it.

use anyhow::Context;
use glasshouse_model::{Clock, Config, StoreChoice};
use glasshouse_privacy::{Anonymiser, GeoDb, Salts};
use glasshouse_server::{App, AppState};
use glasshouse_store::ingest::IngestOptions;
use glasshouse_store::wal::{Wal, WalOptions};
use glasshouse_store::{
    sessions, ClickHouseConfig, ClickHouseStore, DuckStore, Ingestor, Sessionizer, Store,
    StoreError,
};
use std::path::Path;
use std::sync::Arc;

/// `glasshouse serve --config FILE`.
/// `store` (from `--store`) overrides the file's `[store]`.
pub fn serve_config(path: &Path, store: Option<StoreChoice>) -> anyhow::Result<()> {
    let mut config = Config::load(path)?;
    if let Some(store) = store {
        config.store = store;
    }
    let dir = glasshouse_store::datadir::DataDir::lock(&config.data_dir)?;
    serve(dir, config, path, |_| {})
}

/// Opens the store in the configured data directory.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &config.store {
        StoreChoice::DuckDb => {
            let store = DuckStore::open(&config.data_dir).with_context(|| {
                format!("opening the database in {}", config.data_dir.display())
            })?;
            Ok(Arc::new(store))
        }
        StoreChoice::ClickHouse { url } => {
            let described = config.store.describe();
            let settings =
                ClickHouseConfig::from_url(url).with_context(|| format!("store: {described}"))?;
            let store = ClickHouseStore::open(settings)
                .with_context(|| format!("connecting to {described}"))?;
            Ok(Arc::new(store))
        }
    }
}

/// Starts the ingest queue for the configured store, continuing the visits
/// in progress. Events are first logged locally (`DATA_DIR/wal/`, fsynced
/// before the 202) and shipped to the store behind, in large commits: for
/// ClickHouse so that an outage loses nothing, for DuckDB because its
/// commit costs milliseconds whatever its size. Visits whose latest events
/// are still in the log are restored from it too.
fn start_ingest(
    config: &Config,
    store: Arc<dyn Store>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Ingestor> {
    let since = sessions::open_since(now);
    let open = match (store.recent_sessions(since), store.recent_journeys(since)) {
        (Ok(visits), Ok(journeys)) => (visits, journeys),
        // ClickHouse down at start: collect anyway, into the log. Visits
        // whose earlier events were already shipped start afresh, so a
        // visit in progress across this restart may count twice.
        (Err(StoreError::Unreachable(detail)), _) | (_, Err(StoreError::Unreachable(detail))) => {
            tracing::warn!(
                %detail,
                "the store cannot be reached: collecting into the write-ahead log until it can; \
                 visits in progress before this start are not continued"
            );
            (Vec::new(), Vec::new())
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let dir = config.data_dir.join("wal");
    let defaults = WalOptions::default();
    let options = WalOptions {
        store_has_through: store.logged_through()?,
        max_bytes: config.wal_limit_bytes.unwrap_or(defaults.max_bytes),
        ..defaults
    };
    let wal = Wal::open(&dir, options)
        .with_context(|| format!("opening the write-ahead log in {}", dir.display()))?;
    let (visits, journeys) = wal
        .restore_open(since.timestamp_micros(), open)
        .with_context(|| format!("reading the write-ahead log in {}", dir.display()))?;
    let sessions = Sessionizer::restore(visits, journeys);
    Ok(Ingestor::start_logged(
        store,
        sessions,
        IngestOptions::default(),
        wal,
    ))
}

/// Opens the country or city databases, if any are configured.
pub fn open_geo(config: &Config) -> anyhow::Result<Option<GeoDb>> {
    let paths = &config.geoip_database;
    if paths.is_empty() {
        return Ok(None);
    }
    let db = GeoDb::open_all(paths).context("opening the geoip_database files")?;
    Ok(Some(db))
}

/// Serves until Ctrl-C or SIGTERM, then writes what is queued and stops.
/// `ready` is called once the server listens (the demo prints its logins then).
/// `path` is the configuration file, read again on SIGHUP or the admin API.
/// `dir` is the data directory, held (locked) until serving stops.
pub fn serve(
    _dir: glasshouse_store::datadir::DataDir,
    config: Config,
    path: &Path,
    ready: impl FnOnce(&Config),
) -> anyhow::Result<()> {
    let path = path.to_path_buf();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let clock = crate::clock::from_env()?;
        let (app, store, ingestor, funnels) = assemble(config, clock.clone())?;
        let config = app.config.clone();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let rotation = spawn_salt_rotation(app.anonymiser.clone());
        // The register's first reader should not wait for the whole audit
        // log to be checked; later checks read only what was appended.
        let audit = app.audit.clone();
        tokio::task::spawn_blocking(move || audit.verified());
        let reloader = glasshouse_server::reload::Reloader::new(path, app);
        let retention = spawn_retention(Arc::downgrade(&reloader), store.clone(), funnels, clock);
        let minutely = spawn_minutely(Arc::downgrade(&reloader));
        let federation = spawn_federation(Arc::downgrade(&reloader));
        let control = spawn_control(Arc::downgrade(&reloader), store.clone(), config.store.describe());
        tracing::info!(listen = %config.listen, data = %config.data_dir.display(), "glasshouse is serving");
        ready(&config);
        let hangup = spawn_reload_on_hangup(reloader.clone());
        glasshouse_server::serve_reloadable(listener, &reloader, shutdown_signal()).await?;
        hangup.abort();
        let _ = hangup.await;
        drop(reloader);
        retention.abort();
        control.abort();
        let _ = std::fs::remove_file(config.data_dir.join(crate::backup::CONTROL_SOCKET));
        rotation.abort();
        minutely.abort();
        let _ = minutely.await;
        federation.abort();
        let _ = federation.await;
        // Everything acknowledged is already durable; this writes what was
        // still queued, gives the shipper a few seconds to empty ClickHouse's
        // write-ahead log (the rest goes at the next start), and folds
        // DuckDB's log into the database file.
        if let Ok(ingestor) = Arc::try_unwrap(ingestor) {
            ingestor.shutdown();
        }
        store.checkpoint()?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Opens everything an app needs in the configured data directory (the
/// caller holds its lock): the store, salts, ingest queue, saved lists,
/// budgets and audit log. Blocks on I/O: call it inside a multi-threaded
/// runtime.
#[allow(clippy::type_complexity)]
pub fn assemble(
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(
    App,
    Arc<dyn Store>,
    Arc<Ingestor>,
    Arc<glasshouse_store::saved::SavedFunnels>,
)> {
    // Opening the store and restoring visits block on I/O (ClickHouse
    // over a blocking HTTP client): not on an async thread as such.
    let (store, anonymiser, ingestor) = tokio::task::block_in_place(|| -> anyhow::Result<_> {
        let store = open_store(&config)?;
        // A week beyond the longest raw retention, so that the retention task
        // (which rolls days up before deleting them) always goes first.
        let longest = config
            .sites
            .iter()
            .map(|s| s.raw_retention_days)
            .max()
            .unwrap_or(30);
        match store.set_retention_backstop(longest + 7) {
            Ok(true) => tracing::info!(
                days = longest + 7,
                "the store drops raw events past retention itself too (TTL)"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "no TTL backstop; the retention task alone deletes raw events")
            }
        }
        let salts = Salts::open(&config.data_dir, clock.clone())
            .with_context(|| format!("opening the salts in {}", config.data_dir.display()))?;
        store.set_zones(&config.site_zones());
        for site in
            glasshouse_store::zones::apply(store.as_ref(), &config.data_dir, &config.site_zones())?
        {
            tracing::info!(site = %site, "time zone changed: closed days will be rolled up again for its days");
        }
        salts
            .set_zones(&config.timezones())
            .context("making today's salts for the sites' time zones")?;
        let anonymiser = Arc::new(Anonymiser::new(salts, open_geo(&config)?));
        let ingestor = Arc::new(start_ingest(&config, store.clone(), clock.now())?);
        Ok((store, anonymiser, ingestor))
    })?;
    let config = Arc::new(config);
    let funnels = Arc::new(glasshouse_store::saved::SavedFunnels::open(
        &config.data_dir,
    )?);
    let app = App::new(AppState {
        config: config.clone(),
        anonymiser,
        ingestor: ingestor.clone(),
        store: store.clone(),
        clock: clock.clone(),
        sessions: Default::default(),
        funnels: funnels.clone(),
        annotations: Arc::new(glasshouse_store::annotations::Annotations::open(
            &config.data_dir,
        )?),
        segments: Arc::new(glasshouse_store::segments::Segments::open(
            &config.data_dir,
        )?),
        links: Arc::new(glasshouse_store::links::Links::open(&config.data_dir)?),
        link_views: Arc::new(glasshouse_store::links::ViewCounts::open(&config.data_dir)?),
        mail: Arc::new(glasshouse_server::mail::Mail::open(&config.data_dir)?),
        budgets: Arc::new(glasshouse_privacy::budget::Budgets::open(&config.data_dir)?),
        federation: glasshouse_federation::Node::open(&config)
            .with_context(|| "opening this node's federation state")?,
        releases: Arc::new(glasshouse_governance::gate::Releases::open(
            &config.data_dir,
        )?),
        register: Arc::default(),
        reload: Default::default(),
        metrics: Default::default(),
        audit: Arc::new(
            glasshouse_server::audit::Audit::open(&config.data_dir, config.public_url.as_deref())
                .with_context(|| {
                format!(
                    "opening the audit log in {}",
                    config.data_dir.join("audit").display()
                )
            })?,
        ),
    });
    Ok((app, store, ingestor, funnels))
}

/// Runs retention (`glasshouse_store::retention`) at start and then hourly,
/// each time under the configuration the reloader serves then, so a reload
/// that shortens a site's retention is enforced within the hour.
fn spawn_retention(
    reloader: std::sync::Weak<glasshouse_server::reload::Reloader>,
    store: Arc<dyn glasshouse_store::Store>,
    funnels: Arc<glasshouse_store::saved::SavedFunnels>,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let Some(config) = reloader.upgrade().map(|r| r.config()) else {
                return;
            };
            let (s, f, k) = (store.clone(), funnels.clone(), clock.clone());
            let job = move || glasshouse_store::retention::run(&config, s.as_ref(), &f, k.as_ref());
            match tokio::task::spawn_blocking(job).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "retention failed; will retry in an hour")
                }
                Err(e) => tracing::error!(error = %e, "retention task panicked"),
            }
        }
    })
}

/// Every minute, under the app serving then: writes the link views of days
/// that are over to the audit log (`glasshouse_server::links::flush`), so
/// a day's count is logged even if nobody views the link the next day; and
/// sends the reports and alerts that are due (`mail::schedule::tick`).
fn spawn_minutely(
    reloader: std::sync::Weak<glasshouse_server::reload::Reloader>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(app) = reloader.upgrade().map(|r| r.app()) else {
                return;
            };
            glasshouse_server::links::flush(&app).await;
            glasshouse_server::mail::schedule::tick(&app).await;
        }
    })
}

/// How often a node looks for work: link keys to agree, figures of
/// finished days to compute, link ids and keys to erase.
const FEDERATION_TICK: std::time::Duration = std::time::Duration::from_secs(5);

/// A node's periodic work (`glasshouse_federation::Node::tick`), under
/// the app serving then; each exchange it makes is written to the audit log.
fn spawn_federation(
    reloader: std::sync::Weak<glasshouse_server::reload::Reloader>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FEDERATION_TICK);
        loop {
            tick.tick().await;
            let Some(app) = reloader.upgrade().map(|r| r.app()) else {
                return;
            };
            let Some(node) = app.federation.clone() else {
                return;
            };
            let logged = node
                .tick(&app.config, app.budgets.as_ref(), app.clock.now())
                .await;
            for l in &logged {
                if !glasshouse_server::federation::log(&app, l).await {
                    tracing::error!("a federation exchange could not be written to the audit log");
                }
            }
            let n = node.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || n.sync()).await {
                tracing::error!(error = %e, "the day's link ids could not be synced");
            }
        }
    })
}

/// Takes `glasshouse backup` and `glasshouse report` requests on
/// `DATA_DIR/control.sock`, which only the directory's owner can open
/// (`backup.rs`, `report.rs`); each answered under the app serving then.
fn spawn_control(
    reloader: std::sync::Weak<glasshouse_server::reload::Reloader>,
    store: Arc<dyn glasshouse_store::Store>,
    described: String,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        let Some(data) = reloader.upgrade().map(|r| r.config().data_dir.clone()) else {
            return;
        };
        let path = data.join(crate::backup::CONTROL_SOCKET);
        // A socket left by a process that died: this process holds the lock.
        let _ = std::fs::remove_file(&path);
        let listener = match tokio::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "no control socket: `glasshouse backup` and `report` cannot reach this server");
                return;
            }
        };
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (data, store, described) = (data.clone(), store.clone(), described.clone());
            let reloader = reloader.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut reader = tokio::io::BufReader::new(read.take(64 * 1024));
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let request: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                let answer = match reloader.upgrade().map(|r| r.app()) {
                    Some(app)
                        if request.get("report").is_some() || request.get("alerts").is_some() =>
                    {
                        crate::report::answer(&app, &request).await.to_string()
                    }
                    _ => tokio::task::spawn_blocking(move || {
                        crate::backup::answer_control(&line, &data, store.as_ref(), &described)
                    })
                    .await
                    .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}).to_string()),
                };
                let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
            });
        }
    })
}

/// Checks the salts every minute, so yesterday's-but-one salt is erased soon
/// after midnight even when no event arrives to trigger the rotation.
fn spawn_salt_rotation(anonymiser: Arc<Anonymiser>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = anonymiser.check_rotation() {
                tracing::error!(error = %e, "the daily salts could not be rotated; retrying in a minute");
            }
        }
    })
}

/// `kill -HUP`: read the configuration file again and apply it (audited).
fn spawn_reload_on_hangup(
    reloader: Arc<glasshouse_server::reload::Reloader>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                let r = reloader.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    r.reload(("installation", "operator", "signal:SIGHUP"))
                })
                .await;
                match outcome {
                    Ok(Ok(changes)) => {
                        tracing::info!(changes = changes.len(), "configuration reloaded")
                    }
                    Ok(Err(why)) => {
                        tracing::error!(%why, "configuration NOT reloaded; the previous one stays in force")
                    }
                    Err(e) => tracing::error!(error = %e, "configuration reload failed"),
                }
            }
        }
        #[cfg(not(unix))]
        let _ = reloader;
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
