//! `POST /api/uploads` and `POST /api/uploads/multipart`: announce a file, reserve quota, and
//! get a presigned PUT, or a multipart upload whose part URLs come from `routes::parts`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use ferry_api::{CreateUpload, FileStatus, MultipartTicket, UploadTicket, codes, human_size};

use crate::auth::CurrentUser;
use crate::domain::parts::{PartLayout, decode_sha256};
use crate::domain::requests::GuestMark;
use crate::domain::{
    ContentType, FileId, FileName, FileRecord, FolderPath, UserId, file_object_key,
};
use crate::error::{ApiError, ApiJson};
use crate::ports::{MetadataError, Reservation};
use crate::state::AppState;

use super::guest_gate::request_refusal;
use super::{wire_file, wire_request};

/// Whose reservation an upload takes: the signed-in owner's own, or a guest's through a file
/// request (the request's limits too, in the same atomic step).
#[derive(Clone, Copy)]
pub(crate) enum Via<'a> {
    Owner,
    Guest(&'a GuestMark),
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/uploads", post(create_upload))
        .route("/uploads/multipart", post(create_multipart_upload))
}

/// A file as announced, checked: what both upload flows start from.
struct Announced {
    name: FileName,
    folder: Option<FolderPath>,
    content_type: ContentType,
    size: u64,
}

fn announced(state: &AppState, req: &CreateUpload) -> Result<Announced, ApiError> {
    let name = FileName::parse(&req.name)
        .map_err(|e| ApiError::bad_request(codes::INVALID_NAME, e.to_string()))?;
    let folder = FolderPath::parse_optional(req.folder.as_deref())
        .map_err(|e| ApiError::bad_request(codes::INVALID_PATH, e.to_string()))?;
    let content_type = ContentType::parse_or_default(req.content_type.as_deref())
        .map_err(|e| ApiError::bad_request(codes::INVALID_CONTENT_TYPE, e.to_string()))?;
    if req.size == 0 {
        return Err(ApiError::bad_request(
            codes::INVALID_SIZE,
            "Empty files cannot be uploaded.",
        ));
    }
    let limit = state.limits.max_file_size;
    if req.size > limit {
        return Err(ApiError::payload_too_large(
            codes::FILE_TOO_LARGE,
            format!(
                "This file is {}; the largest file you can upload is {}.",
                human_size(req.size),
                human_size(limit)
            ),
        ));
    }
    Ok(Announced {
        name,
        folder,
        content_type,
        size: req.size,
    })
}

fn quota_exceeded(size: u64, used: u64, quota: u64) -> ApiError {
    ApiError::forbidden(
        codes::QUOTA_EXCEEDED,
        format!(
            "Not enough space: this file needs {}, and {} of your {} is free.",
            human_size(size),
            human_size(quota.saturating_sub(used)),
            human_size(quota)
        ),
    )
}

pub(crate) fn too_many_pending(max: u64) -> ApiError {
    ApiError::conflict(
        codes::TOO_MANY_PENDING_UPLOADS,
        format!(
            "You have {max} uploads that have not finished. Let them finish, or delete the ones \
             you no longer need, then try again."
        ),
    )
}

/// Records the `pending` file and reserves its size in the owner's quota, atomically.
async fn reserve(
    state: &AppState,
    owner: &UserId,
    id: FileId,
    file: Announced,
    multipart: Option<(&str, PartLayout)>,
    via: Via<'_>,
) -> Result<FileRecord, ApiError> {
    let now = state.clock.now();
    let record = FileRecord {
        owner: owner.clone(),
        id,
        name: file.name,
        size: file.size,
        content_type: file.content_type,
        status: FileStatus::Pending,
        created_at: now,
        upload_expires_at: now + state.limits.pending_ttl,
        sha256: None,
        thumbnail_key: None,
        multipart_upload_id: multipart.map(|(upload_id, _)| upload_id.to_owned()),
        part_size: multipart.map(|(_, layout)| layout.part_size),
        folder: file.folder,
        guest: match via {
            Via::Owner => None,
            Via::Guest(mark) => Some(mark.clone()),
        },
    };
    if let Via::Guest(_) = via {
        // A guest is not refused by the owner's bound on unfinished uploads (each guest has
        // their own, checked before); their pending uploads still count in the owner's. The
        // request's limits and the quota are atomic here.
        return match state
            .meta
            .reserve_request_file(&record, state.limits.user_quota, now)
            .await
        {
            Ok(()) => Ok(record),
            Err(refusal) => Err(request_refusal(refusal, record.size)),
        };
    }
    let bounds = Reservation {
        quota: state.limits.user_quota,
        max_pending: state.limits.max_pending_uploads,
    };
    match state.meta.reserve_pending_file(&record, bounds).await {
        Ok(()) => Ok(record),
        Err(MetadataError::QuotaExceeded { used, quota }) => {
            Err(quota_exceeded(record.size, used, quota))
        }
        Err(MetadataError::TooManyPending { max }) => Err(too_many_pending(max)),
        Err(err) => Err(err.into()),
    }
}

pub(crate) fn invalid_checksum(what: &str) -> ApiError {
    ApiError::bad_request(
        codes::INVALID_CHECKSUM,
        format!("{what} must be the base64 SHA-256 of the bytes (44 characters)."),
    )
}

