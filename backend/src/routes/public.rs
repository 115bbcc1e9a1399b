//! `/api/public/shares/{token}`: what anyone holding a link may see and download.
//!
//! Viewing never consumes a download (link previews and scanners fetch pages); only the explicit
//! download request counts, atomically, in the metadata store. A password-protected link shows
//! its file only to `unlock` with the right password; every password check is throttled per link
//! in the metadata store and bounded per process by the password work gate.

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use ferry_api::{DownloadUrl, PublicDownload, PublicShare, UnlockShare, codes};

use crate::domain::password::verify_password;
use crate::domain::share::{PASSWORD_ATTEMPTS, ShareState, downloads_left, state_at};
use crate::domain::{FileRecord, ShareRecord, ShareToken};
use crate::error::{ApiError, ApiJson, rejection};
use crate::ports::{AttemptReservation, DownloadCount};
use crate::state::AppState;
use crate::work_gate::GateError;

use super::files::download_url;
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/shares/{token}", get(view_share))
        .route("/public/shares/{token}/unlock", post(unlock_share))
        .route("/public/shares/{token}/download", post(download_share))
}

/// Unknown, malformed and deleted links all answer the same.
fn not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        codes::SHARE_NOT_FOUND,
        "This link does not exist. Check that it was copied completely.",
    )
}

fn unusable(state: ShareState) -> Option<ApiError> {
    let gone = |code, message: &str| ApiError::gone(code, message);
    match state {
        ShareState::Live => None,
        ShareState::Expired => Some(gone(codes::SHARE_EXPIRED, "This link has expired.")),
        ShareState::Revoked => Some(gone(
            codes::SHARE_REVOKED,
            "This link was turned off by its owner.",
        )),
        ShareState::Exhausted => Some(gone(
            codes::SHARE_EXHAUSTED,
            "This link has reached its download limit.",
        )),
    }
}

/// The live share and its (ready) file, or the error a visitor should see.
async fn live_share(state: &AppState, raw: &str) -> Result<(ShareRecord, FileRecord), ApiError> {
    let token = ShareToken::parse(raw).map_err(|_| not_found())?;
    let share = state.meta.share(&token).await?.ok_or_else(not_found)?;
    if let Some(err) = unusable(state_at(&share, state.clock.now())) {
        return Err(err);
    }
    let file = state
        .meta
        .file(&share.owner, &share.file_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((share, file))
}

/// Checks the password of a protected link (links without one pass). One attempt is taken from
/// the link's limit in the metadata store *before* the slow check, so concurrent guesses on every
/// instance share the limit; a right password, or one never checked, gives its attempt back.
async fn check_password(
    state: &AppState,
    share: &ShareRecord,
    password: Option<String>,
) -> Result<(), ApiError> {
    let Some(hash) = share.password_hash.clone() else {
        return Ok(());
    };
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(ApiError::forbidden(
            codes::PASSWORD_REQUIRED,
            "This link is protected by a password.",
        ));
    };
    let now = state.clock.now();
    let window = match state
        .meta
        .reserve_password_attempt(&share.token, now, PASSWORD_ATTEMPTS)
        .await?
    {
        AttemptReservation::Granted { window } => window,
        AttemptReservation::Refused { retry_at } => {
            let wait = (retry_at - now).whole_seconds().max(1);
            return Err(ApiError::TooManyAttempts {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
        AttemptReservation::NotFound => return Err(not_found()),
    };
    let verdict = state
        .password_work
        .run_blocking(move || verify_password(&password, &hash))
        .await;
    if matches!(verdict, Ok(true) | Err(GateError::Busy(_)))
        && let Err(err) = state
            .meta
            .refund_password_attempt(&share.token, window)
            .await
    {
        tracing::warn!(error = %err, "could not give back a password attempt");
    }
    match verdict? {
        true => Ok(()),
        false => Err(ApiError::forbidden(
            codes::WRONG_PASSWORD,
            "That password is not right.",
        )),
    }
}

/// What the link shows; a protected link shows its file only once the password was given.
fn public_share(share: &ShareRecord, file: &FileRecord, unlocked: bool) -> PublicShare {
    let show = unlocked || share.password_hash.is_none();
    PublicShare {
        name: show.then(|| file.name.to_string()),
        size: show.then_some(file.size),
        content_type: show.then(|| file.content_type.as_str().to_owned()),
        expires_at: rfc3339(share.expires_at),
        downloads_left: downloads_left(share).filter(|_| show),
        requires_password: share.password_hash.is_some(),
        sha256: file.sha256.clone().filter(|_| show),
        part_size: file.part_size.filter(|_| show),
        file_count: show.then_some(1),
        total_size: show.then_some(file.size),
        access: None,
    }
}

#[utoipa::path(
    get, path = "/api/public/shares/{token}", tag = "public",
    description = "What the link shows. For a password-protected link only `requires_password` and `expires_at`: the file's details come from `unlock`.",
    responses((status = 200, body = PublicShare), (status = 404, body = ferry_api::ErrorBody),
              (status = 410, body = ferry_api::ErrorBody, description = "Expired, revoked or used up"))
)]
pub(crate) async fn view_share(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<PublicShare>, ApiError> {
    let (share, file) = live_share(&state, &token).await?;
    Ok(Json(public_share(&share, &file, false)))
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/unlock", tag = "public", request_body = UnlockShare,
    description = "Checks the link's password and answers with everything the link shows (never counts a download). Each check takes one of the link's few password attempts; a right one is given back.",
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
    let (share, file) = live_share(&state, &raw).await?;
    check_password(&state, &share, Some(req.password)).await?;
    Ok(Json(public_share(&share, &file, true)))
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/download", tag = "public", request_body = PublicDownload,
    responses((status = 200, body = DownloadUrl), (status = 400, body = ferry_api::ErrorBody),
              (status = 403, body = ferry_api::ErrorBody, description = "`password_required` or `wrong_password`"),
              (status = 404, body = ferry_api::ErrorBody), (status = 410, body = ferry_api::ErrorBody),
              (status = 429, body = ferry_api::ErrorBody, description = "Too many password attempts on this link for now"),
              (status = 503, body = ferry_api::ErrorBody, description = "Too many password checks in progress; see `Retry-After`"))
)]
pub(crate) async fn download_share(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DownloadUrl>, ApiError> {
    let body = body?;
    // An empty body is fine for links without a password.
    let password = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<PublicDownload>(&body)
            .map_err(rejection)?
            .password
    };
    let (share, file) = live_share(&state, &raw).await?;
    check_password(&state, &share, password).await?;
    match state
        .meta
        .count_download(&share.token, state.clock.now())
        .await?
    {
        DownloadCount::Counted(counted) => {
            crate::live::after_download(state.live.as_deref(), &counted).await;
        }
        DownloadCount::NotFound => return Err(not_found()),
        DownloadCount::Expired => {
            return Err(unusable(ShareState::Expired).unwrap_or_else(not_found));
        }
        DownloadCount::Revoked => {
            return Err(unusable(ShareState::Revoked).unwrap_or_else(not_found));
        }
        DownloadCount::Exhausted => {
            return Err(unusable(ShareState::Exhausted).unwrap_or_else(not_found));
        }
    }
    tracing::info!(file = %file.id, "share download issued");
    download_url(&state, &file).await.map(Json)
}
