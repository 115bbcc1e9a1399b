//! Wire types of file requests: a link through which someone without an account (a guest)
//! sends files to the link's owner.
//!
//! # Owner (signed in, `Authorization: Bearer …`)
//!
//! | route | body → answer | semantics |
//! |---|---|---|
//! | `POST /api/requests` | [`CreateRequest`] → 201 [`FileRequest`] | a new open request |
//! | `GET /api/requests` | → [`RequestList`] | the caller's requests, newest first |
//! | `GET /api/requests/{token}` | → [`FileRequest`] | one of them; 404 `request_not_found` for others' |
//! | `POST /api/requests/{token}/close` | → [`FileRequest`] | guests are refused from now on (`request_closed`); idempotent |
//! | `POST /api/requests/{token}/reopen` | → [`FileRequest`] | open again; 409 `request_expired` once expired |
//! | `DELETE /api/requests/{token}` | → 204 | the link stops working; files received stay the owner's |
//!
//! Files received are the owner's own files: `GET /api/files` lists them with
//! [`crate::File::request`] (and the guest's name and note) set, they count in the owner's quota,
//! and they can be shared, downloaded and deleted like any other file.
//!
//! # Guest (no account, under `/api/public/requests/{token}`)
//!
//! | route | body → answer | semantics |
//! |---|---|---|
//! | `GET …/{token}` | → [`PublicRequest`] | title, message, limits left; only `requires_password` + `expires_at` while locked |
//! | `POST …/{token}/unlock` | [`UnlockRequest`] → [`PublicRequest`] | checks the password (rate limited like shares), answers everything plus `access` |
//! | `POST …/{token}/sessions` | [`StartGuestSession`] → 201 [`GuestSession`] | a new guest key (send `access` for a password-protected request) |
//! | `POST …/{token}/uploads` | [`crate::CreateUpload`] → 201 [`crate::UploadTicket`] | one presigned PUT, as `POST /api/uploads` |
//! | `POST …/{token}/uploads/multipart` | [`crate::CreateUpload`] → 201 [`crate::MultipartTicket`] | as `POST /api/uploads/multipart` |
//! | `POST …/{token}/files/{id}/parts` | [`crate::PartUrlsRequest`] → [`crate::PartUrls`] | as `POST /api/files/{id}/parts` |
//! | `GET …/{token}/files/{id}/parts` | → [`crate::UploadedParts`] | as `GET /api/files/{id}/parts` (resume) |
//! | `POST …/{token}/files/{id}/complete` | [`crate::CompleteUpload`] → [`GuestFile`] | as `POST /api/files/{id}/complete` |
//! | `GET …/{token}/files` | → [`GuestSubmission`] | what THIS guest sent, plus their name and note |
//! | `DELETE …/{token}/files/{id}` | → 204 | removes a file this guest sent, while the request is open |
//! | `PUT …/{token}/note` | [`GuestNote`] → [`GuestSubmission`] | this guest's name and note, shown to the owner on every file they sent |
//!
//! Every guest route after `sessions` needs the guest key in the [`GUEST_KEY_HEADER`] header
//! (never in a URL): without it, or with a key of another request, the answer is 401
//! `guest_key_required`. A guest only ever sees the files sent with their own key; file ids
//! of the owner or of other guests answer 404 `not_found`. The `file` inside an upload ticket
//! is the owner-side [`crate::File`] of the new upload (its `request` set).
//!
//! New sessions, uploads, part URLs and removals need the request open; viewing, listing,
//! listing parts, completing (an upload whose parts were all sent may still finish) and the note
//! work while it is closed or expired too. Guests never download: the files are the owner's,
//! served only to the owner (and whoever they share them with), always as attachments.
//!
//! Refusals: `request_not_found` (404: unknown or deleted), `request_closed` (403),
//! `request_expired` (410), `request_full` (409: no files left), `request_too_large` (413: the
//! file does not fit in the bytes left), `quota_exceeded` (403: the owner's space),
//! `too_many_pending_uploads` (409: this guest has too many unfinished uploads),
//! `password_required`/`wrong_password`/`too_many_attempts` as for shares, `rate_limited`
//! (429, with `Retry-After`) from the per-request and per-client limiter. Limits are reserved
//! when an upload is created, atomically, so concurrent guests never exceed them; a file the
//! guest deletes (or an upload that fails or is abandoned) gives its reservation back.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::FileStatus;

