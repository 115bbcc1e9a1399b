//! File requests in the embedded store: `requests` (`{token}` → record), `user_requests`
//! (`{owner}/{token}`) and `guests` (`{token}/{guest id}` → record). A guest's upload is one
//! write transaction over the request, the usage, the file and the guest, so redb's serialised
//! writers make the reservation atomic.

use async_trait::async_trait;
use ferry_api::FileStatus;
use redb::{ReadableTable, TableDefinition};
use time::OffsetDateTime;

use super::LocalMetadataStore;
use super::file_codec::encode_file;
use super::pending;
use super::tables::{
    FILES, StoredUsage, USAGE, adjust_usage, encode, file_key, get_json, owner_range, transition,
};
use crate::domain::requests::{GuestId, GuestMark, GuestRecord, RequestRecord, RequestToken};
use crate::domain::{FileId, FileRecord, UserId};
use crate::ports::{MetadataError, RequestRefusal, RequestStore, Transition};

pub(super) const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("requests");
pub(super) const USER_REQUESTS: TableDefinition<&str, ()> = TableDefinition::new("user_requests");
pub(super) const GUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("guests");

/// Creates the tables, so read transactions find them.
pub(super) fn create(txn: &redb::WriteTransaction) -> Result<(), MetadataError> {
    txn.open_table(REQUESTS)?;
    txn.open_table(USER_REQUESTS)?;
    txn.open_table(GUESTS)?;
    Ok(())
}

fn guest_key(token: &RequestToken, guest: &GuestId) -> String {
    format!("{token}/{}", guest.as_str())
}

/// The owner's request, or `None` for unknown tokens and others' requests alike.
fn owned(
    txn: &redb::WriteTransaction,
    owner: &UserId,
    token: &RequestToken,
) -> Result<Option<RequestRecord>, MetadataError> {
    let request: Option<RequestRecord> = get_json(&txn.open_table(REQUESTS)?, token.as_str())?;
    Ok(request.filter(|r| r.owner == *owner))
}

fn put_request(txn: &redb::WriteTransaction, request: &RequestRecord) -> Result<(), MetadataError> {
    txn.open_table(REQUESTS)?
        .insert(request.token.as_str(), encode(request)?.as_slice())?;
    Ok(())
}

#[async_trait]
impl RequestStore for LocalMetadataStore {
    async fn insert_request(&self, request: &RequestRecord) -> Result<(), MetadataError> {
        let request = request.clone();
        self.write(move |txn| {
            if txn
                .open_table(REQUESTS)?
                .get(request.token.as_str())?
                .is_some()
            {
                return Err(MetadataError::AlreadyExists);
            }
            put_request(txn, &request)?;
            txn.open_table(USER_REQUESTS)?
                .insert(format!("{}/{}", request.owner, request.token).as_str(), ())?;
            Ok(())
        })
        .await
    }

    async fn request(&self, token: &RequestToken) -> Result<Option<RequestRecord>, MetadataError> {
        let token = token.clone();
        self.read(move |txn| get_json(&txn.open_table(REQUESTS)?, token.as_str()))
            .await
    }

    async fn list_requests(&self, owner: &UserId) -> Result<Vec<RequestRecord>, MetadataError> {
        let owner = owner.clone();
        self.read(move |txn| {
            let requests = txn.open_table(REQUESTS)?;
            let index = txn.open_table(USER_REQUESTS)?;
            let (start, end) = owner_range(&owner);
            let mut items = Vec::new();
            for entry in index.range(start.as_str()..end.as_str())? {
                let (key, _) = entry?;
                let token = key
                    .value()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(request) = get_json::<RequestRecord>(&requests, &token)? {
                    items.push(request);
                }
            }
            items.sort_by_key(|r: &RequestRecord| std::cmp::Reverse(r.created_at));
            Ok(items)
        })
        .await
    }

    async fn set_request_closed(
        &self,
        owner: &UserId,
        token: &RequestToken,
        closed: bool,
    ) -> Result<Transition, MetadataError> {
        let (owner, token) = (owner.clone(), token.clone());
        self.write(move |txn| {
            let Some(mut request) = owned(txn, &owner, &token)? else {
                return Ok(Transition::Missing);
            };
            if request.closed == closed {
                return Ok(Transition::Unchanged);
            }
            request.closed = closed;
            put_request(txn, &request)?;
            Ok(Transition::Applied)
        })
        .await
    }

    async fn delete_request(
        &self,
        owner: &UserId,
        token: &RequestToken,
    ) -> Result<Transition, MetadataError> {
        let (owner, token) = (owner.clone(), token.clone());
        self.write(move |txn| {
            if owned(txn, &owner, &token)?.is_none() {
                return Ok(Transition::Missing);
            }
            txn.open_table(REQUESTS)?.remove(token.as_str())?;
            txn.open_table(USER_REQUESTS)?
                .remove(format!("{owner}/{token}").as_str())?;
            let mut guests = txn.open_table(GUESTS)?;
            let (start, end) = (format!("{token}/"), format!("{token}0"));
            guests.retain_in(start.as_str()..end.as_str(), |_, _| false)?;
            Ok(Transition::Applied)
        })
        .await
    }

