//! `/mailbox`: sealed messages kept for offline peers.
//!
//! A deposit needs any account's token, which proves only that the depositor has an account:
//! who deposited a message is neither stored nor logged. Fetching and deleting need the
//! recipient's own token, and nobody else's messages are ever visible.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use p2p_chat_protocol::api::{
    DEFAULT_MAILBOX_PAGE_LIMIT, DepositReceipt, DepositRequest, MAX_MAILBOX_PAGE_LIMIT, MailId,
    MailboxPage, MailboxQuery, decode_sealed,
};

use super::clients::path_username;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{DepositOutcome, NewMail};

/// `POST /mailbox/{recipient}`: keeps one sealed message for `recipient`: 201 with its id
/// and expiry.
///
/// Checks in order: token (401), recipient (404), body (400, 413), room (507).
#[utoipa::path(post, path = "/mailbox/{key}", tag = "mailbox", security(("bearer" = [])),
    params(("key" = String, Path, description = "The recipient's username")),
    request_body = p2p_chat_protocol::api::DepositRequest,
    responses(
        (status = 201, description = "Kept", body = p2p_chat_protocol::api::DepositReceipt),
        (status = 400, description = "`sealed` is not base64 or empty", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "No such recipient", body = p2p_chat_protocol::api::ErrorBody),
        (status = 413, description = "Over the per-message limit", body = p2p_chat_protocol::api::ErrorBody),
        (status = 507, description = "The recipient's mailbox, or the whole mailbox, is full", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn deposit(
    State(state): State<AppState>,
    _depositor: Authenticated,
    ApiPath(raw): ApiPath<String>,
    body: Result<ApiJson<DepositRequest>, ApiError>,
) -> Result<(StatusCode, Json<DepositReceipt>), ApiError> {
    let recipient = path_username(&raw)?;
    if state.store().client(&recipient).await?.is_none() {
        return Err(unknown_recipient(&recipient));
    }
    let limits = state.settings().mailbox;
    let too_large = || ApiError::SealedTooLarge {
        max: limits.max_message_bytes,
    };
    let ApiJson(request) = body.map_err(|err| match err {
        // The body limit of this route follows the per-message limit; say so.
        ApiError::PayloadTooLarge => too_large(),
        other => other,
    })?;
    // Refused before decoding: the text alone shows the message cannot fit.
    if request.sealed.len() > limits.max_sealed_text() {
        return Err(too_large());
    }
    let sealed = decode_sealed(&request.sealed)?;
    if sealed.len() > limits.max_message_bytes {
        return Err(too_large());
    }
    let deposited_at = Utc::now();
    let expires_at = chrono::Duration::from_std(limits.ttl)
        .ok()
        .and_then(|ttl| deposited_at.checked_add_signed(ttl))
        .ok_or_else(|| ApiError::internal("mailbox lifetime overflows the calendar"))?;
    let mail = NewMail {
        id: MailId::new(),
        recipient,
        sealed,
        deposited_at,
        expires_at,
    };
    let full = |limit: String| ApiError::MailboxFull {
        recipient: mail.recipient.clone(),
        limit,
    };
    match state.store().deposit_mail(&mail, limits.quota()).await? {
        DepositOutcome::Stored => {}
        DepositOutcome::UnknownRecipient => return Err(unknown_recipient(&mail.recipient)),
        DepositOutcome::TooManyMessages => {
            return Err(full(format!("{} messages", limits.max_messages)));
        }
        DepositOutcome::TooManyBytes => {
            return Err(full(format!("{} bytes of messages", limits.max_bytes)));
        }
        DepositOutcome::StorageFull => {
            return Err(ApiError::MailboxStorageFull {
                limit: limits.max_total_bytes,
            });
        }
    }
    tracing::debug!(recipient = %mail.recipient, bytes = mail.sealed.len(), "mail deposited");
    state.hub().send_to(
        &mail.recipient,
        &p2p_chat_protocol::api::signal::ServerSignal::Mail,
    );
    Ok((
        StatusCode::CREATED,
        Json(DepositReceipt {
            id: mail.id,
            expires_at,
        }),
    ))
}

fn unknown_recipient(recipient: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no client is registered as {recipient:?}; check the recipient's name"
    ))
}

/// `GET /mailbox`: one page of the caller's unexpired messages, oldest first; `next` is the
/// `after` of the following page.
#[utoipa::path(get, path = "/mailbox", tag = "mailbox", security(("bearer" = [])),
    params(p2p_chat_protocol::api::MailboxQuery),
    responses(
        (status = 200, description = "One page of the caller's messages, oldest first", body = p2p_chat_protocol::api::MailboxPage),
        (status = 400, description = "Bad `limit` or `after`", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn fetch(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<MailboxQuery>,
) -> Result<Json<MailboxPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_MAILBOX_PAGE_LIMIT);
    if !(1..=MAX_MAILBOX_PAGE_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!(
            "limit must be 1-{MAX_MAILBOX_PAGE_LIMIT}, got {limit}"
        )));
    }
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<MailId>().map_err(|_| {
            ApiError::InvalidRequest(
                "after must be a message id (the `next` of the previous page)".into(),
            )
        })?),
    };
    // One row more than asked tells whether another page exists.
    let mut rows = state
        .store()
        .fetch_mail(&auth.username, after, limit + 1, Utc::now())
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|row| row.id)
    } else {
        None
    };
    Ok(Json(MailboxPage {
        messages: rows.iter().map(|row| row.to_item()).collect(),
        next,
    }))
}

/// `DELETE /mailbox/{id}`: deletes one of the caller's messages: 204. Someone else's message,
/// an expired one, an already deleted one and a malformed id all get the same 404.
#[utoipa::path(delete, path = "/mailbox/{key}", tag = "mailbox", security(("bearer" = [])),
    params(("key" = String, Path, description = "The message's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "No such message of the caller's", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    // A malformed id cannot name a message; the answer does not echo it.
    let Ok(id) = raw.parse::<MailId>() else {
        return Err(ApiError::NotFound(
            "no such message in your mailbox (ids are UUIDs)".into(),
        ));
    };
    if state
        .store()
        .delete_mail(&auth.username, id, Utc::now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no message {id} in your mailbox; it was deleted, expired or never yours"
        )))
    }
}
