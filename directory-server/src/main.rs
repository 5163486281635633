//! `p2p-chat-directory`: parses the configuration, opens the store, serves until SIGINT or
//! SIGTERM. See `p2p_chat_directory::config::Config` or `--help` for the options.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use p2p_chat_directory::config::{Command, Config, LoadError, Loaded, LogFormat};
use p2p_chat_directory::registration::Registration;
use p2p_chat_directory::signal::Cluster;
use p2p_chat_directory::store::Backend;
use p2p_chat_directory::{AppState, StoreOptions, open_store_with, run, run_tls, tls};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let loaded = match p2p_chat_directory::config::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Arguments(err)) => err.exit(),
        Err(err) => {
            eprintln!("p2p-chat-directory: error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let config = loaded.config.clone();
    let log = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
        // The request's span (its id, method and path) on every line, not the list of all
        // spans around it: there is only ever the one.
        LogFormat::Json => log
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let result = match config.command.clone() {
        Some(Command::MigrateTo { url }) => migrate_to(&config.database, &url).await,
        Some(
            command @ (Command::Invite { .. }
            | Command::Users { .. }
            | Command::Mailbox { .. }
            | Command::Backup { .. }),
        ) => operate(&config, command).await,
        Some(Command::CheckConfig) => check_config(&loaded),
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let name = "p2p-chat-directory";
            let script = p2p_chat_directory::completions::script(shell, Config::command(), name);
            print!("{script}");
            Ok(())
        }
        None => serve(config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("p2p-chat-directory: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tls::install_crypto_provider();
    // Certificates, then the port, then the database: a mistake in the first two should not
    // leave a freshly created database file behind.
    let tls = match config.tls_files() {
        Some((cert, key)) => Some(tls::server_config(cert, key).context("cannot set up TLS")?),
        None => None,
    };
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    // Bound before the "listening" line too: once it is printed, the directory is up.
    let metrics = match config.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?,
        ),
        None => None,
    };
    let options = StoreOptions {
        max_connections: config.database_max_connections,
    };
    let store = open_store_with(&config.database, options)
        .await
        .with_context(|| format!("cannot open database {}", redact(&config.database)))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    {
        let mut stdout = std::io::stdout().lock();
        let scheme = if tls.is_some() { "https" } else { "http" };
        writeln!(stdout, "p2p-chat-directory listening on {scheme}://{addr}")
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
    }
    let settings = config.settings();
    let postgres = Backend::of(&config.database) == Some(Backend::Postgres);
    let cluster = if postgres {
        let url = config.replica_url(addr);
        let cluster = Cluster::join(&config.database, url.clone())
            .await
            .context("cannot join the other directory processes sharing the database")?;
        tracing::info!(replica = cluster.replica(), url = ?url, "joined the replicas sharing the database");
        Some(Arc::new(cluster))
    } else {
        None
    };
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        trusted_proxies = settings.trusted_proxies.len(),
        public_listing = settings.public_listing,
        mailbox_max_messages = settings.mailbox.max_messages,
        mailbox_max_bytes = settings.mailbox.max_bytes,
        mailbox_ttl_secs = settings.mailbox.ttl.as_secs(),
        relay = settings.relay.enabled,
        hole_punching = settings.hole_punching,
        max_connections = settings.connections.max_connections,
        registration = %settings.registration,
        "listening"
    );
    if settings.registration == Registration::Invite {
        tracing::info!(
            "new accounts need an invite code: `p2p-chat-directory [--config FILE] invite \
             create` makes one (--registration open lets anyone register)"
        );
    }
    let state = match cluster {
        Some(cluster) => AppState::clustered(store.clone(), settings, cluster),
        None => AppState::new(store.clone(), settings),
    };
    if let Some(listener) = metrics {
        serve_metrics(listener, state.clone())?;
    }
    let result = match tls {
        Some(tls) => {
            let reload = reload_on_sighup(
                config
                    .tls_files()
                    .map(|(c, k)| (c.to_owned(), k.to_owned())),
            );
            run_tls(listener, state, tls, reload, shutdown).await
        }
        None => run(listener, state, shutdown).await,
    };
    store.close().await;
    tracing::info!("stopped");
    result.context("server failed")
}

