//! How records are laid out as DynamoDB items (DESIGN.md §4): keys, attributes, and decoding.
//!
//! Instants are stored as Unix nanoseconds (numbers), so they round-trip exactly and compare in
//! condition expressions; `ttl` is Unix seconds, as DynamoDB's TTL requires.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_api::FileStatus;
use time::OffsetDateTime;

use crate::domain::share::AttemptWindow;
use crate::domain::{
    ContentType, FileId, FileName, FileRecord, FolderPath, ShareRecord, ShareToken, UserId,
};
use crate::ports::MetadataError;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const USAGE_SK: &str = "USAGE";
pub const SHARE_SK: &str = "SHARE";
pub const FILE_PREFIX: &str = "FILE#";
pub const SHARE_INDEX_PREFIX: &str = "SHARE#";
/// On a file item a guest sent: its `GuestMark` as JSON.
pub const GUEST: &str = "guest";

pub fn user_pk(owner: &UserId) -> String {
    format!("USER#{owner}")
}

pub fn file_sk(id: &FileId) -> String {
    format!("{FILE_PREFIX}{id}")
}

pub fn share_pk(token: &ShareToken) -> String {
    format!("SHARE#{token}")
}

/// `SHARE#{created_at}#{token}` under the owner: zero-padded nanoseconds sort like the instants.
pub fn share_index_sk(share: &ShareRecord) -> String {
    let nanos = share.created_at.unix_timestamp_nanos().max(0);
    format!("{SHARE_INDEX_PREFIX}{nanos:020}#{}", share.token)
}

/// `USER#{sub}`/`RELEASED#{file_id}`: marks that an expired upload's bytes were given back.
pub fn released_sk(id: &FileId) -> String {
    format!("RELEASED#{id}")
}

pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub fn file_key(owner: &UserId, id: &FileId) -> Item {
    key(user_pk(owner), file_sk(id))
}

pub fn share_key(token: &ShareToken) -> Item {
    key(share_pk(token), SHARE_SK.to_owned())
}

pub fn usage_key(owner: &UserId) -> Item {
    key(user_pk(owner), USAGE_SK.to_owned())
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn nanos(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp_nanos())
}

pub fn epoch_seconds(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp())
}

pub fn status_value(status: FileStatus) -> AttributeValue {
    s(match status {
        FileStatus::Pending => "pending",
        FileStatus::Ready => "ready",
        FileStatus::Failed => "failed",
    })
}

pub fn file_item(file: &FileRecord) -> Item {
    let mut item = file_key(&file.owner, &file.id);
    item.extend([
        ("owner".to_owned(), s(file.owner.as_str())),
        ("id".to_owned(), s(file.id.to_string())),
        ("name".to_owned(), s(file.name.as_str())),
        ("size".to_owned(), n(file.size)),
        ("content_type".to_owned(), s(file.content_type.as_str())),
        ("status".to_owned(), status_value(file.status)),
        ("object_key".to_owned(), s(file.object_key())),
        ("created_at".to_owned(), nanos(file.created_at)),
        (
            "upload_expires_at".to_owned(),
            nanos(file.upload_expires_at),
        ),
    ]);
    if let Some(sha) = &file.sha256 {
        item.insert("sha256".to_owned(), s(sha.as_str()));
    }
    if let Some(thumb) = &file.thumbnail_key {
        item.insert("thumbnail_key".to_owned(), s(thumb.as_str()));
    }
    if let Some(upload_id) = &file.multipart_upload_id {
        item.insert("multipart_upload_id".to_owned(), s(upload_id.as_str()));
    }
    if let Some(part_size) = file.part_size {
        item.insert("part_size".to_owned(), n(part_size));
    }
    if let Some(folder) = &file.folder {
        item.insert("folder".to_owned(), s(folder.as_str()));
    }
    if let Some(guest) = &file.guest {
        // Read and written whole (the request, its title, the guest's name and note).
        item.insert(
            GUEST.to_owned(),
            s(serde_json::to_string(guest).unwrap_or_default()),
        );
    }
    if file.status == FileStatus::Pending {
        item.insert("ttl".to_owned(), epoch_seconds(file.upload_expires_at));
    }
    item
}

