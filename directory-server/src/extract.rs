//! Extractors that wrap axum's own so that every rejection becomes an [`ApiError`] with the
//! common JSON error shape instead of axum's plain-text bodies.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
///
/// Rejections: missing or non-JSON `Content-Type` → 415; body over the limit → 413; syntax
/// error → 400 `invalid_json`; missing field or wrong type → 400 `invalid_request` whose
/// message names the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// axum's rejection text is "<summary>: <detail>"; the detail is what the client needs (for
/// data errors it starts with the path of the offending field, e.g. `port: invalid value`).
fn detail(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, detail)| detail)
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(err) => ApiError::InvalidJson(format!(
            "request body is not valid JSON: {}",
            detail(&err.body_text())
        )),
        JsonRejection::JsonDataError(err) => ApiError::InvalidRequest(format!(
            "invalid request body: {}",
            detail(&err.body_text())
        )),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other if other.status().is_client_error() => {
            ApiError::InvalidRequest(format!("cannot read request body: {}", other.body_text()))
        }
        other => ApiError::internal(other.body_text()),
    }
}

/// A query string deserialized into `T`; rejections are 400 `invalid_request` naming the
/// parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::InvalidRequest(format!(
        "invalid query string: {}",
        detail(&rejection.body_text())
    ))
}

/// Path parameters deserialized into `T`; rejections are 400 `invalid_request`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

fn path_rejection(rejection: &PathRejection) -> ApiError {
    if rejection.status().is_server_error() {
        return ApiError::internal(rejection.body_text());
    }
    ApiError::InvalidRequest(format!("invalid path: {}", detail(&rejection.body_text())))
}