/// The operator's commands: run once against the database a directory serves (which must
/// exist: a mistyped --database must not create an empty one), print what they did.
async fn operate(config: &Config, command: Command) -> anyhow::Result<()> {
    use p2p_chat_directory::admin;
    tls::install_crypto_provider();
    if let Some(path) = sqlite_file(&config.database)
        && !path.exists()
    {
        anyhow::bail!(
            "no database at {} — run this where the directory runs, with its --config FILE (or \
             the same --database)",
            path.display()
        );
    }
    let store = open_store_with(&config.database, StoreOptions::default())
        .await
        .with_context(|| format!("cannot open database {}", redact(&config.database)))?;
    let now = chrono::Utc::now();
    let result = match command {
        Command::Invite { command } => admin::invites(store.as_ref(), command, now).await,
        Command::Users { command } => {
            admin::users(store.as_ref(), command, now, config.bcrypt_cost).await
        }
        Command::Mailbox { command } => admin::mailbox(store.as_ref(), command, now).await,
        Command::Backup { path } => admin::backup(store.as_ref(), &path).await,
        Command::MigrateTo { .. } | Command::CheckConfig | Command::Completions { .. } => {
            Ok(String::new())
        }
    };
    store.close().await;
    let text = result?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// `check-config`: the settings passed the parsers (or `load` would have failed); the TLS
/// files are read as the server would, the database URL is parsed (without connecting), and
/// the two listen addresses must differ. Prints every setting with its source.
fn check_config(loaded: &Loaded) -> anyhow::Result<()> {
    let config = &loaded.config;
    if let Some((cert, key)) = config.tls_files() {
        tls::install_crypto_provider();
        tls::server_config(cert, key).map_err(|err| anyhow::anyhow!("tls_cert, tls_key: {err}"))?;
    }
    p2p_chat_directory::store::check_url(&config.database)
        .map_err(|err| anyhow::anyhow!("database {}: {err}", redact(&config.database)))?;
    if config.metrics_listen == Some(config.listen) && config.listen.port() != 0 {
        anyhow::bail!(
            "metrics_listen and listen are both {}: the metrics need an address of their own",
            config.listen
        );
    }
    let mut out = match &loaded.file {
        Some(path) => format!("config file: {}\n", path.display()),
        None => "config file: none (--config FILE or P2P_CHAT_DIRECTORY_CONFIG)\n".to_owned(),
    };
    let width = loaded
        .effective
        .iter()
        .map(|e| e.key.len())
        .max()
        .unwrap_or(0);
    for setting in &loaded.effective {
        let value = if setting.key == "database" {
            redact(&setting.value)
        } else if setting.value.is_empty() {
            "(not set)".to_owned()
        } else {
            setting.value.clone()
        };
        out += &format!("{:<width$}  {value}  ({})\n", setting.key, setting.source);
    }
    out += "the settings are valid\n";
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// The file of a `sqlite://PATH` or `sqlite:PATH` URL; `None` for in-memory databases and
/// other backends.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if Backend::of(url) != Some(Backend::Sqlite) || url.contains(":memory:") {
        return None;
    }
    let rest = url.split_once(':')?.1;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty()).then(|| path.into())
}

/// Serves `GET /metrics` on `listener` until SIGINT or SIGTERM, in a task of its own.
fn serve_metrics(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!(%addr, "metrics listening on http://{addr}/metrics");
    let shutdown = shutdown_signal();
    tokio::spawn(async move {
        let app = p2p_chat_directory::metrics::metrics_app(state);
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%err, "the metrics server failed");
        }
    });
    Ok(())
}

/// `migrate-to URL`: copies the SQLite directory at `from` into the PostgreSQL database `to`.
async fn migrate_to(from: &str, to: &str) -> anyhow::Result<()> {
    tls::install_crypto_provider();
    let report = p2p_chat_directory::store::copy::sqlite_to_postgres(from, to)
        .await
        .with_context(|| format!("cannot copy {} to {}", redact(from), redact(to)))?;
    println!(
        "copied from {} to {}: accounts {}, login tokens {}, mailbox messages {}, invites {}\n\
         next: start the directory with --database '{}'",
        redact(from),
        redact(to),
        report.clients,
        report.tokens,
        report.mail,
        report.invites,
        redact(to),
    );
    Ok(())
}

/// Hides a password in a database URL (`scheme://user:secret@host` → `scheme://user:***@host`)
/// before it is printed.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// On each SIGHUP, reads the certificate and key files again and sends the new TLS
/// configuration; a file that cannot be used is logged and the current certificate kept.
fn reload_on_sighup(
    files: Option<(std::path::PathBuf, std::path::PathBuf)>,
) -> tokio::sync::mpsc::Receiver<std::sync::Arc<rustls::ServerConfig>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    if let Some((cert, key)) = files {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangups) => {
                tokio::spawn(async move {
                    while hangups.recv().await.is_some() {
                        match tls::server_config(&cert, &key) {
                            Ok(next) => {
                                tracing::info!("certificate reloaded");
                                if tx.send(next).await.is_err() {
                                    return;
                                }
                            }
                            Err(err) => {
                                tracing::warn!(%err, "certificate not reloaded; keeping the current one");
                            }
                        }
                    }
                });
            }
            Err(err) => tracing::error!(%err, "cannot listen for SIGHUP"),
        }
    }
    #[cfg(not(unix))]
    drop((files, tx));
    rx
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: called before the "listening" line, a signal
/// sent as soon as that line is read still stops the server gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(i), Ok(t)) => (i, t),
                (Err(err), _) | (_, Err(err)) => {
                    tracing::error!(%err, "cannot listen for SIGINT or SIGTERM");
                    std::future::pending::<()>().await;
                    return;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