/// The header that carries a guest's key on the guest routes.
pub const GUEST_KEY_HEADER: &str = "x-ferry-guest";
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// Longest guest name or note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// `POST /api/requests` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateRequest {
    /// 1 to 200 characters, no control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// Up to 2,000 characters shown to guests (line breaks allowed); default empty.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub message: String,
    /// As [`crate::CreateShare::expires_in_seconds`]: 60 to `FERRY_MAX_SHARE_TTL_SECS`,
    /// default `FERRY_DEFAULT_SHARE_TTL_SECS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 2592000))]
    pub expires_in_seconds: Option<u64>,
    /// Files guests may send in all, 1 to `max_share_files` (`/config.json`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_files: u32,
    /// Bytes guests may send in all: at least 1, at most the owner's free space now (the
    /// quota is also checked at every upload).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_bytes: u64,
    /// 8 to 128 characters; absent or empty for a request without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: Option<String>,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Guests can send files (while limits are left).
    Open,
    /// Closed by its owner (can be reopened before expiry).
    Closed,
    /// Past `expires_at` (whether closed or not).
    Expired,
}

/// A file request as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FileRequest {
    pub token: String,
    /// The guests' page: `{public base}/r/{token}`.
    pub url: String,
    pub title: String,
    pub message: String,
    pub created_at: String,
    pub expires_at: String,
    pub state: RequestState,
    pub max_files: u32,
    pub max_bytes: u64,
    /// Files guests sent and have not deleted, unfinished uploads included.
    pub files_received: u32,
    /// Bytes of those files.
    pub bytes_received: u64,
    pub has_password: bool,
}

/// `GET /api/requests` answer, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RequestList {
    pub items: Vec<FileRequest>,
}

/// What a guest sees: `GET /api/public/requests/{token}`, and `POST …/unlock` once the
/// password is right. While a password-protected request is locked only `requires_password`,
/// `state` and `expires_at` are given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicRequest {
    pub requires_password: bool,
    /// `closed` and `expired` requests answer 200 with their state (so the page can say so);
    /// uploads to them are refused.
    pub state: RequestState,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Files that can still be sent (by anyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_left: Option<u32>,
    /// Bytes that can still be sent (by anyone): the request's limit and the owner's free space,
    /// whichever is smaller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_left: Option<u64>,
    /// Largest single file the server accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// Given by `unlock` only: send it to `sessions` instead of the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// `POST /api/public/requests/{token}/unlock` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockRequest {
    pub password: String,
}

/// `POST /api/public/requests/{token}/sessions` body (`{}` for a request without a password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StartGuestSession {
    /// From `unlock` (or the password itself) for a password-protected request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /api/public/requests/{token}/sessions` answer. The browser keeps `guest_key` (e.g. in
/// `localStorage`, per request token) so a reload resumes uploads and still lists what this
/// guest sent; it is sent in the [`GUEST_KEY_HEADER`] header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GuestSession {
    /// ≥ 128 random bits, URL-safe base64; the server keeps only its hash.
    pub guest_key: String,
}

/// A file a guest sent, as that guest sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GuestFile {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub size: u64,
    pub content_type: String,
    pub status: FileStatus,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Set for a multipart upload: resume with `GET …/files/{id}/parts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
}

/// `GET /api/public/requests/{token}/files` and `PUT …/note` answer: this guest's files, oldest
/// first, and what they said about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GuestSubmission {
    pub files: Vec<GuestFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `PUT /api/public/requests/{token}/note` body: replaces both (absent or empty clears one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GuestNote {
    /// Up to 500 characters, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub name: Option<String>,
    /// Up to 500 characters (line breaks allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub note: Option<String>,
}

/// On a file the owner received through a request ([`crate::File::request`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RequestRef {
    pub token: String,
    /// The request's title when the file arrived.
    pub title: String,
    /// The guest's name, when they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_name: Option<String>,
    /// The guest's note, when they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_request_shows_only_its_state_and_expiry() {
        let locked = PublicRequest {
            requires_password: true,
            state: RequestState::Open,
            expires_at: "2026-01-01T00:00:00Z".into(),
            title: None,
            message: None,
            files_left: None,
            bytes_left: None,
            max_file_size: None,
            access: None,
        };
        assert_eq!(
            serde_json::to_value(&locked).unwrap(),
            serde_json::json!({
                "requires_password": true, "state": "open", "expires_at": "2026-01-01T00:00:00Z"
            })
        );
    }

    #[test]
    fn a_session_and_a_note_accept_an_empty_object() {
        let start: StartGuestSession = serde_json::from_str("{}").unwrap();
        assert_eq!(start, StartGuestSession::default());
        let note: GuestNote = serde_json::from_str("{}").unwrap();
        assert_eq!(note, GuestNote::default());
    }
}
