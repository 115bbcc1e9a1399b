//! Wire types of the Ferry HTTP API, shared by the browser app and the backend.
//!
//! Only data lives here: serde structs and enums, no I/O and no logic, so the crate builds for
//! `wasm32-unknown-unknown` as well as for the Lambda and the local server. Timestamps are
//! RFC 3339 strings in UTC and sizes are bytes.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// `POST /api/uploads` body: what the browser knows about a file before sending it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateUpload {
    pub name: String,
    pub size: u64,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// `POST /api/uploads` answer: the new (pending) file and where to send its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UploadTicket {
    pub file: File,
    pub upload: PresignedRequest,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A share link as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Share {
    pub token: String,
    /// The public page for this link.
    pub url: String,
    pub file_id: String,
    /// Name of the shared file, for listing links without a second request.
    pub file_name: String,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<u32>,
    pub downloads: u32,
    pub has_password: bool,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShareList {
    pub items: Vec<Share>,
}

/// `GET /api/public/shares/{token}`: what anyone with the link may see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicShare {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub expires_at: String,
    /// `None` when the link has no download limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloads_left: Option<u32>,
    pub requires_password: bool,
    /// Hex SHA-256 of the file's bytes, when known, so the recipient can verify the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `POST /api/public/shares/{token}/download` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicDownload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
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

/// The stable error codes the API answers with, so clients can branch without string typos.
pub mod codes {
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const NOT_FOUND: &str = "not_found";
    pub const INVALID_NAME: &str = "invalid_name";
    pub const INVALID_SIZE: &str = "invalid_size";
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const INVALID_CONTENT_TYPE: &str = "invalid_content_type";
    pub const INVALID_EXPIRY: &str = "invalid_expiry";
    pub const INVALID_MAX_DOWNLOADS: &str = "invalid_max_downloads";
    pub const INVALID_PASSWORD: &str = "invalid_password";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INVALID_CURSOR: &str = "invalid_cursor";
    pub const FILE_NOT_READY: &str = "file_not_ready";
    pub const SHARE_NOT_FOUND: &str = "share_not_found";
    pub const SHARE_EXPIRED: &str = "share_expired";
    pub const SHARE_REVOKED: &str = "share_revoked";
    pub const SHARE_EXHAUSTED: &str = "share_exhausted";
    pub const PASSWORD_REQUIRED: &str = "password_required";
    pub const WRONG_PASSWORD: &str = "wrong_password";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const INTERNAL: &str = "internal";
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
        };
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["status"], "pending");
        assert!(json.get("thumbnail_url").is_none());
    }

    #[test]
    fn create_share_accepts_an_empty_object() {
        let req: CreateShare = serde_json::from_str("{}").unwrap();
        assert_eq!(req, CreateShare::default());
    }
}
