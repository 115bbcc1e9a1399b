//! Wire types of links that cover many files: making one from a selection, listing its files in
//! public, and taking them one by one or all at once as a ZIP built in the recipient's browser.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::FileStatus;

/// Most files one link covers unless the operator sets `FERRY_MAX_SHARE_FILES`.
pub const DEFAULT_MAX_SHARE_FILES: u32 = 1_000;
/// Files per page of `POST /api/public/shares/{token}/files` unless `limit` says otherwise.
pub const DEFAULT_PUBLIC_PAGE: u32 = 200;
/// Most files per page of `POST /api/public/shares/{token}/files`.
pub const MAX_PUBLIC_PAGE: u32 = 1_000;

/// `POST /api/shares` body: one link for one or more of the caller's files, with the terms of
/// [`crate::CreateShare`]. Files may still be uploading: the link shows them as arriving.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateShareOfFiles {
    /// 1 to `max_share_files` distinct ids of the caller's files (not `failed` ones).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub file_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 2592000))]
    pub expires_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub max_downloads: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: Option<String>,
}

/// `POST /api/files/delete` body: several of the caller's files at once (a folder, a selection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeleteFiles {
    /// 1 to `max_share_files` ids; ids the caller does not own count as already gone.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub file_ids: Vec<String>,
}

/// `POST /api/files/delete` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeletedFiles {
    /// Files that existed and are now deleted.
    pub deleted: u32,
}

/// `POST /api/public/shares/{token}/files` body. A POST, so a password or access key never
/// lands in a URL or an access log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicFilesQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// As [`crate::PublicDownload::access`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// 1 to [`MAX_PUBLIC_PAGE`]; default [`DEFAULT_PUBLIC_PAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub limit: Option<u32>,
}

/// One file of a link, as anyone holding the link sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicFile {
    pub id: String,
    pub name: String,
    /// Its folder within the transfer (`photos/2026`); absent at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub size: u64,
    pub content_type: String,
    /// `pending` while it is still arriving; only `ready` files can be downloaded.
    pub status: FileStatus,
    /// As [`crate::PublicShare::sha256`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// As [`crate::File::encrypted`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<crate::encryption::EncryptedMeta>,
}

/// `POST /api/public/shares/{token}/files` answer, in the order the link lists its files
/// (folder paths, then names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicFilePage {
    pub items: Vec<PublicFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /api/public/shares/{token}/archive` body: everything behind the link, counted as one
/// download.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicArchive {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// As [`crate::PublicDownload::access`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

/// One file of a "Download all": where the browser fetches it and what it is called inside
/// the ZIP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ArchiveEntry {
    pub id: String,
    /// `folder/name`, or just `name` at the top level.
    pub path: String,
    pub size: u64,
    /// A presigned GET of the file's bytes.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The sealed metadata of an end-to-end encrypted file: the browser names it in the ZIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<crate::encryption::EncryptedMeta>,
}

/// `POST /api/public/shares/{token}/archive` answer: every `ready` file, with URLs that live
/// long enough to stream them one after another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ArchiveGrant {
    /// A file name for the ZIP, e.g. `photos.zip`.
    pub name: String,
    pub files: Vec<ArchiveEntry>,
    /// Bytes of all `files`.
    pub total_size: u64,
    /// Files of the link still arriving, so not in `files`.
    pub pending: u32,
    /// When the URLs stop working for requests not yet started.
    pub expires_at: String,
}
