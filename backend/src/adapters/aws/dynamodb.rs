//! [`MetadataStore`] on DynamoDB: one table, DESIGN.md §4. Every state change is a conditional
//! write; file records and the owner's usage change together in one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, ReturnValue, ScalarAttributeType, StreamSpecification, StreamViewType,
    TableStatus, TimeToLiveSpecification, TransactWriteItem, Update,
};
use ferry_api::FileStatus;
use time::OffsetDateTime;

use super::items::{
    self, FILE_PREFIX, Item, PK, SHARE_INDEX_PREFIX, SK, decode_file, decode_share, file_key, n,
    nanos, req_str, s, share_key, status_value, usage_key, user_pk,
};
use crate::domain::share::{AttemptPolicy, ShareState, state_at};
use crate::domain::{FileId, FileRecord, ShareRecord, ShareToken, UserId};
use crate::ports::{
    AttemptReservation, Clock, DownloadCount, FileListing, MetadataError, MetadataStore,
    Reservation, SystemClock, Transition, Usage,
};

mod password_attempts;

/// Items in one `TransactWriteItems` call (DynamoDB's limit).
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Keys in one `BatchGetItem` call.
const MAX_BATCH_GET: usize = 100;
/// How often a transaction is retried when DynamoDB reports a conflicting transaction.
const CONFLICT_RETRIES: u32 = 8;
/// How long the marker that an expired upload's bytes were released is kept.
const RELEASE_MARKER_TTL: Duration = Duration::from_secs(7 * 86_400);
/// Scan pages (up to 1 MB each) one [`MetadataStore::stale_pending_files`] call reads at most.
const MAX_STALE_SCAN_PAGES: usize = 16;

/// File, share and usage records in one DynamoDB table.
#[derive(Clone)]
pub struct DynamoMetadataStore {
    client: Client,
    table: String,
    /// When release markers expire.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DynamoMetadataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoMetadataStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn backend<E, R>(what: &str, err: &SdkError<E, R>) -> MetadataError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    MetadataError::Backend(format!("DynamoDB {what}: {}", DisplayErrorContext(err)))
}

fn build_error(err: impl std::fmt::Display) -> MetadataError {
    MetadataError::Backend(format!("DynamoDB request: {err}"))
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn values(pairs: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Why a transaction did not apply.
enum TxError {
    /// DynamoDB's reason code per item, in request order (`None` for items that were fine).
    Cancelled(Vec<Option<String>>),
    Failed(MetadataError),
}

impl TxError {
    /// Whether the condition of the item at `index` is what failed.
    fn condition_failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled(reasons)
            if reasons.get(index).and_then(Option::as_deref) == Some("ConditionalCheckFailed"))
    }

    fn into_error(self, what: &str) -> MetadataError {
        match self {
            Self::Failed(err) => err,
            Self::Cancelled(reasons) => MetadataError::Backend(format!(
                "DynamoDB {what}: transaction cancelled ({reasons:?})"
            )),
        }
    }
}

