//! The embedded store's index of `pending` files by upload expiry: the sweeper reads the stale
//! ones from its front, and the local stack walks it at start to settle uploads whose
//! object-created event was lost. Every write to it happens in the transaction that changes the
//! file.

use ferry_api::FileStatus;
use redb::{ReadableTable, TableDefinition};
use time::OffsetDateTime;

use super::file_codec::{decode_file, get_file};
use super::{FILES, LocalMetadataStore, adjust_usage};
use crate::domain::{FileRecord, UserId};
use crate::ports::MetadataError;

/// `{upload_expires_at, zero-padded nanoseconds}/{owner}/{file_id}` → () for every `pending` file.
pub(super) const PENDING_BY_EXPIRY: TableDefinition<&str, ()> =
    TableDefinition::new("pending_by_expiry");
/// Facts about the database itself, e.g. which one-time upgrades have run.
const SCHEMA: TableDefinition<&str, u64> = TableDefinition::new("schema");
/// The [`SCHEMA`] entry saying the pending index and the pending counts were built.
const PENDING_INDEX_BUILT: &str = "pending_index";

pub(super) fn key(file: &FileRecord) -> String {
    let nanos = file.upload_expires_at.unix_timestamp_nanos().max(0);
    format!("{nanos:020}/{}/{}", file.owner, file.id)
}

/// The first [`PENDING_BY_EXPIRY`] key of files expiring at or after `at`: the keys of files
/// expiring before `at` sort before it.
pub(super) fn bound(at: OffsetDateTime) -> String {
    format!("{:020}", at.unix_timestamp_nanos().max(0))
}

/// Builds the pending index and the pending counts of a database written before they existed.
pub(super) fn build_pending_index(txn: &redb::WriteTransaction) -> Result<(), MetadataError> {
    let mut schema = txn.open_table(SCHEMA)?;
    if schema.get(PENDING_INDEX_BUILT)?.is_some() {
        return Ok(());
    }
    let files = txn.open_table(FILES)?;
    let mut index = txn.open_table(PENDING_BY_EXPIRY)?;
    let mut pending_per_owner = std::collections::BTreeMap::<UserId, u64>::new();
    for entry in files.iter()? {
        let (_, value) = entry?;
        let file = decode_file(value.value())?;
        if file.status == FileStatus::Pending {
            index.insert(key(&file).as_str(), ())?;
            *pending_per_owner.entry(file.owner).or_default() += 1;
        }
    }
    drop((files, index));
    for (owner, count) in pending_per_owner {
        adjust_usage(txn, &owner, |u| u.pending_uploads = count)?;
    }
    schema.insert(PENDING_INDEX_BUILT, 1)?;
    Ok(())
}

/// A file leaves `pending`: out of the index and the owner's pending count.
pub(super) fn no_longer_pending(
    txn: &redb::WriteTransaction,
    file: &FileRecord,
) -> Result<(), MetadataError> {
    txn.open_table(PENDING_BY_EXPIRY)?
        .remove(key(file).as_str())?;
    adjust_usage(txn, &file.owner, |u| {
        u.pending_uploads = u.pending_uploads.saturating_sub(1);
    })
}

/// The pending file a [`PENDING_BY_EXPIRY`] key points to (`None` if it is gone or settled).
pub(super) fn indexed_file(
    files: &impl ReadableTable<&'static str, &'static [u8]>,
    index_key: &str,
) -> Result<Option<FileRecord>, MetadataError> {
    let Some(file_key) = index_key.split_once('/').map(|(_, rest)| rest) else {
        return Ok(None);
    };
    Ok(get_file(files, file_key)?.filter(|f| f.status == FileStatus::Pending))
}

