//! What object storage's reports do to uploads: the object-created handler used by the
//! `ferry-events` Lambda (S3 → SQS) and by the local stack's embedded endpoint, settling stored
//! uploads whose event was lost, and sweeping uploads whose window closed.
//!
//! Every step is idempotent: S3 delivers events at least once, and a duplicate must change
//! nothing.

use ferry_api::FileStatus;

use crate::domain::{FileRecord, parse_file_object_key};
use crate::file_objects::remove_file_objects;
use crate::ports::{MetadataError, StorageError, Transition};
use crate::thumbnail;

pub use crate::event_context::EventContext;

/// What handling one object-created event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The upload matched its record, which is now `ready`.
    Ready,
    /// The bytes did not match the record: the record is `failed` and the object deleted.
    Rejected,
    /// Already handled (a duplicate or retried event), or the object is gone again.
    AlreadyHandled,
    /// An object under `files/` that no record claims; deleted so it cannot linger unbilled.
    Orphan,
    /// Not a key this handler cares about (e.g. a thumbnail).
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadEventError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Checks a newly stored object against its file record and settles the record.
pub async fn object_created(ctx: &EventContext, key: &str) -> Result<Outcome, UploadEventError> {
    let Some((owner, id)) = parse_file_object_key(key) else {
        return Ok(Outcome::Ignored);
    };
    let Some(file) = ctx.meta.file(&owner, &id).await? else {
        tracing::warn!(key, "object without a file record; deleting it");
        ctx.objects.delete(key).await?;
        return Ok(Outcome::Orphan);
    };
    if file.status != FileStatus::Pending {
        return Ok(Outcome::AlreadyHandled);
    }
    let Some(object) = ctx.objects.head(key).await? else {
        // Deleted between the event and now (e.g. the user deleted the file).
        return Ok(Outcome::AlreadyHandled);
    };
    if object.size != file.size {
        tracing::warn!(
            key,
            expected = file.size,
            got = object.size,
            "size mismatch"
        );
        // Mark first: if deleting then fails, a retry finds the record settled and the sweeper
        // (or lifecycle rule) still removes the bytes.
        if ctx.meta.mark_failed(&owner, &id).await? == Transition::Applied {
            // A guest's upload gives its file and bytes back to the request.
            ctx.meta
                .release_guest_files(std::slice::from_ref(&file))
                .await?;
        }
        ctx.objects.delete(key).await?;
        return Ok(Outcome::Rejected);
    }
    // Object storage's checksum when it keeps one (a checked single PUT, or the composite of a
    // multipart upload); otherwise whatever the completion already recorded stays.
    let sha256 = object.sha256.as_deref().or(file.sha256.as_deref());
    match ctx.meta.mark_ready(&owner, &id, sha256).await? {
        Transition::Applied => {
            tracing::info!(key, size = object.size, "upload ready");
            // Thumbnail step (images only; failures are logged, never fail the event).
            thumbnail::create_logged(ctx, &file).await;
            Ok(Outcome::Ready)
        }
        Transition::Unchanged | Transition::Missing => Ok(Outcome::AlreadyHandled),
    }
}

/// Runs the object-created handler for a `pending` file whose object is already stored in full,
/// as when the event was lost (the local stack died between storing the object and handling its
/// event) or has not arrived yet. Returns `None`, changing nothing, when the object is missing or
/// not the announced size: an upload still in progress is never judged early.
pub async fn settle_if_stored(
    ctx: &EventContext,
    file: &FileRecord,
) -> Result<Option<Outcome>, UploadEventError> {
    if file.status != FileStatus::Pending {
        return Ok(None);
    }
    let key = file.object_key();
    match ctx.objects.head(&key).await? {
        Some(object) if object.size == file.size => object_created(ctx, &key).await.map(Some),
        _ => Ok(None),
    }
}

/// Removes pending uploads whose window closed without bytes arriving, aborting their multipart
/// uploads and releasing their quota (the local stack's counterpart of DynamoDB TTL + the S3
/// lifecycle rule). Returns how many were swept. One that cannot be removed now (storage
/// refusing for a moment) is logged and left for the next sweep; it does not hold up the rest.
///
/// An upload whose bytes did arrive in full is not swept: its object-created event was lost, so
/// the handler runs now and decides ([`settle_if_stored`]).
pub async fn sweep_stale_uploads(
    ctx: &EventContext,
    now: time::OffsetDateTime,
) -> Result<usize, UploadEventError> {
    let stale = ctx.meta.stale_pending_files(now, 100).await?;
    let mut swept = 0;
    for file in &stale {
        match settle_if_stored(ctx, file).await {
            Ok(None) => {}
            Ok(Some(outcome)) => {
                tracing::info!(file = %file.id, ?outcome, "stale upload was stored in full; settled");
                continue;
            }
            Err(error) => {
                tracing::warn!(file = %file.id, %error, "stale upload not checked; next time");
                continue;
            }
        }
        let removed = match remove_file_objects(ctx.objects.as_ref(), file).await {
            Ok(()) => ctx
                .meta
                .delete_file(&file.owner, &file.id)
                .await
                .map_err(UploadEventError::from)
                .map(|gone| gone.into_iter().collect::<Vec<_>>()),
            Err(e) => Err(e.into()),
        };
        let removed = match removed {
            Ok(gone) => ctx
                .meta
                .release_guest_files(&gone)
                .await
                .map_err(UploadEventError::from),
            Err(e) => Err(e),
        };
        match removed {
            Ok(()) => {
                swept += 1;
                tracing::info!(file = %file.id, "stale pending upload swept");
            }
            Err(error) => {
                tracing::warn!(file = %file.id, %error, "stale pending upload not swept; next time");
            }
        }
    }
    Ok(swept)
}
