//! `/api/public/requests/{token}`: what a guest of a file request sees and does besides
//! uploading (`guest_uploads`): the request's page, unlocking it, starting a guest session,
//! listing and removing what they sent, and their name and note.
//!
//! A guest sees only the request and the files sent with their own key; never the owner's
//! other files, nor other guests'. Guest files are the owner's files and are downloaded only by
//! the owner (as attachments, like every download).

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use ferry_api::{
    GuestNote, GuestSession, GuestSubmission, PublicRequest, RequestState, StartGuestSession,
    UnlockRequest, codes,
};

use crate::domain::password::verify_password;
use crate::domain::requests::{GuestMark, GuestRecord, RequestRecord, new_guest_key, parse_note};
use crate::error::{ApiError, ApiJson};
use crate::file_objects::remove_file_objects;
use crate::ports::MetadataError;
use crate::state::AppState;

use super::guest_gate::{GuestCall, guest_file, refuse_unless_open, wire_guest_file};
use super::public_gate::optional_body;
use super::rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/requests/{token}", get(view_request))
        .route("/public/requests/{token}/unlock", post(unlock_request))
        .route("/public/requests/{token}/sessions", post(start_session))
        .route("/public/requests/{token}/files", get(list_sent))
        .route("/public/requests/{token}/files/{id}", delete(delete_sent))
        .route("/public/requests/{token}/note", put(set_note))
}

/// What the request's page shows; a protected request shows its state and expiry only until
/// unlocked.
async fn public_request(
    state: &AppState,
    r: &RequestRecord,
    unlocked: bool,
) -> Result<PublicRequest, ApiError> {
    let mut view = PublicRequest {
        requires_password: r.password_hash.is_some(),
        state: r.state_at(state.clock.now()),
        expires_at: rfc3339(r.expires_at),
        title: None,
        message: None,
        files_left: None,
        bytes_left: None,
        max_file_size: None,
        access: None,
    };
    if unlocked || r.password_hash.is_none() {
        let used = state.meta.usage(&r.owner).await?.bytes_used;
        let free = state.limits.user_quota.saturating_sub(used);
        let open = view.state == RequestState::Open;
        view.title = Some(r.title.clone());
        view.message = Some(r.message.clone());
        view.files_left = Some(if open { r.files_left } else { 0 });
        view.bytes_left = Some(if open { r.bytes_left.min(free) } else { 0 });
        view.max_file_size = Some(state.limits.max_file_size);
    }
    Ok(view)
}

/// Checks a request's password, bounded per request (the limiter) and per process (the
/// password work gate).
async fn check_password(
    state: &AppState,
    r: &RequestRecord,
    password: Option<String>,
) -> Result<(), ApiError> {
    let Some(hash) = r.password_hash.clone() else {
        return Ok(());
    };
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(ApiError::forbidden(
            codes::PASSWORD_REQUIRED,
            "This request is protected by a password.",
        ));
    };
    state
        .guest_limits
        .check_unlock(r.token.as_str(), state.clock.now())
        .map_err(|retry_after_secs| ApiError::TooManyAttempts { retry_after_secs })?;
    let right = state
        .password_work
        .run_blocking(move || verify_password(&password, &hash))
        .await?;
    if right {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            codes::WRONG_PASSWORD,
            "That password is not right.",
        ))
    }
}

#[utoipa::path(
    get, path = "/api/public/requests/{token}", tag = "guests",
    responses(
        (status = 200, body = PublicRequest,
         description = "Closed and expired requests answer too, with their `state`"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
        (status = 429, body = ferry_api::ErrorBody, description = "rate_limited"),
    )
)]
pub(crate) async fn view_request(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
) -> Result<Json<PublicRequest>, ApiError> {
    let request = call.request(&state, &token).await?;
    Ok(Json(public_request(&state, &request, false).await?))
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/unlock", tag = "guests",
    request_body = UnlockRequest,
    responses(
        (status = 200, body = PublicRequest, description = "Everything, with `access`"),
        (status = 403, body = ferry_api::ErrorBody, description = "password_required or wrong_password"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
        (status = 429, body = ferry_api::ErrorBody, description = "too_many_attempts or rate_limited"),
    )
)]
pub(crate) async fn unlock_request(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
    body: Result<ApiJson<UnlockRequest>, ApiError>,
) -> Result<Json<PublicRequest>, ApiError> {
    let request = call.request(&state, &token).await?;
    let ApiJson(req) = body?;
    check_password(&state, &request, Some(req.password)).await?;
    let mut view = public_request(&state, &request, true).await?;
    view.access.clone_from(&request.access);
    Ok(Json(view))
}

