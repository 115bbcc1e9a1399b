//! Records the tests write straight into a metadata store: a file as an upload announces it.

use ferry::domain::{ContentType, FileId, FileName, FileRecord, UserId};
use ferry_api::FileStatus;
use time::OffsetDateTime;

/// A `pending` `data.bin` of `owner`, announced at `created`, whose upload may run until
/// `expires`; nothing optional set. A test changes what it needs with
/// `FileRecord { …, ..pending_file(…) }`.
pub fn pending_file(
    owner: &UserId,
    size: u64,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> FileRecord {
    FileRecord {
        owner: owner.clone(),
        id: FileId::new(),
        name: FileName::parse("data.bin").unwrap(),
        size,
        content_type: ContentType::parse("application/octet-stream").unwrap(),
        status: FileStatus::Pending,
        created_at: created,
        upload_expires_at: expires,
        sha256: None,
        thumbnail_key: None,
        multipart_upload_id: None,
        part_size: None,
        folder: None,
        encrypted: None,
        guest: None,
    }
}
