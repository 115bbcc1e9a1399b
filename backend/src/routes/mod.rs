//! The HTTP API, one module per resource. Handlers parse input into domain types once, call the
//! ports, and map results to wire types.

mod file_batch;
mod file_page;
mod files;
mod guest;
mod guest_gate;
mod guest_uploads;
mod health;
mod parts;
mod public;
mod public_files;
mod public_gate;
mod requests;
mod sealed_thumbnails;
mod shares;
mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use ferry_api::{ErrorBody, ErrorDetail, codes};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::FileRecord;
use crate::domain::requests::GuestMark;
use crate::error::ApiError;
use crate::ports::PresignedRequest;
use crate::state::AppState;

pub use health::ApiDoc;

pub(crate) use crate::config::MAX_BODY_BYTES;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(uploads::router())
        .merge(files::router())
        .merge(sealed_thumbnails::router())
        .merge(file_batch::router())
        .merge(parts::router())
        .merge(shares::router())
        .merge(public::router())
        .merge(public_files::router())
        .merge(requests::router())
        .merge(guest::router())
        .merge(guest_uploads::router())
        .fallback(|| async { ApiError::not_found("endpoint") })
        .method_not_allowed_fallback(|| async {
            let body = ErrorBody {
                error: ErrorDetail {
                    code: codes::METHOD_NOT_ALLOWED.to_owned(),
                    message: "This endpoint does not accept that method.".to_owned(),
                },
            };
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers are per user or per link and hold short-lived URLs: never cache them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    // Formatting a UTC offset date-time as RFC 3339 cannot fail for years 0..=9999.
    at.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn wire_request(req: PresignedRequest) -> ferry_api::PresignedRequest {
    ferry_api::PresignedRequest {
        method: req.method,
        url: req.url,
        headers: req
            .headers
            .into_iter()
            .map(|(name, value)| ferry_api::Header { name, value })
            .collect(),
        expires_at: rfc3339(req.expires_at),
    }
}

/// A short-lived URL of the file's thumbnail, when it has one.
pub(crate) async fn thumbnail_url(state: &AppState, file: &FileRecord) -> Option<String> {
    let key = file.thumbnail_key.as_ref()?;
    state
        .objects
        .presign_get(key, "inline", state.limits.download_url_ttl)
        .await
        .inspect_err(|err| tracing::warn!(error = %err, "thumbnail URL"))
        .ok()
        .map(|req| req.url)
}

/// The wire form of a file, with a short-lived thumbnail URL when there is a thumbnail.
pub(crate) async fn wire_file(state: &AppState, file: &FileRecord) -> ferry_api::File {
    let thumbnail_url = thumbnail_url(state, file).await;
    wire_file_with(file, thumbnail_url)
}

/// The wire form of a file with the thumbnail URL given.
pub(crate) fn wire_file_with(file: &FileRecord, thumbnail_url: Option<String>) -> ferry_api::File {
    ferry_api::File {
        id: file.id.to_string(),
        name: file.name.to_string(),
        size: file.size,
        content_type: file.content_type.as_str().to_owned(),
        status: file.status,
        created_at: rfc3339(file.created_at),
        thumbnail_url,
        sha256: file.sha256.clone(),
        folder: file.folder.as_ref().map(ToString::to_string),
        encrypted: file.encrypted.as_ref().map(|s| s.to_wire()),
        request: file.guest.as_ref().map(request_ref),
    }
}

/// The wire form of the mark on a file a guest sent.
pub(crate) fn request_ref(mark: &GuestMark) -> ferry_api::RequestRef {
    ferry_api::RequestRef {
        token: mark.request.to_string(),
        title: mark.title.clone(),
        guest_name: mark.name.clone(),
        guest_note: mark.note.clone(),
    }
}