impl LocalMetadataStore {
    /// Every `pending` file, oldest upload window first, up to `limit` at a time: pass the
    /// returned cursor back as `after` for the next page (`None` when there is no more). The
    /// local stack reconciles them with object storage at start.
    pub async fn pending_files(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<FileRecord>, Option<String>), MetadataError> {
        self.read(move |txn| {
            let index = txn.open_table(PENDING_BY_EXPIRY)?;
            let files = txn.open_table(FILES)?;
            let range = match &after {
                Some(after) => index.range(after.as_str()..)?,
                None => index.iter()?,
            };
            let mut page = Vec::new();
            let mut last = None;
            let mut seen = 0;
            // The range starts at the cursor itself, which the previous page ended with.
            let keys = range.filter(|entry| match (entry, &after) {
                (Ok((key, _)), Some(after)) => key.value() != after.as_str(),
                _ => true,
            });
            for entry in keys.take(limit) {
                let (key, _) = entry?;
                let key = key.value().to_owned();
                if let Some(file) = indexed_file(&files, &key)? {
                    page.push(file);
                }
                last = Some(key);
                seen += 1;
            }
            // A short page is the last one.
            Ok((page, last.filter(|_| seen == limit)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{encode, file_key};
    use super::*;
    use crate::domain::{ContentType, FileId, FileName};
    use crate::ports::{MetadataStore, Reservation};

    #[tokio::test]
    async fn a_database_from_before_the_index_gets_it_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.redb");
        let now = OffsetDateTime::now_utc();
        let owner = UserId::parse("owner-1").unwrap();
        let stale = FileRecord {
            owner: owner.clone(),
            id: FileId::new(),
            name: FileName::parse("old.bin").unwrap(),
            size: 3,
            content_type: ContentType::parse("application/octet-stream").unwrap(),
            status: FileStatus::Pending,
            created_at: now - Duration::from_secs(7200),
            upload_expires_at: now - Duration::from_secs(3600),
            sha256: None,
            thumbnail_key: None,
            multipart_upload_id: None,
            part_size: None,
            folder: None,
            encrypted: None,
            guest: None,
        };
        // Written the way earlier versions did: the file record only.
        {
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(FILES)
                .unwrap()
                .insert(
                    file_key(&owner, &stale.id).as_str(),
                    encode(&stale).unwrap().as_slice(),
                )
                .unwrap();
            txn.commit().unwrap();
        }

        let store = LocalMetadataStore::open(&path).unwrap();
        let found = store.stale_pending_files(now, 10).await.unwrap();
        assert_eq!(found, vec![stale.clone()]);
        // The old pending upload counts against the cap …
        let bounds = Reservation {
            quota: u64::MAX,
            max_pending: 1,
        };
        let mut next = stale.clone();
        next.id = FileId::new();
        assert!(matches!(
            store.reserve_pending_file(&next, bounds).await,
            Err(MetadataError::TooManyPending { max: 1 })
        ));
        // … until it is settled.
        store.mark_ready(&owner, &stale.id, None).await.unwrap();
        store.reserve_pending_file(&next, bounds).await.unwrap();
        // Opening again builds nothing twice.
        drop(store);
        let store = LocalMetadataStore::open(&path).unwrap();
        let pending = store.pending_files(None, 10).await.unwrap().0;
        assert_eq!(pending.iter().map(|f| f.id).collect::<Vec<_>>(), [next.id]);
    }

    #[tokio::test]
    async fn pending_files_come_a_page_at_a_time_in_expiry_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap();
        let now = OffsetDateTime::now_utc();
        let mut files = Vec::new();
        for minutes in [30, 10, 20] {
            let file = FileRecord {
                owner: UserId::parse("owner-1").unwrap(),
                id: FileId::new(),
                name: FileName::parse("a.bin").unwrap(),
                size: 1,
                content_type: ContentType::parse("application/octet-stream").unwrap(),
                status: FileStatus::Pending,
                created_at: now,
                upload_expires_at: now + Duration::from_secs(60 * minutes),
                sha256: None,
                thumbnail_key: None,
                multipart_upload_id: None,
                part_size: None,
                folder: None,
                encrypted: None,
                guest: None,
            };
            store.insert_pending_file(&file, u64::MAX).await.unwrap();
            files.push(file.id);
        }
        let (first, cursor) = store.pending_files(None, 2).await.unwrap();
        assert_eq!(
            first.iter().map(|f| f.id).collect::<Vec<_>>(),
            [files[1], files[2]]
        );
        let (rest, cursor) = store.pending_files(cursor, 2).await.unwrap();
        assert_eq!(rest.iter().map(|f| f.id).collect::<Vec<_>>(), [files[0]]);
        assert_eq!(cursor, None);
    }
}
