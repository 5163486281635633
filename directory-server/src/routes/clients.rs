//! `/clients`: listing, lookup, address updates, heartbeats and unregistering.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use p2p_chat_protocol::api::{
    ClientList, ClientRecord, ClientsQuery, DEFAULT_PAGE_LIMIT, DEFAULT_PEER_PORT, HOST_AUTO,
    MAX_CANDIDATES, MAX_PAGE_LIMIT, UnregisterRequest, UpdateRequest,
};
use p2p_chat_protocol::validate;

use crate::auth::Authenticated;
use crate::client_ip::ClientAddr;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::AddressUpdate;

/// The case-folded username of a path; a name that breaks the rules cannot be registered, so
/// it is reported as not found.
pub(super) fn path_username(raw: &str) -> Result<String, ApiError> {
    validate::username(raw).map_err(|_| not_found(raw))
}

fn not_found(username: &str) -> ApiError {
    ApiError::NotFound(format!("no client is registered as {username:?}"))
}

/// The host to publish: `raw` normalised, or for [`HOST_AUTO`] the address the request came
/// from.
///
/// # Errors
/// 400 when `raw` is not a host, or is `auto` and the address is unknown.
pub(super) fn peer_host(raw: &str, observed: Option<&str>) -> Result<String, ApiError> {
    if raw.trim().eq_ignore_ascii_case(HOST_AUTO) {
        return observed.map(str::to_owned).ok_or_else(|| {
            ApiError::InvalidRequest(
                "host \"auto\" needs the address of your connection, which the directory \
                 cannot see here; give a host instead"
                    .into(),
            )
        });
    }
    Ok(validate::host(raw)?)
}

/// One page of clients sorted by username; `next` is the `after` of the following page.
/// Needs any valid token unless the directory was started with a public listing.
#[utoipa::path(get, path = "/clients", tag = "clients", security(("bearer" = [])),
    params(p2p_chat_protocol::api::ClientsQuery),
    responses(
        (status = 200, description = "One page of records, by username", body = p2p_chat_protocol::api::ClientList),
        (status = 400, description = "Bad `limit` or `after`", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "A token is needed (unless the listing is public)", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    auth: Result<Authenticated, ApiError>,
    ApiQuery(query): ApiQuery<ClientsQuery>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    if !state.settings().public_listing {
        auth?;
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    if !(1..=MAX_PAGE_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!(
            "limit must be 1-{MAX_PAGE_LIMIT}, got {limit}"
        )));
    }
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(validate::username(raw).map_err(|err| {
            ApiError::InvalidRequest(format!(
                "after must be a username (the `next` of the previous page): {err}"
            ))
        })?),
    };
    // One row more than asked tells whether another page exists.
    let mut rows = state
        .store()
        .list_clients(after.as_deref(), limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|row| row.username.clone())
    } else {
        None
    };
    let now = Utc::now();
    let window = state.settings().presence_window;
    let list = ClientList {
        clients: rows
            .into_iter()
            .map(|row| row.into_record(now, window))
            .collect(),
        next,
    };
    // Written into a buffer sized for the page at once (a record is about 260 bytes), rather
    // than one that grows and is copied as it fills: a page is most of the work of a listing.
    let mut body = Vec::with_capacity(LISTING_BYTES_PER_CLIENT * (list.clients.len() + 1));
    serde_json::to_writer(&mut body, &list).map_err(ApiError::internal)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    ))
}

/// Room reserved per client when a listing page is written: 320 bytes, above a typical
/// record (about 260) so that the buffer rarely grows.
const LISTING_BYTES_PER_CLIENT: usize = 320;