/// A share: the current shape lists its files in `file_ids` (1,000 ids take about 40 KB of the
/// item's 400 KB) with `file_count` and `total_size` beside them; items written before links of
/// several files have one `file_id` instead, and [`decode_share`] reads both.
pub fn share_item(share: &ShareRecord) -> Item {
    let mut item = share_key(&share.token);
    item.extend([
        ("token".to_owned(), s(share.token.as_str())),
        ("owner".to_owned(), s(share.owner.as_str())),
        ("file_ids".to_owned(), file_id_list(&share.file_ids)),
        ("file_count".to_owned(), n(share.file_ids.len())),
        ("file_name".to_owned(), s(share.file_name.as_str())),
        ("created_at".to_owned(), nanos(share.created_at)),
        ("expires_at".to_owned(), nanos(share.expires_at)),
        ("downloads".to_owned(), n(share.downloads)),
        ("revoked".to_owned(), AttributeValue::Bool(share.revoked)),
        (
            "keep_when_empty".to_owned(),
            AttributeValue::Bool(share.keep_when_empty),
        ),
        ("ttl".to_owned(), epoch_seconds(share.expires_at)),
    ]);
    if let Some(total) = share.total_size {
        item.insert("total_size".to_owned(), n(total));
    }
    if let Some(max) = share.max_downloads {
        item.insert("max_downloads".to_owned(), n(max));
    }
    if let Some(hash) = &share.password_hash {
        item.insert("password_hash".to_owned(), s(hash.as_str()));
    }
    if let Some(access) = &share.access {
        item.insert("access".to_owned(), s(access.as_str()));
    }
    item
}

pub fn file_id_list(ids: &[FileId]) -> AttributeValue {
    AttributeValue::L(ids.iter().map(|id| s(id.to_string())).collect())
}

/// On a share item: how often its file list was rewritten, so two rewrites never overwrite
/// each other (absent until the first).
pub const SHARE_REVISION: &str = "revision";

fn decode_file_ids(item: &Item) -> Result<Vec<FileId>, MetadataError> {
    match item.get("file_ids") {
        Some(AttributeValue::L(ids)) => ids
            .iter()
            .map(|v| match v {
                AttributeValue::S(id) => parsed("file_ids", FileId::parse(id)),
                other => Err(corrupt(
                    "file_ids",
                    format!("expected strings, got {other:?}"),
                )),
            })
            .collect(),
        None => Ok(vec![parsed(
            "file_id",
            FileId::parse(req_str(item, "file_id")?),
        )?]),
        Some(other) => Err(corrupt(
            "file_ids",
            format!("expected a list, got {other:?}"),
        )),
    }
}

/// The owner's pointer to a share, so shares can be listed (and cascaded) per user; it expires
/// with the share.
pub fn share_index_item(share: &ShareRecord) -> Item {
    let mut item = key(user_pk(&share.owner), share_index_sk(share));
    item.extend([
        ("token".to_owned(), s(share.token.as_str())),
        ("ttl".to_owned(), epoch_seconds(share.expires_at)),
    ]);
    item
}

fn corrupt(name: &str, problem: impl std::fmt::Display) -> MetadataError {
    MetadataError::Backend(format!("stored item has a bad `{name}`: {problem}"))
}

pub fn opt_str<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, MetadataError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(other) => Err(corrupt(name, format!("expected a string, got {other:?}"))),
    }
}

pub fn req_str<'a>(item: &'a Item, name: &str) -> Result<&'a str, MetadataError> {
    opt_str(item, name)?.ok_or_else(|| corrupt(name, "missing"))
}

pub fn opt_num<T: FromStr>(item: &Item, name: &str) -> Result<Option<T>, MetadataError>
where
    T::Err: std::fmt::Display,
{
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|e| corrupt(name, e)),
        Some(other) => Err(corrupt(name, format!("expected a number, got {other:?}"))),
    }
}

pub fn req_num<T: FromStr>(item: &Item, name: &str) -> Result<T, MetadataError>
where
    T::Err: std::fmt::Display,
{
    opt_num(item, name)?.ok_or_else(|| corrupt(name, "missing"))
}

