//! An object store that fails on command, for the paths where storage lets the backend down: it
//! wraps a real adapter and passes every call through, except the calls a test armed a fault for.
//!
//! ```ignore
//! let objects = FaultyObjectStore::new(real);
//! objects.arm(Fault::on(Op::CompleteMultipartUpload));               // the next call, once
//! objects.arm(Fault::on(Op::Delete).for_key(&key).always());        // every call for `key`
//! objects.arm(Fault::on(Op::ListParts).with(|| StorageError::NoSuchUpload));
//! objects.heal();                                                    // back to the real store
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry::ports::{
    ObjectInfo, ObjectStore, PartToComplete, PresignedRequest, StorageError, StoredPart,
};

/// An operation of [`ObjectStore`], to aim a fault at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    PresignPut,
    CreateMultipartUpload,
    PresignUploadPart,
    ListParts,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    PresignGet,
    Head,
    Get,
    Put,
    Delete,
}

/// Which calls fail and how: one operation, on any key or one, once or until healed.
pub struct Fault {
    op: Op,
    key: Option<String>,
    /// How many more calls fail; `None` for every one.
    remaining: Option<usize>,
    error: fn() -> StorageError,
}

impl Fault {
    /// The next call of `op` fails once, as a backend failure (S3 or the network gave up).
    pub fn on(op: Op) -> Self {
        Self {
            op,
            key: None,
            remaining: Some(1),
            error: || StorageError::Backend("injected by the test".into()),
        }
    }

    /// Only calls for this object key.
    pub fn for_key(self, key: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            ..self
        }
    }

    /// Every matching call fails, until [`FaultyObjectStore::heal`].
    pub fn always(self) -> Self {
        Self {
            remaining: None,
            ..self
        }
    }

    /// Fails with this error instead (e.g. the answers S3 gives for a bad multipart upload).
    pub fn with(self, error: fn() -> StorageError) -> Self {
        Self { error, ..self }
    }

    /// The error for this call, counting it, when the fault applies.
    fn fire(&mut self, op: Op, key: &str) -> Option<StorageError> {
        let applies = self.op == op
            && self.key.as_deref().is_none_or(|k| k == key)
            && self.remaining != Some(0);
        if !applies {
            return None;
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        Some((self.error)())
    }
}

pub struct FaultyObjectStore {
    inner: Arc<dyn ObjectStore>,
    faults: Mutex<Vec<Fault>>,
}

impl FaultyObjectStore {
    /// `inner` with no fault armed yet.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            faults: Mutex::new(Vec::new()),
        })
    }

    /// From now on, the calls `fault` describes fail (the first armed fault that applies wins).
    pub fn arm(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    /// Disarms every fault: all calls reach the real store again.
    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    fn check(&self, op: Op, key: &str) -> Result<(), StorageError> {
        let mut faults = self.faults.lock().unwrap();
        match faults.iter_mut().find_map(|fault| fault.fire(op, key)) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        content_length: u64,
        content_type: &str,
        sha256: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.check(Op::PresignPut, key)?;
        self.inner
            .presign_put(key, content_length, content_type, sha256, expires_in)
            .await
    }

    async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        self.check(Op::CreateMultipartUpload, key)?;
        self.inner.create_multipart_upload(key, content_type).await
    }

    async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        content_length: u64,
        sha256: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.check(Op::PresignUploadPart, key)?;
        self.inner
            .presign_upload_part(key, upload_id, number, content_length, sha256, expires_in)
            .await
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.check(Op::ListParts, key)?;
        self.inner.list_parts(key, upload_id).await
    }

    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartToComplete],
    ) -> Result<Option<String>, StorageError> {
        self.check(Op::CompleteMultipartUpload, key)?;
        self.inner
            .complete_multipart_upload(key, upload_id, parts)
            .await
    }

    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.check(Op::AbortMultipartUpload, key)?;
        self.inner.abort_multipart_upload(key, upload_id).await
    }

    async fn presign_get(
        &self,
        key: &str,
        content_disposition: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.check(Op::PresignGet, key)?;
        self.inner
            .presign_get(key, content_disposition, expires_in)
            .await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        self.check(Op::Head, key)?;
        self.inner.head(key).await
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Bytes>, StorageError> {
        self.check(Op::Get, key)?;
        self.inner.get(key, max_bytes).await
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError> {
        self.check(Op::Put, key)?;
        self.inner.put(key, body, content_type).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.check(Op::Delete, key)?;
        self.inner.delete(key).await
    }
}
