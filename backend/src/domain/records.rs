//! What the metadata store keeps about files and shares.

use ferry_api::FileStatus;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ContentType, FileId, FileName, ShareToken, UserId, file_object_key};

/// A user's file. `object_key` is always `files/{owner}/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub owner: UserId,
    pub id: FileId,
    pub name: FileName,
    pub size: u64,
    pub content_type: ContentType,
    pub status: FileStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// While `pending`: when the upload window closes and the sweeper may reclaim the record.
    #[serde(with = "time::serde::rfc3339")]
    pub upload_expires_at: OffsetDateTime,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub thumbnail_key: Option<String>,
}

impl FileRecord {
    pub fn object_key(&self) -> String {
        file_object_key(&self.owner, &self.id)
    }

    /// Whether this record still counts against the owner's quota.
    pub fn holds_quota(&self) -> bool {
        self.status != FileStatus::Failed
    }
}

/// A share link of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    pub token: ShareToken,
    pub owner: UserId,
    pub file_id: FileId,
    /// Copied from the file at creation so links can be listed without reading every file.
    pub file_name: FileName,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u32>,
    pub downloads: u32,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    pub revoked: bool,
}
