//! `/api/files`: list, read, download and delete the caller's files.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_api::{DownloadUrl, FilePage, FileStatus, codes};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::domain::{FileId, FileRecord, UserId, content_disposition};
use crate::error::{ApiError, rejection};
use crate::file_objects::remove_file_objects;
use crate::state::AppState;
use crate::upload_events::settle_if_stored;

use super::file_page::FilePageAnswer;
use super::{rfc3339, thumbnail_url, wire_file};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files", get(list_files))
        .route("/files/{id}", get(get_file).delete(delete_file))
        .route("/files/{id}/download", get(download_file))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Page size, 1..=100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn encode_cursor(id: &FileId) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_cursor(cursor: &str) -> Result<FileId, ApiError> {
    let invalid = || ApiError::bad_request(codes::INVALID_CURSOR, "The page cursor is not valid.");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    FileId::parse(&text).map_err(|_| invalid())
}

/// The caller's file, or 404 for unknown ids and other users' files alike.
pub(crate) async fn owned_file(
    state: &AppState,
    owner: &UserId,
    raw_id: &str,
) -> Result<FileRecord, ApiError> {
    let id = FileId::parse(raw_id).map_err(|_| ApiError::not_found("file"))?;
    state
        .meta
        .file(owner, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("file"))
}

#[utoipa::path(
    get, path = "/api/files", tag = "files", params(ListParams),
    responses((status = 200, body = FilePage), (status = 400, body = ferry_api::ErrorBody),
              (status = 401, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list_files(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(rejection)?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("limit must be between 1 and {MAX_PAGE}."),
        ));
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .meta
        .list_files(&me.user, limit, after.as_ref())
        .await?;
    let mut thumbnail_urls = Vec::with_capacity(page.items.len());
    for file in &page.items {
        thumbnail_urls.push(thumbnail_url(&state, file).await);
    }
    Ok(FilePageAnswer {
        files: &page.items,
        thumbnail_urls,
        next_cursor: page.last.as_ref().map(encode_cursor),
    }
    .into_response())
}

#[utoipa::path(
    get, path = "/api/files/{id}", tag = "files",
    responses((status = 200, body = ferry_api::File), (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_file(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ferry_api::File>, ApiError> {
    let file = owned_file(&state, &me.user, &id).await?;
    let file = settled(&state, file).await?;
    Ok(Json(wire_file(&state, &file).await))
}

/// A pending file as it stands once its stored bytes are accounted for: clients poll a pending
/// file until it is ready, so an object-created event that was lost (or is late) does not leave
/// a fully uploaded file pending.
pub(crate) async fn settled(state: &AppState, file: FileRecord) -> Result<FileRecord, ApiError> {
    match settle_if_stored(&state.event_context(), &file).await {
        Ok(None) => Ok(file),
        Ok(Some(outcome)) => {
            tracing::info!(file = %file.id, ?outcome, "upload settled on a status check");
            state
                .meta
                .file(&file.owner, &file.id)
                .await?
                .ok_or_else(|| ApiError::not_found("file"))
        }
        // The event handler will try again; the file is still what it was.
        Err(error) => {
            tracing::warn!(file = %file.id, %error, "could not settle the upload");
            Ok(file)
        }
    }
}

#[utoipa::path(
    get, path = "/api/files/{id}/download", tag = "files",
    responses((status = 200, body = DownloadUrl), (status = 404, body = ferry_api::ErrorBody),
              (status = 409, body = ferry_api::ErrorBody, description = "Not uploaded yet")),
    security(("bearer" = []))
)]
pub(crate) async fn download_file(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DownloadUrl>, ApiError> {
    let file = owned_file(&state, &me.user, &id).await?;
    download_url(&state, &file).await.map(Json)
}

/// A presigned GET that saves the file under its own name.
pub(crate) async fn download_url(
    state: &AppState,
    file: &FileRecord,
) -> Result<DownloadUrl, ApiError> {
    if file.status != FileStatus::Ready {
        return Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "This file has not finished uploading.",
        ));
    }
    let req = state
        .objects
        .presign_get(
            &file.object_key(),
            &content_disposition(&file.name),
            state.limits.download_url_ttl,
        )
        .await?;
    Ok(DownloadUrl {
        url: req.url,
        expires_at: rfc3339(req.expires_at),
    })
}

#[utoipa::path(
    delete, path = "/api/files/{id}", tag = "files",
    responses((status = 204, description = "Deleted with its shares (a pending multipart upload is aborted)"),
              (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn delete_file(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let file = owned_file(&state, &me.user, &id).await?;
    // Bytes first: if this fails nothing has changed and the delete can be retried.
    remove_file_objects(state.objects.as_ref(), &file).await?;
    let removed = state.meta.delete_file(&file.owner, &file.id).await?;
    // A file a guest sent gives its place back to the request.
    state.meta.release_guest_files(removed.as_slice()).await?;
    tracing::info!(file = %file.id, "file deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = FileId::new();
        assert_eq!(decode_cursor(&encode_cursor(&id)).ok(), Some(id));
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("files/x")).is_err());
    }
}
