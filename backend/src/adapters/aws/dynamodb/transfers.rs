//! Links of many files on DynamoDB: a link's files read with `BatchGetItem` (100 keys a call,
//! so a 1,000-file link takes ten requests, not a thousand), and deleting many files at once,
//! each taken out of every link of its owner's.
//!
//! A share item holds its file ids (1,000 uuids ≈ 40 KB, a tenth of DynamoDB's 400 KB item
//! limit). Taking files out of a link rewrites the list under a `revision` condition, so two
//! concurrent deletes never put back a file the other took out.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{Delete, KeysAndAttributes, TransactWriteItem};

use super::super::items::{
    self, Item, SHARE_REVISION, decode_file, decode_share, file_id_list, file_key, n, s, share_key,
    status_value, user_pk,
};
use super::usage::pending_delta;
use super::writes::MAX_TRANSACTION_ITEMS;
use super::{DynamoMetadataStore, backend, build_error, is_condition_failure, names, values};
use crate::domain::{FileId, FileRecord, ShareRecord, Shrunk, UserId};
use crate::ports::{MetadataError, MetadataStore};

/// Keys in one `BatchGetItem` call (DynamoDB's limit).
const MAX_BATCH_GET: usize = 100;
/// How often a file list is read again when another writer changed it first.
const REWRITE_ATTEMPTS: u32 = 8;

impl DynamoMetadataStore {
    /// The items at `keys` that exist, in no particular order: `BatchGetItem` in calls of 100
    /// keys, asking again for the keys DynamoDB left unprocessed (with a growing pause).
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, MetadataError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
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
                if let Some(mut responses) = out.responses
                    && let Some(items) = responses.remove(&self.table)
                {
                    found.extend(items);
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if request.is_some() {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                }
            }
        }
        Ok(found)
    }
}

pub(super) async fn files_by_ids(
    store: &DynamoMetadataStore,
    owner: &UserId,
    ids: &[FileId],
) -> Result<Vec<FileRecord>, MetadataError> {
    // BatchGetItem refuses a request that names one key twice.
    let mut seen = HashSet::new();
    let keys = ids
        .iter()
        .filter(|id| seen.insert(**id))
        .map(|id| file_key(owner, id))
        .collect();
    store
        .batch_get(keys)
        .await?
        .iter()
        .map(decode_file)
        .collect()
}

pub(super) async fn delete_files(
    store: &DynamoMetadataStore,
    owner: &UserId,
    ids: &[FileId],
) -> Result<Vec<FileRecord>, MetadataError> {
    let files = files_by_ids(store, owner, ids).await?;
    if files.is_empty() {
        return Ok(files);
    }
    // Links first: if what follows fails, a link has lost a file early, which is harmless,
    // and the delete can be retried.
    shrink_shares(store, owner, &files).await?;
    let mut removed = Vec::with_capacity(files.len());
    // Each transaction: the files and one update of the owner's usage.
    for chunk in files.chunks(MAX_TRANSACTION_ITEMS - 1) {
        removed.extend(delete_chunk(store, owner, chunk.to_vec()).await?);
    }
    Ok(removed)
}

/// Deletes `files` (as read) and releases their bytes in one transaction; a file that changed
/// since it was read (e.g. became `ready`) makes the chunk read again and retry.
async fn delete_chunk(
    store: &DynamoMetadataStore,
    owner: &UserId,
    mut files: Vec<FileRecord>,
) -> Result<Vec<FileRecord>, MetadataError> {
    let mut attempt = 0;
    loop {
        if files.is_empty() {
            return Ok(files);
        }
        let mut writes = Vec::with_capacity(files.len() + 1);
        let (mut bytes, mut count, mut pending) = (0i128, 0i64, 0i64);
        for file in &files {
            let delete = Delete::builder()
                .table_name(&store.table)
                .set_key(Some(file_key(owner, &file.id)))
                .condition_expression("#status = :status")
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![(
                    ":status",
                    status_value(file.status),
                )])))
                .build()
                .map_err(build_error)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
            if file.holds_quota() {
                bytes -= i128::from(file.size);
                count -= 1;
                pending += pending_delta(file);
            }
        }
        if count != 0 {
            writes.push(store.usage_change(owner, bytes, count, pending, None)?);
        }
        match store.transact(writes).await {
            Ok(()) => return Ok(files),
            Err(e) if attempt < 3 && (0..files.len()).any(|i| e.condition_failed(i)) => {
                attempt += 1;
                let ids: Vec<FileId> = files.iter().map(|f| f.id).collect();
                files = files_by_ids(store, owner, &ids).await?;
            }
            Err(e) => return Err(e.into_error("delete files")),
        }
    }
}

