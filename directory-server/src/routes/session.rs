//! `POST /logout` and `PUT /clients/{username}/password`.

use axum::extract::State;
use axum::http::StatusCode;
use p2p_chat_protocol::api::PasswordChangeRequest;
use p2p_chat_protocol::validate;

use super::clients::path_username;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// Revokes the token that authenticates the request: 204.
#[utoipa::path(post, path = "/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    // A concurrent logout with the same token may have won; the token is gone either way.
    state.store().delete_token(&auth.token_hash).await?;
    tracing::info!(username = %auth.username, "logged out");
    state.hub().disconnect(&auth.username);
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password after checking the old one, and revokes every token of the user
/// (this one too): 204.
///
/// The body is read only after the token is checked, so a stranger learns nothing from it.
#[utoipa::path(put, path = "/clients/{username}/password", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path, description = "The account")),
    request_body = p2p_chat_protocol::api::PasswordChangeRequest,
    responses(
        (status = 204, description = "Changed; every token revoked"),
        (status = 400, description = "The new password breaks its rule", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "Invalid token, or wrong old password", body = p2p_chat_protocol::api::ErrorBody),
        (status = 403, description = "The token is another user's", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
    body: Result<ApiJson<PasswordChangeRequest>, ApiError>,
) -> Result<StatusCode, ApiError> {
    let username = path_username(&raw)?;
    auth.require(&username)?;
    let ApiJson(request) = body?;
    validate::password(&request.new_password).map_err(|err| {
        ApiError::InvalidRequest(err.message.replacen("password", "new_password", 1))
    })?;
    let stored_hash = state.store().password_hash(&username).await?;
    if !state
        .check_password(&username, request.old_password, stored_hash)
        .await?
    {
        return Err(ApiError::Unauthorized("wrong old password".into()));
    }
    let new_hash = state.hasher().hash(request.new_password).await?;
    if !state
        .store()
        .set_password_hash(&username, &new_hash)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "no client is registered as {username:?}"
        )));
    }
    tracing::info!(%username, "password changed; all tokens revoked");
    state.hub().disconnect(&username);
    Ok(StatusCode::NO_CONTENT)
}
