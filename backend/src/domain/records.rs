//! What the metadata store keeps about files and shares.

use ferry_api::FileStatus;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::parts::PartLayout;
use super::{ContentType, FileId, FileName, FolderPath, ShareToken, UserId, file_object_key};

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
    /// The checksum object storage verified: base64 SHA-256 for a single `PUT`, the composite
    /// `{base64}-{parts}` form for a multipart upload (see `ferry_api::PublicShare::sha256`).
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub thumbnail_key: Option<String>,
    /// The S3 multipart upload the bytes arrive through; `None` for a single `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart_upload_id: Option<String>,
    /// Bytes per part of a multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// The folder the file was uploaded in; `None` at the top level (and in records from before
    /// folders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderPath>,
}

impl FileRecord {
    pub fn object_key(&self) -> String {
        file_object_key(&self.owner, &self.id)
    }

    /// The part layout of a multipart upload; `None` for a single `PUT`.
    pub fn part_layout(&self) -> Option<PartLayout> {
        self.multipart_upload_id.as_ref()?;
        PartLayout::with_part_size(self.size, self.part_size?)
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