/// Takes `gone` out of every link of `owner`'s that covers one of them.
pub(super) async fn shrink_shares(
    store: &DynamoMetadataStore,
    owner: &UserId,
    gone: &[FileRecord],
) -> Result<(), MetadataError> {
    let index: HashMap<String, String> = store
        .share_index(owner)
        .await?
        .into_iter()
        .map(|(sk, token)| (token, sk))
        .collect();
    let tokens: Vec<String> = index.keys().cloned().collect();
    let leaving: HashSet<FileId> = gone.iter().map(|f| f.id).collect();
    for share in store.shares_by_token(&tokens).await? {
        if share.owner != *owner || !share.file_ids.iter().any(|id| leaving.contains(id)) {
            continue;
        }
        let token = share.token.to_string();
        let index_sk = index.get(&token).cloned().unwrap_or_default();
        shrink_share(store, owner, &share, &index_sk, gone).await?;
    }
    Ok(())
}

/// Rewrites one link without `gone`, reading it again while another writer gets there first.
async fn shrink_share(
    store: &DynamoMetadataStore,
    owner: &UserId,
    share: &ShareRecord,
    index_sk: &str,
    gone: &[FileRecord],
) -> Result<(), MetadataError> {
    for _ in 0..REWRITE_ATTEMPTS {
        let Some(item) = store.get(share_key(&share.token)).await? else {
            return Ok(());
        };
        let mut current = decode_share(&item)?;
        let revision: u64 = items::opt_num(&item, SHARE_REVISION)?.unwrap_or(0);
        match current.remove_files(gone) {
            Shrunk::Untouched => return Ok(()),
            Shrunk::Gone => {
                let writes = vec![
                    store.delete(share_key(&share.token))?,
                    store.delete(items::key(user_pk(owner), index_sk.to_owned()))?,
                ];
                return store
                    .transact(writes)
                    .await
                    .map_err(|e| e.into_error("delete share"));
            }
            Shrunk::Fewer { first_changed } => {
                if first_changed
                    && let Some(first) = current.first_file()
                    && let Some(file) = store.file(owner, &first).await?
                {
                    current.file_name = file.name;
                }
                if rewrite(store, &current, revision).await? {
                    return Ok(());
                }
            }
        }
    }
    Err(MetadataError::Backend(
        "DynamoDB: a link's file list kept changing while files were deleted".to_owned(),
    ))
}

/// Writes `share`'s file list if the item is still at `revision`; `false` when it was not.
async fn rewrite(
    store: &DynamoMetadataStore,
    share: &ShareRecord,
    revision: u64,
) -> Result<bool, MetadataError> {
    let mut vals = vec![
        (":ids", file_id_list(&share.file_ids)),
        (":count", n(share.file_ids.len())),
        (":name", s(share.file_name.as_str())),
        (":total", n(share.total_size.unwrap_or(0))),
        (":next", n(revision + 1)),
    ];
    let condition = if revision == 0 {
        "attribute_exists(PK) AND attribute_not_exists(#revision)"
    } else {
        vals.push((":revision", n(revision)));
        "attribute_exists(PK) AND #revision = :revision"
    };
    let result = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(share_key(&share.token)))
        .update_expression(
            "SET file_ids = :ids, file_count = :count, file_name = :name, \
             total_size = :total, #revision = :next",
        )
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names(&[("#revision", SHARE_REVISION)])))
        .set_expression_attribute_values(Some(values(vals)))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failure(&err) => Ok(false),
        Err(err) => Err(backend("UpdateItem", &err)),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    #[test]
    fn a_thousand_file_ids_fit_an_item_many_times_over() {
        let ids: Vec<FileId> = (0..1000).map(|_| FileId::new()).collect();
        let AttributeValue::L(list) = file_id_list(&ids) else {
            panic!("a list");
        };
        // DynamoDB counts a string's UTF-8 bytes plus a byte or so of overhead per element.
        let bytes: usize = list
            .iter()
            .map(|v| v.as_s().map_or(0, |s| s.len() + 1))
            .sum();
        assert!(bytes < 40_000, "{bytes}");
        assert!(bytes * 10 < 400 * 1024);
    }
}
