//! `/api/files/{id}/shares` and `/api/shares`: the caller's share links.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use ferry_api::{CreateShare, FileStatus, ShareList, codes};

use crate::auth::CurrentUser;
use crate::domain::password::hash_password;
use crate::domain::share::{SharePolicyError, ShareTerms};
use crate::domain::{ShareRecord, ShareToken};
use crate::error::{ApiError, ApiJson};
use crate::ports::{MetadataError, Transition};
use crate::state::AppState;

use super::files::owned_file;
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files/{id}/shares", post(create_share))
        .route("/shares", get(list_shares))
        .route("/shares/{token}", delete(revoke_share))
}

pub(crate) fn wire_share(state: &AppState, share: &ShareRecord) -> ferry_api::Share {
    ferry_api::Share {
        token: share.token.to_string(),
        url: format!("{}/s/{}", state.public_base_url, share.token),
        file_id: share.file_id.to_string(),
        file_name: share.file_name.to_string(),
        created_at: rfc3339(share.created_at),
        expires_at: rfc3339(share.expires_at),
        max_downloads: share.max_downloads,
        downloads: share.downloads,
        has_password: share.password_hash.is_some(),
        revoked: share.revoked,
        file_count: 1,
        total_size: 0,
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
    let terms = ShareTerms::parse(
        req.expires_in_seconds,
        req.max_downloads,
        req.password,
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
    let mut share = ShareRecord {
        token: ShareToken::generate(),
        owner: me.user.clone(),
        file_id: file.id,
        file_name: file.name.clone(),
        created_at: now,
        expires_at: now + terms.expires_in,
        max_downloads: terms.max_downloads,
        downloads: 0,
        password_hash,
        revoked: false,
    };
    // 128 random bits do not collide in practice; the conditional write makes sure.
    let mut attempts = 0;
    loop {
        match state.meta.insert_share(&share).await {
            Ok(()) => break,
            Err(MetadataError::AlreadyExists) if attempts < 3 => {
                attempts += 1;
                share.token = ShareToken::generate();
            }
            Err(err) => return Err(err.into()),
        }
    }
    tracing::info!(file = %file.id, "share created");
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
    let shares = state.meta.list_shares(&me.user).await?;
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
