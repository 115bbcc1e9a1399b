//! `POST /api/files/delete`: many of the caller's files at once (a folder, a selection), and the
//! checks every list of file ids in a request gets.

use std::collections::HashSet;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ferry_api::{DeleteFiles, DeletedFiles, codes};

use crate::auth::CurrentUser;
use crate::domain::FileId;
use crate::error::{ApiError, ApiJson};
use crate::file_objects::remove_file_objects;
use crate::state::AppState;

/// Object deletions in flight at once for one batch.
const PARALLEL_REMOVALS: usize = 16;

pub fn router() -> Router<AppState> {
    Router::new().route("/files/delete", post(delete_files))
}

/// 1 to `max` distinct, well-formed file ids; `what` names the request in messages ("A link").
pub(crate) fn parse_file_ids(
    raw: &[String],
    max: u32,
    what: &str,
) -> Result<Vec<FileId>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "Choose at least one file.",
        ));
    }
    if raw.len() > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(ApiError::bad_request(
            codes::TOO_MANY_FILES,
            format!(
                "{what} can name at most {max} files; this one names {}.",
                raw.len()
            ),
        ));
    }
    let mut seen = HashSet::with_capacity(raw.len());
    raw.iter()
        .enumerate()
        .map(|(i, id)| {
            let id = FileId::parse(id).map_err(|_| {
                ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!("file_ids[{i}] is not a file id."),
                )
            })?;
            if !seen.insert(id) {
                return Err(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!("file_ids[{i}] names a file already listed."),
                ));
            }
            Ok(id)
        })
        .collect()
}

#[utoipa::path(
    post, path = "/api/files/delete", tag = "files", request_body = DeleteFiles,
    description = "Deletes the caller's files among `file_ids` with their bytes, takes each out of every link of the caller's (a link of one file goes with it; a link of several covers fewer, and says so once all are gone) and frees their quota. Ids of files that do not exist or are another user's count as already gone.",
    responses((status = 200, body = DeletedFiles),
              (status = 400, body = ferry_api::ErrorBody, description = "`invalid_request` (no ids, an id twice, a malformed id) or `too_many_files`")),
    security(("bearer" = []))
)]
pub(crate) async fn delete_files(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<DeleteFiles>,
) -> Result<Json<DeletedFiles>, ApiError> {
    let ids = parse_file_ids(&req.file_ids, state.limits.max_share_files, "One delete")?;
    let files = state.meta.files_by_ids(&me.user, &ids).await?;
    // Bytes first, as for one file: a file whose objects could not be removed keeps its record,
    // so deleting it again retries.
    let objects = state.objects.as_ref();
    let mut removable = Vec::with_capacity(files.len());
    let mut failure = None;
    for chunk in files.chunks(PARALLEL_REMOVALS) {
        let outcomes =
            futures::future::join_all(chunk.iter().map(|f| remove_file_objects(objects, f))).await;
        for (file, outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                Ok(()) => removable.push(file.id),
                Err(err) => failure = Some(err),
            }
        }
    }
    let deleted = state.meta.delete_files(&me.user, &removable).await?;
    state.meta.release_guest_files(&deleted).await?;
    tracing::info!(files = deleted.len(), "files deleted");
    if let Some(err) = failure {
        return Err(err.into());
    }
    Ok(Json(DeletedFiles {
        deleted: u32::try_from(deleted.len()).unwrap_or(u32::MAX),
    }))
}
