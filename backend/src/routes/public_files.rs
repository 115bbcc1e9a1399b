//! `/api/public/shares/{token}/files` and `/archive`: the files of a link, page by page, and
//! "Download all": every ready file's URL for the ZIP the recipient's browser writes, counted as
//! one download. Both read the link's files in a few batched requests, whatever their number.

use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use ferry_api::transfer::{DEFAULT_PUBLIC_PAGE, MAX_PUBLIC_PAGE};
use ferry_api::{
    ArchiveEntry, ArchiveGrant, FileStatus, PublicArchive, PublicFile, PublicFilePage,
    PublicFilesQuery, codes,
};
use std::cmp::Ordering;

use crate::domain::archive::{archive_url_ttl, entry_paths, zip_name};
use crate::domain::{
    FileId, FileRecord, FolderPath, ShareRecord, content_disposition, listing_order,
};
use crate::error::ApiError;
use crate::state::AppState;

use super::public_gate::{check_access, count_one, live_share, optional_body, share_empty};
use super::{rfc3339, thumbnail_url};

/// Presigned URLs made at once for one archive (signing is local work, a few at a time keeps
/// the answer quick without hogging the runtime).
const PARALLEL_SIGNING: usize = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/shares/{token}/files", post(list_files))
        .route("/public/shares/{token}/archive", post(archive))
}

/// The link's files that still exist, in the order the link lists them: top-level files
/// first, then folder by folder, by name (ties by id, so the order is total). None left (all
/// deleted since the link was read) is `share_empty`, as it would have been a moment earlier.
async fn files_in_order(
    state: &AppState,
    share: &ShareRecord,
) -> Result<Vec<FileRecord>, ApiError> {
    let mut files = state
        .meta
        .files_by_ids(&share.owner, &share.file_ids)
        .await?;
    if files.is_empty() {
        return Err(share_empty());
    }
    files.sort_by(order);
    Ok(files)
}

fn order(a: &FileRecord, b: &FileRecord) -> Ordering {
    listing_order(
        (a.folder.as_ref(), a.name.as_str()),
        (b.folder.as_ref(), b.name.as_str()),
    )
    .then_with(|| a.id.cmp(&b.id))
}

/// Where a page ends: the last file's folder, name and id (base64url of a JSON array), so the
/// next page starts right after it even if files were deleted meanwhile.
fn encode_cursor(file: &FileRecord) -> String {
    let folder = file.folder.as_ref().map_or("", FolderPath::as_str);
    let key = serde_json::json!([folder, file.name.as_str(), file.id.to_string()]);
    URL_SAFE_NO_PAD.encode(key.to_string())
}

/// The cursor as (folder, name, id).
fn decode_cursor(cursor: &str) -> Result<(Option<FolderPath>, String, FileId), ApiError> {
    let invalid = || ApiError::bad_request(codes::INVALID_CURSOR, "The page cursor is not valid.");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (folder, name, id): (String, String, String) =
        serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let folder = FolderPath::parse_optional(Some(&folder)).map_err(|_| invalid())?;
    let id = FileId::parse(&id).map_err(|_| invalid())?;
    Ok((folder, name, id))
}

fn after_cursor(file: &FileRecord, cursor: &(Option<FolderPath>, String, FileId)) -> bool {
    listing_order(
        (file.folder.as_ref(), file.name.as_str()),
        (cursor.0.as_ref(), cursor.1.as_str()),
    )
    .then_with(|| file.id.cmp(&cursor.2))
        == Ordering::Greater
}

