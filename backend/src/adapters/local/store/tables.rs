//! How the local store lays out its redb tables: table definitions, JSON encoding of records,
//! keys, and the read-modify-write steps every transaction shares (usage, file transitions).

use redb::{ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::{FileId, FileRecord, UserId};
use crate::ports::{MetadataError, Transition};

/// `{owner}/{file_id}` → file record (JSON). File ids are UUIDv7, so keys sort by creation time.
pub(super) const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("files");
/// `{token}` → share record (JSON).
pub(super) const SHARES: TableDefinition<&str, &[u8]> = TableDefinition::new("shares");
/// `{owner}/{token}` → () : the owner's shares.
pub(super) const USER_SHARES: TableDefinition<&str, ()> = TableDefinition::new("user_shares");
/// `{owner}` → usage (JSON).
pub(super) const USAGE: TableDefinition<&str, &[u8]> = TableDefinition::new("usage");

macro_rules! backend_errors {
    ($($ty:ty),*) => {$(
        impl From<$ty> for MetadataError {
            fn from(err: $ty) -> Self {
                MetadataError::Backend(err.to_string())
            }
        }
    )*};
}
backend_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(super) struct StoredUsage {
    pub(super) bytes_used: u64,
    pub(super) file_count: u64,
    /// Files still `pending` (absent in databases from before it was counted).
    #[serde(default)]
    pub(super) pending_uploads: u64,
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, MetadataError> {
    serde_json::to_vec(value).map_err(|e| MetadataError::Backend(format!("encoding: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MetadataError> {
    serde_json::from_slice(bytes).map_err(|e| MetadataError::Backend(format!("decoding: {e}")))
}

pub(super) fn file_key(owner: &UserId, id: &FileId) -> String {
    format!("{owner}/{id}")
}

/// The key range holding exactly one owner's items: `{owner}/` up to `{owner}0` (`'0'` follows
/// `'/'`, and user ids cannot contain either).
pub(super) fn owner_range(owner: &UserId) -> (String, String) {
    (format!("{owner}/"), format!("{owner}0"))
}

/// The records an `{owner}/{key}` index lists for `owner`, read from `records` (`{key}` →
/// record), newest first by `created`.
pub(super) fn owned_records<T: DeserializeOwned, K: Ord>(
    txn: &redb::ReadTransaction,
    index: TableDefinition<&str, ()>,
    records: TableDefinition<&str, &[u8]>,
    owner: &UserId,
    created: impl Fn(&T) -> K,
) -> Result<Vec<T>, MetadataError> {
    let records = txn.open_table(records)?;
    let index = txn.open_table(index)?;
    let (start, end) = owner_range(owner);
    let mut items = Vec::new();
    for entry in index.range(start.as_str()..end.as_str())? {
        let (key, _) = entry?;
        let token = key
            .value()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Some(record) = get_json::<T>(&records, &token)? {
            items.push(record);
        }
    }
    items.sort_by_key(|record| std::cmp::Reverse(created(record)));
    Ok(items)
}

pub(super) fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<T>, MetadataError> {
    table.get(key)?.map(|v| decode(v.value())).transpose()
}

pub(super) fn adjust_usage(
    txn: &redb::WriteTransaction,
    owner: &UserId,
    change: impl FnOnce(&mut StoredUsage),
) -> Result<(), MetadataError> {
    let mut usage_table = txn.open_table(USAGE)?;
    let mut usage: StoredUsage = get_json(&usage_table, owner.as_str())?.unwrap_or_default();
    change(&mut usage);
    usage_table.insert(owner.as_str(), encode(&usage)?.as_slice())?;
    Ok(())
}

pub(super) fn release(usage: &mut StoredUsage, file: &FileRecord) {
    usage.bytes_used = usage.bytes_used.saturating_sub(file.size);
    usage.file_count = usage.file_count.saturating_sub(1);
}

/// Applies `change` to a file record if `applies` holds; the shared shape of every transition.
pub(super) fn transition(
    txn: &redb::WriteTransaction,
    owner: &UserId,
    id: &FileId,
    applies: impl FnOnce(&FileRecord) -> bool,
    change: impl FnOnce(&mut FileRecord),
) -> Result<(Transition, Option<FileRecord>), MetadataError> {
    let mut files = txn.open_table(FILES)?;
    let key = file_key(owner, id);
    let Some(mut file) = super::file_codec::get_file(&files, &key)? else {
        return Ok((Transition::Missing, None));
    };
    if !applies(&file) {
        return Ok((Transition::Unchanged, Some(file)));
    }
    change(&mut file);
    files.insert(
        key.as_str(),
        super::file_codec::encode_file(&file)?.as_slice(),
    )?;
    Ok((Transition::Applied, Some(file)))
}
