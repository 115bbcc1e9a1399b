//! Wire types of the Ferry HTTP API, shared by the browser app and the backend.
//!
//! Mostly data: serde structs and enums, plus the few pure rules both sides must apply alike
//! (the part layout in [`parts`], a share's state in [`share`], sizes in words in [`sizes`]).
//! No I/O, so the crate builds for `wasm32-unknown-unknown` as well as for the Lambda and the
//! local server. Timestamps are RFC 3339 strings in UTC and sizes are bytes.

pub mod codes;
pub mod encryption;
pub mod live;
pub mod parts;
pub mod paths;
pub mod requests;
pub mod share;
pub mod sizes;
pub mod transfer;

pub use parts::PartLayout;
pub use requests::{
    CreateRequest, FileRequest, GuestFile, GuestNote, GuestSession, GuestSubmission, PublicRequest,
    RequestList, RequestRef, RequestState, StartGuestSession, UnlockRequest,
};
pub use share::ShareState;
pub use sizes::human_size;
pub use transfer::{
    ArchiveEntry, ArchiveGrant, CreateShareOfFiles, DeleteFiles, DeletedFiles, PublicArchive,
    PublicFile, PublicFilePage, PublicFilesQuery,
};

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// `POST /api/uploads` body: what the browser knows about a file before sending it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateUpload {
    /// 1 to 255 bytes of UTF-8, no control characters or `/`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub name: String,
    /// Bytes; at least 1, at most the server's `FERRY_MAX_FILE_SIZE` and the caller's quota.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub size: u64,
    /// A media type such as `image/png` (printable ASCII, at most 255 bytes); default
    /// `application/octet-stream`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub content_type: Option<String>,
    /// Base64 of the file's SHA-256 (as S3's `x-amz-checksum-sha256`). When given, the presigned
    /// PUT signs it, object storage refuses other bytes, and the file keeps it once `ready`.
    /// Not accepted by `POST /api/uploads/multipart`, whose parts carry their own checksums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The folder the file sits in, relative and `/`-separated (`photos/2026`), as a dropped or
    /// picked folder gives it; absent or empty for the top level. Every segment follows the
    /// rules of `name` (after NFC normalisation); see [`paths`] for the limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub folder: Option<String>,
    /// End to end encrypted: the name, folder and type sealed in the browser. Then `name` must
    /// be `encrypted`, `folder` absent and `content_type` absent or `application/octet-stream`
    /// (the real ones travel only inside), `size` and `sha256` are the ciphertext's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<encryption::EncryptedMeta>,
}

/// `POST /api/uploads` answer: the new (pending) file and where to send its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadTicket {
    pub file: File,
    pub upload: PresignedRequest,
}

/// `POST /api/uploads/multipart` answer: the new (pending) file and how to cut it into parts.
/// Part `n` (1-based) covers bytes `(n-1)*part_size ..` up to `part_size` bytes; only the last
/// part may be shorter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MultipartTicket {
    pub file: File,
    /// Bytes per part: a whole number of MiB, at least 8 MiB (32 MiB from 1 GiB on).
    pub part_size: u64,
    /// `ceil(size / part_size)`, at most 10 000.
    pub part_count: u32,
}

/// A part the browser is about to send, with the base64 SHA-256 of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartChecksum {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub number: u32,
    pub sha256: String,
}

/// `POST /api/files/{id}/parts` body: 1 to 100 parts to get upload URLs for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUrlsRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub parts: Vec<PartChecksum>,
}

/// A presigned `PUT` for one part. Send exactly the part's bytes with `headers` (they include
/// `x-amz-checksum-sha256`; `Content-Length` is signed too, and set by the browser), and keep
/// the response's `ETag` header for completing the upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUrl {
    pub number: u32,
    pub url: String,
    pub headers: Vec<Header>,
    pub expires_at: String,
}

/// `POST /api/files/{id}/parts` answer, in the order asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

