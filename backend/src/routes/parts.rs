//! The parts of a multipart upload (`POST /api/uploads/multipart` starts one): presigned URLs
//! to send them, what object storage already holds (to resume), and completion.
//!
//! Part URLs are cheap and renewable: asking again for a part issues a fresh URL, so an expired
//! one is never fatal. Completion checks the parts against object storage before assembling
//! them, so a refused completion changes nothing and the upload stays resumable.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use ferry_api::parts::MAX_PART_URLS;
use ferry_api::{
    CompleteUpload, FileStatus, PartUrl, PartUrls, PartUrlsRequest, UploadedParts, codes,
};

use crate::auth::CurrentUser;
use crate::domain::FileRecord;
use crate::domain::parts::{PartLayout, bare_etag, composite_sha256, decode_sha256};
use crate::error::{ApiError, ApiJson};
use crate::ports::{PartToComplete, StorageError, StoredPart};
use crate::state::AppState;

use super::files::{owned_file, settled};
use super::uploads::invalid_checksum;
use super::{rfc3339, wire_file};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/files/{id}/parts",
            get(list_uploaded_parts).post(request_part_urls),
        )
        .route("/files/{id}/complete", post(complete_upload))
}

/// The multipart upload of one file.
struct Upload {
    file: FileRecord,
    upload_id: String,
    layout: PartLayout,
}

/// The file's multipart upload, whatever the file's state.
fn multipart(file: FileRecord) -> Result<Upload, ApiError> {
    match (file.multipart_upload_id.clone(), file.part_layout()) {
        (Some(upload_id), Some(layout)) => Ok(Upload {
            file,
            upload_id,
            layout,
        }),
        _ => Err(ApiError::conflict(
            codes::NOT_MULTIPART,
            "This file is not being uploaded in parts.",
        )),
    }
}

fn closed() -> ApiError {
    ApiError::conflict(
        codes::UPLOAD_CLOSED,
        "This upload is over: the file has finished uploading or failed.",
    )
}

/// The file's multipart upload, if it is still open for parts.
fn open_upload(file: FileRecord) -> Result<Upload, ApiError> {
    let upload = multipart(file)?;
    if upload.file.status != FileStatus::Pending {
        return Err(closed());
    }
    Ok(upload)
}

fn expired() -> ApiError {
    ApiError::gone(
        codes::UPLOAD_EXPIRED,
        "This upload was abandoned and cleaned up. Delete the file and upload it again.",
    )
}

fn invalid_part(message: String) -> ApiError {
    ApiError::bad_request(codes::INVALID_PART, message)
}

/// Bytes in part `number` of this upload, or the refusal of a number it does not have.
fn checked_part_len(layout: &PartLayout, number: u32) -> Result<u64, ApiError> {
    layout.part_len(number).ok_or_else(|| {
        invalid_part(format!(
            "Part {number} does not exist: this upload has parts 1 to {}.",
            layout.part_count
        ))
    })
}

