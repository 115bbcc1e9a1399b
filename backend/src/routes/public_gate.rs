//! What every public route of a link checks first: that the link exists and is live, that the
//! visitor knows its password (or holds the access key `unlock` gave), and, for downloads, that
//! one more is counted. Shared by `public` and `public_files`.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use bytes::Bytes;
use ferry_api::codes;
use serde::de::DeserializeOwned;

use crate::domain::ShareRecord;
use crate::domain::ShareToken;
use crate::domain::password::verify_password;
use crate::domain::share::{PASSWORD_ATTEMPTS, ShareState, state_at};
use crate::error::{ApiError, rejection};
use crate::ports::{AttemptReservation, DownloadCount};
use crate::state::AppState;
use crate::work_gate::GateError;

/// Unknown, malformed and deleted links all answer the same.
pub(crate) fn not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        codes::SHARE_NOT_FOUND,
        "This link does not exist. Check that it was copied completely.",
    )
}

pub(crate) fn unusable(state: ShareState) -> Option<ApiError> {
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

pub(crate) fn share_empty() -> ApiError {
    ApiError::gone(
        codes::SHARE_EMPTY,
        "The files of this link were all deleted by their owner.",
    )
}

/// The live link with files left in it, or the error a visitor should see.
pub(crate) async fn live_share(state: &AppState, raw: &str) -> Result<ShareRecord, ApiError> {
    let token = ShareToken::parse(raw).map_err(|_| not_found())?;
    let share = state.meta.share(&token).await?.ok_or_else(not_found)?;
    if let Some(err) = unusable(state_at(&share, state.clock.now())) {
        return Err(err);
    }
    if share.file_ids.is_empty() {
        return Err(share_empty());
    }
    Ok(share)
}

/// A JSON body that may also be empty (links without a password need none).
pub(crate) fn optional_body<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(rejection)
}

/// Lets the visitor through a protected link with its access key (from `unlock`; compared in
/// constant time, never throttled: it is 128 random bits) or else its password. Links without
/// a password let everyone through.
pub(crate) async fn check_access(
    state: &AppState,
    share: &ShareRecord,
    password: Option<String>,
    access: Option<&str>,
) -> Result<(), ApiError> {
    if share.password_hash.is_none() {
        return Ok(());
    }
    match access.filter(|a| !a.is_empty()) {
        Some(access) if share.access_matches(access) => Ok(()),
        Some(_) if password.as_deref().is_none_or(str::is_empty) => Err(ApiError::forbidden(
            codes::PASSWORD_REQUIRED,
            "This page's access to the link is no longer valid: enter the password again.",
        )),
        _ => check_password(state, share, password).await,
    }
}

/// Checks the password of a protected link (links without one pass). One attempt is taken from
/// the link's limit in the metadata store *before* the slow check, so concurrent guesses on every
/// instance share the limit; a right password, or one never checked, gives its attempt back.
pub(crate) async fn check_password(
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

/// Counts one download of the link, atomically, or says why none is left.
pub(crate) async fn count_one(state: &AppState, share: &ShareRecord) -> Result<(), ApiError> {
    let refused = |s| unusable(s).unwrap_or_else(not_found);
    match state
        .meta
        .count_download(&share.token, state.clock.now())
        .await?
    {
        DownloadCount::Counted(counted) => {
            crate::live::after_download(state.live.as_deref(), &counted).await;
            Ok(())
        }
        DownloadCount::NotFound => Err(not_found()),
        DownloadCount::Expired => Err(refused(ShareState::Expired)),
        DownloadCount::Revoked => Err(refused(ShareState::Revoked)),
        DownloadCount::Exhausted => Err(refused(ShareState::Exhausted)),
    }
}
