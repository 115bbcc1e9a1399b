//! Operations of links of many files in the embedded store: reading a link's files in one
//! transaction, and deleting many files at once, each taken out of every link of its owner's.

use std::collections::HashSet;

use ferry_api::FileStatus;
use redb::ReadableTable;

use super::super::share_attempts;
use super::file_codec::{decode_file, get_file};
use super::pending::no_longer_pending;
use super::tables::{
    FILES, SHARES, USER_SHARES, adjust_usage, encode, file_key, get_json, owner_range, release,
};
use crate::domain::{FileId, FileRecord, ShareRecord, Shrunk, UserId};
use crate::ports::MetadataError;

/// The owner's files among `ids`, read in one transaction.
pub(super) fn files_by_ids(
    txn: &redb::ReadTransaction,
    owner: &UserId,
    ids: &[FileId],
) -> Result<Vec<FileRecord>, MetadataError> {
    let files = txn.open_table(FILES)?;
    let mut found = Vec::with_capacity(ids.len());
    let mut seen = HashSet::with_capacity(ids.len());
    for id in ids.iter().filter(|id| seen.insert(**id)) {
        if let Some(file) = get_file(&files, &file_key(owner, id))? {
            found.push(file);
        }
    }
    Ok(found)
}

/// Removes the owner's files among `ids`, releases their bytes and takes them out of the
/// owner's links, all in the caller's transaction.
pub(super) fn delete_files(
    txn: &redb::WriteTransaction,
    owner: &UserId,
    ids: &[FileId],
) -> Result<Vec<FileRecord>, MetadataError> {
    let mut files = txn.open_table(FILES)?;
    let mut removed = Vec::new();
    let mut seen = HashSet::new();
    for id in ids.iter().filter(|id| seen.insert(**id)) {
        if let Some(value) = files.remove(file_key(owner, id).as_str())? {
            removed.push(decode_file(value.value())?);
        }
    }
    drop(files);
    for file in &removed {
        if file.holds_quota() {
            adjust_usage(txn, owner, |u| release(u, file))?;
        }
        if file.status == FileStatus::Pending {
            no_longer_pending(txn, file)?;
        }
    }
    if !removed.is_empty() {
        shrink_shares(txn, owner, &removed)?;
    }
    Ok(removed)
}

/// Takes `gone` out of every link of `owner`: a link left with nothing goes (unless it keeps
/// telling its recipients the files are gone), the others are rewritten.
fn shrink_shares(
    txn: &redb::WriteTransaction,
    owner: &UserId,
    gone: &[FileRecord],
) -> Result<(), MetadataError> {
    let files = txn.open_table(FILES)?;
    let mut shares = txn.open_table(SHARES)?;
    let mut user_shares = txn.open_table(USER_SHARES)?;
    let (start, end) = owner_range(owner);
    let mut changed = Vec::new();
    for entry in user_shares.range(start.as_str()..end.as_str())? {
        let (key, _) = entry?;
        let index_key = key.value().to_owned();
        let token = index_key.rsplit('/').next().unwrap_or_default().to_owned();
        let Some(mut share) = get_json::<ShareRecord>(&shares, &token)? else {
            continue;
        };
        match share.remove_files(gone) {
            Shrunk::Untouched => {}
            Shrunk::Gone => changed.push((index_key, token, None)),
            Shrunk::Fewer { first_changed } => {
                if first_changed
                    && let Some(first) = share.first_file()
                    && let Some(file) = get_file(&files, &file_key(owner, &first))?
                {
                    share.file_name = file.name;
                }
                changed.push((index_key, token, Some(share)));
            }
        }
    }
    for (index_key, token, share) in changed {
        match share {
            Some(share) => {
                shares.insert(token.as_str(), encode(&share)?.as_slice())?;
            }
            None => {
                user_shares.remove(index_key.as_str())?;
                shares.remove(token.as_str())?;
                share_attempts::forget(txn, &token)?;
            }
        }
    }
    Ok(())
}
