//! What every guest route of a file request checks first: the per-request and per-client rate
//! limit, that the request exists (and, to send or remove files, is open), and that the caller
//! holds a guest key of THIS request. Also the refusals guests see, in one place.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use ferry_api::requests::GUEST_KEY_HEADER;
use ferry_api::{RequestState, codes, human_size};

use crate::domain::requests::{GuestId, GuestRecord, RequestRecord, RequestToken};
use crate::domain::{FileId, FileRecord};
use crate::error::ApiError;
use crate::ports::RequestRefusal;
use crate::state::AppState;

/// Who is calling a guest route: their address (for the limiter) and their guest key, if any.
pub(crate) struct GuestCall {
    client: String,
    key: Option<String>,
}

impl FromRequestParts<AppState> for GuestCall {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let client =
            if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
                addr.ip().to_string()
            } else if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) = parts
                .extensions
                .get::<lambda_http::request::RequestContext>()
            {
                ctx.http.source_ip.clone().unwrap_or_default()
            } else {
                String::new()
            };
        let key = parts
            .headers
            .get(GUEST_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Ok(Self { client, key })
    }
}

/// Unknown, malformed and deleted requests all answer the same.
pub(crate) fn request_not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        codes::REQUEST_NOT_FOUND,
        "This request link does not exist. Check that it was copied completely.",
    )
}

fn closed() -> ApiError {
    ApiError::forbidden(
        codes::REQUEST_CLOSED,
        "This request was closed by its owner: it no longer accepts files.",
    )
}

fn expired() -> ApiError {
    ApiError::gone(
        codes::REQUEST_EXPIRED,
        "This request has expired: it no longer accepts files.",
    )
}

fn guest_key_required() -> ApiError {
    ApiError::client(
        StatusCode::UNAUTHORIZED,
        codes::GUEST_KEY_REQUIRED,
        "Open the request link again to send files.",
    )
}

/// What a refused reservation tells the guest.
pub(crate) fn request_refusal(refusal: RequestRefusal, size: u64) -> ApiError {
    match refusal {
        RequestRefusal::NotFound => request_not_found(),
        RequestRefusal::UnknownGuest => guest_key_required(),
        RequestRefusal::Closed => closed(),
        RequestRefusal::Expired => expired(),
        RequestRefusal::Full => ApiError::conflict(
            codes::REQUEST_FULL,
            "This request has received all the files it accepts.",
        ),
        RequestRefusal::TooLarge { bytes_left } => ApiError::payload_too_large(
            codes::REQUEST_TOO_LARGE,
            format!(
                "This file is {}; the request accepts {} more.",
                human_size(size),
                human_size(bytes_left)
            ),
        ),
        RequestRefusal::QuotaExceeded { .. } => ApiError::forbidden(
            codes::QUOTA_EXCEEDED,
            "The person who asked for files has no space left for this one.",
        ),
        RequestRefusal::Metadata(err) => err.into(),
    }
}

impl GuestCall {
    /// Counts this call against the request's and the client's limits.
    pub(crate) fn limit(&self, state: &AppState, raw_token: &str) -> Result<(), ApiError> {
        state
            .guest_limits
            .check(raw_token, &self.client, state.clock.now())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
    }

    /// The request behind `raw_token` (whatever its state), after the rate limit.
    pub(crate) async fn request(
        &self,
        state: &AppState,
        raw_token: &str,
    ) -> Result<RequestRecord, ApiError> {
        self.limit(state, raw_token)?;
        let token = RequestToken::parse(raw_token).map_err(|_| request_not_found())?;
        state
            .meta
            .request(&token)
            .await?
            .ok_or_else(request_not_found)
    }

    /// The request and this caller's guest record; `open` also requires the request to accept
    /// files now.
    pub(crate) async fn guest(
        &self,
        state: &AppState,
        raw_token: &str,
        open: bool,
    ) -> Result<(RequestRecord, GuestRecord), ApiError> {
        let request = self.request(state, raw_token).await?;
        let id = self
            .key
            .as_deref()
            .and_then(GuestId::of_key)
            .ok_or_else(guest_key_required)?;
        let guest = state
            .meta
            .guest(&request.token, &id)
            .await?
            .ok_or_else(guest_key_required)?;
        if open {
            refuse_unless_open(&request, state)?;
        }
        Ok((request, guest))
    }
}

/// `request_closed` or `request_expired` unless the request accepts files now.
pub(crate) fn refuse_unless_open(
    request: &RequestRecord,
    state: &AppState,
) -> Result<(), ApiError> {
    match request.state_at(state.clock.now()) {
        RequestState::Open => Ok(()),
        RequestState::Closed => Err(closed()),
        RequestState::Expired => Err(expired()),
    }
}

/// One of the files THIS guest sent; any other id (the owner's, another guest's, unknown)
/// answers 404 alike.
pub(crate) async fn guest_file(
    state: &AppState,
    request: &RequestRecord,
    guest: &GuestRecord,
    raw_id: &str,
) -> Result<FileRecord, ApiError> {
    let missing = || ApiError::not_found("file");
    let id = FileId::parse(raw_id).map_err(|_| missing())?;
    if !guest.file_ids.contains(&id) {
        return Err(missing());
    }
    let file = state
        .meta
        .file(&request.owner, &id)
        .await?
        .ok_or_else(missing)?;
    let theirs = file
        .guest
        .as_ref()
        .is_some_and(|g| g.request == request.token && g.guest == guest.guest);
    if theirs { Ok(file) } else { Err(missing()) }
}

/// A guest's file as they see it.
pub(crate) fn wire_guest_file(file: &FileRecord) -> ferry_api::GuestFile {
    ferry_api::GuestFile {
        id: file.id.to_string(),
        name: file.name.to_string(),
        folder: file.folder.as_ref().map(ToString::to_string),
        size: file.size,
        content_type: file.content_type.as_str().to_owned(),
        status: file.status,
        created_at: super::rfc3339(file.created_at),
        sha256: file.sha256.clone(),
        part_size: file
            .part_size
            .filter(|_| file.multipart_upload_id.is_some()),
    }
}