impl DynamoMetadataStore {
    /// The client should be built once at start and reused.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Reads the time from `clock` instead of the system.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, MetadataError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key: Item) -> Result<TransactWriteItem, MetadataError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Adds `bytes`, `files` and `pending` uploads (any may be negative) to the owner's usage
    /// item, if `condition` (an expression and its values) holds.
    fn usage_change(
        &self,
        owner: &UserId,
        bytes: i128,
        files: i64,
        pending: i64,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<TransactWriteItem, MetadataError> {
        let mut vals = values(vec![
            (":zero", n(0)),
            (":bytes", n(bytes)),
            (":files", n(files)),
            (":pending", n(pending)),
        ]);
        let mut builder = Update::builder()
            .table_name(&self.table)
            .set_key(Some(usage_key(owner)))
            .update_expression(
                "SET bytes_used = if_not_exists(bytes_used, :zero) + :bytes, \
                 file_count = if_not_exists(file_count, :zero) + :files, \
                 pending_uploads = if_not_exists(pending_uploads, :zero) + :pending",
            );
        if let Some((expression, condition_values)) = condition {
            vals.extend(values(condition_values));
            builder = builder.condition_expression(expression);
        }
        let update = builder
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs a transaction, retrying while another transaction holds one of its items.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                    .collect::<Vec<_>>(),
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    vec![Some("TransactionConflict".to_owned())]
                }
                _ => return Err(TxError::Failed(backend("TransactWriteItems", &err))),
            };
            let conflict = reasons.iter().flatten().any(|c| c == "TransactionConflict");
            if conflict && attempt < CONFLICT_RETRIES {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
                continue;
            }
            return Err(TxError::Cancelled(reasons));
        }
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, MetadataError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", &e))?;
        Ok(out.item)
    }

    /// Runs a conditional update of a file; when the condition fails, tells a missing file from
    /// one in another state.
    async fn update_file(
        &self,
        owner: &UserId,
        id: &FileId,
        update: &str,
        condition: &str,
        attr_names: &[(&str, &str)],
        vals: Vec<(&str, AttributeValue)>,
    ) -> Result<Transition, MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(file_key(owner, id)))
            .update_expression(update)
            .condition_expression(format!("attribute_exists(PK) AND ({condition})"))
            .set_expression_attribute_names((!attr_names.is_empty()).then(|| names(attr_names)))
            .set_expression_attribute_values(Some(values(vals)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transition::Applied),
            Err(err) if is_condition_failure(&err) => self.missing_or_unchanged(owner, id).await,
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }

    async fn missing_or_unchanged(
        &self,
        owner: &UserId,
        id: &FileId,
    ) -> Result<Transition, MetadataError> {
        Ok(match self.get(file_key(owner, id)).await? {
            Some(_) => Transition::Unchanged,
            None => Transition::Missing,
        })
    }

    /// The owner's share index items (`SK`, token, file id), newest first.
    async fn share_index(
        &self,
        owner: &UserId,
    ) -> Result<Vec<(String, String, String)>, MetadataError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .set_expression_attribute_values(Some(values(vec![
                    (":pk", s(user_pk(owner))),
                    (":prefix", s(SHARE_INDEX_PREFIX)),
                ])))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", &e))?;
            for item in out.items() {
                found.push((
                    req_str(item, SK)?.to_owned(),
                    req_str(item, "token")?.to_owned(),
                    req_str(item, "file_id")?.to_owned(),
                ));
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// Share items by token, in no particular order; tokens without an item are skipped.
    async fn shares_by_token(&self, tokens: &[String]) -> Result<Vec<ShareRecord>, MetadataError> {
        let mut shares = Vec::with_capacity(tokens.len());
        for chunk in tokens.chunks(MAX_BATCH_GET) {
            let keys = chunk
                .iter()
                .map(|t| items::key(format!("SHARE#{t}"), items::SHARE_SK.to_owned()))
                .collect::<Vec<_>>();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            let mut attempt = 0u32;
            while let Some(keys) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| backend("BatchGetItem", &e))?;
                if let Some(found) = out.responses.as_ref().and_then(|r| r.get(&self.table)) {
                    for item in found {
                        shares.push(decode_share(item)?);
                    }
                }
                request = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table));
                if request.is_some() {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                }
            }
        }
        Ok(shares)
    }

    /// Gives back the bytes of an upload that DynamoDB's TTL removed while it was still
    /// `pending` (seen on the table's stream). Idempotent: a marker item makes a redelivered
    /// stream record release nothing. Returns whether this call released the bytes.
    pub async fn release_expired_upload(&self, file: &FileRecord) -> Result<bool, MetadataError> {
        if !file.holds_quota() {
            return Ok(false);
        }
        let expires = self.clock.now() + RELEASE_MARKER_TTL;
        let mut marker = items::key(user_pk(&file.owner), items::released_sk(&file.id));
        marker.insert("ttl".to_owned(), items::epoch_seconds(expires));
        let writes = vec![
            self.put(marker, Some("attribute_not_exists(PK)"))?,
            self.usage_change(
                &file.owner,
                -i128::from(file.size),
                -1,
                pending_delta(file),
                None,
            )?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(e) if e.condition_failed(0) => Ok(false),
            Err(e) => Err(e.into_error("release expired upload")),
        }
    }
}

