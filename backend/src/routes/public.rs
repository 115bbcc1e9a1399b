//! `/api/public/shares/{token}`: what anyone holding a link may see, and one file's download.
//!
//! Viewing never consumes a download (link previews and scanners fetch pages); only the explicit
//! download request counts, atomically, in the metadata store. A password-protected link shows
//! its files only to `unlock` with the right password (which also gives an access key to use
//! instead of the password afterwards); every password check is throttled per link in the
//! metadata store and bounded per process by the password work gate. The checks are in
//! `public_gate`; the link's file list and "Download all" in `public_files`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use ferry_api::{DownloadUrl, FileStatus, PublicDownload, PublicShare, UnlockShare, codes};

use crate::domain::share::downloads_left;
use crate::domain::{FileId, FileRecord, ShareRecord};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

use super::files::download_url;
use super::public_gate::{
    check_access, check_password, count_one, live_share, not_found, optional_body,
};
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/shares/{token}", get(view_share))
        .route("/public/shares/{token}/unlock", post(unlock_share))
        .route("/public/shares/{token}/download", post(download_share))
}

/// The file of a link of one file (whose page shows it); `None` for a link of several.
async fn only_file(state: &AppState, share: &ShareRecord) -> Result<Option<FileRecord>, ApiError> {
    match share.file_ids.as_slice() {
        [id] => state
            .meta
            .file(&share.owner, id)
            .await?
            .map(Some)
            .ok_or_else(not_found),
        _ => Ok(None),
    }
}

/// What the link shows; a protected link shows its files only once the password was given.
fn public_share(share: &ShareRecord, file: Option<&FileRecord>, unlocked: bool) -> PublicShare {
    let show = unlocked || share.password_hash.is_none();
    let file = file.filter(|_| show);
    PublicShare {
        name: file.map(|f| f.name.to_string()),
        size: file.map(|f| f.size),
        content_type: file.map(|f| f.content_type.as_str().to_owned()),
        expires_at: rfc3339(share.expires_at),
        downloads_left: downloads_left(share).filter(|_| show),
        requires_password: share.password_hash.is_some(),
        sha256: file.and_then(|f| f.sha256.clone()),
        part_size: file.and_then(|f| f.part_size),
        file_count: show.then(|| share.file_count()),
        total_size: show
            .then(|| share.total_size.or(file.map(|f| f.size)))
            .flatten(),
        // Open links need no key.
        access: (unlocked && share.password_hash.is_some())
            .then(|| share.access_key())
            .flatten(),
        encrypted: share.encrypted,
        encrypted_meta: file.and_then(|f| f.encrypted.as_ref()).map(|s| s.to_wire()),
    }
}

#[utoipa::path(
    get, path = "/api/public/shares/{token}", tag = "public",
    description = "What the link shows. For a password-protected link only `requires_password` and `expires_at`: the rest comes from `unlock`. A link of one file describes it (`name`, `size`, …); a link of several gives `file_count` and `total_size` and lists them through `POST …/files`.",
    responses((status = 200, body = PublicShare), (status = 404, body = ferry_api::ErrorBody),
              (status = 410, body = ferry_api::ErrorBody, description = "Expired, revoked, used up, or `share_empty`: every file was deleted"))
)]
pub(crate) async fn view_share(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<PublicShare>, ApiError> {
    let share = live_share(&state, &token).await?;
    let file = only_file(&state, &share).await?;
    Ok(Json(public_share(&share, file.as_ref(), false)))
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/unlock", tag = "public", request_body = UnlockShare,
    description = "Checks the link's password and answers with everything the link shows, and `access`, a key to send instead of the password to `files`, `download` and `archive` (never counts a download). Each check takes one of the link's few password attempts; a right one is given back.",
    responses((status = 200, body = PublicShare),
              (status = 400, body = ferry_api::ErrorBody),
              (status = 403, body = ferry_api::ErrorBody, description = "`password_required` or `wrong_password`"),
              (status = 404, body = ferry_api::ErrorBody), (status = 410, body = ferry_api::ErrorBody),
              (status = 429, body = ferry_api::ErrorBody, description = "Too many password attempts on this link for now"),
              (status = 503, body = ferry_api::ErrorBody, description = "Too many password checks in progress; see `Retry-After`"))
)]
pub(crate) async fn unlock_share(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ApiJson(req): ApiJson<UnlockShare>,
) -> Result<Json<PublicShare>, ApiError> {
    let share = live_share(&state, &raw).await?;
    let file = only_file(&state, &share).await?;
    check_password(&state, &share, Some(req.password)).await?;
    Ok(Json(public_share(&share, file.as_ref(), true)))
}

/// The file of the link a download asks for: `file_id`, or the only one.
async fn chosen_file(
    state: &AppState,
    share: &ShareRecord,
    file_id: Option<&str>,
) -> Result<FileRecord, ApiError> {
    let not_in_link = || {
        ApiError::client(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "This file is not part of this link (any more).",
        )
    };
    let id = match (file_id, share.file_ids.as_slice()) {
        (Some(raw), ids) => FileId::parse(raw)
            .ok()
            .filter(|id| ids.contains(id))
            .ok_or_else(not_in_link)?,
        (None, [only]) => *only,
        (None, _) => {
            return Err(ApiError::bad_request(
                codes::FILE_REQUIRED,
                "This link covers several files: say which one (`file_id`).",
            ));
        }
    };
    let file = state.meta.file(&share.owner, &id).await?;
    let file = match file {
        Some(file) => file,
        None if share.file_ids.len() == 1 => return Err(not_found()),
        None => return Err(not_in_link()),
    };
    match file.status {
        FileStatus::Ready => Ok(file),
        FileStatus::Pending => Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "This file is still arriving: try again once its upload has finished.",
        )),
        FileStatus::Failed => Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "This file did not finish uploading.",
        )),
    }
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/download", tag = "public", request_body = PublicDownload,
    description = "A download URL of one file of the link, counted as one download. `file_id` says which, and is needed when the link covers several files; `access` (from `unlock`) may stand in for `password`.",
    responses((status = 200, body = DownloadUrl),
              (status = 400, body = ferry_api::ErrorBody, description = "`file_required`: the link covers several files and `file_id` is missing"),
              (status = 403, body = ferry_api::ErrorBody, description = "`password_required` or `wrong_password`"),
              (status = 404, body = ferry_api::ErrorBody, description = "No such link, or the file is not part of it"),
              (status = 409, body = ferry_api::ErrorBody, description = "`file_not_ready`: the file is still arriving"),
              (status = 410, body = ferry_api::ErrorBody),
              (status = 429, body = ferry_api::ErrorBody, description = "Too many password attempts on this link for now"),
              (status = 503, body = ferry_api::ErrorBody, description = "Too many password checks in progress; see `Retry-After`"))
)]
pub(crate) async fn download_share(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DownloadUrl>, ApiError> {
    // An empty body is fine for links without a password.
    let req: PublicDownload = optional_body(body)?;
    let share = live_share(&state, &raw).await?;
    check_access(&state, &share, req.password, req.access.as_deref()).await?;
    let file = chosen_file(&state, &share, req.file_id.as_deref()).await?;
    count_one(&state, &share).await?;
    tracing::info!(file = %file.id, "share download issued");
    download_url(&state, &file).await.map(Json)
}
