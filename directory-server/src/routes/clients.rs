//! `/clients`: listing, lookup, address updates, heartbeats and unregistering.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use p2p_chat_protocol::api::{
    ClientList, ClientRecord, ClientsQuery, DEFAULT_PAGE_LIMIT, DEFAULT_PEER_PORT, MAX_PAGE_LIMIT,
    UnregisterRequest, UpdateRequest,
};
use p2p_chat_protocol::validate;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::AddressUpdate;

/// The case-folded username of a path; a name that breaks the rules cannot be registered, so
/// it is reported as not found.
fn path_username(raw: &str) -> Result<String, ApiError> {
    validate::username(raw).map_err(|_| not_found(raw))
}

fn not_found(username: &str) -> ApiError {
    ApiError::NotFound(format!("no client is registered as {username:?}"))
}

/// One page of clients sorted by username; `next` is the `after` of the following page.
pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ClientsQuery>,
) -> Result<Json<ClientList>, ApiError> {
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
    Ok(Json(ClientList {
        clients: rows.iter().map(|row| row.to_record(now, window)).collect(),
        next,
    }))
}

/// The record of one client.
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
        row.to_record(Utc::now(), state.settings().presence_window),
    ))
}

/// Changes the caller's address; counts as a sign of life.
///
/// The body is checked only after the token, so a stranger learns nothing from it.
pub(super) async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
    body: Result<ApiJson<UpdateRequest>, ApiError>,
) -> Result<Json<ClientRecord>, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    let ApiJson(request) = body?;
    let host = validate::host(&request.host)?;
    let port = validate::port(request.port.unwrap_or(DEFAULT_PEER_PORT))?;
    let public_key = request
        .public_key
        .as_deref()
        .map(|key| validate::public_key(key).map(|bytes| validate::key_hex(&bytes)))
        .transpose()?;
    let now = Utc::now();
    let row = state
        .store()
        .update_address(&AddressUpdate {
            username: username.clone(),
            host,
            port,
            public_key,
            observed_host: None,
            now,
        })
        .await?
        .ok_or_else(|| not_found(&username))?;
    tracing::info!(%username, "address updated");
    Ok(Json(row.to_record(now, state.settings().presence_window)))
}

/// Records a sign of life: 204.
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    if state.store().touch(&username, Utc::now(), None).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&username))
    }
}

/// Deletes an account after checking its password; its tokens go with it. 204.
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
        .hasher()
        .verify(request.password, Some(stored_hash))
        .await?
    {
        return Err(ApiError::Unauthorized("wrong password".into()));
    }
    if !state.store().delete_client(&username).await? {
        return Err(not_found(&username));
    }
    tracing::info!(%username, "unregistered");
    Ok(StatusCode::NO_CONTENT)
}