#[async_trait]
impl MetadataStore for DynamoMetadataStore {
    async fn reserve_pending_file(
        &self,
        file: &FileRecord,
        bounds: Reservation,
    ) -> Result<(), MetadataError> {
        let Reservation { quota, max_pending } = bounds;
        // Which bound refused: the counts are read again after the transaction said no.
        let refused = async || {
            let used = self.usage(&file.owner).await?.bytes_used;
            if used.saturating_add(file.size) <= quota {
                return Err(MetadataError::TooManyPending { max: max_pending });
            }
            Err(MetadataError::QuotaExceeded { used, quota })
        };
        let Some(max_before) = quota.checked_sub(file.size) else {
            return refused().await;
        };
        let pending = -pending_delta(file);
        let within_quota = "attribute_not_exists(bytes_used) OR bytes_used <= :max";
        let condition = if pending > 0 {
            (
                "(attribute_not_exists(bytes_used) OR bytes_used <= :max) AND \
                 (attribute_not_exists(pending_uploads) OR pending_uploads < :max_pending)",
                vec![(":max", n(max_before)), (":max_pending", n(max_pending))],
            )
        } else {
            (within_quota, vec![(":max", n(max_before))])
        };
        let writes = vec![
            self.put(items::file_item(file), Some("attribute_not_exists(PK)"))?,
            self.usage_change(
                &file.owner,
                i128::from(file.size),
                1,
                pending,
                Some(condition),
            )?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists),
            Err(e) if e.condition_failed(1) => refused().await,
            Err(e) => Err(e.into_error("insert pending file")),
        }
    }

    async fn file(&self, owner: &UserId, id: &FileId) -> Result<Option<FileRecord>, MetadataError> {
        self.get(file_key(owner, id))
            .await?
            .as_ref()
            .map(decode_file)
            .transpose()
    }

    async fn list_files(
        &self,
        owner: &UserId,
        limit: usize,
        after: Option<&FileId>,
    ) -> Result<FileListing, MetadataError> {
        if limit == 0 {
            return Ok(FileListing::default());
        }
        // One more than asked, to know whether another page follows.
        let want = limit + 1;
        let mut start = after.map(|id| file_key(owner, id));
        let mut found = Vec::with_capacity(want);
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .set_expression_attribute_values(Some(values(vec![
                    (":pk", s(user_pk(owner))),
                    (":prefix", s(FILE_PREFIX)),
                ])))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(want - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", &e))?;
            for item in out.items() {
                found.push(decode_file(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < want => start = Some(key),
                _ => break,
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let last = if more {
            found.last().map(|f| f.id)
        } else {
            None
        };
        Ok(FileListing { items: found, last })
    }

    async fn mark_ready(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: Option<&str>,
    ) -> Result<Transition, MetadataError> {
        let mut vals = vec![
            (":ready", status_value(FileStatus::Ready)),
            (":pending", status_value(FileStatus::Pending)),
        ];
        let expression = match sha256 {
            Some(sha) => {
                vals.push((":sha", s(sha)));
                "SET #status = :ready, sha256 = :sha REMOVE #ttl"
            }
            None => "SET #status = :ready REMOVE #ttl",
        };
        // The file leaves `pending` and the owner's pending count with it, in one transaction.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(file_key(owner, id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(PK) AND #status = :pending")
            .set_expression_attribute_names(Some(names(&[("#status", "status"), ("#ttl", "ttl")])))
            .set_expression_attribute_values(Some(values(vals)))
            .build()
            .map_err(build_error)?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            self.usage_change(owner, 0, 0, -1, None)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(Transition::Applied),
            Err(e) if e.condition_failed(0) => self.missing_or_unchanged(owner, id).await,
            Err(e) => Err(e.into_error("mark ready")),
        }
    }

    async fn set_sha256(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: &str,
    ) -> Result<Transition, MetadataError> {
        self.update_file(
            owner,
            id,
            "SET sha256 = :sha",
            "attribute_not_exists(sha256) OR sha256 <> :sha",
            &[],
            vec![(":sha", s(sha256))],
        )
        .await
    }

    async fn mark_failed(&self, owner: &UserId, id: &FileId) -> Result<Transition, MetadataError> {
        // The size is needed to release it; the condition below makes sure the record read is
        // the one changed. `ttl` stays, so DynamoDB removes failed records in due course.
        let Some(file) = self.file(owner, id).await? else {
            return Ok(Transition::Missing);
        };
        if file.status != FileStatus::Pending {
            return Ok(Transition::Unchanged);
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(file_key(owner, id)))
            .update_expression("SET #status = :failed")
            .condition_expression("#status = :pending AND #size = :size")
            .set_expression_attribute_names(Some(names(&[
                ("#status", "status"),
                ("#size", "size"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":failed", status_value(FileStatus::Failed)),
                (":pending", status_value(FileStatus::Pending)),
                (":size", n(file.size)),
            ])))
            .build()
            .map_err(build_error)?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            self.usage_change(owner, -i128::from(file.size), -1, -1, None)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(Transition::Applied),
            Err(e) if e.condition_failed(0) => self.missing_or_unchanged(owner, id).await,
            Err(e) => Err(e.into_error("mark failed")),
        }
    }

    async fn set_thumbnail(
        &self,
        owner: &UserId,
        id: &FileId,
        thumbnail_key: &str,
    ) -> Result<Transition, MetadataError> {
        self.update_file(
            owner,
            id,
            "SET thumbnail_key = :key",
            "attribute_not_exists(thumbnail_key) OR thumbnail_key <> :key",
            &[],
            vec![(":key", s(thumbnail_key))],
        )
        .await
    }

    async fn delete_file(
        &self,
        owner: &UserId,
        id: &FileId,
    ) -> Result<Option<FileRecord>, MetadataError> {
        let mut attempt = 0;
        loop {
            let Some(file) = self.file(owner, id).await? else {
                return Ok(None);
            };
            let wanted = id.to_string();
            let shares: Vec<_> = self
                .share_index(owner)
                .await?
                .into_iter()
                .filter(|(_, _, file_id)| *file_id == wanted)
                .collect();
            let mut share_writes = Vec::with_capacity(shares.len() * 2);
            for (index_sk, token, _) in &shares {
                share_writes.push(self.delete(items::key(
                    format!("SHARE#{token}"),
                    items::SHARE_SK.to_owned(),
                ))?);
                share_writes.push(self.delete(items::key(user_pk(owner), index_sk.clone()))?);
            }
            // The record and its usage go together; shares that do not fit in the same
            // transaction are removed first (a link dying early is harmless, a lost usage
            // update is not).
            let room = MAX_TRANSACTION_ITEMS - 2;
            while share_writes.len() > room {
                // Even-sized batches keep each share with its index item.
                let rest = share_writes.split_off(MAX_TRANSACTION_ITEMS.min(share_writes.len()));
                let batch = std::mem::replace(&mut share_writes, rest);
                self.transact(batch)
                    .await
                    .map_err(|e| e.into_error("delete shares"))?;
            }
            let file_delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(file_key(owner, id)))
                .condition_expression("#status = :status")
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![(
                    ":status",
                    status_value(file.status),
                )])))
                .build()
                .map_err(build_error)?;
            let mut writes = vec![TransactWriteItem::builder().delete(file_delete).build()];
            if file.holds_quota() {
                writes.push(self.usage_change(
                    owner,
                    -i128::from(file.size),
                    -1,
                    pending_delta(&file),
                    None,
                )?);
            }
            writes.extend(share_writes);
            match self.transact(writes).await {
                Ok(()) => return Ok(Some(file)),
                // Changed (or removed) since it was read: read again.
                Err(e) if e.condition_failed(0) && attempt < 3 => attempt += 1,
                Err(e) => return Err(e.into_error("delete file")),
            }
        }
    }

    async fn usage(&self, owner: &UserId) -> Result<Usage, MetadataError> {
        let Some(item) = self.get(usage_key(owner)).await? else {
            return Ok(Usage::default());
        };
        // Stored as signed numbers so a release can never make an update fail.
        let clamp = |v: i128| u64::try_from(v.max(0)).unwrap_or(u64::MAX);
        Ok(Usage {
            bytes_used: clamp(items::opt_num(&item, "bytes_used")?.unwrap_or(0)),
            file_count: clamp(items::opt_num(&item, "file_count")?.unwrap_or(0)),
        })
    }

    /// A filtered Scan of at most [`MAX_STALE_SCAN_PAGES`] pages, so one call costs a bounded
    /// amount whatever the table's size. Nothing on AWS depends on it: DynamoDB's TTL removes
    /// stale pending items and the stream handler releases their quota. It serves tools and the
    /// contract tests, and may miss stale files beyond the pages it reads.
    async fn stale_pending_files(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<FileRecord>, MetadataError> {
        let mut stale = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_STALE_SCAN_PAGES {
            if stale.len() >= limit {
                break;
            }
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(SK, :prefix) AND #status = :pending AND upload_expires_at < :before",
                )
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":prefix", s(FILE_PREFIX)),
                    (":pending", status_value(FileStatus::Pending)),
                    (":before", nanos(before)),
                ])))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Scan", &e))?;
            for item in out.items() {
                if stale.len() < limit {
                    stale.push(decode_file(item)?);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(stale)
    }

    async fn insert_share(&self, share: &ShareRecord) -> Result<(), MetadataError> {
        let writes = vec![
            self.put(items::share_item(share), Some("attribute_not_exists(PK)"))?,
            self.put(items::share_index_item(share), None)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists),
            Err(e) => Err(e.into_error("insert share")),
        }
    }

    async fn share(&self, token: &ShareToken) -> Result<Option<ShareRecord>, MetadataError> {
        self.get(share_key(token))
            .await?
            .as_ref()
            .map(decode_share)
            .transpose()
    }

    async fn list_shares(&self, owner: &UserId) -> Result<Vec<ShareRecord>, MetadataError> {
        let index = self.share_index(owner).await?;
        let tokens: Vec<String> = index.iter().map(|(_, token, _)| token.clone()).collect();
        let mut by_token: HashMap<String, ShareRecord> = self
            .shares_by_token(&tokens)
            .await?
            .into_iter()
            .filter(|share| share.owner == *owner)
            .map(|share| (share.token.to_string(), share))
            .collect();
        Ok(tokens.iter().filter_map(|t| by_token.remove(t)).collect())
    }

    async fn revoke_share(
        &self,
        owner: &UserId,
        token: &ShareToken,
    ) -> Result<Transition, MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(share_key(token)))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(PK) AND #owner = :owner AND revoked = :no")
            .set_expression_attribute_names(Some(names(&[("#owner", "owner")])))
            .set_expression_attribute_values(Some(values(vec![
                (":yes", AttributeValue::Bool(true)),
                (":no", AttributeValue::Bool(false)),
                (":owner", s(owner.as_str())),
            ])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transition::Applied),
            Err(err) if is_condition_failure(&err) => Ok(match self.share(token).await? {
                Some(share) if share.owner == *owner => Transition::Unchanged,
                _ => Transition::Missing,
            }),
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }

    async fn count_download(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
    ) -> Result<DownloadCount, MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(share_key(token)))
            .update_expression("SET downloads = downloads + :one")
            .condition_expression(
                "attribute_exists(PK) AND revoked = :no AND expires_at > :now \
                 AND (attribute_not_exists(max_downloads) OR downloads < max_downloads)",
            )
            .set_expression_attribute_values(Some(values(vec![
                (":one", n(1)),
                (":no", AttributeValue::Bool(false)),
                (":now", nanos(now)),
            ])))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.ok_or_else(|| {
                    MetadataError::Backend("DynamoDB UpdateItem returned no attributes".to_owned())
                })?;
                Ok(DownloadCount::Counted(decode_share(&item)?))
            }
            Err(err) if is_condition_failure(&err) => Ok(match self.share(token).await? {
                None => DownloadCount::NotFound,
                Some(share) => match state_at(&share, now) {
                    ShareState::Revoked => DownloadCount::Revoked,
                    ShareState::Expired => DownloadCount::Expired,
                    // `Live` only if the last download was returned meanwhile, which never
                    // happens: counting is one-way.
                    ShareState::Exhausted | ShareState::Live => DownloadCount::Exhausted,
                },
            }),
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }

    async fn reserve_password_attempt(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
        policy: AttemptPolicy,
    ) -> Result<AttemptReservation, MetadataError> {
        self.reserve_attempt(token, now, policy).await
    }

    async fn refund_password_attempt(
        &self,
        token: &ShareToken,
        window: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        self.refund_attempt(token, window).await
    }
}

