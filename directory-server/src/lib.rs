//! The p2p-chat directory: a small HTTP service where peers register the address they accept
//! chat connections on, log in, send heartbeats and look each other up. Live chat traffic
//! never passes through it; it only keeps sealed messages for offline peers in a mailbox it
//! cannot read.
//!
//! - [`app`] builds the axum [`Router`] (no socket; tests drive it with `oneshot`).
//! - [`run`] serves it on a listener until a shutdown future completes; [`run_tls`] does the
//!   same over HTTPS ([`tls`]).
//! - [`client_ip`] tells where a request comes from (behind trusted proxies too); [`limits`]
//!   and [`throttle`] slow down abuse.
//! - [`mailbox`] holds the offline mailbox's limits and its purge task, which [`run`] and
//!   [`run_tls`] start.
//! - [`open_store`] opens the database named by a URL and returns a [`Store`].
//! - [`AppState`] bundles the store with [`Settings`] and the bcrypt worker limit.
//!
//! The HTTP contract is described in `docs/api.md`; the bodies are the types of
//! `p2p_chat_protocol::api`.

pub mod admin;
pub mod auth;
pub mod client_ip;
pub mod completions;
pub mod config;
pub mod connections;
pub mod error;
pub mod extract;
pub mod limits;
pub mod mailbox;
pub mod metrics;
pub mod registration;
pub mod relay;
mod routes;
pub mod signal;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};

pub use error::ApiError;
pub use state::{AppState, Settings};
pub use store::{Store, StoreError, StoreOptions, open_store, open_store_with};

/// The directory's router with all routes and middleware, ready for `oneshot` or `serve`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Longest wait for in-flight requests after the shutdown signal: 30 s (a TLS connection can
/// linger in its handshake, a client in a slow request).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves the directory over plain HTTP on `listener` until `shutdown` completes, then stops
/// accepting connections and gives in-flight requests up to [`SHUTDOWN_GRACE`] to finish.
///
/// Each request carries its TCP peer address (for [`client_ip`] and rate limiting).
/// Connections are held to the state's [`connections::ConnectionLimits`]. While it serves,
/// expired mailbox messages are purged in the background ([`mailbox::purge_periodically`]),
/// and a replica of a [`signal::Cluster`] runs its part of it, leaving the cluster when the
/// server stops. The store is not closed here: the caller owns it (see [`Store::close`]).
///
/// # Errors
/// I/O errors of the listener.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(
        listener,
        state,
        axum_server::accept::DefaultAcceptor,
        shutdown,
    )
    .await
}

/// Like [`run`], over HTTPS with `tls` (see [`tls::server_config`]). Each time `reload` yields
/// a new configuration (the binary reads the certificate files again on SIGHUP), new
/// connections use it; open ones keep theirs.
///
/// # Errors
/// I/O errors of the listener.
pub async fn run_tls(
    listener: TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    mut reload: tokio::sync::mpsc::Receiver<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    let reloader = {
        let config = config.clone();
        tokio::spawn(async move {
            while let Some(next) = reload.recv().await {
                config.reload_from_config(next);
            }
        })
    };
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config);
    let result = serve(listener, state, acceptor, shutdown).await;
    reloader.abort();
    result
}

/// The service axum makes for each connection: the router, with the peer address.
type PerConnection = axum::middleware::AddExtension<Router, axum::extract::ConnectInfo<SocketAddr>>;

/// The server under [`run`] and [`run_tls`]: `acceptor` (TLS or none) behind the connection
/// limits, hyper's timeouts, graceful shutdown, and the mailbox janitor.
async fn serve<A>(
    listener: TcpListener,
    state: AppState,
    acceptor: A,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    A: axum_server::accept::Accept<TcpStream, PerConnection, Service = PerConnection>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send + 'static,
    A::Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let limits = state.settings().connections.clone();
    let acceptor = connections::Limited::new(acceptor, &limits, &state.settings().trusted_proxies);
    let mut server = axum_server::from_tcp(listener.into_std()?)?.acceptor(acceptor);
    limits.configure(server.http_builder());
    let janitor = spawn_janitor(&state);
    let cluster = state.hub().cluster().cloned();
    let member = cluster.clone().map(|cluster| {
        let (apply, rejoin) = (state.clone(), state.clone());
        tokio::spawn(async move {
            cluster
                .run(
                    move |event| apply.hub().apply(event),
                    move || rejoin.hub().snapshot(),
                )
                .await;
        })
    });
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = server.handle(handle).serve(service).await;
    janitor.abort();
    if let (Some(task), Some(cluster)) = (member, cluster) {
        task.abort();
        cluster.leave().await;
    }
    result
}

/// Starts [`mailbox::purge_periodically`] for the state's store; the caller aborts it.
fn spawn_janitor(state: &AppState) -> tokio::task::JoinHandle<()> {
    let every = state.settings().mailbox.purge_interval();
    tokio::spawn(mailbox::purge_periodically(
        Arc::clone(state.store()),
        every,
        state.settings().login_backoff,
    ))
}
