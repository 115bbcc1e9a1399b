//! [`MetadataStore`] on DynamoDB: one table, DESIGN.md §4. Every state change is a conditional
//! write; file records and the owner's usage change together in one transaction. The store's
//! jobs live next to this file: [`writes`] (transactions), [`usage`] (quota), [`files`],
//! [`shares`], [`transfers`] (links of many files), `password_attempts` and [`table`]
//! (creating it).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::items::{self, Item, decode_file, decode_share, file_key, s, share_key};
use crate::domain::share::AttemptPolicy;
use crate::domain::{FileId, FileRecord, ShareRecord, ShareToken, UserId};
use crate::ports::{
    AttemptReservation, Clock, DownloadCount, FileListing, MetadataError, MetadataStore,
    Reservation, SystemClock, Transition, Usage,
};

mod files;
mod password_attempts;
mod requests;
mod shares;
mod table;
mod transfers;
mod usage;
mod writes;

pub use table::create_table;

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

    /// Every item of one of `owner`'s indexes (sort keys under `prefix`), all pages, read
    /// consistently; newest first when `newest_first`.
    async fn owner_index(
        &self,
        owner: &UserId,
        prefix: &str,
        newest_first: bool,
    ) -> Result<Vec<Item>, MetadataError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .set_expression_attribute_values(Some(values(vec![
                (":pk", s(items::user_pk(owner))),
                (":prefix", s(prefix)),
            ])))
            .scan_index_forward(!newest_first);
        query_all(query).await
    }
}

/// Every item `query` finds, all pages, read consistently.
async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, MetadataError> {
    query
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| backend("Query", &e))
}

#[async_trait]
impl MetadataStore for DynamoMetadataStore {
    async fn reserve_pending_file(
        &self,
        file: &FileRecord,
        bounds: Reservation,
    ) -> Result<(), MetadataError> {
        usage::reserve_pending_file(self, file, bounds).await
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
        files::list(self, owner, limit, after).await
    }

    async fn mark_ready(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: Option<&str>,
    ) -> Result<Transition, MetadataError> {
        files::mark_ready(self, owner, id, sha256).await
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
        files::mark_failed(self, owner, id).await
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
        Ok(transfers::delete_files(self, owner, &[*id])
            .await?
            .into_iter()
            .next())
    }

    async fn delete_files(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError> {
        transfers::delete_files(self, owner, ids).await
    }

    async fn files_by_ids(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError> {
        transfers::files_by_ids(self, owner, ids).await
    }

    async fn usage(&self, owner: &UserId) -> Result<Usage, MetadataError> {
        usage::usage(self, owner).await
    }

    async fn stale_pending_files(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<FileRecord>, MetadataError> {
        files::stale_pending(self, before, limit).await
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
        shares::list(self, owner).await
    }

    async fn revoke_share(
        &self,
        owner: &UserId,
        token: &ShareToken,
    ) -> Result<Transition, MetadataError> {
        shares::revoke(self, owner, token).await
    }

    async fn count_download(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
    ) -> Result<DownloadCount, MetadataError> {
        shares::count_download(self, token, now).await
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
