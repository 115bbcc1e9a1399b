//! Password attempts on share links in the embedded store: one small record per protected link
//! that has been tried, beside the share records, changed inside the store's write transactions
//! (redb runs one writer at a time, so a check and its update are atomic).

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use time::OffsetDateTime;

use crate::domain::ShareToken;
use crate::domain::share::{AttemptPolicy, AttemptWindow};
use crate::ports::{AttemptReservation, MetadataError};

/// `{token}` → the link's current attempt window (JSON).
const ATTEMPTS: TableDefinition<&str, &[u8]> = TableDefinition::new("share_attempts");

fn stored(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    token: &ShareToken,
) -> Result<Option<AttemptWindow>, MetadataError> {
    table
        .get(token.as_str())?
        .map(|v| serde_json::from_slice(v.value()))
        .transpose()
        .map_err(|e| MetadataError::Backend(format!("decoding attempts: {e}")))
}

fn store(
    table: &mut redb::Table<&'static str, &'static [u8]>,
    token: &ShareToken,
    window: &AttemptWindow,
) -> Result<(), MetadataError> {
    let bytes = serde_json::to_vec(window)
        .map_err(|e| MetadataError::Backend(format!("encoding attempts: {e}")))?;
    table.insert(token.as_str(), bytes.as_slice())?;
    Ok(())
}

/// Creates the table, so read transactions find it.
pub(super) fn create(txn: &WriteTransaction) -> Result<(), MetadataError> {
    txn.open_table(ATTEMPTS)?;
    Ok(())
}

/// Takes one attempt on a share known to exist.
pub(super) fn reserve(
    txn: &WriteTransaction,
    token: &ShareToken,
    now: OffsetDateTime,
    policy: AttemptPolicy,
) -> Result<AttemptReservation, MetadataError> {
    let mut table = txn.open_table(ATTEMPTS)?;
    match policy.reserve(stored(&table, token)?, now) {
        Ok(next) => {
            store(&mut table, token, &next)?;
            Ok(AttemptReservation::Granted { window: next.since })
        }
        Err(retry_at) => Ok(AttemptReservation::Refused { retry_at }),
    }
}

pub(super) fn refund(
    txn: &WriteTransaction,
    token: &ShareToken,
    window: OffsetDateTime,
) -> Result<(), MetadataError> {
    let mut table = txn.open_table(ATTEMPTS)?;
    if let Some(next) = AttemptPolicy::refund(stored(&table, token)?, window) {
        store(&mut table, token, &next)?;
    }
    Ok(())
}

/// Forgets the attempts of a share that is removed.
pub(super) fn forget(txn: &WriteTransaction, token: &str) -> Result<(), MetadataError> {
    txn.open_table(ATTEMPTS)?.remove(token)?;
    Ok(())
}