async fn public_file(state: &AppState, file: &FileRecord) -> PublicFile {
    let thumbnail_url = thumbnail_url(state, file).await;
    PublicFile {
        id: file.id.to_string(),
        name: file.name.to_string(),
        folder: file.folder.as_ref().map(ToString::to_string),
        size: file.size,
        content_type: file.content_type.as_str().to_owned(),
        status: file.status,
        sha256: file.sha256.clone(),
        part_size: file.part_size,
        thumbnail_url,
        encrypted: file.encrypted.as_ref().map(|s| s.to_wire()),
    }
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/files", tag = "public", request_body = PublicFilesQuery,
    description = "The link's files, `limit` at a time (default 200, at most 1000): top-level files first, then folder by folder (segment by segment), each folder's files by name. `pending` files are still arriving; `failed` ones will not. Pass `next_cursor` back as `cursor` for the next page. Never counts a download. A protected link needs `password` or `access` (from `unlock`).",
    responses((status = 200, body = PublicFilePage),
              (status = 400, body = ferry_api::ErrorBody, description = "`invalid_request` (limit) or `invalid_cursor`"),
              (status = 403, body = ferry_api::ErrorBody, description = "`password_required` or `wrong_password`"),
              (status = 404, body = ferry_api::ErrorBody),
              (status = 410, body = ferry_api::ErrorBody, description = "Expired, revoked, used up, or `share_empty`"),
              (status = 429, body = ferry_api::ErrorBody, description = "Too many password attempts on this link for now"))
)]
pub(crate) async fn list_files(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PublicFilePage>, ApiError> {
    let req: PublicFilesQuery = optional_body(body)?;
    let limit = req.limit.unwrap_or(DEFAULT_PUBLIC_PAGE);
    if !(1..=MAX_PUBLIC_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("limit must be between 1 and {MAX_PUBLIC_PAGE}."),
        ));
    }
    let cursor = req.cursor.as_deref().map(decode_cursor).transpose()?;
    let share = live_share(&state, &raw).await?;
    check_access(&state, &share, req.password, req.access.as_deref()).await?;
    let files = files_in_order(&state, &share).await?;
    let mut rest = files
        .iter()
        .filter(|f| cursor.as_ref().is_none_or(|c| after_cursor(f, c)));
    let page: Vec<&FileRecord> = rest.by_ref().take(limit as usize).collect();
    let more = rest.next().is_some();
    let mut items = Vec::with_capacity(page.len());
    for file in &page {
        items.push(public_file(&state, file).await);
    }
    Ok(Json(PublicFilePage {
        items,
        next_cursor: page.last().filter(|_| more).map(|f| encode_cursor(f)),
    }))
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/archive", tag = "public", request_body = PublicArchive,
    description = "\"Download all\", counted as ONE download: a presigned GET of every `ready` file (in the listing order, with its unique path inside the ZIP), the ZIP's name (the files' common top folder, or `ferry-YYYY-MM-DD.zip`), and how many files are still arriving (`pending`, not included). The URLs live max(the usual download URL lifetime, 1 h, total bytes at 1 MiB/s), at most 12 h: long enough to fetch the files one after another.",
    responses((status = 200, body = ArchiveGrant),
              (status = 403, body = ferry_api::ErrorBody, description = "`password_required` or `wrong_password`"),
              (status = 404, body = ferry_api::ErrorBody),
              (status = 409, body = ferry_api::ErrorBody, description = "`file_not_ready`: no file has finished arriving yet (nothing counted)"),
              (status = 410, body = ferry_api::ErrorBody, description = "Expired, revoked, used up, or `share_empty`"),
              (status = 429, body = ferry_api::ErrorBody, description = "Too many password attempts on this link for now"))
)]
pub(crate) async fn archive(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ArchiveGrant>, ApiError> {
    let req: PublicArchive = optional_body(body)?;
    let share = live_share(&state, &raw).await?;
    check_access(&state, &share, req.password, req.access.as_deref()).await?;
    let files = files_in_order(&state, &share).await?;
    let pending = files
        .iter()
        .filter(|f| f.status == FileStatus::Pending)
        .count();
    let ready: Vec<FileRecord> = files
        .into_iter()
        .filter(|f| f.status == FileStatus::Ready)
        .collect();
    if ready.is_empty() {
        return Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "None of these files has finished arriving yet.",
        ));
    }
    count_one(&state, &share).await?;
    let total_size: u64 = ready.iter().map(|f| f.size).sum();
    let ttl = archive_url_ttl(state.limits.download_url_ttl, total_size);
    let entries = signed_entries(&state, &ready, ttl).await?;
    let expires_at = state.clock.now() + ttl;
    tracing::info!(files = entries.len(), pending, "share archive issued");
    Ok(Json(ArchiveGrant {
        name: zip_name(&ready, state.clock.now()),
        files: entries,
        total_size,
        pending: u32::try_from(pending).unwrap_or(u32::MAX),
        expires_at: rfc3339(expires_at),
    }))
}

/// A presigned GET of each file, in order, with its path in the ZIP.
async fn signed_entries(
    state: &AppState,
    files: &[FileRecord],
    ttl: Duration,
) -> Result<Vec<ArchiveEntry>, ApiError> {
    let paths = entry_paths(files);
    let mut signed = Vec::with_capacity(files.len());
    for chunk in files.chunks(PARALLEL_SIGNING) {
        let requests = chunk.iter().map(|file| {
            let (key, disposition) = (file.object_key(), content_disposition(&file.name));
            async move { state.objects.presign_get(&key, &disposition, ttl).await }
        });
        signed.extend(futures::future::join_all(requests).await);
    }
    files
        .iter()
        .zip(paths)
        .zip(signed)
        .map(|((file, path), request)| {
            Ok(ArchiveEntry {
                id: file.id.to_string(),
                path,
                size: file.size,
                url: request?.url,
                sha256: file.sha256.clone(),
                encrypted: file.encrypted.as_ref().map(|s| s.to_wire()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(folder: Option<&str>, name: &str) -> FileRecord {
        FileRecord::sample_in(folder, name)
    }

    #[test]
    fn a_page_continues_after_its_last_file_even_once_that_is_gone() {
        let mut files = vec![
            file(Some("b"), "x"),
            file(None, "z"),
            file(Some("a/c"), "y"),
            file(Some("a"), "y"),
            file(Some("a"), "y"),
        ];
        files.sort_by(order);
        let cursor = decode_cursor(&encode_cursor(&files[2])).unwrap();
        let rest: Vec<_> = files.iter().filter(|f| after_cursor(f, &cursor)).collect();
        assert_eq!(rest, files[3..].iter().collect::<Vec<_>>());
        // The file the cursor names was deleted: the next page starts where it would have.
        files.remove(2);
        let rest: Vec<_> = files.iter().filter(|f| after_cursor(f, &cursor)).collect();
        assert_eq!(rest, files[2..].iter().collect::<Vec<_>>());
        for bad in ["", "e30", "WzEsMiwzXQ", "WyIuLiIsIm4iLCJ4Il0"] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
