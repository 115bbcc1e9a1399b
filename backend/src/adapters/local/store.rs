//! The embedded metadata store of the local stack: one redb database file in the data directory.
//!
//! redb commits are durable and atomic (copy-on-write B-trees with a checksummed commit), so a
//! killed process loses nothing that was committed. Every trait method is one transaction, which
//! gives the same all-or-nothing and conditional-write behaviour as the DynamoDB adapter.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::FileStatus;
use redb::{Database, ReadableTable};
use time::OffsetDateTime;

use super::share_attempts;
use crate::domain::share::{AttemptPolicy, ShareState, state_at};
use crate::domain::{FileId, FileRecord, ShareRecord, ShareToken, UserId};
use crate::ports::{
    AttemptReservation, DownloadCount, FileListing, MetadataError, MetadataStore, Reservation,
    Transition, Usage,
};

mod bulk;
mod file_codec;
mod pending;
mod requests;
mod tables;
mod transfers;

use file_codec::{decode_file_of, encode_file, get_file};
use pending::{PENDING_BY_EXPIRY, build_pending_index, indexed_file, no_longer_pending};
use tables::{
    FILES, SHARES, StoredUsage, USAGE, USER_SHARES, adjust_usage, encode, file_key, get_json,
    owned_records, owner_range, release, transition,
};

/// redb's page cache. Its default (1 GiB) let the process grow by the whole database as records
/// were read; pages beyond this come from the operating system's file cache instead.
const CACHE_BYTES: usize = 16 << 20;
/// Records reserved up front for a page of the files list (the API asks for at most 100).
const MAX_LISTED: usize = 100;

/// The embedded [`MetadataStore`].
#[derive(Clone)]
pub struct LocalMetadataStore {
    db: Arc<Database>,
}

impl LocalMetadataStore {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(FILES)?;
            txn.open_table(SHARES)?;
            txn.open_table(USER_SHARES)?;
            txn.open_table(USAGE)?;
            txn.open_table(PENDING_BY_EXPIRY)?;
        }
        build_pending_index(&txn)?;
        share_attempts::create(&txn)?;
        requests::create(&txn)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `f` in one write transaction on a blocking thread; commits only when `f` succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T, MetadataError>
    where
        T: Send + 'static,
        F: FnOnce(&redb::WriteTransaction) -> Result<T, MetadataError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write()?;
            let value = f(&txn)?;
            txn.commit()?;
            Ok(value)
        })
        .await
        .map_err(|e| MetadataError::Backend(format!("store task: {e}")))?
    }

    /// Runs `f` in one read transaction, on the calling task: a read is short (a page of records
    /// at most, mostly from redb's cache) and never waits for a writer, and handing it to a
    /// blocking thread and back cost more than the read itself (`bench/api`).
    async fn read<T, F>(&self, f: F) -> Result<T, MetadataError>
    where
        T: Send + 'static,
        F: FnOnce(&redb::ReadTransaction) -> Result<T, MetadataError> + Send + 'static,
    {
        f(&self.db.begin_read()?)
    }
}

/// Stores a new file and reserves its bytes (and, while `pending`, one of the owner's
/// `max_pending` unfinished uploads) in the owner's usage, in the caller's transaction: the last
/// step of an owner's and of a guest's reservation alike.
fn insert_reserved(
    txn: &redb::WriteTransaction,
    file: &FileRecord,
    quota: u64,
    max_pending: u64,
) -> Result<(), MetadataError> {
    let mut files = txn.open_table(FILES)?;
    let key = file_key(&file.owner, &file.id);
    if files.get(key.as_str())?.is_some() {
        return Err(MetadataError::AlreadyExists);
    }
    let usage_table = txn.open_table(USAGE)?;
    let usage: StoredUsage = get_json(&usage_table, file.owner.as_str())?.unwrap_or_default();
    drop(usage_table);
    if usage.bytes_used.saturating_add(file.size) > quota {
        return Err(MetadataError::QuotaExceeded {
            used: usage.bytes_used,
            quota,
        });
    }
    let pending = file.status == FileStatus::Pending;
    if pending && usage.pending_uploads >= max_pending {
        return Err(MetadataError::TooManyPending { max: max_pending });
    }
    files.insert(key.as_str(), encode_file(file)?.as_slice())?;
    if pending {
        txn.open_table(PENDING_BY_EXPIRY)?
            .insert(pending::key(file).as_str(), ())?;
    }
    adjust_usage(txn, &file.owner, |u| {
        u.bytes_used += file.size;
        u.file_count += 1;
        u.pending_uploads += u64::from(pending);
    })
}

