//! `/api/files/{id}/shares`, `/api/shares`: the caller's share links, of one file or of many.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use ferry_api::{CreateShare, CreateShareOfFiles, FileStatus, ShareList, codes};

use crate::auth::CurrentUser;
use crate::domain::password::hash_password;
use crate::domain::share::{SharePolicyError, ShareTerms};
use crate::domain::{FileRecord, ShareRecord, ShareRecordTerms, ShareToken};
use crate::error::{ApiError, ApiJson};
use crate::ports::{MetadataError, Transition};
use crate::state::AppState;

use super::file_batch::parse_file_ids;
use super::files::owned_file;
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files/{id}/shares", post(create_share))
        .route("/shares", get(list_shares).post(create_share_of_files))
        .route("/shares/{token}", delete(revoke_share))
}

pub(crate) fn wire_share(state: &AppState, share: &ShareRecord) -> ferry_api::Share {
    ferry_api::Share {
        token: share.token.to_string(),
        url: format!("{}/s/{}", state.public_base_url, share.token),
        file_id: share
            .first_file()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        file_name: share.file_name.to_string(),
        created_at: rfc3339(share.created_at),
        expires_at: rfc3339(share.expires_at),
        max_downloads: share.max_downloads,
        downloads: share.downloads,
        has_password: share.password_hash.is_some(),
        revoked: share.revoked,
        file_count: share.file_count(),
        total_size: share.total_size.unwrap_or(0),
    }
}

/// The terms of the request, checked, and the password hashed: everything but the files.
pub(crate) async fn record_terms(
    state: &AppState,
    expires_in_seconds: Option<u64>,
    max_downloads: Option<u32>,
    password: Option<String>,
) -> Result<ShareRecordTerms, ApiError> {
    let terms = ShareTerms::parse(
        expires_in_seconds,
        max_downloads,
        password,
        state.limits.default_share_ttl,
        state.limits.max_share_ttl,
    )
    .map_err(|err| {
        let code = match err {
            SharePolicyError::Expiry { .. } => codes::INVALID_EXPIRY,
            SharePolicyError::MaxDownloads => codes::INVALID_MAX_DOWNLOADS,
            SharePolicyError::Password => codes::INVALID_PASSWORD,
        };
        ApiError::bad_request(code, err.to_string())
    })?;
    let password_hash = match terms.password {
        // Argon2 is deliberately slow and memory-hungry: off the async worker threads, and only
        // a bounded number at once (503 `busy` beyond).
        Some(password) => Some(
            state
                .password_work
                .run_blocking(move || hash_password(&password))
                .await?
                .map_err(|e| anyhow::anyhow!("hashing share password: {e}"))?,
        ),
        None => None,
    };
    let now = state.clock.now();
    Ok(ShareRecordTerms {
        created_at: now,
        expires_at: now + terms.expires_in,
        max_downloads: terms.max_downloads,
        password_hash,
    })
}

/// Stores a new link of `files` (the caller's, checked) under a fresh token.
async fn insert_link(
    state: &AppState,
    files: &[FileRecord],
    terms: ShareRecordTerms,
) -> Result<ShareRecord, ApiError> {
    let mut share = ShareRecord::of_files(ShareToken::generate(), files, terms)
        .ok_or_else(|| anyhow::anyhow!("a link needs at least one file"))?;
    // 128 random bits do not collide in practice; the conditional write makes sure.
    let mut attempts = 0;
    loop {
        match state.meta.insert_share(&share).await {
            Ok(()) => return Ok(share),
            Err(MetadataError::AlreadyExists) if attempts < 3 => {
                attempts += 1;
                share.token = ShareToken::generate();
            }
            Err(err) => return Err(err.into()),
        }
    }
}

