//! The object-created handler and the sweeper against the embedded S3 endpoint and store: every
//! outcome, and that repeating an event changes nothing.

mod embedded_s3;

use std::sync::Arc;

use bytes::Bytes;
use ferry::adapters::local::s3_endpoint::S3Endpoint;
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::adapters::s3::S3ObjectStore;
use ferry::config::Limits;
use ferry::domain::{ContentType, FileId, FileName, FileRecord, UserId, file_object_key};
use ferry::events::{self, EventContext, Outcome};
use ferry::ports::{
    MetadataStore, ObjectInfo, ObjectStore, PartToComplete, PresignedRequest, StorageError,
    StoredPart, Usage,
};
use ferry_api::FileStatus;
use time::OffsetDateTime;

struct Harness {
    ctx: EventContext,
    meta: Arc<LocalMetadataStore>,
    objects: Arc<S3ObjectStore>,
    _s3: S3Endpoint,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (s3, objects) = embedded_s3::start(dir.path().join("s3")).await;
    let meta = Arc::new(LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap());
    let ctx = EventContext {
        objects: objects.clone(),
        meta: meta.clone(),
        limits: Arc::new(Limits::default()),
    };
    Harness {
        ctx,
        meta,
        objects,
        _s3: s3,
        _dir: dir,
    }
}

fn pending(owner: &str, size: u64, now: OffsetDateTime) -> FileRecord {
    FileRecord {
        owner: UserId::parse(owner).unwrap(),
        id: FileId::new(),
        name: FileName::parse("data.bin").unwrap(),
        size,
        content_type: ContentType::parse("application/octet-stream").unwrap(),
        status: FileStatus::Pending,
        created_at: now,
        upload_expires_at: now + time::Duration::hours(1),
        sha256: None,
        thumbnail_key: None,
        multipart_upload_id: None,
        part_size: None,
    }
}

impl Harness {
    async fn announce(&self, size: u64) -> FileRecord {
        let file = pending("owner-1", size, OffsetDateTime::now_utc());
        self.meta.insert_pending_file(&file, 1 << 30).await.unwrap();
        file
    }

    async fn store(&self, key: &str, len: usize) {
        self.objects
            .put(key, Bytes::from(vec![1u8; len]), "application/octet-stream")
            .await
            .unwrap();
    }

    async fn status(&self, file: &FileRecord) -> Option<FileStatus> {
        self.meta
            .file(&file.owner, &file.id)
            .await
            .unwrap()
            .map(|f| f.status)
    }

    async fn usage(&self, file: &FileRecord) -> Usage {
        self.meta.usage(&file.owner).await.unwrap()
    }
}

#[tokio::test]
async fn a_matching_upload_becomes_ready_once() {
    let h = harness().await;
    let file = h.announce(100).await;
    h.store(&file.object_key(), 100).await;
    assert_eq!(
        events::object_created(&h.ctx, &file.object_key())
            .await
            .unwrap(),
        Outcome::Ready
    );
    assert_eq!(h.status(&file).await, Some(FileStatus::Ready));
    // S3 delivers at least once: the duplicate changes nothing.
    let again = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyHandled);
    assert_eq!(
        h.usage(&file).await,
        Usage {
            bytes_used: 100,
            file_count: 1
        }
    );
}

#[tokio::test]
async fn a_size_mismatch_fails_the_file_deletes_the_bytes_and_frees_the_quota() {
    let h = harness().await;
    let file = h.announce(100).await;
    h.store(&file.object_key(), 99).await;
    let outcome = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Rejected);
    assert_eq!(h.status(&file).await, Some(FileStatus::Failed));
    assert_eq!(h.objects.head(&file.object_key()).await.unwrap(), None);
    assert_eq!(h.usage(&file).await, Usage::default());
    let again = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyHandled);
    assert_eq!(
        h.usage(&file).await,
        Usage::default(),
        "released once, not twice"
    );
}

#[tokio::test]
async fn objects_without_a_record_are_removed_and_other_keys_ignored() {
    let h = harness().await;
    let orphan = file_object_key(&UserId::parse("nobody").unwrap(), &FileId::new());
    h.store(&orphan, 10).await;
    assert_eq!(
        events::object_created(&h.ctx, &orphan).await.unwrap(),
        Outcome::Orphan
    );
    assert_eq!(h.objects.head(&orphan).await.unwrap(), None);

    for key in [
        "thumbs/owner-1/x.webp",
        "files/owner-1",
        "files/../etc/passwd",
        "other/key",
    ] {
        assert_eq!(
            events::object_created(&h.ctx, key).await.unwrap(),
            Outcome::Ignored,
            "{key}"
        );
    }
}