/// A part object storage holds (the backend's `ports::StoredPart` and the app's scheduler use
/// this type too, so a listing is never copied field by field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadedPart {
    pub number: u32,
    pub size: u64,
    /// As object storage reports it (with its quotes), to send back on completion.
    pub etag: String,
    /// Base64 SHA-256 of the part's bytes, as verified by object storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `GET /api/files/{id}/parts` answer: what object storage already holds, by part number, so an
/// interrupted upload can send only the missing parts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadedParts {
    pub part_size: u64,
    pub part_count: u32,
    pub parts: Vec<UploadedPart>,
}

/// A part as the browser sent it: the `ETag` from its `PUT` answer and its checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CompletedPart {
    pub number: u32,
    pub etag: String,
    pub sha256: String,
}

/// `POST /api/files/{id}/complete` body: every part, 1..=part_count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CompleteUpload {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 10000))]
    pub parts: Vec<CompletedPart>,
}

/// A request the browser makes directly against object storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PresignedRequest {
    /// HTTP method, e.g. `PUT`.
    pub method: String,
    pub url: String,
    /// Headers the request must carry exactly as given (they are part of the signature).
    pub headers: Vec<Header>,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Announced; bytes not (yet) received by object storage.
    Pending,
    /// Bytes received and checked.
    Ready,
    /// The bytes did not match what was announced; the object was removed.
    Failed,
}

/// A file owned by the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct File {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub status: FileStatus,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// The checksum object storage verified, once known (see [`PublicShare::sha256`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The folder the file was uploaded in (`photos/2026`); absent at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The sealed metadata of an end-to-end encrypted file (its `name` is then `encrypted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<encryption::EncryptedMeta>,
    /// Set when a guest sent the file through one of the owner's file requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRef>,
}

/// `GET /api/files` answer, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FilePage {
    pub items: Vec<File>,
    /// Pass as `cursor` to fetch the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A short-lived URL that fetches bytes straight from object storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DownloadUrl {
    pub url: String,
    pub expires_at: String,
}

/// `POST /api/files/{id}/shares` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateShare {
    /// Seconds the link lives: at least 60, at most the server's `FERRY_MAX_SHARE_TTL_SECS`
    /// (default 30 days); absent means `FERRY_DEFAULT_SHARE_TTL_SECS` (default 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 2592000))]
    pub expires_in_seconds: Option<u64>,
    /// Downloads allowed, 1 to 10 000; absent means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub max_downloads: Option<u32>,
    /// 8 to 128 characters; absent or empty for a link without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: Option<String>,
}

/// A share link as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Share {
    pub token: String,
    /// The public page for this link.
    pub url: String,
    /// The first file the link covers (its only one, for a link of one file).
    pub file_id: String,
    /// Name of that first file, for listing links without a second request.
    pub file_name: String,
    /// How many files the link covers now (files deleted since are no longer counted); 0 once
    /// all of them are gone.
    #[serde(default = "one")]
    pub file_count: u32,
    /// Bytes of all the files the link covers.
    #[serde(default)]
    pub total_size: u64,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u32>,
    pub downloads: u32,
    pub has_password: bool,
    pub revoked: bool,
    /// The link's files are end-to-end encrypted: its key is in the link's fragment only.
    /// Absent (false) for a plain link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShareList {
    pub items: Vec<Share>,
}

/// What anyone with the link may see: `GET /api/public/shares/{token}`, and
/// `POST /api/public/shares/{token}/unlock` once the password is right.
///
/// For a password-protected link, `GET` tells only that a password is needed and when the link
/// expires: the file's name, size, type and checksum, and the downloads left, are absent until
/// the password is given to `unlock`.
///
/// `name`, `size`, `content_type`, `sha256` and `part_size` describe the link's file when it
/// covers exactly one; a link of several files has `file_count` > 1 and lists them through
/// `POST /api/public/shares/{token}/files`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub expires_at: String,
    /// Absent when the link has no download limit (or is still locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads_left: Option<u32>,
    pub requires_password: bool,
    /// The file's checksum as S3 reports it, when known, so the recipient can verify the download:
    /// for a single-`PUT` upload, base64 of the SHA-256 of the bytes; for a multipart upload the
    /// composite form `{base64}-{part count}`, where `{base64}` is the SHA-256 of the
    /// concatenated binary SHA-256 digests of the parts, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For a multipart upload, the bytes in every part but the last: what the parts of a
    /// composite checksum are cut at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// How many files the link covers (absent while locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u32>,
    /// Bytes of all its files (absent while locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    /// Given by `unlock` only: send it as `access` instead of the password to list the link's
    /// files and to download, so the password is typed and checked once. It opens this link
    /// only, and only while the link is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// The link's files are end-to-end encrypted: names and bytes open only with the key in
    /// the link's fragment, which the server never sees. Absent (false) for a plain link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// The sealed metadata of the link's one file, when it is encrypted (absent while locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_meta: Option<encryption::EncryptedMeta>,
}