#[utoipa::path(
    post, path = "/api/files/{id}/shares", tag = "shares", request_body = CreateShare,
    responses((status = 201, body = ferry_api::Share), (status = 400, body = ferry_api::ErrorBody),
              (status = 404, body = ferry_api::ErrorBody), (status = 409, body = ferry_api::ErrorBody),
              (status = 503, body = ferry_api::ErrorBody, description = "Too many password hashes in progress; see `Retry-After`")),
    security(("bearer" = []))
)]
pub(crate) async fn create_share(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CreateShare>,
) -> Result<(StatusCode, Json<ferry_api::Share>), ApiError> {
    let file = owned_file(&state, &me.user, &id).await?;
    if file.status != FileStatus::Ready {
        return Err(ApiError::conflict(
            codes::FILE_NOT_READY,
            "Only files that finished uploading can be shared.",
        ));
    }
    let terms = record_terms(
        &state,
        req.expires_in_seconds,
        req.max_downloads,
        req.password,
    )
    .await?;
    let share = insert_link(&state, std::slice::from_ref(&file), terms).await?;
    tracing::info!(file = %file.id, "share created");
    Ok((StatusCode::CREATED, Json(wire_share(&state, &share))))
}

#[utoipa::path(
    post, path = "/api/shares", tag = "shares", request_body = CreateShareOfFiles,
    description = "One link for 1 to `max_share_files` of the caller's files, in the order given. Files still uploading may be included: recipients see them arriving. Another user's id answers 404 and nothing is created.",
    responses((status = 201, body = ferry_api::Share),
              (status = 400, body = ferry_api::ErrorBody, description = "`invalid_request` (no files, an id twice, a malformed id), `too_many_files`, or invalid terms"),
              (status = 404, body = ferry_api::ErrorBody, description = "One of the ids is not a file of the caller's"),
              (status = 409, body = ferry_api::ErrorBody, description = "`file_not_ready`: one of the files failed to upload"),
              (status = 503, body = ferry_api::ErrorBody, description = "Too many password hashes in progress; see `Retry-After`")),
    security(("bearer" = []))
)]
pub(crate) async fn create_share_of_files(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<CreateShareOfFiles>,
) -> Result<(StatusCode, Json<ferry_api::Share>), ApiError> {
    let ids = parse_file_ids(&req.file_ids, state.limits.max_share_files, "A link")?;
    let mut found: HashMap<_, _> = state
        .meta
        .files_by_ids(&me.user, &ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut files = Vec::with_capacity(ids.len());
    for id in &ids {
        // Unknown ids and other users' files alike: nothing is created.
        let file = found.remove(id).ok_or_else(|| {
            ApiError::client(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                format!("No such file: {id}."),
            )
        })?;
        if file.status == FileStatus::Failed {
            return Err(ApiError::conflict(
                codes::FILE_NOT_READY,
                format!(
                    "\u{201c}{}\u{201d} did not finish uploading, so it cannot be shared.",
                    file.name
                ),
            ));
        }
        files.push(file);
    }
    let terms = record_terms(
        &state,
        req.expires_in_seconds,
        req.max_downloads,
        req.password,
    )
    .await?;
    let share = insert_link(&state, &files, terms).await?;
    tracing::info!(files = files.len(), "share of files created");
    Ok((StatusCode::CREATED, Json(wire_share(&state, &share))))
}

#[utoipa::path(
    get, path = "/api/shares", tag = "shares",
    responses((status = 200, body = ShareList), (status = 401, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list_shares(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<ShareList>, ApiError> {
    let mut shares = state.meta.list_shares(&me.user).await?;
    // Links from before links of several files do not record their size: their one file
    // tells, read for all of them at once.
    let older: Vec<_> = shares
        .iter()
        .filter(|s| s.total_size.is_none())
        .filter_map(ShareRecord::first_file)
        .collect();
    if !older.is_empty() {
        let sizes: HashMap<_, _> = state
            .meta
            .files_by_ids(&me.user, &older)
            .await?
            .into_iter()
            .map(|f| (f.id, f.size))
            .collect();
        for share in shares.iter_mut().filter(|s| s.total_size.is_none()) {
            share.total_size = share.first_file().and_then(|id| sizes.get(&id).copied());
        }
    }
    Ok(Json(ShareList {
        items: shares.iter().map(|s| wire_share(&state, s)).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/api/shares/{token}", tag = "shares",
    responses((status = 204, description = "Revoked"), (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn revoke_share(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = ShareToken::parse(&token).map_err(|_| ApiError::not_found("share"))?;
    match state.meta.revoke_share(&me.user, &token).await? {
        Transition::Missing => Err(ApiError::not_found("share")),
        Transition::Applied | Transition::Unchanged => Ok(StatusCode::NO_CONTENT),
    }
}