/// The record of one client.
#[utoipa::path(get, path = "/clients/{username}", tag = "clients",
    params(("username" = String, Path, description = "The user to look up")),
    responses(
        (status = 200, description = "The record", body = p2p_chat_protocol::api::ClientRecord),
        (status = 404, description = "No such user", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn show(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<ClientRecord>, ApiError> {
    let username = path_username(&raw)?;
    let row = state
        .store()
        .client(&username)
        .await?
        .ok_or_else(|| not_found(&username))?;
    Ok(Json(
        row.into_record(Utc::now(), state.settings().presence_window),
    ))
}

/// Changes the caller's address; counts as a sign of life.
///
/// The body is checked only after the token, so a stranger learns nothing from it.
#[utoipa::path(put, path = "/clients/{username}", tag = "clients", security(("bearer" = [])),
    params(("username" = String, Path, description = "The caller's own name")),
    request_body = p2p_chat_protocol::api::UpdateRequest,
    responses(
        (status = 200, description = "The new record", body = p2p_chat_protocol::api::ClientRecord),
        (status = 400, description = "A field breaks its rule", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "The token is another user's", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn update(
    State(state): State<AppState>,
    ClientAddr(observed): ClientAddr,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
    body: Result<ApiJson<UpdateRequest>, ApiError>,
) -> Result<Json<ClientRecord>, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    let ApiJson(request) = body?;
    let observed_host = observed.map(|ip| ip.to_string());
    let host = peer_host(&request.host, observed_host.as_deref())?;
    let port = validate::port(request.port.unwrap_or(DEFAULT_PEER_PORT))?;
    let public_key = request
        .public_key
        .as_deref()
        .map(|key| validate::public_key(key).map(|bytes| validate::key_hex(&bytes)))
        .transpose()?;
    let candidates = request
        .candidates
        .map(|list| {
            if list.len() > MAX_CANDIDATES {
                return Err(ApiError::InvalidRequest(format!(
                    "at most {MAX_CANDIDATES} candidates, got {}",
                    list.len()
                )));
            }
            list.iter()
                .map(|raw| validate::candidate(raw).map_err(ApiError::from))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let now = Utc::now();
    let row = state
        .store()
        .update_address(&AddressUpdate {
            username: username.clone(),
            host,
            port,
            public_key,
            observed_host,
            candidates,
            relay_only: request.relay_only,
            now,
        })
        .await?
        .ok_or_else(|| not_found(&username))?;
    tracing::debug!(%username, "address updated");
    Ok(Json(row.into_record(now, state.settings().presence_window)))
}

/// Records a sign of life: 204.
#[utoipa::path(post, path = "/clients/{username}/heartbeat", tag = "clients", security(("bearer" = [])),
    params(("username" = String, Path, description = "The caller's own name")),
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "The token is another user's", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    ClientAddr(observed): ClientAddr,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    let observed_host = observed.map(|ip| ip.to_string());
    let store = state.store();
    if store
        .touch(&username, Utc::now(), observed_host.as_deref(), true)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&username))
    }
}

/// The client signs off (a clean quit): offline at once rather than when the presence
/// window runs out. 204.
#[utoipa::path(post, path = "/clients/{username}/offline", tag = "clients", security(("bearer" = [])),
    params(("username" = String, Path, description = "The caller's own name")),
    responses(
        (status = 204, description = "Offline at once"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "The token is another user's", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn offline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    if state.store().sign_off(&username).await? {
        state.hub().presence(&username, false);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&username))
    }
}

/// Deletes an account after checking its password; its tokens go with it. 204.
#[utoipa::path(delete, path = "/clients/{username}", tag = "accounts",
    params(("username" = String, Path, description = "The account to delete")),
    request_body = p2p_chat_protocol::api::UnregisterRequest,
    responses(
        (status = 204, description = "Deleted, with its tokens and mailbox"),
        (status = 401, description = "Wrong password", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "account_disabled: the operator disabled it", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "No such user", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn unregister(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(request): ApiJson<UnregisterRequest>,
) -> Result<StatusCode, ApiError> {
    let username = path_username(&raw)?;
    let stored_hash = state
        .store()
        .password_hash(&username)
        .await?
        .ok_or_else(|| not_found(&username))?;
    if !state
        .check_password(&username, request.password, Some(stored_hash))
        .await?
    {
        return Err(ApiError::Unauthorized("wrong password".into()));
    }
    // Hidden from lookups while the password still matches: the operator disabled it, and
    // only the operator may delete it.
    if state.store().client(&username).await?.is_none() {
        return Err(ApiError::AccountDisabled(username));
    }
    if !state.store().delete_client(&username).await? {
        return Err(not_found(&username));
    }
    tracing::info!(%username, "unregistered");
    state.hub().disconnect(&username);
    Ok(StatusCode::NO_CONTENT)
}