#[async_trait]
impl MetadataStore for LocalMetadataStore {
    async fn reserve_pending_file(
        &self,
        file: &FileRecord,
        bounds: Reservation,
    ) -> Result<(), MetadataError> {
        let file = file.clone();
        let Reservation { quota, max_pending } = bounds;
        self.write(move |txn| insert_reserved(txn, &file, quota, max_pending))
            .await
    }

    async fn file(&self, owner: &UserId, id: &FileId) -> Result<Option<FileRecord>, MetadataError> {
        let key = file_key(owner, id);
        self.read(move |txn| get_file(&txn.open_table(FILES)?, &key))
            .await
    }

    async fn list_files(
        &self,
        owner: &UserId,
        limit: usize,
        after: Option<&FileId>,
    ) -> Result<FileListing, MetadataError> {
        let (start, end) = owner_range(owner);
        // Newest first: walk backwards from just before `after` (or the end of the range).
        let end = after.map_or(end, |id| file_key(owner, id));
        let owner = owner.clone();
        self.read(move |txn| {
            let files = txn.open_table(FILES)?;
            let mut items = Vec::with_capacity(limit.min(MAX_LISTED));
            let mut more = false;
            for entry in files.range(start.as_str()..end.as_str())?.rev() {
                let (_, value) = entry?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(decode_file_of(value.value(), &owner)?);
            }
            let last = if more {
                items.last().map(|f| f.id)
            } else {
                None
            };
            Ok(FileListing { items, last })
        })
        .await
    }

