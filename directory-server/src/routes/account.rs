//! `POST /register` and `POST /login`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use chrono::Utc;
use p2p_chat_protocol::api::{
    ClientRecord, DEFAULT_PEER_PORT, LoginRequest, LoginResponse, RegisterRequest,
};
use p2p_chat_protocol::validate;

use super::clients::peer_host;
use crate::auth::issue_token;
use crate::client_ip::ClientAddr;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::registration;
use crate::state::AppState;
use crate::store::{NewClient, NewToken};

/// Creates an account: 201 with the public record and a `Location` header.
#[utoipa::path(post, path = "/register", tag = "accounts",
    request_body = p2p_chat_protocol::api::RegisterRequest,
    responses(
        (status = 201, description = "Registered; `Location: /clients/{username}`", body = p2p_chat_protocol::api::ClientRecord),
        (status = 400, description = "A field is missing or breaks its rule", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "registration_closed, invite_required or invite_invalid", body = p2p_chat_protocol::api::ErrorBody),
        (status = 409, description = "The username is taken", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn register(
    State(state): State<AppState>,
    ClientAddr(observed): ClientAddr,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<ClientRecord>,
    ),
    ApiError,
> {
    let username = validate::username(&request.username)?;
    validate::password(&request.password)?;
    let observed_host = observed.map(|ip| ip.to_string());
    let host = peer_host(&request.host, observed_host.as_deref())?;
    let port = validate::port(request.port.unwrap_or(DEFAULT_PEER_PORT))?;
    let public_key = validate::key_hex(&validate::public_key(&request.public_key)?);
    let invite = registration::admit(state.settings().registration, request.invite.as_deref())?;

    // Cheap early answer; the unique key still decides when two registrations race.
    if state.store().client(&username).await?.is_some() {
        return Err(ApiError::UsernameTaken(username));
    }
    let invited = invite.is_some();
    let password_hash = state.hasher().hash(request.password).await?;
    let now = Utc::now();
    let row = state
        .store()
        .insert_client(&NewClient {
            username,
            password_hash,
            host,
            port,
            public_key,
            observed_host,
            now,
            invite,
        })
        .await?;
    tracing::info!(username = %row.username, invited, "registered");
    let location = format!("/clients/{}", row.username);
    let record = row.into_record(now, state.settings().presence_window);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(record),
    ))
}

/// Checks a password and issues a bearer token; counts as a sign of life.
///
/// Unknown usernames and wrong passwords get the same 401 after the same bcrypt work.
#[utoipa::path(post, path = "/login", tag = "accounts",
    request_body = p2p_chat_protocol::api::LoginRequest,
    responses(
        (status = 200, description = "A bearer token", body = p2p_chat_protocol::api::LoginResponse),
        (status = 401, description = "Wrong username or password", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "account_disabled", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // An invalid username cannot be registered; treat it like an unknown one.
    let username = validate::username(&request.username).ok();
    let stored_hash = match &username {
        Some(name) => state.store().password_hash(name).await?,
        None => None,
    };
    let stored_exists = stored_hash.is_some();
    // Invalid names share one backoff entry: they can never log in anyway.
    let throttle_key = username.as_deref().unwrap_or("");
    let matches = state
        .check_password(throttle_key, request.password, stored_hash)
        .await?;
    // The name only when it is an account's: what a guesser (or a user typing a password into
    // the wrong field) invents stays out of the log.
    let known = username.clone().filter(|_| stored_exists);
    let (Some(username), true) = (username, matches) else {
        match known {
            Some(name) => tracing::info!(username = %name, "login refused: wrong password"),
            None => tracing::info!("login refused: no such account"),
        }
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };

    let now = Utc::now();
    // Checked after the password, so only the account's owner learns it is disabled.
    if state
        .store()
        .account(&username, now)
        .await?
        .is_some_and(|account| account.disabled)
    {
        tracing::info!(%username, "login refused: account disabled");
        return Err(ApiError::AccountDisabled(username));
    }
    let expires_at = chrono::Duration::from_std(state.settings().token_ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| ApiError::internal("token lifetime overflows the calendar"))?;
    let token = issue_token()?;
    state
        .store()
        .insert_token(&NewToken {
            hash: token.hash,
            username: username.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    state.store().touch(&username, now, None, false).await?;
    tracing::info!(%username, "logged in");
    Ok(Json(LoginResponse {
        token: token.secret,
        expires_at,
    }))
}
