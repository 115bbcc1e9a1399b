//! `/api/requests`: the caller's file requests — create, list, read, close, reopen, delete.
//! What guests do with them is in `guest` and `guest_uploads`; the semantics of every route
//! are in `ferry_api::requests`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferry_api::{CreateRequest, FileRequest, RequestList, RequestState, codes, human_size};

use crate::auth::CurrentUser;
use crate::domain::UserId;
use crate::domain::requests::{RequestRecord, RequestToken, parse_message, parse_title};
use crate::error::{ApiError, ApiJson};
use crate::ports::{MetadataError, Transition};
use crate::state::AppState;

use super::guest_gate::request_not_found;
use super::rfc3339;
use super::shares::record_terms;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/requests", get(list_requests).post(create_request))
        .route("/requests/{token}", get(get_request).delete(delete_request))
        .route("/requests/{token}/close", post(close_request))
        .route("/requests/{token}/reopen", post(reopen_request))
}

pub(crate) fn wire_request(state: &AppState, r: &RequestRecord) -> FileRequest {
    FileRequest {
        token: r.token.to_string(),
        url: format!("{}/r/{}", state.public_base_url, r.token),
        title: r.title.clone(),
        message: r.message.clone(),
        created_at: rfc3339(r.created_at),
        expires_at: rfc3339(r.expires_at),
        state: r.state_at(state.clock.now()),
        max_files: r.max_files,
        max_bytes: r.max_bytes,
        files_received: r.files_received(),
        bytes_received: r.bytes_received(),
        has_password: r.password_hash.is_some(),
    }
}

/// The caller's request, or 404 for unknown tokens and other users' requests alike.
async fn owned_request(
    state: &AppState,
    owner: &UserId,
    raw: &str,
) -> Result<RequestRecord, ApiError> {
    let token = RequestToken::parse(raw).map_err(|_| request_not_found())?;
    state
        .meta
        .request(&token)
        .await?
        .filter(|r| r.owner == *owner)
        .ok_or_else(request_not_found)
}

#[utoipa::path(
    post, path = "/api/requests", tag = "requests", request_body = CreateRequest,
    responses(
        (status = 201, body = FileRequest),
        (status = 400, body = ferry_api::ErrorBody,
         description = "invalid_title, invalid_text, invalid_expiry, invalid_max_files, \
                        invalid_max_bytes or invalid_password"),
        (status = 401, body = ferry_api::ErrorBody),
        (status = 503, body = ferry_api::ErrorBody, description = "Too many password hashes in progress"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_request(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<FileRequest>), ApiError> {
    let text_error =
        |e: crate::domain::requests::TextError| ApiError::bad_request(e.code, e.message);
    let title = parse_title(&req.title).map_err(text_error)?;
    let message = parse_message(&req.message).map_err(text_error)?;
    let max_share_files = state.limits.max_share_files;
    if req.max_files == 0 || req.max_files > max_share_files {
        return Err(ApiError::bad_request(
            codes::INVALID_MAX_FILES,
            format!("A request accepts 1 to {max_share_files} files."),
        ));
    }
    let free = state
        .limits
        .user_quota
        .saturating_sub(state.meta.usage(&me.user).await?.bytes_used);
    if req.max_bytes == 0 || req.max_bytes > free {
        return Err(ApiError::bad_request(
            codes::INVALID_MAX_BYTES,
            format!(
                "The size limit must be at least 1 byte and at most your free space ({}).",
                human_size(free)
            ),
        ));
    }
    let terms = record_terms(&state, req.expires_in_seconds, None, req.password).await?;
    let access = terms
        .password_hash
        .is_some()
        .then(crate::domain::random_secret);
    let mut request = RequestRecord {
        token: RequestToken::generate(),
        owner: me.user.clone(),
        title,
        message,
        created_at: terms.created_at,
        expires_at: terms.expires_at,
        max_files: req.max_files,
        max_bytes: req.max_bytes,
        files_left: req.max_files,
        bytes_left: req.max_bytes,
        password_hash: terms.password_hash,
        access,
        closed: false,
    };
    // 128 random bits do not collide in practice; the conditional write makes sure.
    let mut attempts = 0;
    loop {
        match state.meta.insert_request(&request).await {
            Ok(()) => break,
            Err(MetadataError::AlreadyExists) if attempts < 3 => {
                attempts += 1;
                request.token = RequestToken::generate();
            }
            Err(err) => return Err(err.into()),
        }
    }
    tracing::info!(max_files = request.max_files, "file request created");
    Ok((StatusCode::CREATED, Json(wire_request(&state, &request))))
}

#[utoipa::path(
    get, path = "/api/requests", tag = "requests",
    responses((status = 200, body = RequestList), (status = 401, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<RequestList>, ApiError> {
    let items = state.meta.list_requests(&me.user).await?;
    Ok(Json(RequestList {
        items: items.iter().map(|r| wire_request(&state, r)).collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/requests/{token}", tag = "requests",
    responses((status = 200, body = FileRequest), (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_request(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(token): Path<String>,
) -> Result<Json<FileRequest>, ApiError> {
    let request = owned_request(&state, &me.user, &token).await?;
    Ok(Json(wire_request(&state, &request)))
}

async fn set_closed(
    state: &AppState,
    owner: &UserId,
    raw: &str,
    closed: bool,
) -> Result<Json<FileRequest>, ApiError> {
    let request = owned_request(state, owner, raw).await?;
    if !closed && request.state_at(state.clock.now()) == RequestState::Expired {
        return Err(ApiError::conflict(
            codes::REQUEST_EXPIRED,
            "This request has expired and cannot be reopened. Create a new one.",
        ));
    }
    if state
        .meta
        .set_request_closed(owner, &request.token, closed)
        .await?
        == Transition::Missing
    {
        return Err(request_not_found());
    }
    let request = owned_request(state, owner, raw).await?;
    Ok(Json(wire_request(state, &request)))
}

#[utoipa::path(
    post, path = "/api/requests/{token}/close", tag = "requests",
    responses((status = 200, body = FileRequest, description = "Closed (closing again is fine)"),
              (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn close_request(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(token): Path<String>,
) -> Result<Json<FileRequest>, ApiError> {
    set_closed(&state, &me.user, &token, true).await
}

#[utoipa::path(
    post, path = "/api/requests/{token}/reopen", tag = "requests",
    responses((status = 200, body = FileRequest),
              (status = 404, body = ferry_api::ErrorBody),
              (status = 409, body = ferry_api::ErrorBody, description = "request_expired")),
    security(("bearer" = []))
)]
pub(crate) async fn reopen_request(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(token): Path<String>,
) -> Result<Json<FileRequest>, ApiError> {
    set_closed(&state, &me.user, &token, false).await
}

#[utoipa::path(
    delete, path = "/api/requests/{token}", tag = "requests",
    responses((status = 204, description = "The link is gone; files received stay yours"),
              (status = 404, body = ferry_api::ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn delete_request(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let request = owned_request(&state, &me.user, &token).await?;
    match state.meta.delete_request(&me.user, &request.token).await? {
        Transition::Missing => Err(request_not_found()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