/// How a file's removal or settling changes its owner's count of pending uploads.
fn pending_delta(file: &FileRecord) -> i64 {
    if file.status == FileStatus::Pending {
        -1
    } else {
        0
    }
}

/// Creates the table when it does not exist: `PK`/`SK` strings, on-demand billing, a stream with
/// old images (for the events function), and TTL on `ttl`. Returns whether it was created.
pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<bool> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let created = client
        .create_table()
        .table_name(table)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::OldImage)
                .build()?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(err) => anyhow::bail!("creating table {table}: {}", DisplayErrorContext(&err)),
    }
    for _ in 0..120 {
        let out = client.describe_table().table_name(table).send().await?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()?,
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("enabling TTL on {table}: {}", DisplayErrorContext(&e)))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::items::req_num;
    use super::*;

    #[test]
    fn only_condition_failures_of_the_given_item_count() {
        let reasons = TxError::Cancelled(vec![None, Some("ConditionalCheckFailed".to_owned())]);
        assert!(!reasons.condition_failed(0));
        assert!(reasons.condition_failed(1));
        assert!(!reasons.condition_failed(2));
    }

    #[test]
    fn usage_values_are_read_as_numbers() {
        let item = HashMap::from([
            ("bytes_used".to_owned(), n(-3)),
            ("file_count".to_owned(), n(2)),
        ]);
        assert_eq!(req_num::<i128>(&item, "bytes_used").unwrap(), -3);
    }
}
