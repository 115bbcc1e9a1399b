//! `POST /api/files/{id}/thumbnail`: a presigned PUT for the thumbnail of the caller's own end-to-end
//! encrypted file, made and sealed with the transfer's key in their browser (the server never
//! decodes encrypted bytes). It is stored where a plain file's thumbnail is, so listing hands it
//! out as `thumbnail_url` and deleting the file removes it.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use ferry_api::encryption::{MAX_THUMBNAIL_BYTES, SealedThumbnail};
use ferry_api::{FileStatus, codes};

use crate::auth::CurrentUser;
use crate::domain::thumbnail_object_key;
use crate::error::{ApiError, ApiJson};
use crate::ports::Transition;
use crate::state::AppState;

use super::files::owned_file;
use super::wire_request;

/// What a sealed thumbnail is stored as: bytes no one but a key holder can read.
const SEALED_TYPE: &str = "application/octet-stream";

pub fn router() -> Router<AppState> {
    Router::new().route("/files/{id}/thumbnail", post(grant_thumbnail))
}

#[utoipa::path(
    post, path = "/api/files/{id}/thumbnail", tag = "files",
    request_body = SealedThumbnail,
    responses(
        (status = 200, body = ferry_api::PresignedRequest,
         description = "A presigned PUT of exactly `size` bytes for the sealed thumbnail"),
        (status = 400, body = ferry_api::ErrorBody,
         description = "`invalid_thumbnail`: size 0 or over 64 KiB"),
        (status = 401, body = ferry_api::ErrorBody),
        (status = 404, body = ferry_api::ErrorBody, description = "Not the caller's file"),
        (status = 409, body = ferry_api::ErrorBody,
         description = "`not_encrypted`: a plain file (the server makes its thumbnail), or `file_not_ready`: its upload failed"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn grant_thumbnail(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SealedThumbnail>,
) -> Result<Json<ferry_api::PresignedRequest>, ApiError> {
    let file = owned_file(&state, &me.user, &id).await?;
    if file.encrypted.is_none() {
        return Err(ApiError::conflict(
            codes::NOT_ENCRYPTED,
            "Only end-to-end encrypted files take a thumbnail from the browser.",
        ));
    }
    if file.status == FileStatus::Failed {
        return Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "The file did not finish uploading.",
        ));
    }
    if !(1..=MAX_THUMBNAIL_BYTES).contains(&req.size) {
        return Err(ApiError::bad_request(
            codes::INVALID_THUMBNAIL,
            "A sealed thumbnail is 1 to 65536 bytes.",
        ));
    }
    let key = thumbnail_object_key(&file.owner, &file.id);
    let put = state
        .objects
        .presign_put(
            &key,
            req.size,
            SEALED_TYPE,
            None,
            state.limits.upload_url_ttl,
        )
        .await?;
    match state
        .meta
        .set_thumbnail(&file.owner, &file.id, &key)
        .await?
    {
        Transition::Missing => return Err(ApiError::not_found("file")),
        Transition::Applied | Transition::Unchanged => {}
    }
    tracing::info!(file = %file.id, size = req.size, "sealed thumbnail granted");
    Ok(Json(wire_request(put)))
}
