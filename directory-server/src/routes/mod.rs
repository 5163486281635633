//! The HTTP routes. Handlers are thin: validate, call the store or the hasher, shape the
//! answer. See `docs/api.md` for the contract.

mod account;
mod clients;
mod health;
mod mailbox;
mod relay;
mod session;
mod signal;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post, put};
use p2p_chat_protocol::api::MAX_BODY_BYTES;

use crate::error::ApiError;
use crate::limits;
use crate::state::AppState;

/// The complete router: routes, per-address rate limits, JSON 404/405 fallbacks, the body
/// limit and request logging.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/ping", get(health::ping))
        .route("/healthz", get(health::healthz))
        .route("/register", post(account::register))
        .route("/login", post(account::login))
        .route("/logout", post(session::logout))
        .route("/clients", get(clients::list))
        .route(
            "/clients/{username}",
            get(clients::show)
                .put(clients::update)
                .delete(clients::unregister),
        )
        .route("/clients/{username}/heartbeat", post(clients::heartbeat))
        .route("/clients/{username}/offline", post(clients::offline))
        .route(
            "/clients/{username}/password",
            put(session::change_password),
        )
        .route(
            p2p_chat_protocol::api::signal::SIGNAL_PATH,
            get(signal::open),
        )
        .route(
            "/relay/{key}",
            post(relay::offer).get(relay::join).delete(relay::decline),
        )
        .route("/punch/{key}", post(signal::punch))
        .route("/reachability", post(signal::reachability))
        .route("/mailbox", get(mailbox::fetch))
        .route("/mailbox/{key}", mailbox_key_routes(&state))
        // A route layer sees the matched route, which tells the limited routes apart.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// `/mailbox/{key}`: the key is the recipient of a deposit (POST) and the message id of a
/// delete. Deposits get a body limit of their own, sized for the largest sealed message.
fn mailbox_key_routes(state: &AppState) -> MethodRouter<AppState> {
    let body_limit = state.settings().mailbox.deposit_body_limit();
    post(mailbox::deposit)
        .layer(DefaultBodyLimit::max(body_limit))
        .delete(mailbox::delete)
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such route: {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}; see docs/api.md for the methods of each route",
        uri.path()
    ))
}

/// One log line per request: method, path, status, duration; at `debug` for a success, `info`
/// for a 4xx and `warn` for a 5xx answer. Never headers or bodies, which carry passwords and
/// tokens.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // Routine requests (every running client sends a few every 20 s) only at `debug`;
    // refusals at `info` (with 503: a relay or hole punch the operator turned off or that is
    // full; a failing store is logged as such where it fails), failures at `warn`.
    match status {
        503 => tracing::info!(%method, %path, status, elapsed_us, "request refused"),
        500.. => tracing::warn!(%method, %path, status, elapsed_us, "request failed"),
        400.. => tracing::info!(%method, %path, status, elapsed_us, "request refused"),
        _ => tracing::debug!(%method, %path, status, elapsed_us, "request"),
    }
    response
}
