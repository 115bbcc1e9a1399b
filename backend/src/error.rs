//! The API's one error type: each variant knows its status and stable code.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferry_api::{ErrorBody, ErrorDetail, codes};
use serde::de::DeserializeOwned;

use crate::ports::{AuthError, MetadataError, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, malformed, expired or foreign tokens: all look the same to the client.
    #[error("unauthorized")]
    Unauthorized,
    /// A client mistake: a 4xx status, its stable code and a message for people. Unknown ids and
    /// other users' resources alike are a 404 (see [`ApiError::not_found`]).
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// 429 with `Retry-After`: the seconds until another attempt may be made.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// 429 `rate_limited` with `Retry-After`: the guest routes' per-request or per-client limit.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A bound on expensive work is reached ([`crate::work_gate::Busy`]): 503 with `Retry-After`.
    #[error("busy")]
    Busy,
    /// Anything else: logged with context, opaque to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A client error with `status` (4xx).
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    /// `not_found`, for unknown ids and other users' resources alike.
    pub fn not_found(what: &str) -> Self {
        Self::client(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("No such {what}."),
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::GONE, code, message)
    }

    pub fn payload_too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "Sign in to continue.".to_owned(),
            ),
            Self::Client {
                status,
                code,
                message,
            } => (*status, code, message.clone()),
            Self::TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_ATTEMPTS,
                "Too many wrong passwords. Wait a few minutes and try again.".to_owned(),
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                "Too many requests to this link. Wait a minute and try again.".to_owned(),
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
        if let Self::TooManyAttempts { retry_after_secs } | Self::RateLimited { retry_after_secs } =
            self
        {
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

/// A JSON request body. Every route takes its body through this extractor, so every rejection
/// is an [`ApiError`]: a body over the API's limit is 413 `payload_too_large`, anything else wrong
/// with it (syntax, types, content type) 400 `invalid_request`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

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
        ApiError::payload_too_large(
            codes::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is larger than the {} KiB this API accepts.",
                crate::config::MAX_BODY_BYTES / 1024
            ),
        )
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