#[utoipa::path(
    post, path = "/api/public/requests/{token}/sessions", tag = "guests",
    request_body = StartGuestSession,
    responses(
        (status = 201, body = GuestSession, description = "Send `guest_key` as `x-ferry-guest` from now on"),
        (status = 403, body = ferry_api::ErrorBody,
         description = "request_closed, password_required or wrong_password"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
        (status = 410, body = ferry_api::ErrorBody, description = "request_expired"),
        (status = 429, body = ferry_api::ErrorBody, description = "rate_limited"),
    )
)]
pub(crate) async fn start_session(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<GuestSession>), ApiError> {
    let request = call.request(&state, &token).await?;
    let req: StartGuestSession = optional_body(body)?;
    refuse_unless_open(&request, &state)?;
    let access_ok = req
        .access
        .as_deref()
        .is_some_and(|a| !a.is_empty() && request.access_matches(a));
    if !access_ok {
        check_password(&state, &request, req.password).await?;
    }
    let mut attempts = 0;
    loop {
        let (key, id) = new_guest_key();
        let guest = GuestRecord {
            token: request.token.clone(),
            guest: id,
            created_at: state.clock.now(),
            name: None,
            note: None,
            file_ids: Vec::new(),
        };
        match state.meta.insert_guest(&guest).await {
            Ok(()) => {
                return Ok((StatusCode::CREATED, Json(GuestSession { guest_key: key })));
            }
            Err(MetadataError::AlreadyExists) if attempts < 3 => attempts += 1,
            Err(err) => return Err(err.into()),
        }
    }
}

/// This guest's files as they are now, oldest first, with their name and note.
async fn submission(
    state: &AppState,
    request: &RequestRecord,
    guest: &GuestRecord,
) -> Result<GuestSubmission, ApiError> {
    let mut files = state
        .meta
        .files_by_ids(&request.owner, &guest.file_ids)
        .await?;
    files.retain(|f| {
        f.guest
            .as_ref()
            .is_some_and(|g| g.request == request.token && g.guest == guest.guest)
    });
    files.sort_by_key(|f| (f.created_at, f.id));
    Ok(GuestSubmission {
        files: files.iter().map(wire_guest_file).collect(),
        name: guest.name.clone(),
        note: guest.note.clone(),
    })
}

#[utoipa::path(
    get, path = "/api/public/requests/{token}/files", tag = "guests",
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 200, body = GuestSubmission, description = "Only what this guest sent"),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
    )
)]
pub(crate) async fn list_sent(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
) -> Result<Json<GuestSubmission>, ApiError> {
    let (request, guest) = call.guest(&state, &token, false).await?;
    Ok(Json(submission(&state, &request, &guest).await?))
}

#[utoipa::path(
    delete, path = "/api/public/requests/{token}/files/{id}", tag = "guests",
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 204, description = "Removed; its place in the request is free again"),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 403, body = ferry_api::ErrorBody, description = "request_closed"),
        (status = 404, body = ferry_api::ErrorBody, description = "Not a file this guest sent"),
        (status = 410, body = ferry_api::ErrorBody, description = "request_expired"),
    )
)]
pub(crate) async fn delete_sent(
    State(state): State<AppState>,
    call: GuestCall,
    Path((token, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (request, guest) = call.guest(&state, &token, true).await?;
    let file = guest_file(&state, &request, &guest, &id).await?;
    remove_file_objects(state.objects.as_ref(), &file).await?;
    let removed = state.meta.delete_file(&file.owner, &file.id).await?;
    state.meta.release_guest_files(removed.as_slice()).await?;
    tracing::info!(file = %file.id, "guest removed a file they sent");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/api/public/requests/{token}/note", tag = "guests",
    request_body = GuestNote,
    params(("x-ferry-guest" = String, Header, description = "The guest key")),
    responses(
        (status = 200, body = GuestSubmission),
        (status = 400, body = ferry_api::ErrorBody, description = "invalid_text"),
        (status = 401, body = ferry_api::ErrorBody, description = "guest_key_required"),
        (status = 404, body = ferry_api::ErrorBody, description = "request_not_found"),
    )
)]
pub(crate) async fn set_note(
    State(state): State<AppState>,
    call: GuestCall,
    Path(token): Path<String>,
    body: Result<ApiJson<GuestNote>, ApiError>,
) -> Result<Json<GuestSubmission>, ApiError> {
    let (request, mut guest) = call.guest(&state, &token, false).await?;
    let ApiJson(req) = body?;
    let text_error =
        |e: crate::domain::requests::TextError| ApiError::bad_request(e.code, e.message);
    let name = parse_note(req.name.as_deref(), "name", false).map_err(text_error)?;
    let note = parse_note(req.note.as_deref(), "note", true).map_err(text_error)?;
    let mark = GuestMark {
        request: request.token.clone(),
        title: request.title.clone(),
        guest: guest.guest.clone(),
        name,
        note,
    };
    state
        .meta
        .set_guest_note(&request.owner, &guest.file_ids, &mark)
        .await?;
    guest.name = mark.name;
    guest.note = mark.note;
    Ok(Json(submission(&state, &request, &guest).await?))
}