fn req_instant(item: &Item, name: &str) -> Result<OffsetDateTime, MetadataError> {
    OffsetDateTime::from_unix_timestamp_nanos(req_num::<i128>(item, name)?)
        .map_err(|e| corrupt(name, e))
}

fn req_bool(item: &Item, name: &str) -> Result<bool, MetadataError> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        None => Ok(false),
        Some(other) => Err(corrupt(name, format!("expected a boolean, got {other:?}"))),
    }
}

fn parsed<T, E: std::fmt::Display>(name: &str, result: Result<T, E>) -> Result<T, MetadataError> {
    result.map_err(|e| corrupt(name, e))
}

pub fn decode_status(raw: &str) -> Result<FileStatus, MetadataError> {
    match raw {
        "pending" => Ok(FileStatus::Pending),
        "ready" => Ok(FileStatus::Ready),
        "failed" => Ok(FileStatus::Failed),
        other => Err(corrupt("status", format!("unknown status {other:?}"))),
    }
}

pub fn decode_file(item: &Item) -> Result<FileRecord, MetadataError> {
    Ok(FileRecord {
        owner: parsed("owner", UserId::parse(req_str(item, "owner")?))?,
        id: parsed("id", FileId::parse(req_str(item, "id")?))?,
        name: parsed("name", FileName::parse(req_str(item, "name")?))?,
        size: req_num(item, "size")?,
        content_type: parsed(
            "content_type",
            ContentType::parse(req_str(item, "content_type")?),
        )?,
        status: decode_status(req_str(item, "status")?)?,
        created_at: req_instant(item, "created_at")?,
        upload_expires_at: req_instant(item, "upload_expires_at")?,
        sha256: opt_str(item, "sha256")?.map(str::to_owned),
        thumbnail_key: opt_str(item, "thumbnail_key")?.map(str::to_owned),
        multipart_upload_id: opt_str(item, "multipart_upload_id")?.map(str::to_owned),
        part_size: opt_num(item, "part_size")?,
        folder: opt_str(item, "folder")?
            .map(|f| parsed("folder", FolderPath::parse(f)))
            .transpose()?,
        guest: opt_str(item, GUEST)?
            .map(|g| parsed(GUEST, serde_json::from_str(g)))
            .transpose()?,
    })
}

pub fn decode_share(item: &Item) -> Result<ShareRecord, MetadataError> {
    Ok(ShareRecord {
        token: parsed("token", ShareToken::parse(req_str(item, "token")?))?,
        owner: parsed("owner", UserId::parse(req_str(item, "owner")?))?,
        file_ids: decode_file_ids(item)?,
        file_name: parsed("file_name", FileName::parse(req_str(item, "file_name")?))?,
        total_size: opt_num(item, "total_size")?,
        created_at: req_instant(item, "created_at")?,
        expires_at: req_instant(item, "expires_at")?,
        max_downloads: opt_num(item, "max_downloads")?,
        downloads: req_num(item, "downloads")?,
        password_hash: opt_str(item, "password_hash")?.map(str::to_owned),
        revoked: req_bool(item, "revoked")?,
        access: opt_str(item, "access")?.map(str::to_owned),
        keep_when_empty: req_bool(item, "keep_when_empty")?,
    })
}

/// On a share item: when the current window of password attempts started (nanoseconds), and
/// how many attempts it holds. Absent until the first attempt; never part of [`ShareRecord`].
pub const ATTEMPTS_SINCE: &str = "attempts_since";
pub const ATTEMPTS: &str = "attempts";