    async fn insert_guest(&self, guest: &GuestRecord) -> Result<(), MetadataError> {
        let guest = guest.clone();
        self.write(move |txn| {
            let mut guests = txn.open_table(GUESTS)?;
            let key = guest_key(&guest.token, &guest.guest);
            if guests.get(key.as_str())?.is_some() {
                return Err(MetadataError::AlreadyExists);
            }
            guests.insert(key.as_str(), encode(&guest)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn guest(
        &self,
        token: &RequestToken,
        guest: &GuestId,
    ) -> Result<Option<GuestRecord>, MetadataError> {
        let key = guest_key(token, guest);
        self.read(move |txn| get_json(&txn.open_table(GUESTS)?, &key))
            .await
    }

    async fn set_guest_note(
        &self,
        owner: &UserId,
        files: &[FileId],
        mark: &GuestMark,
    ) -> Result<Transition, MetadataError> {
        let (owner, files, mark) = (owner.clone(), files.to_vec(), mark.clone());
        self.write(move |txn| {
            let mut guests = txn.open_table(GUESTS)?;
            let key = guest_key(&mark.request, &mark.guest);
            let Some(mut guest) = get_json::<GuestRecord>(&guests, &key)? else {
                return Ok(Transition::Missing);
            };
            guest.name.clone_from(&mark.name);
            guest.note.clone_from(&mark.note);
            guests.insert(key.as_str(), encode(&guest)?.as_slice())?;
            drop(guests);
            for id in &files {
                transition(
                    txn,
                    &owner,
                    id,
                    |f| f.guest.as_ref().is_some_and(|g| g.guest == mark.guest),
                    |f| f.guest = Some(mark.clone()),
                )?;
            }
            Ok(Transition::Applied)
        })
        .await
    }

    async fn reserve_request_file(
        &self,
        file: &FileRecord,
        quota: u64,
        now: OffsetDateTime,
    ) -> Result<(), RequestRefusal> {
        let file = file.clone();
        let Some(mark) = file.guest.clone() else {
            return Err(RequestRefusal::UnknownGuest);
        };
        let db = std::sync::Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(MetadataError::from)?;
            let mut request: RequestRecord = get_json(
                &txn.open_table(REQUESTS).map_err(MetadataError::from)?,
                mark.request.as_str(),
            )?
            .ok_or(RequestRefusal::NotFound)?;
            if request.owner != file.owner {
                return Err(RequestRefusal::NotFound);
            }
            if let Some(refusal) = RequestRefusal::of(&request, file.size, now) {
                return Err(refusal);
            }
            let mut guests = txn.open_table(GUESTS).map_err(MetadataError::from)?;
            let gkey = guest_key(&mark.request, &mark.guest);
            let mut guest: GuestRecord =
                get_json(&guests, &gkey)?.ok_or(RequestRefusal::UnknownGuest)?;
            let usage: StoredUsage = get_json(
                &txn.open_table(USAGE).map_err(MetadataError::from)?,
                file.owner.as_str(),
            )?
            .unwrap_or_default();
            if usage.bytes_used.saturating_add(file.size) > quota {
                return Err(RequestRefusal::QuotaExceeded {
                    used: usage.bytes_used,
                    quota,
                });
            }
            let mut files = txn.open_table(FILES).map_err(MetadataError::from)?;
            let key = file_key(&file.owner, &file.id);
            if files
                .get(key.as_str())
                .map_err(MetadataError::from)?
                .is_some()
            {
                return Err(MetadataError::AlreadyExists.into());
            }
            files
                .insert(key.as_str(), encode_file(&file)?.as_slice())
                .map_err(MetadataError::from)?;
            drop(files);
            let pending = file.status == FileStatus::Pending;
            if pending {
                txn.open_table(pending::PENDING_BY_EXPIRY)
                    .map_err(MetadataError::from)?
                    .insert(pending::key(&file).as_str(), ())
                    .map_err(MetadataError::from)?;
            }
            adjust_usage(&txn, &file.owner, |u| {
                u.bytes_used += file.size;
                u.file_count += 1;
                u.pending_uploads += u64::from(pending);
            })?;
            request.files_left -= 1;
            request.bytes_left -= file.size;
            put_request(&txn, &request)?;
            guest.file_ids.push(file.id);
            guests
                .insert(gkey.as_str(), encode(&guest)?.as_slice())
                .map_err(MetadataError::from)?;
            drop(guests);
            txn.commit().map_err(MetadataError::from)?;
            Ok(())
        })
        .await
        .map_err(|e| MetadataError::Backend(format!("store task: {e}")))?
    }

    async fn release_request_files(
        &self,
        token: &RequestToken,
        files: u32,
        bytes: u64,
    ) -> Result<(), MetadataError> {
        let token = token.clone();
        self.write(move |txn| {
            let Some(mut request) =
                get_json::<RequestRecord>(&txn.open_table(REQUESTS)?, token.as_str())?
            else {
                return Ok(());
            };
            request.files_left = request
                .files_left
                .saturating_add(files)
                .min(request.max_files);
            request.bytes_left = request
                .bytes_left
                .saturating_add(bytes)
                .min(request.max_bytes);
            put_request(txn, &request)
        })
        .await
    }
}
