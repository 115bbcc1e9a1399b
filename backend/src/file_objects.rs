//! The objects a file owns in storage (its bytes, its thumbnail, a pending multipart upload's
//! parts) and their removal: one use case shared by the API's delete, the local sweeper and the
//! stream handler of `ferry-events`.

use ferry_api::FileStatus;

use crate::domain::{FileRecord, thumbnail_object_key};
use crate::ports::{ObjectStore, StorageError};

/// Removes every object a file owns: its bytes, its thumbnail, and the parts of a multipart
/// upload still pending. Each step is idempotent, so a retry after a failure is harmless. Used by
/// the API's delete, the sweeper and the stream handler of `ferry-events`.
pub async fn remove_file_objects(
    objects: &dyn ObjectStore,
    file: &FileRecord,
) -> Result<(), StorageError> {
    let key = file.object_key();
    if let (FileStatus::Pending, Some(upload_id)) = (file.status, &file.multipart_upload_id) {
        objects.abort_multipart_upload(&key, upload_id).await?;
    }
    objects.delete(&key).await?;
    objects
        .delete(&thumbnail_object_key(&file.owner, &file.id))
        .await
}
