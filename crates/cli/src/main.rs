//! `glasshouse`: the one binary. It owns argument handling and output
//! policy only; everything it does is a call into the libraries.

mod agreement;
mod audit;
mod backup;
mod clock;
mod demo;
mod dpia;
mod history;
mod import;
mod migrate;
mod report;
mod runtime;
mod token;
mod user;

use clap::{Parser, Subcommand};
use glasshouse_model::StoreChoice;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Privacy-preserving web analytics for public services run by several organisations.
#[derive(Parser)]
#[command(name = "glasshouse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the collector, the tracker and the Stats API from a configuration file.
    Serve {
        /// The configuration file (see glasshouse.example.toml).
        #[arg(long, default_value = "glasshouse.toml")]
        config: PathBuf,
        /// Store back end, overriding the file: duckdb, or clickhouse://HOST:PORT/DATABASE.
        #[arg(long, value_parser = parse_store)]
        store: Option<StoreChoice>,
    },
    /// Load realistic demo traffic for three sites (first run only) and serve it.
    Demo {
        /// Data directory; an existing one is served as it is.
        #[arg(long, default_value = "glasshouse-data")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Days of history to generate, ending today.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Approximate number of events to generate, all sites together.
        #[arg(long, default_value_t = 300_000)]
        events: u64,
        /// Store back end: duckdb (default, in the data directory), or
        /// clickhouse://HOST:PORT/DATABASE (its HTTP interface).
        #[arg(long, value_parser = parse_store)]
        store: Option<StoreChoice>,
        /// One node per organisation, each its own process and data
        /// directory (DATA/ORG), computing cross-government figures
        /// between them (docs/federation.md); on the next two ports too.
        #[arg(long, conflicts_with = "store")]
        federated: bool,
    },
    /// Import events from an NDJSON file through the same anonymisation as live traffic.
    Import {
        /// The configuration file naming the sites and the data directory.
        #[arg(long, default_value = "glasshouse.toml")]
        config: PathBuf,
        /// NDJSON file: one event per line (see docs/import.md).
        file: PathBuf,
        /// Skip invalid lines (reported) instead of refusing the whole file.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Import a site's history from Plausible's CSV export (daily
    /// aggregates, marked as imported), or delete it.
    ImportHistory {
        /// The configuration file naming the site and the data directory.
        #[arg(long, default_value = "glasshouse.toml")]
        config: PathBuf,
        /// The site the history is of (its host).
        #[arg(long)]
        site: String,
        /// The directory holding the export's CSV files (unzipped).
        #[arg(required_unless_present = "delete")]
        dir: Option<PathBuf>,
        /// Delete the site's imported history instead.
        #[arg(long, conflicts_with = "dir")]
        delete: bool,
    },
    /// Dashboard accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check the audit log (a transparency log), or witness another installation's.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Copy the events and aggregates of the embedded store to ClickHouse
    /// (resumable; stop the server first).
    Migrate {
        /// The configuration file naming the data directory.
        #[arg(long, default_value = "glasshouse.toml")]
        config: PathBuf,
        /// The store to copy from: duckdb.
        #[arg(long, default_value = "duckdb")]
        from: String,
        /// The store to copy to: clickhouse://HOST:PORT/DATABASE.
        #[arg(long)]
        to: String,
    },
    /// Print the data protection impact assessment, filled from the
    /// configuration and what is stored.
    Dpia {
        /// The configuration file.
        #[arg(long, default_value = "glasshouse.toml")]
        config: PathBuf,
        /// Only this site's processing.
        #[arg(long)]
        site: Option<String>,
        /// HTML instead of Markdown.
        #[arg(long)]
        html: bool,
    },
    /// Make a new Stats API token and print the line to put in the configuration.
    Token {
        /// Slug of the organisation the token belongs to.
        #[arg(long)]
        organisation: String,
        /// A label for people reading the configuration.
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// Copy a data directory, also while a server runs on it (the daily
    /// salts are left out).
    Backup {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// A new, empty directory for the copy.
        #[arg(long)]
        to: PathBuf,
    },
    /// Make a data directory from a backup; refuses one that is not empty.
    Restore {
        /// The backup.
        #[arg(long)]
        from: PathBuf,
        /// A new, empty data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// A site's latest complete report, now: printed, or with --send mailed
    /// to its recipients through [smtp] (by the running server if there is one).
    Report {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Host of the site.
        #[arg(long)]
        site: String,
        /// week or month (default: the site's first configured report).
        #[arg(long)]
        every: Option<String>,
        /// Mail it to the report's recipients instead of printing it.
        #[arg(long)]
        send: bool,
    },
    /// Signing keys and signatures of agreements.
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// The traffic alerts a site's rules would have sent over the last days
    /// (its [sites.alerts], or the defaults), to tune them.
    Alerts {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Host of the site.
        #[arg(long)]
        site: String,
        /// How many days back.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Check a configuration file without serving it: exits non-zero naming
    /// the line and field of the first problem.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AgreementCommand {
    /// Make an organisation's signing key (kept by the organisation) and
    /// print the public line for the configuration.
    Keygen {
        /// Slug of the organisation.
        #[arg(long)]
        organisation: String,
        /// Where to write the key (a new file, readable by its owner only).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an agreement's terms as one of its parties; prints the terms
    /// and the signature entry to add to the agreement.
    Sign {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The agreement's id.
        #[arg(long)]
        agreement: String,
        /// The signing party.
        #[arg(long)]
        organisation: String,
        /// Its signing key file.
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the Merkle tree, check every signed checkpoint, and fail on
    /// any deleted, altered or reordered entry.
    Verify {
        /// The data directory of a local installation.
        #[arg(long, conflicts_with = "url")]
        data: Option<PathBuf>,
        /// The address of a running installation (its public /transparency/log endpoints).
        #[arg(long)]
        url: Option<String>,
        /// A checkpoint saved earlier, which must be a prefix of the log.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Check that the log at URL only grew since the last visit, and cosign it.
    Witness {
        /// The address of the installation to witness.
        url: String,
        /// Where this witness keeps its key and the last checkpoint it accepted.
        #[arg(long, default_value = "glasshouse-witness")]
        state: PathBuf,
        /// The witness's name in its cosignatures.
        #[arg(long, default_value = "witness.example/glasshouse")]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Hash a password (asked for, or read from standard input) and print the account's configuration block.
    Add {
        /// The name typed at sign-in.
        username: String,
        /// Slug of the account's organisation.
        #[arg(long)]
        organisation: String,
        /// viewer, analyst or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
}

/// The log format the configuration of a serving command asks for
/// (`log_format`); text for the others, and when the file cannot be read
/// (the command then says why).
fn log_format(command: &Command) -> glasshouse_model::config::LogFormat {
    let file = match command {
        Command::Serve { config, .. } => config.clone(),
        Command::Demo { data, .. } => data.join("glasshouse.toml"),
        _ => return Default::default(),
    };
    glasshouse_model::Config::load(&file)
        .map(|c| c.log_format)
        .unwrap_or_default()
}

/// Logs to standard error, filtered by `GLASSHOUSE_LOG` (default `info`).
/// Nothing logged carries an IP address, a User-Agent or a token.
fn init_logging(format: glasshouse_model::config::LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GLASSHOUSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        glasshouse_model::config::LogFormat::Text => logs.init(),
        glasshouse_model::config::LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
}

/// `glasshouse check-config FILE`: what a reload would apply, checked.
fn check_config(file: &std::path::Path) -> anyhow::Result<()> {
    let c = glasshouse_model::Config::load(file)?;
    println!(
        "{}: valid ({} organisations, {} sites, {} agreements, {} API tokens, {} accounts; data in {}, {})",
        file.display(),
        c.organisations.len(),
        c.sites.len(),
        c.agreements.len(),
        c.api_tokens.len(),
        c.users.len(),
        c.data_dir.display(),
        c.store.describe()
    );
    Ok(())
}

fn parse_store(s: &str) -> Result<StoreChoice, String> {
    StoreChoice::parse(s)
}

/// The server allocates per request (headers, JSON, rows) on many threads;
/// glibc's allocator spent about a fifth of the ingest path's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(log_format(&cli.command));
    let result = match cli.command {
        Command::Serve { config, store } => runtime::serve_config(&config, store),
        Command::Demo {
            data,
            listen,
            days,
            events,
            store,
            federated,
        } => {
            if federated {
                demo::run_federated(&data, listen, days, events)
            } else {
                demo::run(&data, listen, days, events, store)
            }
        }
        Command::Import {
            config,
            file,
            skip_invalid,
        } => import::run(&config, &file, skip_invalid),
        Command::ImportHistory {
            config,
            site,
            dir,
            delete,
        } => history::run(&config, &site, dir.as_deref(), delete),
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    organisation,
                    role,
                },
        } => user::add(&username, &organisation, &role),
        Command::Audit {
            command:
                AuditCommand::Verify {
                    data,
                    url,
                    checkpoint,
                },
        } => audit::verify(data.as_deref(), url.as_deref(), checkpoint.as_deref()),
        Command::Audit {
            command: AuditCommand::Witness { url, state, name },
        } => audit::witness(&url, &state, &name),
        Command::Migrate { config, from, to } => migrate::run(&config, &from, &to),
        Command::Dpia { config, site, html } => dpia::run(&config, site.as_deref(), html),
        Command::CheckConfig { file } => check_config(&file),
        Command::Report {
            config,
            site,
            every,
            send,
        } => report::run(&config, &site, every.as_deref(), send),
        Command::Alerts { config, site, days } => report::alerts(&config, &site, days),
        Command::Agreement(AgreementCommand::Keygen { organisation, out }) => {
            agreement::keygen(&organisation, &out)
        }
        Command::Agreement(AgreementCommand::Sign {
            config,
            agreement,
            organisation,
            key,
        }) => agreement::sign(&config, &agreement, &organisation, &key),
        Command::Backup { data, to } => backup::backup(&data, &to),
        Command::Restore { from, data } => backup::restore(&from, &data),
        Command::Token { organisation, name } => {
            token::print_new(&organisation, &name);
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
