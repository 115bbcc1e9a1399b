//! File records: listing, settling (`pending` → `ready` or `failed`), and the scan for stale
//! uploads (removal is `transfers`').

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use ferry_api::FileStatus;
use time::OffsetDateTime;

use super::super::items::{FILE_PREFIX, decode_file, file_key, n, nanos, s, status_value, user_pk};
use super::{DynamoMetadataStore, backend, build_error, is_condition_failure, names, values};
use crate::domain::{FileId, FileRecord, UserId};
use crate::ports::{FileListing, MetadataError, MetadataStore, Transition};

/// Scan pages (up to 1 MB each) one [`MetadataStore::stale_pending_files`] call reads at most.
const MAX_STALE_SCAN_PAGES: usize = 16;

impl DynamoMetadataStore {
    /// Runs a conditional update of a file; when the condition fails, tells a missing file from
    /// one in another state.
    pub(super) async fn update_file(
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

    pub(super) async fn missing_or_unchanged(
        &self,
        owner: &UserId,
        id: &FileId,
    ) -> Result<Transition, MetadataError> {
        Ok(match self.get(file_key(owner, id)).await? {
            Some(_) => Transition::Unchanged,
            None => Transition::Missing,
        })
    }
}

pub(super) async fn list(
    store: &DynamoMetadataStore,
    owner: &UserId,
    limit: usize,
    after: Option<&FileId>,
) -> Result<FileListing, MetadataError> {
    if limit == 0 {
        return Ok(FileListing::default());
    }
    // One more than asked, to know whether another page follows.
    let want = limit + 1;
    let mut pages = store
        .client
        .query()
        .table_name(&store.table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .set_expression_attribute_values(Some(values(vec![
            (":pk", s(user_pk(owner))),
            (":prefix", s(FILE_PREFIX)),
        ])))
        .scan_index_forward(false)
        .consistent_read(true)
        .set_exclusive_start_key(after.map(|id| file_key(owner, id)))
        .into_paginator()
        .page_size(i32::try_from(want).unwrap_or(i32::MAX))
        .send();
    let mut found = Vec::with_capacity(want);
    while found.len() < want {
        let Some(page) = pages.try_next().await.map_err(|e| backend("Query", &e))? else {
            break;
        };
        for item in page.items() {
            found.push(decode_file(item)?);
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

pub(super) async fn mark_ready(
    store: &DynamoMetadataStore,
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
        .table_name(&store.table)
        .set_key(Some(file_key(owner, id)))
        .update_expression(expression)
        .condition_expression("attribute_exists(PK) AND #status = :pending")
        .set_expression_attribute_names(Some(names(&[("#status", "status"), ("#ttl", "ttl")])))
        .set_expression_attribute_values(Some(values(vals)))
        .build()
        .map_err(build_error)?;
    let writes = vec![
        TransactWriteItem::builder().update(update).build(),
        store.usage_change(owner, 0, 0, -1, None)?,
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(Transition::Applied),
        Err(e) if e.condition_failed(0) => store.missing_or_unchanged(owner, id).await,
        Err(e) => Err(e.into_error("mark ready")),
    }
}

pub(super) async fn mark_failed(
    store: &DynamoMetadataStore,
    owner: &UserId,
    id: &FileId,
) -> Result<Transition, MetadataError> {
    // The size is needed to release it; the condition below makes sure the record read is
    // the one changed. `ttl` stays, so DynamoDB removes failed records in due course.
    let Some(file) = store.file(owner, id).await? else {
        return Ok(Transition::Missing);
    };
    if file.status != FileStatus::Pending {
        return Ok(Transition::Unchanged);
    }
    let update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(file_key(owner, id)))
        .update_expression("SET #status = :failed")
        .condition_expression("#status = :pending AND #size = :size")
        .set_expression_attribute_names(Some(names(&[("#status", "status"), ("#size", "size")])))
        .set_expression_attribute_values(Some(values(vec![
            (":failed", status_value(FileStatus::Failed)),
            (":pending", status_value(FileStatus::Pending)),
            (":size", n(file.size)),
        ])))
        .build()
        .map_err(build_error)?;
    let writes = vec![
        TransactWriteItem::builder().update(update).build(),
        store.usage_change(owner, -i128::from(file.size), -1, -1, None)?,
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(Transition::Applied),
        Err(e) if e.condition_failed(0) => store.missing_or_unchanged(owner, id).await,
        Err(e) => Err(e.into_error("mark failed")),
    }
}

/// A filtered Scan of at most [`MAX_STALE_SCAN_PAGES`] pages, so one call costs a bounded
/// amount whatever the table's size. Nothing on AWS depends on it: DynamoDB's TTL removes
/// stale pending items and the stream handler releases their quota. It serves tools and the
/// contract tests, and may miss stale files beyond the pages it reads.
pub(super) async fn stale_pending(
    store: &DynamoMetadataStore,
    before: OffsetDateTime,
    limit: usize,
) -> Result<Vec<FileRecord>, MetadataError> {
    let mut pages = store
        .client
        .scan()
        .table_name(&store.table)
        .filter_expression(
            "begins_with(SK, :prefix) AND #status = :pending AND upload_expires_at < :before",
        )
        .set_expression_attribute_names(Some(names(&[("#status", "status")])))
        .set_expression_attribute_values(Some(values(vec![
            (":prefix", s(FILE_PREFIX)),
            (":pending", status_value(FileStatus::Pending)),
            (":before", nanos(before)),
        ])))
        .into_paginator()
        .send();
    let mut stale = Vec::new();
    for _ in 0..MAX_STALE_SCAN_PAGES {
        if stale.len() >= limit {
            break;
        }
        let Some(page) = pages.try_next().await.map_err(|e| backend("Scan", &e))? else {
            break;
        };
        for item in page.items() {
            if stale.len() < limit {
                stale.push(decode_file(item)?);
            }
        }
    }
    Ok(stale)
}
