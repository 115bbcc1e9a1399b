//! `/api/public/requests/{token}/uploads…` and `…/files/{id}/parts|complete`: a guest sends
//! files into the owner's space through the same presigned S3 flow as the owner's uploader
//! (`uploads` and `parts` do the work; this module only decides who may).
//!
//! The new file is the owner's (`files/{owner}/{id}`), marked with the request and the guest;
//! the request's limits and the owner's quota are reserved with it atomically
//! (`RequestStore::reserve_request_file`). Each presigned URL is for that one object key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferry_api::{
    CompleteUpload, CreateUpload, FileStatus, GuestFile, MultipartTicket, PartUrls,
    PartUrlsRequest, UploadTicket, UploadedParts,
};

use crate::domain::UserId;
use crate::domain::requests::{GuestMark, GuestRecord, RequestRecord};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

use super::guest_gate::{GuestCall, guest_file, wire_guest_file};
use super::parts::{complete, part_urls, uploaded_parts};
use super::uploads::{Via, issue_multipart, issue_single, too_many_pending};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/requests/{token}/uploads", post(guest_upload))
        .route(
            "/public/requests/{token}/uploads/multipart",
            post(guest_multipart_upload),
        )
        .route(
            "/public/requests/{token}/files/{id}/parts",
            get(guest_uploaded_parts).post(guest_part_urls),
        )
        .route(
            "/public/requests/{token}/files/{id}/complete",
            post(guest_complete),
        )
}

/// Tells the owner's open pages that a guest's file arrived (the local server; in AWS the
/// table's stream does).
async fn arrived(state: &AppState, request: &RequestRecord, raw_id: &str) {
    let Some(live) = state.live.as_deref() else {
        return;
    };
    let Ok(id) = crate::domain::FileId::parse(raw_id) else {
        return;
    };
    match state.meta.file(&request.owner, &id).await {
        Ok(Some(file)) => crate::live::guest_file_arrived(Some(live), &file).await,
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "guest arrival not announced"),
    }
}

/// The mark of this guest's next file; refuses a guest with too many unfinished uploads.
async fn next_mark(
    state: &AppState,
    request: &RequestRecord,
    guest: &GuestRecord,
) -> Result<GuestMark, ApiError> {
    let max = state.limits.max_pending_uploads;
    let sent = state
        .meta
        .files_by_ids(&request.owner, &guest.file_ids)
        .await?;
    let pending = sent
        .iter()
        .filter(|f| f.status == FileStatus::Pending)
        .count();
    if u64::try_from(pending).unwrap_or(u64::MAX) >= max {
        return Err(too_many_pending(max));
    }
    Ok(GuestMark {
        request: request.token.clone(),
        title: request.title.clone(),
        guest: guest.guest.clone(),
        name: guest.name.clone(),
        note: guest.note.clone(),
    })
}

/// A ticket of the owner's upload flow, by the file it announces.
trait Ticket {
    fn file_id(&self) -> &str;
}

impl Ticket for UploadTicket {
    fn file_id(&self) -> &str {
        &self.file.id
    }
}

impl Ticket for MultipartTicket {
    fn file_id(&self) -> &str {
        &self.file.id
    }
}

