//! The stable error codes the API answers with, so clients can branch without string typos.

pub const UNAUTHORIZED: &str = "unauthorized";
pub const NOT_FOUND: &str = "not_found";
pub const INVALID_NAME: &str = "invalid_name";
pub const INVALID_SIZE: &str = "invalid_size";
pub const FILE_TOO_LARGE: &str = "file_too_large";
pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
/// The user has as many unfinished uploads as allowed (`FERRY_MAX_PENDING_UPLOADS`).
pub const TOO_MANY_PENDING_UPLOADS: &str = "too_many_pending_uploads";
pub const INVALID_REQUEST: &str = "invalid_request";
pub const INVALID_CONTENT_TYPE: &str = "invalid_content_type";
pub const INVALID_EXPIRY: &str = "invalid_expiry";
pub const INVALID_MAX_DOWNLOADS: &str = "invalid_max_downloads";
pub const INVALID_PASSWORD: &str = "invalid_password";
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
pub const INVALID_CURSOR: &str = "invalid_cursor";
pub const FILE_NOT_READY: &str = "file_not_ready";
/// A checksum that is not base64 of 32 bytes.
pub const INVALID_CHECKSUM: &str = "invalid_checksum";
/// A part number outside `1..=part_count`, or listed twice.
pub const INVALID_PART: &str = "invalid_part";
/// The file was uploaded with a single `PUT`, not in parts.
pub const NOT_MULTIPART: &str = "not_multipart";
/// The upload is over (the file is `ready` or `failed`): no more parts.
pub const UPLOAD_CLOSED: &str = "upload_closed";
/// Completing: object storage lacks a part (send it, then complete again).
pub const PART_MISSING: &str = "part_missing";
/// Completing: a part's ETag, checksum or size differs from what object storage holds.
pub const PART_MISMATCH: &str = "part_mismatch";
/// Object storage no longer has the multipart upload (abandoned and cleaned up): delete the
/// file and upload it again.
pub const UPLOAD_EXPIRED: &str = "upload_expired";
pub const SHARE_NOT_FOUND: &str = "share_not_found";
pub const SHARE_EXPIRED: &str = "share_expired";
pub const SHARE_REVOKED: &str = "share_revoked";
pub const SHARE_EXHAUSTED: &str = "share_exhausted";
pub const PASSWORD_REQUIRED: &str = "password_required";
pub const WRONG_PASSWORD: &str = "wrong_password";
pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
/// The server is at its bound for expensive work (e.g. password checks): retry after the
/// `Retry-After` seconds.
pub const BUSY: &str = "busy";
/// Too many requests: AWS WAF's per-client rate rule on the public routes, or the API's
/// own per-request / per-client limiter on the guest routes of file requests (429 with
/// `Retry-After`).
pub const RATE_LIMITED: &str = "rate_limited";
/// The request body is over the API's limit (64 KiB of JSON).
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
/// A folder path that is absolute, has an empty, `.` or `..` segment, or is too long or
/// too deep (see [`crate::paths`]).
pub const INVALID_PATH: &str = "invalid_path";
/// More files in one request or one link than the server allows (`FERRY_MAX_SHARE_FILES`).
pub const TOO_MANY_FILES: &str = "too_many_files";
/// A link of several files was asked for one file without saying which (`file_id`).
pub const FILE_REQUIRED: &str = "file_required";
/// Every file the link covered was deleted by its owner.
pub const SHARE_EMPTY: &str = "share_empty";
/// End-to-end encrypted metadata that is not base64url, is over 4 KiB, is of an unknown
/// version, or comes with a plaintext name, folder or type beside it.
pub const INVALID_ENCRYPTION: &str = "invalid_encryption";
/// A link would mix end-to-end encrypted files with plain ones.
pub const MIXED_ENCRYPTION: &str = "mixed_encryption";
/// No such file request (never was, deleted, or another user's).
pub const REQUEST_NOT_FOUND: &str = "request_not_found";
/// The owner closed the file request: guests can no longer send or remove files.
pub const REQUEST_CLOSED: &str = "request_closed";
/// The file request is past its expiry (and cannot be reopened).
pub const REQUEST_EXPIRED: &str = "request_expired";
/// The file request has received as many files as it allows.
pub const REQUEST_FULL: &str = "request_full";
/// The file does not fit in the bytes the file request has left.
pub const REQUEST_TOO_LARGE: &str = "request_too_large";
/// A guest route was called without a valid guest key for this request
/// (`x-ferry-guest`, from `POST /api/public/requests/{token}/sessions`).
pub const GUEST_KEY_REQUIRED: &str = "guest_key_required";
/// A request title that is empty, too long or has control characters.
pub const INVALID_TITLE: &str = "invalid_title";
/// A request message, guest name or note that is too long or has control characters.
pub const INVALID_TEXT: &str = "invalid_text";
/// `max_files` outside `1..=max_share_files`.
pub const INVALID_MAX_FILES: &str = "invalid_max_files";
/// `max_bytes` of 0 or more than the owner's free space.
pub const INVALID_MAX_BYTES: &str = "invalid_max_bytes";
pub const INTERNAL: &str = "internal";
/// A sealed thumbnail's `size` of 0 or over 64 KiB (`encryption::MAX_THUMBNAIL_BYTES`).
pub const INVALID_THUMBNAIL: &str = "invalid_thumbnail";
/// A route only for end-to-end encrypted files was called for a plain one (the server makes
/// plain files' thumbnails itself).
pub const NOT_ENCRYPTED: &str = "not_encrypted";