/// The attempt window a share item holds, if any.
pub fn decode_attempts(item: &Item) -> Result<Option<AttemptWindow>, MetadataError> {
    let Some(since) = opt_num::<i128>(item, ATTEMPTS_SINCE)? else {
        return Ok(None);
    };
    Ok(Some(AttemptWindow {
        since: OffsetDateTime::from_unix_timestamp_nanos(since)
            .map_err(|e| corrupt(ATTEMPTS_SINCE, e))?,
        count: opt_num(item, ATTEMPTS)?.unwrap_or(0),
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn file(status: FileStatus) -> FileRecord {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_789).unwrap();
        FileRecord {
            owner: UserId::parse("user-1").unwrap(),
            id: FileId::new(),
            name: FileName::parse("report (final).pdf").unwrap(),
            size: 1234,
            content_type: ContentType::parse("application/pdf").unwrap(),
            status,
            created_at: now,
            upload_expires_at: now + Duration::from_secs(900),
            sha256: Some("ab".repeat(32)),
            thumbnail_key: None,
            multipart_upload_id: None,
            part_size: None,
            folder: None,
            guest: None,
        }
    }

    #[test]
    fn files_round_trip_and_only_pending_ones_expire() {
        let pending = file(FileStatus::Pending);
        let item = file_item(&pending);
        assert_eq!(decode_file(&item).unwrap(), pending);
        assert_eq!(item["PK"], s("USER#user-1"));
        assert_eq!(item["SK"], s(format!("FILE#{}", pending.id)));
        assert_eq!(item["ttl"], n(pending.upload_expires_at.unix_timestamp()));
        assert!(!file_item(&file(FileStatus::Ready)).contains_key("ttl"));
        assert!(!item.contains_key("multipart_upload_id"));

        let multipart = FileRecord {
            multipart_upload_id: Some("upload-1".to_owned()),
            part_size: Some(8 << 20),
            folder: Some(FolderPath::parse("photos/2026").unwrap()),
            ..file(FileStatus::Pending)
        };
        let item = file_item(&multipart);
        assert_eq!(item["multipart_upload_id"], s("upload-1"));
        assert_eq!(item["folder"], s("photos/2026"));
        assert_eq!(decode_file(&item).unwrap(), multipart);
    }

    #[test]
    fn shares_round_trip_and_index_keys_sort_by_creation() {
        let f = file(FileStatus::Ready);
        let share = |secs: i64| ShareRecord {
            token: ShareToken::generate(),
            owner: f.owner.clone(),
            file_ids: vec![f.id, FileId::new()],
            file_name: f.name.clone(),
            total_size: Some(2),
            created_at: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            expires_at: OffsetDateTime::from_unix_timestamp(secs + 60).unwrap(),
            max_downloads: Some(3),
            downloads: 1,
            password_hash: None,
            revoked: false,
            access: Some("key".to_owned()),
            keep_when_empty: true,
        };
        let (old, new) = (share(999_999_999), share(1_000_000_000));
        assert_eq!(decode_share(&share_item(&old)).unwrap(), old);
        assert!(share_index_sk(&old) < share_index_sk(&new));
        assert_eq!(share_item(&old)["ttl"], n(999_999_999 + 60));
    }

    #[test]
    fn one_file_share_items_of_before_still_read() {
        let f = file(FileStatus::Ready);
        let token = ShareToken::generate();
        let mut item = share_key(&token);
        item.extend([
            ("token".to_owned(), s(token.as_str())),
            ("owner".to_owned(), s(f.owner.as_str())),
            ("file_id".to_owned(), s(f.id.to_string())),
            ("file_name".to_owned(), s(f.name.as_str())),
            ("created_at".to_owned(), n(1_000_000_000_000_000_000i128)),
            ("expires_at".to_owned(), n(1_000_000_060_000_000_000i128)),
            ("downloads".to_owned(), n(0)),
            ("revoked".to_owned(), AttributeValue::Bool(false)),
        ]);
        let share = decode_share(&item).unwrap();
        assert_eq!(share.file_ids, vec![f.id]);
        assert_eq!((share.total_size, share.access.clone()), (None, None));
        assert!(!share.keep_when_empty);
        let emptied = ShareRecord {
            file_ids: vec![],
            ..share
        };
        assert_eq!(
            decode_share(&share_item(&emptied)).unwrap().file_ids,
            vec![]
        );
    }

    #[test]
    fn damaged_items_are_reported_not_guessed() {
        let mut item = file_item(&file(FileStatus::Ready));
        item.insert("size".to_owned(), s("big"));
        assert!(matches!(decode_file(&item), Err(MetadataError::Backend(m)) if m.contains("size")));
    }
}