/// Both guest upload routes: admit the guest, then `issue` the file in the owner's space under
/// the guest's mark (`issue_single` or `issue_multipart`), and tell the owner it arrived.
async fn guest_issue<T: Ticket>(
    state: &AppState,
    call: GuestCall,
    token: &str,
    req: &CreateUpload,
    issue: impl AsyncFnOnce(
        &AppState,
        &UserId,
        &CreateUpload,
        Via<'_>,
    ) -> Result<(StatusCode, Json<T>), ApiError>,
) -> Result<(StatusCode, Json<T>), ApiError> {
    let (request, guest) = call.guest(state, token, true).await?;
    let mark = next_mark(state, &request, &guest).await?;
    let issued = issue(state, &request.owner, req, Via::Guest(&mark)).await?;
    arrived(state, &request, issued.1.file_id()).await;
    Ok(issued)
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/uploads", tag = "guests",
    request_body = CreateUpload,
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 201, body = UploadTicket, description = "As `POST /api/uploads`"),
        (status = 400, body = ferry_api::ErrorBody),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 403, body = ferry_api::ErrorBody, description = "request_closed or quota_exceeded"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
        (status = 409, body = ferry_api::ErrorBody,
         description = "request_full or too_many_pending_uploads"),
        (status = 410, body = ferry_api::ErrorBody, description = "request_expired"),
        (status = 413, body = ferry_api::ErrorBody, description = "request_too_large or file_too_large"),
        (status = 429, body = ferry_api::ErrorBody, description = "rate_limited"),
    )
)]
pub(crate) async fn guest_upload(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    guest_issue(&state, call, &token, &req, issue_single).await
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/uploads/multipart", tag = "guests",
    request_body = CreateUpload,
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 201, body = MultipartTicket, description = "As `POST /api/uploads/multipart`"),
        (status = 400, body = ferry_api::ErrorBody),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 403, body = ferry_api::ErrorBody, description = "request_closed or quota_exceeded"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
        (status = 409, body = ferry_api::ErrorBody,
         description = "request_full or too_many_pending_uploads"),
        (status = 410, body = ferry_api::ErrorBody, description = "request_expired"),
        (status = 413, body = ferry_api::ErrorBody, description = "request_too_large or file_too_large"),
        (status = 429, body = ferry_api::ErrorBody, description = "rate_limited"),
    )
)]
pub(crate) async fn guest_multipart_upload(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<(StatusCode, Json<MultipartTicket>), ApiError> {
    guest_issue(&state, call, &token, &req, issue_multipart).await
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/files/{id}/parts", tag = "guests",
    request_body = PartUrlsRequest,
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 200, body = PartUrls, description = "As `POST /api/files/{id}/parts`"),
        (status = 400, body = ferry_api::ErrorBody),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 403, body = ferry_api::ErrorBody, description = "request_closed"),
        (status = 404, body = ferry_api::ErrorBody, description = "Not a file this guest sent"),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
        (status = 410, body = ferry_api::ErrorBody, description = "request_expired"),
    )
)]
pub(crate) async fn guest_part_urls(
    State(state): State<AppState>,
    call: GuestCall,
    Path((token, id)): Path<(String, String)>,
    body: Result<ApiJson<PartUrlsRequest>, ApiError>,
) -> Result<Json<PartUrls>, ApiError> {
    let (request, guest) = call.guest(&state, &token, true).await?;
    let file = guest_file(&state, &request, &guest, &id).await?;
    part_urls(&state, file, body).await
}

#[utoipa::path(
    get, path = "/api/public/requests/{token}/files/{id}/parts", tag = "guests",
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 200, body = UploadedParts, description = "As `GET /api/files/{id}/parts`"),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 404, body = ferry_api::ErrorBody, description = "Not a file this guest sent"),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
        (status = 410, body = ferry_api::ErrorBody, description = "upload_expired"),
    )
)]
pub(crate) async fn guest_uploaded_parts(
    State(state): State<AppState>,
    call: GuestCall,
    Path((token, id)): Path<(String, String)>,
) -> Result<Json<UploadedParts>, ApiError> {
    let (request, guest) = call.guest(&state, &token, false).await?;
    let file = guest_file(&state, &request, &guest, &id).await?;
    uploaded_parts(&state, file).await
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/files/{id}/complete", tag = "guests",
    request_body = CompleteUpload,
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 200, body = GuestFile, description = "As `POST /api/files/{id}/complete`"),
        (status = 400, body = ferry_api::ErrorBody),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 404, body = ferry_api::ErrorBody, description = "Not a file this guest sent"),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
        (status = 410, body = ferry_api::ErrorBody, description = "upload_expired"),
    )
)]
pub(crate) async fn guest_complete(
    State(state): State<AppState>,
    call: GuestCall,
    Path((token, id)): Path<(String, String)>,
    body: Result<ApiJson<CompleteUpload>, ApiError>,
) -> Result<Json<GuestFile>, ApiError> {
    // An upload whose parts were all sent may be completed even if the request closed since.
    let (request, guest) = call.guest(&state, &token, false).await?;
    let file = guest_file(&state, &request, &guest, &id).await?;
    let file = complete(&state, file, body).await?;
    Ok(Json(wire_guest_file(&file)))
}
