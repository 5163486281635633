//! The p2p-chat directory: a small HTTP service where peers register the address they accept
//! chat connections on, log in, send heartbeats and look each other up. Chat traffic itself
//! never passes through it.
//!
//! - [`app`] builds the axum [`Router`] (no socket; tests drive it with `oneshot`).
//! - [`run`] serves it on a listener until a shutdown future completes.
//! - [`open_store`] opens the database named by a URL and returns a [`Store`].
//! - [`AppState`] bundles the store with [`Settings`] and the bcrypt worker limit.
//!
//! The HTTP contract is described in `docs/api.md`; the bodies are the types of
//! `p2p_chat_protocol::api`.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
mod routes;
pub mod state;
pub mod store;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use state::{AppState, Settings};
pub use store::{Store, StoreError, open_store};

/// The directory's router with all routes and middleware, ready for `oneshot` or `serve`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves the directory on `listener` until `shutdown` completes, then stops accepting
/// connections and waits for in-flight requests to finish.
///
/// The store is not closed here: the caller owns it (see [`Store::close`]).
///
/// # Errors
/// I/O errors of the listener.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
