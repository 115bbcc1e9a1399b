//! The API's one error type: each variant knows its status and stable code.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferry_api::{ErrorBody, ErrorDetail, codes};

use crate::ports::{AuthError, MetadataError, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, malformed, expired or foreign tokens: all look the same to the client.
    #[error("unauthorized")]
    Unauthorized,
    /// Unknown ids and other users' resources alike.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A client mistake with its stable code and a message for people.
    /// A 404 with its own stable code (e.g. `share_not_found` on the public pages).
    #[error("{message}")]
    Missing { code: &'static str, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    PayloadTooLarge { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// 429 with `Retry-After`: the seconds until another attempt may be made.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A bound on expensive work is reached ([`crate::work_gate::Busy`]): 503 with `Retry-After`.
    #[error("busy")]
    Busy,
    /// Anything else: logged with context, opaque to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "Sign in to continue.".to_owned(),
            ),
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                format!("No such {what}."),
            ),
            Self::Missing { code, message } => (StatusCode::NOT_FOUND, code, message.clone()),
            Self::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            Self::Conflict { code, message } => (StatusCode::CONFLICT, code, message.clone()),
            Self::PayloadTooLarge { code, message } => {
                (StatusCode::PAYLOAD_TOO_LARGE, code, message.clone())
            }
            Self::Forbidden { code, message } => (StatusCode::FORBIDDEN, code, message.clone()),
            Self::Gone { code, message } => (StatusCode::GONE, code, message.clone()),
            Self::TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_ATTEMPTS,
                "Too many wrong passwords. Wait a few minutes and try again.".to_owned(),
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                codes::BUSY,
                "The server is busy. Please try again in a moment.".to_owned(),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                "Something went wrong on our side. Please try again.".to_owned(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = ?err, "request failed");
        }
        let (status, code, message) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
        }
        if let Self::TooManyAttempts { retry_after_secs } = self {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<MetadataError> for ApiError {
    fn from(err: MetadataError) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Keys(reason) => Self::Internal(anyhow::anyhow!("signing keys: {reason}")),
            other => {
                tracing::debug!(reason = %other, "token refused");
                Self::Unauthorized
            }
        }
    }
}

impl From<crate::work_gate::Busy> for ApiError {
    fn from(_: crate::work_gate::Busy) -> Self {
        Self::Busy
    }
}

impl From<crate::work_gate::GateError> for ApiError {
    fn from(err: crate::work_gate::GateError) -> Self {
        match err {
            crate::work_gate::GateError::Busy(_) => Self::Busy,
            crate::work_gate::GateError::Failed(reason) => {
                Self::Internal(anyhow::anyhow!("background job: {reason}"))
            }
        }
    }
}

/// A body over the API's limit is 413 `payload_too_large`; anything else wrong with it (syntax,
/// types, content type) is 400 `invalid_request`. Every JSON body goes through here.
impl From<JsonRejection> for ApiError {
    fn from(err: JsonRejection) -> Self {
        body_rejection(err.status(), err)
    }
}

/// Raw bodies (`Bytes`) hit the same limit as JSON ones.
impl From<BytesRejection> for ApiError {
    fn from(err: BytesRejection) -> Self {
        body_rejection(err.status(), err)
    }
}

fn body_rejection(status: StatusCode, err: impl std::fmt::Display) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge {
            code: codes::PAYLOAD_TOO_LARGE,
            message: format!(
                "The request body is larger than the {} KiB this API accepts.",
                crate::config::MAX_BODY_BYTES / 1024
            ),
        }
    } else {
        rejection(err)
    }
}

/// Turns axum's own body and path rejections into the API's JSON error shape.
pub fn rejection(err: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        codes::INVALID_REQUEST,
        format!("The request is not valid: {err}"),
    )
}