#[tokio::test]
async fn an_event_for_bytes_that_are_gone_changes_nothing() {
    let h = harness().await;
    let file = h.announce(10).await;
    let outcome = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::AlreadyHandled);
    assert_eq!(h.status(&file).await, Some(FileStatus::Pending));
}

#[tokio::test]
async fn the_sweeper_removes_only_expired_pending_uploads() {
    let h = harness().await;
    let now = OffsetDateTime::now_utc();
    let mut stale = pending("owner-1", 10, now - time::Duration::hours(3));
    stale.upload_expires_at = now - time::Duration::hours(1);
    h.meta.insert_pending_file(&stale, 1 << 30).await.unwrap();
    h.store(&stale.object_key(), 5).await; // a partial upload that never completed properly
    let fresh = h.announce(20).await;
    let ready = h.announce(30).await;
    h.store(&ready.object_key(), 30).await;
    events::object_created(&h.ctx, &ready.object_key())
        .await
        .unwrap();

    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 1);
    assert_eq!(h.status(&stale).await, None);
    assert_eq!(h.objects.head(&stale.object_key()).await.unwrap(), None);
    assert_eq!(h.status(&fresh).await, Some(FileStatus::Pending));
    assert_eq!(h.status(&ready).await, Some(FileStatus::Ready));
    assert_eq!(
        h.usage(&ready).await,
        Usage {
            bytes_used: 50,
            file_count: 2
        }
    );
    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 0);
}

/// The embedded endpoint through the S3 adapter, except that deleting one key fails.
struct RefusingToDelete {
    inner: Arc<S3ObjectStore>,
    key: String,
}

#[async_trait::async_trait]
impl ObjectStore for RefusingToDelete {
    async fn presign_put(
        &self,
        key: &str,
        content_length: u64,
        content_type: &str,
        sha256: Option<&str>,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.inner
            .presign_put(key, content_length, content_type, sha256, expires_in)
            .await
    }
    async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        self.inner.create_multipart_upload(key, content_type).await
    }
    async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        content_length: u64,
        sha256: &str,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.inner
            .presign_upload_part(key, upload_id, number, content_length, sha256, expires_in)
            .await
    }
    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.inner.list_parts(key, upload_id).await
    }
    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartToComplete],
    ) -> Result<Option<String>, StorageError> {
        self.inner
            .complete_multipart_upload(key, upload_id, parts)
            .await
    }
    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.inner.abort_multipart_upload(key, upload_id).await
    }
    async fn presign_get(
        &self,
        key: &str,
        content_disposition: &str,
        expires_in: std::time::Duration,
    ) -> Result<PresignedRequest, StorageError> {
        self.inner
            .presign_get(key, content_disposition, expires_in)
            .await
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        self.inner.head(key).await
    }
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Bytes>, StorageError> {
        self.inner.get(key, max_bytes).await
    }
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError> {
        self.inner.put(key, body, content_type).await
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        if key == self.key {
            return Err(StorageError::Backend("refused for the test".into()));
        }
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn one_upload_the_sweeper_cannot_remove_does_not_hold_up_the_others() {
    let mut h = harness().await;
    let now = OffsetDateTime::now_utc();
    let mut stale = Vec::new();
    for _ in 0..3 {
        let mut file = pending("owner-1", 10, now - time::Duration::hours(3));
        file.upload_expires_at = now - time::Duration::hours(1);
        h.meta.insert_pending_file(&file, 1 << 30).await.unwrap();
        stale.push(file);
    }
    let stuck = stale[1].clone();
    h.ctx.objects = Arc::new(RefusingToDelete {
        inner: h.objects.clone(),
        key: stuck.object_key(),
    });

    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 2);
    assert_eq!(h.status(&stale[0]).await, None);
    assert_eq!(h.status(&stale[2]).await, None);
    // Still pending and still counted, for the next sweep.
    assert_eq!(h.status(&stuck).await, Some(FileStatus::Pending));
    assert_eq!(h.usage(&stuck).await.file_count, 1);

    h.ctx.objects = h.objects.clone();
    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 1);
    assert_eq!(h.status(&stuck).await, None);
}
