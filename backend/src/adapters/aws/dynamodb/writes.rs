//! Writing to the table: transaction items, and transactions retried while another one holds
//! their items.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::super::items::Item;
use super::{DynamoMetadataStore, backend, build_error};
use crate::ports::MetadataError;

/// Items in one `TransactWriteItems` call (DynamoDB's limit).
pub(super) const MAX_TRANSACTION_ITEMS: usize = 100;
/// How often a transaction is retried when DynamoDB reports a conflicting transaction.
const CONFLICT_RETRIES: u32 = 8;

/// Why a transaction did not apply.
pub(super) enum TxError {
    /// DynamoDB's reason code per item, in request order (`None` for items that were fine).
    Cancelled(Vec<Option<String>>),
    Failed(MetadataError),
}

impl TxError {
    /// Whether the condition of the item at `index` is what failed.
    pub(super) fn condition_failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled(reasons)
            if reasons.get(index).and_then(Option::as_deref) == Some("ConditionalCheckFailed"))
    }

    pub(super) fn into_error(self, what: &str) -> MetadataError {
        match self {
            Self::Failed(err) => err,
            Self::Cancelled(reasons) => MetadataError::Backend(format!(
                "DynamoDB {what}: transaction cancelled ({reasons:?})"
            )),
        }
    }
}

impl DynamoMetadataStore {
    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, MetadataError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn delete(&self, key: Item) -> Result<TransactWriteItem, MetadataError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs a transaction, retrying while another transaction holds one of its items.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_condition_failures_of_the_given_item_count() {
        let reasons = TxError::Cancelled(vec![None, Some("ConditionalCheckFailed".to_owned())]);
        assert!(!reasons.condition_failed(0));
        assert!(reasons.condition_failed(1));
        assert!(!reasons.condition_failed(2));
    }
}
