//! Bulk loading for benchmarks (`ferry seed-files`): many ready file records in a few
//! transactions. The API creates files one upload at a time, which is what `bench/api` measures
//! the list against, not how it fills a store with 100k records in seconds.

use ferry_api::FileStatus;

use super::LocalMetadataStore;
use super::file_codec::encode_file;
use super::tables::{FILES, adjust_usage, file_key};
use crate::domain::{FileRecord, UserId};
use crate::ports::MetadataError;

/// Records per write transaction: large enough that commits are few, small enough that one
/// transaction's dirty pages stay a few MiB.
const BATCH: usize = 10_000;

impl LocalMetadataStore {
    /// Stores `count` ready files of `owner`, made by `make(i)`, and counts them in the owner's
    /// usage. Records that are not `ready` or belong to someone else are refused, so the
    /// pending index and usage stay consistent.
    #[doc(hidden)]
    pub async fn insert_ready_files(
        &self,
        owner: &UserId,
        count: usize,
        make: impl Fn(usize) -> FileRecord + Send + Sync + Clone + 'static,
    ) -> Result<(), MetadataError> {
        let mut done = 0;
        while done < count {
            let (owner, make, end) = (owner.clone(), make.clone(), (done + BATCH).min(count));
            let start = done;
            self.write(move |txn| {
                let mut files = txn.open_table(FILES)?;
                let mut bytes = 0;
                for i in start..end {
                    let file = make(i);
                    if file.status != FileStatus::Ready || file.owner != owner {
                        return Err(MetadataError::Backend(
                            "only the owner's ready files can be bulk-loaded".into(),
                        ));
                    }
                    bytes += file.size;
                    files.insert(
                        file_key(&owner, &file.id).as_str(),
                        encode_file(&file)?.as_slice(),
                    )?;
                }
                drop(files);
                adjust_usage(txn, &owner, |u| {
                    u.bytes_used += bytes;
                    u.file_count += (end - start) as u64;
                })
            })
            .await?;
            done = end;
        }
        Ok(())
    }
}
