//! The owner's usage item (bytes, files, pending uploads): checked and changed in the same
//! transaction as the file records it counts.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use ferry_api::FileStatus;

use super::super::items::{self, n, usage_key, user_pk};
use super::{DynamoMetadataStore, build_error, values};
use crate::domain::{FileRecord, UserId};
use crate::ports::{MetadataError, Reservation, Usage};

/// How long the marker that an expired upload's bytes were released is kept.
const RELEASE_MARKER_TTL: Duration = Duration::from_secs(7 * 86_400);

impl DynamoMetadataStore {
    /// Adds `bytes`, `files` and `pending` uploads (any may be negative) to the owner's usage
    /// item, if `condition` (an expression and its values) holds.
    pub(super) fn usage_change(
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

    /// Gives back the bytes of an upload that DynamoDB's TTL removed while it was still
    /// `pending` (seen on the table's stream), and takes it out of its owner's links as a
    /// delete would. Idempotent: a marker item makes a redelivered stream record release
    /// nothing, and a link without the file is left alone. Returns whether this call released
    /// the bytes.
    pub async fn release_expired_upload(&self, file: &FileRecord) -> Result<bool, MetadataError> {
        super::transfers::shrink_shares(self, &file.owner, std::slice::from_ref(file)).await?;
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

pub(super) async fn reserve_pending_file(
    store: &DynamoMetadataStore,
    file: &FileRecord,
    bounds: Reservation,
) -> Result<(), MetadataError> {
    let Reservation { quota, max_pending } = bounds;
    // Which bound refused: the counts are read again after the transaction said no.
    let refused = async || {
        let used = usage(store, &file.owner).await?.bytes_used;
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
        store.put(items::file_item(file), Some("attribute_not_exists(PK)"))?,
        store.usage_change(
            &file.owner,
            i128::from(file.size),
            1,
            pending,
            Some(condition),
        )?,
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists),
        Err(e) if e.condition_failed(1) => refused().await,
        Err(e) => Err(e.into_error("insert pending file")),
    }
}

pub(super) async fn usage(
    store: &DynamoMetadataStore,
    owner: &UserId,
) -> Result<Usage, MetadataError> {
    let Some(item) = store.get(usage_key(owner)).await? else {
        return Ok(Usage::default());
    };
    // Stored as signed numbers so a release can never make an update fail.
    let clamp = |v: i128| u64::try_from(v.max(0)).unwrap_or(u64::MAX);
    Ok(Usage {
        bytes_used: clamp(items::opt_num(&item, "bytes_used")?.unwrap_or(0)),
        file_count: clamp(items::opt_num(&item, "file_count")?.unwrap_or(0)),
    })
}

/// How a file's removal or settling changes its owner's count of pending uploads.
pub(super) fn pending_delta(file: &FileRecord) -> i64 {
    if file.status == FileStatus::Pending {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::super::items::req_num;
    use super::*;

    #[test]
    fn usage_values_are_read_as_numbers() {
        let item = HashMap::from([
            ("bytes_used".to_owned(), n(-3)),
            ("file_count".to_owned(), n(2)),
        ]);
        assert_eq!(req_num::<i128>(&item, "bytes_used").unwrap(), -3);
    }
}