#[utoipa::path(
    post, path = "/api/files/{id}/parts", tag = "files",
    request_body = PartUrlsRequest,
    responses(
        (status = 200, body = PartUrls, description = "A presigned PUT per part, in the order asked"),
        (status = 400, body = ferry_api::ErrorBody,
         description = "invalid_part, invalid_checksum or invalid_request (1 to 100 parts)"),
        (status = 404, body = ferry_api::ErrorBody),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn request_part_urls(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    body: Result<ApiJson<PartUrlsRequest>, ApiError>,
) -> Result<Json<PartUrls>, ApiError> {
    let file = owned_file(&state, &me.0.user, &id).await?;
    part_urls(&state, file, body).await
}

/// Presigned part URLs for an upload the caller may send (the owner's, or a guest's own):
/// shared by `POST /api/files/{id}/parts` and the guest route.
pub(crate) async fn part_urls(
    state: &AppState,
    file: FileRecord,
    body: Result<ApiJson<PartUrlsRequest>, ApiError>,
) -> Result<Json<PartUrls>, ApiError> {
    let upload = open_upload(file)?;
    let ApiJson(req) = body?;
    if req.parts.is_empty() || req.parts.len() > MAX_PART_URLS {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("Ask for 1 to {MAX_PART_URLS} parts at a time."),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = Vec::with_capacity(req.parts.len());
    for part in &req.parts {
        let len = checked_part_len(&upload.layout, part.number)?;
        if !seen.insert(part.number) {
            return Err(invalid_part(format!(
                "Part {} is listed twice.",
                part.number
            )));
        }
        if decode_sha256(&part.sha256).is_none() {
            return Err(invalid_checksum(&format!(
                "The sha256 of part {}",
                part.number
            )));
        }
        checked.push((part, len));
    }
    let key = upload.file.object_key();
    let mut parts = Vec::with_capacity(checked.len());
    for (part, len) in checked {
        let presigned = state
            .objects
            .presign_upload_part(
                &key,
                &upload.upload_id,
                part.number,
                len,
                &part.sha256,
                state.limits.upload_url_ttl,
            )
            .await?;
        parts.push(PartUrl {
            number: part.number,
            url: presigned.url,
            headers: presigned
                .headers
                .into_iter()
                .map(|(name, value)| ferry_api::Header { name, value })
                .collect(),
            expires_at: rfc3339(presigned.expires_at),
        });
    }
    Ok(Json(PartUrls { parts }))
}

/// Everything object storage holds of the upload, by part number.
async fn stored_parts(state: &AppState, upload: &Upload) -> Result<Vec<StoredPart>, ApiError> {
    match state
        .objects
        .list_parts(&upload.file.object_key(), &upload.upload_id)
        .await
    {
        Ok(parts) => Ok(parts),
        Err(StorageError::NoSuchUpload) => Err(expired()),
        Err(err) => Err(err.into()),
    }
}

#[utoipa::path(
    get, path = "/api/files/{id}/parts", tag = "files",
    responses(
        (status = 200, body = UploadedParts, description = "Parts object storage holds, by number"),
        (status = 404, body = ferry_api::ErrorBody),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
        (status = 410, body = ferry_api::ErrorBody, description = "upload_expired"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_uploaded_parts(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<UploadedParts>, ApiError> {
    let file = owned_file(&state, &me.0.user, &id).await?;
    uploaded_parts(&state, file).await
}

/// What object storage holds of an upload the caller may send: shared with the guest route.
pub(crate) async fn uploaded_parts(
    state: &AppState,
    file: FileRecord,
) -> Result<Json<UploadedParts>, ApiError> {
    let upload = open_upload(file)?;
    let parts = stored_parts(state, &upload).await?;
    Ok(Json(UploadedParts {
        part_size: upload.layout.part_size,
        part_count: upload.layout.part_count,
        parts,
    }))
}

/// Checks the parts the client lists against its layout: every part exactly once.
fn listed_parts(
    layout: &PartLayout,
    req: CompleteUpload,
) -> Result<BTreeMap<u32, PartToComplete>, ApiError> {
    let mut listed = BTreeMap::new();
    for part in req.parts {
        checked_part_len(layout, part.number)?;
        if decode_sha256(&part.sha256).is_none() {
            return Err(invalid_checksum(&format!(
                "The sha256 of part {}",
                part.number
            )));
        }
        let number = part.number;
        let previous = listed.insert(
            number,
            PartToComplete {
                number,
                etag: part.etag,
                sha256: part.sha256,
            },
        );
        if previous.is_some() {
            return Err(invalid_part(format!("Part {number} is listed twice.")));
        }
    }
    if let Some(missing) = (1..=layout.part_count).find(|n| !listed.contains_key(n)) {
        return Err(part_missing(missing, layout.part_count));
    }
    Ok(listed)
}

fn part_missing(number: u32, count: u32) -> ApiError {
    ApiError::bad_request(
        codes::PART_MISSING,
        format!("Part {number} of {count} has not been uploaded yet."),
    )
}

fn part_mismatch(number: u32, what: &str) -> ApiError {
    ApiError::bad_request(
        codes::PART_MISMATCH,
        format!("Part {number} differs from what was uploaded: {what}. Upload it again."),
    )
}

/// Checks the listed parts against what object storage holds, part by part.
fn verify_parts(
    layout: &PartLayout,
    listed: &BTreeMap<u32, PartToComplete>,
    stored: &[StoredPart],
) -> Result<(), ApiError> {
    let stored: BTreeMap<u32, &StoredPart> = stored.iter().map(|p| (p.number, p)).collect();
    for (number, part) in listed {
        let Some(held) = stored.get(number) else {
            return Err(part_missing(*number, layout.part_count));
        };
        if bare_etag(&held.etag) != bare_etag(&part.etag) {
            return Err(part_mismatch(*number, "its ETag"));
        }
        if held.sha256.as_deref().is_some_and(|sha| sha != part.sha256) {
            return Err(part_mismatch(*number, "its checksum"));
        }
        if Some(held.size) != layout.part_len(*number) {
            return Err(part_mismatch(*number, "its size"));
        }
    }
    Ok(())
}

/// A completion whose upload is already gone: if the object is there in full, an earlier
/// completion got through and this one is a retry.
async fn already_completed(state: &AppState, file: &FileRecord) -> Result<bool, ApiError> {
    let Some(object) = state.objects.head(&file.object_key()).await? else {
        return Ok(false);
    };
    if object.size != file.size {
        return Ok(false);
    }
    if let Some(sha) = &object.sha256 {
        state.meta.set_sha256(&file.owner, &file.id, sha).await?;
    }
    Ok(true)
}

async fn current(state: &AppState, file: &FileRecord) -> Result<FileRecord, ApiError> {
    state
        .meta
        .file(&file.owner, &file.id)
        .await?
        .ok_or_else(|| ApiError::not_found("file"))
}

/// A completion repeated after object storage assembled the object: the object-created event of
/// the first one may have been lost (the local stack stopped in between), so the handler runs
/// again here; it is idempotent.
async fn completed_again(state: &AppState, file: &FileRecord) -> Result<FileRecord, ApiError> {
    settled(state, current(state, file).await?).await
}

#[utoipa::path(
    post, path = "/api/files/{id}/complete", tag = "files",
    request_body = CompleteUpload,
    responses(
        (status = 200, body = ferry_api::File,
         description = "Assembled; the file turns `ready` once object storage reports it. \
                        Completing a completed upload answers the file again."),
        (status = 400, body = ferry_api::ErrorBody,
         description = "part_missing, part_mismatch, invalid_part or invalid_checksum; nothing changed"),
        (status = 404, body = ferry_api::ErrorBody),
        (status = 409, body = ferry_api::ErrorBody, description = "not_multipart or upload_closed"),
        (status = 410, body = ferry_api::ErrorBody, description = "upload_expired"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn complete_upload(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
    body: Result<ApiJson<CompleteUpload>, ApiError>,
) -> Result<Json<ferry_api::File>, ApiError> {
    let file = owned_file(&state, &me.0.user, &id).await?;
    let file = complete(&state, file, body).await?;
    Ok(Json(wire_file(&state, &file).await))
}

/// Assembles an upload the caller may complete (the owner's, or a guest's own) and answers
/// the file as it is then: shared with the guest route.
pub(crate) async fn complete(
    state: &AppState,
    file: FileRecord,
    body: Result<ApiJson<CompleteUpload>, ApiError>,
) -> Result<FileRecord, ApiError> {
    let upload = multipart(file)?;
    match upload.file.status {
        FileStatus::Pending => {}
        FileStatus::Ready => return current(state, &upload.file).await,
        FileStatus::Failed => return Err(closed()),
    }
    let ApiJson(req) = body?;
    let listed = listed_parts(&upload.layout, req)?;
    let stored = match stored_parts(state, &upload).await {
        Ok(stored) => stored,
        Err(err) => {
            return if already_completed(state, &upload.file).await? {
                completed_again(state, &upload.file).await
            } else {
                Err(err)
            };
        }
    };
    verify_parts(&upload.layout, &listed, &stored)?;

    let parts: Vec<PartToComplete> = listed.into_values().collect();
    let key = upload.file.object_key();
    let checksum = match state
        .objects
        .complete_multipart_upload(&key, &upload.upload_id, &parts)
        .await
    {
        Ok(checksum) => checksum,
        Err(StorageError::InvalidParts(reason)) => {
            tracing::warn!(file = %upload.file.id, reason, "object storage refused the parts");
            return Err(ApiError::bad_request(
                codes::PART_MISMATCH,
                "Object storage refused the parts as listed. List the uploaded parts and try again.",
            ));
        }
        Err(StorageError::NoSuchUpload) if already_completed(state, &upload.file).await? => {
            return completed_again(state, &upload.file).await;
        }
        Err(StorageError::NoSuchUpload) => return Err(expired()),
        Err(err) => return Err(err.into()),
    };
    // Object storage verified every part's digest; the composite follows from them, so it can
    // stand in when the store does not report one.
    let checksum = checksum.unwrap_or_else(|| {
        let digests: Vec<[u8; 32]> = parts
            .iter()
            .filter_map(|p| decode_sha256(&p.sha256))
            .collect();
        composite_sha256(&digests)
    });
    state
        .meta
        .set_sha256(&upload.file.owner, &upload.file.id, &checksum)
        .await?;
    tracing::info!(file = %upload.file.id, parts = parts.len(), "multipart upload completed");
    current(state, &upload.file).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::CompletedPart;

    fn sha(byte: u8) -> String {
        crate::domain::parts::sha256_base64(&[byte])
    }

    fn req(numbers: &[u32]) -> CompleteUpload {
        CompleteUpload {
            parts: numbers
                .iter()
                .map(|&number| CompletedPart {
                    number,
                    etag: format!("\"e{number}\""),
                    sha256: sha(number as u8),
                })
                .collect(),
        }
    }

    fn code(err: ApiError) -> &'static str {
        match err {
            ApiError::Client { code, .. } => code,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn completion_lists_every_part_exactly_once() {
        let layout = PartLayout::with_part_size(25, 10).unwrap();
        assert_eq!(listed_parts(&layout, req(&[3, 1, 2])).unwrap().len(), 3);
        assert_eq!(
            code(listed_parts(&layout, req(&[1, 3])).unwrap_err()),
            codes::PART_MISSING
        );
        assert_eq!(
            code(listed_parts(&layout, req(&[1, 2, 3, 4])).unwrap_err()),
            codes::INVALID_PART
        );
        assert_eq!(
            code(listed_parts(&layout, req(&[1, 2, 2, 3])).unwrap_err()),
            codes::INVALID_PART
        );
        let mut bad = req(&[1, 2, 3]);
        bad.parts[1].sha256 = "nope".into();
        assert_eq!(
            code(listed_parts(&layout, bad).unwrap_err()),
            codes::INVALID_CHECKSUM
        );
    }

    #[test]
    fn stored_parts_must_match_etag_checksum_and_size() {
        let layout = PartLayout::with_part_size(25, 10).unwrap();
        let listed = listed_parts(&layout, req(&[1, 2, 3])).unwrap();
        let stored = |n: u32, size: u64| StoredPart {
            number: n,
            size,
            etag: format!("e{n}"),
            sha256: Some(sha(n as u8)),
        };
        let good = vec![stored(1, 10), stored(2, 10), stored(3, 5)];
        assert!(verify_parts(&layout, &listed, &good).is_ok());
        let missing = vec![stored(1, 10), stored(3, 5)];
        assert_eq!(
            code(verify_parts(&layout, &listed, &missing).unwrap_err()),
            codes::PART_MISSING
        );
        let short = vec![stored(1, 10), stored(2, 9), stored(3, 5)];
        assert_eq!(
            code(verify_parts(&layout, &listed, &short).unwrap_err()),
            codes::PART_MISMATCH
        );
        let mut other_etag = good.clone();
        other_etag[0].etag = "\"x\"".into();
        assert_eq!(
            code(verify_parts(&layout, &listed, &other_etag).unwrap_err()),
            codes::PART_MISMATCH
        );
        let mut other_sha = good;
        other_sha[2].sha256 = Some(sha(9));
        assert_eq!(
            code(verify_parts(&layout, &listed, &other_sha).unwrap_err()),
            codes::PART_MISMATCH
        );
    }
}