/// `POST /api/public/shares/{token}/unlock` body: the link's password. Checking it counts as a
/// password attempt (a right one is given back) but never as a download.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockShare {
    pub password: String,
}

/// `POST /api/public/shares/{token}/download` body: one file, counted as one download.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicDownload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// From `unlock`, instead of the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Which of the link's files; may be left out when the link covers exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// Stable, snake_case, safe to branch on.
    pub code: String,
    /// For people; may change wording.
    pub message: String,
}

/// `GET /config.json`: how the single-page app finds the API and the identity provider.
/// One build of the app runs against the local stack and AWS alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteConfig {
    /// Base of the HTTP API, e.g. `/api` (same origin) or `https://…/api`.
    pub api_base: String,
    pub cognito_region: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// Hosted-UI base, e.g. `https://auth.example.com` (has `/oauth2/authorize`).
    pub auth_base: String,
    pub redirect_uri: String,
    /// Where `/logout` sends the browser back to.
    pub logout_uri: String,
    /// The Cognito JSON API endpoint (local stack only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_endpoint: Option<String>,
    /// Files larger than this many bytes upload in parts (`POST /api/uploads/multipart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart_threshold: Option<u64>,
    /// Most files one link may cover (`FERRY_MAX_SHARE_FILES`, default
    /// [`transfer::DEFAULT_MAX_SHARE_FILES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_share_files: Option<u32>,
    /// Where live updates come from ([`live`]): an absolute `wss://` URL (the WebSocket API) or
    /// a path on the site's origin (the local server's `/live`). Absent: no live updates; the
    /// app polls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_url: Option<String>,
    /// New uploads start with "Encrypt end to end" on unless this device chose otherwise
    /// (`FERRY_ENCRYPT_BY_DEFAULT`; on AWS the stack's `EncryptByDefault` parameter).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypt_by_default: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: codes::NOT_FOUND.into(),
                message: "No such file.".into(),
            },
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "No such file."}})
        );
    }

    #[test]
    fn status_is_snake_case_and_optional_fields_are_omitted() {
        let file = File {
            id: "f".into(),
            name: "a.txt".into(),
            size: 1,
            content_type: "text/plain".into(),
            status: FileStatus::Pending,
            created_at: "2026-01-01T00:00:00Z".into(),
            thumbnail_url: None,
            sha256: None,
            folder: None,
            encrypted: None,
            request: None,
        };
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["status"], "pending");
        assert!(json.get("thumbnail_url").is_none());
        assert!(json.get("sha256").is_none());
    }

    #[test]
    fn older_clients_and_configs_still_parse() {
        let req: CreateUpload = serde_json::from_str(r#"{"name": "a", "size": 1}"#).unwrap();
        assert_eq!(req.sha256, None);
        let config: SiteConfig = serde_json::from_value(serde_json::json!({
            "api_base": "/api", "cognito_region": "r", "user_pool_id": "p", "client_id": "c",
            "auth_base": "a", "redirect_uri": "u", "logout_uri": "l"
        }))
        .unwrap();
        assert_eq!(config.multipart_threshold, None);
    }

    #[test]
    fn create_share_accepts_an_empty_object() {
        let req: CreateShare = serde_json::from_str("{}").unwrap();
        assert_eq!(req, CreateShare::default());
    }
}
