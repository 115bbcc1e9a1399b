//! `/api/public/shares/{token}`: what anyone holding a link may see and download.
//!
//! Viewing never consumes a download (link previews and scanners fetch pages); only the explicit
//! download request counts, atomically, in the metadata store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use ferry_api::{DownloadUrl, PublicDownload, PublicShare, codes};

use crate::domain::share::{ShareState, downloads_left, state_at, verify_password};
use crate::domain::{FileRecord, ShareRecord, ShareToken};
use crate::error::{ApiError, rejection};
use crate::ports::DownloadCount;
use crate::state::AppState;

use super::files::download_url;
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/shares/{token}", get(view_share))
        .route("/public/shares/{token}/download", post(download_share))
}

/// Wrong passwords allowed per link within [`AttemptLimiter::WINDOW`].
const MAX_FAILURES: u32 = 5;

/// Throttles password guessing per share link (per process: each Lambda instance keeps its own,
/// which still bounds guesses to a few per instance per window).
#[derive(Default)]
pub struct AttemptLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl AttemptLimiter {
    const WINDOW: Duration = Duration::from_secs(5 * 60);

    fn blocked(&self, token: &ShareToken) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        failures
            .get(token.as_str())
            .is_some_and(|(n, _)| *n >= MAX_FAILURES)
    }

    fn record_failure(&self, token: &ShareToken) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = failures
            .entry(token.as_str().to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }
}

/// Unknown, malformed and deleted links all answer the same.
fn not_found() -> ApiError {
    ApiError::Missing {
        code: codes::SHARE_NOT_FOUND,
        message: "This link does not exist. Check that it was copied completely.".to_owned(),
    }
}

fn unusable(state: ShareState) -> Option<ApiError> {
    let gone = |code, message: &str| ApiError::Gone {
        code,
        message: message.to_owned(),
    };
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

#[utoipa::path(
    get, path = "/api/public/shares/{token}", tag = "public",
    responses((status = 200, body = PublicShare), (status = 404, body = ferry_api::ErrorBody),
              (status = 410, body = ferry_api::ErrorBody, description = "Expired, revoked or used up"))
)]
pub(crate) async fn view_share(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<PublicShare>, ApiError> {
    let (share, file) = live_share(&state, &token).await?;
    Ok(Json(PublicShare {
        name: file.name.to_string(),
        size: file.size,
        content_type: file.content_type.as_str().to_owned(),
        expires_at: rfc3339(share.expires_at),
        downloads_left: downloads_left(&share),
        requires_password: share.password_hash.is_some(),
        sha256: file.sha256.clone(),
        part_size: file.part_size,
    }))
}

#[utoipa::path(
    post, path = "/api/public/shares/{token}/download", tag = "public", request_body = PublicDownload,
    responses((status = 200, body = DownloadUrl), (status = 403, body = ferry_api::ErrorBody),
              (status = 404, body = ferry_api::ErrorBody), (status = 410, body = ferry_api::ErrorBody),
              (status = 429, body = ferry_api::ErrorBody))
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
    if let Some(hash) = share.password_hash.clone() {
        if state.attempts.blocked(&share.token) {
            return Err(ApiError::TooManyAttempts);
        }
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(ApiError::Forbidden {
                code: codes::PASSWORD_REQUIRED,
                message: "This link is protected by a password.".to_owned(),
            });
        };
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(anyhow::Error::new)?;
        if !matches {
            state.attempts.record_failure(&share.token);
            return Err(ApiError::Forbidden {
                code: codes::WRONG_PASSWORD,
                message: "That password is not right.".to_owned(),
            });
        }
    }
    match state
        .meta
        .count_download(&share.token, state.clock.now())
        .await?
    {
        DownloadCount::Counted(_) => {}
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