#[utoipa::path(
    post, path = "/api/uploads", tag = "files",
    request_body = CreateUpload,
    responses(
        (status = 201, body = UploadTicket, description = "Pending file and presigned PUT"),
        (status = 400, body = ferry_api::ErrorBody), (status = 401, body = ferry_api::ErrorBody),
        (status = 403, body = ferry_api::ErrorBody, description = "Quota exceeded"),
        (status = 409, body = ferry_api::ErrorBody,
         description = "too_many_pending_uploads: too many unfinished uploads"),
        (status = 413, body = ferry_api::ErrorBody,
         description = "`file_too_large`, or `payload_too_large`: the request body is over 64 KiB"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_upload(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    issue_single(&state, &me.user, &req, Via::Owner).await
}

/// A pending file of `owner` and a presigned PUT for its bytes: shared by `POST /api/uploads`
/// and a guest's upload through a file request.
pub(crate) async fn issue_single(
    state: &AppState,
    owner: &UserId,
    req: &CreateUpload,
    via: Via<'_>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    let file = announced(state, req)?;
    if let Some(sha) = &req.sha256
        && decode_sha256(sha).is_none()
    {
        return Err(invalid_checksum("sha256"));
    }
    let record = reserve(state, owner, FileId::new(), file, None, via).await?;

    let presigned = state
        .objects
        .presign_put(
            &record.object_key(),
            record.size,
            record.content_type.as_str(),
            req.sha256.as_deref(),
            state.limits.upload_url_ttl,
        )
        .await;
    let upload = match presigned {
        Ok(upload) => upload,
        Err(err) => {
            // Give the reservation back: the client never got a way to send the bytes.
            if let Err(undo) = state.meta.delete_file(&record.owner, &record.id).await {
                tracing::error!(error = %undo, file = %record.id, "could not undo pending file");
            }
            return Err(err.into());
        }
    };
    tracing::info!(file = %record.id, size = record.size, checked = req.sha256.is_some(), "upload issued");
    let file = wire_file(state, &record).await;
    Ok((
        StatusCode::CREATED,
        Json(UploadTicket {
            file,
            upload: wire_request(upload),
        }),
    ))
}

#[utoipa::path(
    post, path = "/api/uploads/multipart", tag = "files",
    request_body = CreateUpload,
    responses(
        (status = 201, body = MultipartTicket,
         description = "Pending file and its part layout; ask for part URLs next"),
        (status = 400, body = ferry_api::ErrorBody), (status = 401, body = ferry_api::ErrorBody),
        (status = 403, body = ferry_api::ErrorBody, description = "Quota exceeded"),
        (status = 409, body = ferry_api::ErrorBody,
         description = "too_many_pending_uploads: too many unfinished uploads"),
        (status = 413, body = ferry_api::ErrorBody,
         description = "`file_too_large`, or `payload_too_large`: the request body is over 64 KiB"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_multipart_upload(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<(StatusCode, Json<MultipartTicket>), ApiError> {
    issue_multipart(&state, &me.user, &req, Via::Owner).await
}

/// A pending file of `owner` uploaded in parts: shared by `POST /api/uploads/multipart` and a
/// guest's upload through a file request.
pub(crate) async fn issue_multipart(
    state: &AppState,
    owner: &UserId,
    req: &CreateUpload,
    via: Via<'_>,
) -> Result<(StatusCode, Json<MultipartTicket>), ApiError> {
    let file = announced(state, req)?;
    if req.sha256.is_some() {
        return Err(ApiError::bad_request(
            codes::INVALID_CHECKSUM,
            "Multipart uploads carry a checksum per part, not one for the whole file.",
        ));
    }
    let layout = PartLayout::for_size(file.size).ok_or_else(|| {
        ApiError::payload_too_large(
            codes::FILE_TOO_LARGE,
            "Files larger than 5 TiB cannot be uploaded.",
        )
    })?;
    // An early look at the quota spares S3 a multipart upload that would be refused at once;
    // the reservation below is the atomic check.
    let usage = state.meta.usage(owner).await?;
    let quota = state.limits.user_quota;
    if usage.bytes_used.saturating_add(file.size) > quota {
        return Err(quota_exceeded(file.size, usage.bytes_used, quota));
    }
    let id = FileId::new();
    let key = file_object_key(owner, &id);
    let upload_id = state
        .objects
        .create_multipart_upload(&key, file.content_type.as_str())
        .await?;
    let record = match reserve(state, owner, id, file, Some((&upload_id, layout)), via).await {
        Ok(record) => record,
        Err(err) => {
            // Nobody will ever send parts to it.
            if let Err(abort) = state.objects.abort_multipart_upload(&key, &upload_id).await {
                tracing::error!(error = %abort, key, "could not abort unused multipart upload");
            }
            return Err(err);
        }
    };
    tracing::info!(
        file = %record.id,
        size = record.size,
        parts = layout.part_count,
        "multipart upload issued"
    );
    let file = wire_file(state, &record).await;
    Ok((
        StatusCode::CREATED,
        Json(MultipartTicket {
            file,
            part_size: layout.part_size,
            part_count: layout.part_count,
        }),
    ))
}
