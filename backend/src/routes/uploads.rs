//! `POST /api/uploads`: announce a file, reserve quota, get a presigned PUT.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use ferry_api::{CreateUpload, FileStatus, UploadTicket, codes};

use crate::auth::CurrentUser;
use crate::domain::{ContentType, FileId, FileName, FileRecord};
use crate::error::{ApiError, rejection};
use crate::ports::MetadataError;
use crate::state::AppState;

use super::{wire_file, wire_request};

pub fn router() -> Router<AppState> {
    Router::new().route("/uploads", post(create_upload))
}

/// Human units for limits in messages.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[utoipa::path(
    post, path = "/api/uploads", tag = "files",
    request_body = CreateUpload,
    responses(
        (status = 201, body = UploadTicket, description = "Pending file and presigned PUT"),
        (status = 400, body = ferry_api::ErrorBody), (status = 401, body = ferry_api::ErrorBody),
        (status = 403, body = ferry_api::ErrorBody, description = "Quota exceeded"),
        (status = 413, body = ferry_api::ErrorBody, description = "File too large"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_upload(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: Result<Json<CreateUpload>, JsonRejection>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    let Json(req) = body.map_err(rejection)?;
    let name = FileName::parse(&req.name)
        .map_err(|e| ApiError::bad_request(codes::INVALID_NAME, e.to_string()))?;
    let content_type = ContentType::parse_or_default(req.content_type.as_deref())
        .map_err(|e| ApiError::bad_request(codes::INVALID_CONTENT_TYPE, e.to_string()))?;
    let limits = &state.limits;
    if req.size == 0 {
        return Err(ApiError::bad_request(
            codes::INVALID_SIZE,
            "Empty files cannot be uploaded.",
        ));
    }
    if req.size > limits.max_file_size {
        return Err(ApiError::PayloadTooLarge {
            code: codes::FILE_TOO_LARGE,
            message: format!(
                "This file is {}; the largest file you can upload is {}.",
                human_bytes(req.size),
                human_bytes(limits.max_file_size)
            ),
        });
    }

    let now = state.clock.now();
    let record = FileRecord {
        owner: me.user.clone(),
        id: FileId::new(),
        name,
        size: req.size,
        content_type,
        status: FileStatus::Pending,
        created_at: now,
        upload_expires_at: now + limits.pending_ttl,
        sha256: None,
        thumbnail_key: None,
    };
    match state
        .meta
        .insert_pending_file(&record, limits.user_quota)
        .await
    {
        Ok(()) => {}
        Err(MetadataError::QuotaExceeded { used, quota }) => {
            return Err(ApiError::Forbidden {
                code: codes::QUOTA_EXCEEDED,
                message: format!(
                    "Not enough space: this file needs {}, and {} of your {} is free.",
                    human_bytes(req.size),
                    human_bytes(quota.saturating_sub(used)),
                    human_bytes(quota)
                ),
            });
        }
        Err(err) => return Err(err.into()),
    }

    let key = record.object_key();
    let presigned = state
        .objects
        .presign_put(
            &key,
            record.size,
            record.content_type.as_str(),
            limits.upload_url_ttl,
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
    tracing::info!(file = %record.id, size = record.size, "upload issued");
    let file = wire_file(&state, &record).await;
    Ok((
        StatusCode::CREATED,
        Json(UploadTicket {
            file,
            upload: wire_request(upload),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(1), "1 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }
}
