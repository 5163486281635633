//! The HTTP routes. Handlers are thin: validate, call the store or the hasher, shape the
//! answer. See `docs/api.md` for the contract.

mod account;
mod clients;
mod health;
mod mailbox;
mod openapi;
mod relay;
mod session;
mod signal;

use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, Method, Response, Uri};
use axum::middleware;
use p2p_chat_protocol::api::{ErrorCode, MAX_BODY_BYTES};
use tower::timeout::TimeoutLayer;
use tower::{BoxError, ServiceBuilder};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use self::openapi::Api;
use crate::error::ApiError;
use crate::limits;
use crate::metrics;
use crate::state::AppState;

/// The complete router: routes, per-address rate limits, JSON 404/405 fallbacks, the body
/// limit, request ids, the request log and the handler timeout.
pub(crate) fn router(state: AppState) -> Router {
    let deposit_limit = DefaultBodyLimit::max(state.settings().mailbox.deposit_body_limit());
    let router = Api::new()
        .op::<health::__path_ping, _, _>(health::ping)
        .op::<health::__path_healthz, _, _>(health::healthz)
        .op::<account::__path_register, _, _>(account::register)
        .op::<account::__path_login, _, _>(account::login)
        .op::<session::__path_logout, _, _>(session::logout)
        .op::<clients::__path_list, _, _>(clients::list)
        .op::<clients::__path_show, _, _>(clients::show)
        .op::<clients::__path_update, _, _>(clients::update)
        .op::<clients::__path_unregister, _, _>(clients::unregister)
        .op::<clients::__path_heartbeat, _, _>(clients::heartbeat)
        .op::<clients::__path_offline, _, _>(clients::offline)
        .op::<session::__path_change_password, _, _>(session::change_password)
        .op::<signal::__path_open, _, _>(signal::open)
        .op::<relay::__path_offer, _, _>(relay::offer)
        .op::<relay::__path_join, _, _>(relay::join)
        .op::<relay::__path_decline, _, _>(relay::decline)
        .op::<signal::__path_punch, _, _>(signal::punch)
        .op::<signal::__path_reachability, _, _>(signal::reachability)
        .op::<mailbox::__path_fetch, _, _>(mailbox::fetch)
        // Deposits get a body limit of their own, sized for the largest sealed message.
        .op_with::<mailbox::__path_deposit, _, _>(mailbox::deposit, |route| {
            route.layer(deposit_limit)
        })
        .op::<mailbox::__path_delete, _, _>(mailbox::delete)
        .finish()
        // A route layer sees the matched route, which tells the limited routes apart.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    observed(router, &state).with_state(state)
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

/// The name of the header that carries a request's id, in the response and in every log line
/// of the request (`request{id=…}`).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Request ids, the request log and the handler timeout, outermost first:
/// - an `X-Request-Id` sent by the client is dropped (it would let anyone write into the log
///   and make two requests look like one), then a random UUID is set;
/// - tower-http's `TraceLayer` opens a span `request{id, method, path}` around the request, so
///   every line logged while it runs carries them, and logs its end ([`log_response`]);
/// - the id goes back in the response's `X-Request-Id`;
/// - the answer and its latency are counted by route ([`metrics::record`]);
/// - a handler that runs longer than `timeout` is dropped and answered 503
///   ([`ApiError::TimedOut`]).
fn observed(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let timeout = state.settings().request_timeout;
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                id,
                method = %request.method(),
                path = request.uri().path()
            )
        })
        .on_request(())
        .on_response(log_response)
        .on_failure(());
    let id = HeaderName::from_static(REQUEST_ID_HEADER);
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::map_request(drop_request_id))
            .layer(SetRequestIdLayer::new(id.clone(), MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(id))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                metrics::record,
            ))
            .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                ApiError::TimedOut {
                    secs: timeout.as_secs(),
                }
            }))
            .layer(TimeoutLayer::new(timeout)),
    )
}

async fn drop_request_id(mut request: Request) -> Request {
    request.headers_mut().remove(REQUEST_ID_HEADER);
    request
}

/// The end of a request in the log: status and duration; at `debug` for a success, `info` for a
/// 4xx and `warn` for a 5xx answer. Never headers or bodies, which carry passwords and tokens.
fn log_response<B>(response: &Response<B>, latency: Duration, _: &tracing::Span) {
    let status = response.status().as_u16();
    let elapsed_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    // The error code of a refusal (`invite_required`, `account_disabled`, …), never its
    // message, which may quote what the client sent.
    let error = response
        .extensions()
        .get::<ErrorCode>()
        .and_then(|code| serde_json::to_value(code).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    // Routine requests (every running client sends a few every 20 s) only at `debug`;
    // refusals at `info` (with 503: a relay or hole punch the operator turned off or that is
    // full; a failing store is logged as such where it fails), failures at `warn`.
    match status {
        503 => tracing::info!(status, error, elapsed_us, "request refused"),
        500.. => tracing::warn!(status, error, elapsed_us, "request failed"),
        400.. => tracing::info!(status, error, elapsed_us, "request refused"),
        _ => tracing::debug!(status, elapsed_us, "request"),
    }
}