    async fn mark_ready(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: Option<&str>,
    ) -> Result<Transition, MetadataError> {
        let (owner, id, sha256) = (owner.clone(), *id, sha256.map(str::to_owned));
        self.write(move |txn| {
            let (outcome, file) = transition(
                txn,
                &owner,
                &id,
                |f| f.status == FileStatus::Pending,
                |f| {
                    f.status = FileStatus::Ready;
                    if sha256.is_some() {
                        f.sha256 = sha256;
                    }
                },
            )?;
            if let (Transition::Applied, Some(file)) = (outcome, file) {
                no_longer_pending(txn, &file)?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn set_sha256(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: &str,
    ) -> Result<Transition, MetadataError> {
        let (owner, id, sha256) = (owner.clone(), *id, sha256.to_owned());
        self.write(move |txn| {
            let (outcome, _) = transition(
                txn,
                &owner,
                &id,
                |f| f.sha256.as_deref() != Some(sha256.as_str()),
                |f| f.sha256 = Some(sha256.clone()),
            )?;
            Ok(outcome)
        })
        .await
    }

    async fn mark_failed(&self, owner: &UserId, id: &FileId) -> Result<Transition, MetadataError> {
        let (owner, id) = (owner.clone(), *id);
        self.write(move |txn| {
            let (outcome, file) = transition(
                txn,
                &owner,
                &id,
                |f| f.status == FileStatus::Pending,
                |f| f.status = FileStatus::Failed,
            )?;
            if let (Transition::Applied, Some(file)) = (outcome, file) {
                adjust_usage(txn, &owner, |u| release(u, &file))?;
                no_longer_pending(txn, &file)?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn set_thumbnail(
        &self,
        owner: &UserId,
        id: &FileId,
        thumbnail_key: &str,
    ) -> Result<Transition, MetadataError> {
        let (owner, id, key) = (owner.clone(), *id, thumbnail_key.to_owned());
        self.write(move |txn| {
            let (outcome, _) = transition(
                txn,
                &owner,
                &id,
                |f| f.thumbnail_key.as_deref() != Some(key.as_str()),
                |f| f.thumbnail_key = Some(key.clone()),
            )?;
            Ok(outcome)
        })
        .await
    }

    async fn delete_file(
        &self,
        owner: &UserId,
        id: &FileId,
    ) -> Result<Option<FileRecord>, MetadataError> {
        Ok(self.delete_files(owner, &[*id]).await?.into_iter().next())
    }

    async fn delete_files(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError> {
        let (owner, ids) = (owner.clone(), ids.to_vec());
        self.write(move |txn| transfers::delete_files(txn, &owner, &ids))
            .await
    }

    async fn files_by_ids(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError> {
        let (owner, ids) = (owner.clone(), ids.to_vec());
        self.read(move |txn| transfers::files_by_ids(txn, &owner, &ids))
            .await
    }

    async fn usage(&self, owner: &UserId) -> Result<Usage, MetadataError> {
        let owner = owner.clone();
        self.read(move |txn| {
            let usage: StoredUsage =
                get_json(&txn.open_table(USAGE)?, owner.as_str())?.unwrap_or_default();
            Ok(Usage {
                bytes_used: usage.bytes_used,
                file_count: usage.file_count,
            })
        })
        .await
    }

    async fn stale_pending_files(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<FileRecord>, MetadataError> {
        // Index keys of files expiring before `before` sort before its bound: the stale ones
        // are a prefix of the index, read without touching any other file.
        let bound = pending::bound(before);
        self.read(move |txn| {
            let index = txn.open_table(PENDING_BY_EXPIRY)?;
            let files = txn.open_table(FILES)?;
            let mut stale = Vec::new();
            for entry in index.range(..bound.as_str())?.take(limit) {
                let (key, _) = entry?;
                if let Some(file) = indexed_file(&files, key.value())? {
                    stale.push(file);
                }
            }
            Ok(stale)
        })
        .await
    }

    async fn insert_share(&self, share: &ShareRecord) -> Result<(), MetadataError> {
        let share = share.clone();
        self.write(move |txn| {
            let mut shares = txn.open_table(SHARES)?;
            if shares.get(share.token.as_str())?.is_some() {
                return Err(MetadataError::AlreadyExists);
            }
            shares.insert(share.token.as_str(), encode(&share)?.as_slice())?;
            let mut user_shares = txn.open_table(USER_SHARES)?;
            user_shares.insert(format!("{}/{}", share.owner, share.token).as_str(), ())?;
            Ok(())
        })
        .await
    }

    async fn share(&self, token: &ShareToken) -> Result<Option<ShareRecord>, MetadataError> {
        let token = token.clone();
        self.read(move |txn| get_json(&txn.open_table(SHARES)?, token.as_str()))
            .await
    }

    async fn list_shares(&self, owner: &UserId) -> Result<Vec<ShareRecord>, MetadataError> {
        let owner = owner.clone();
        self.read(move |txn| {
            owned_records(txn, USER_SHARES, SHARES, &owner, |s: &ShareRecord| {
                s.created_at
            })
        })
        .await
    }

    async fn revoke_share(
        &self,
        owner: &UserId,
        token: &ShareToken,
    ) -> Result<Transition, MetadataError> {
        let (owner, token) = (owner.clone(), token.clone());
        self.write(move |txn| {
            let mut shares = txn.open_table(SHARES)?;
            let Some(mut share) = get_json::<ShareRecord>(&shares, token.as_str())? else {
                return Ok(Transition::Missing);
            };
            if share.owner != owner {
                return Ok(Transition::Missing);
            }
            if share.revoked {
                return Ok(Transition::Unchanged);
            }
            share.revoked = true;
            shares.insert(token.as_str(), encode(&share)?.as_slice())?;
            Ok(Transition::Applied)
        })
        .await
    }

    async fn count_download(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
    ) -> Result<DownloadCount, MetadataError> {
        let token = token.clone();
        // redb serialises write transactions, so check-and-increment is atomic.
        self.write(move |txn| {
            let mut shares = txn.open_table(SHARES)?;
            let Some(mut share) = get_json::<ShareRecord>(&shares, token.as_str())? else {
                return Ok(DownloadCount::NotFound);
            };
            match state_at(&share, now) {
                ShareState::Expired => return Ok(DownloadCount::Expired),
                ShareState::Revoked => return Ok(DownloadCount::Revoked),
                ShareState::Exhausted => return Ok(DownloadCount::Exhausted),
                ShareState::Live => {}
            }
            share.downloads += 1;
            shares.insert(token.as_str(), encode(&share)?.as_slice())?;
            Ok(DownloadCount::Counted(Box::new(share)))
        })
        .await
    }

    async fn reserve_password_attempt(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
        policy: AttemptPolicy,
    ) -> Result<AttemptReservation, MetadataError> {
        let token = token.clone();
        self.write(move |txn| {
            if txn.open_table(SHARES)?.get(token.as_str())?.is_none() {
                return Ok(AttemptReservation::NotFound);
            }
            share_attempts::reserve(txn, &token, now, policy)
        })
        .await
    }

    async fn refund_password_attempt(
        &self,
        token: &ShareToken,
        window: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        let token = token.clone();
        self.write(move |txn| share_attempts::refund(txn, &token, window))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ranges_do_not_overlap_for_prefix_owners() {
        let (start, end) = owner_range(&UserId::parse("ab").unwrap());
        let other = file_key(&UserId::parse("ab-c").unwrap(), &FileId::new());
        let mine = file_key(&UserId::parse("ab").unwrap(), &FileId::new());
        assert!(!(start.as_str()..end.as_str()).contains(&other.as_str()));
        assert!((start.as_str()..end.as_str()).contains(&mine.as_str()));
    }
}
