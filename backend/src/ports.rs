//! The boundaries of the domain: object storage, metadata, token verification and time.
//!
//! Routes and event handlers only ever see these traits. Each has an adapter for AWS and one for
//! the local stack, and both pass the same contract tests.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

mod requests;

pub use requests::{RequestRefusal, RequestStore};

use crate::domain::share::AttemptPolicy;
use crate::domain::{FileId, FileRecord, ShareRecord, ShareToken, UserId};

/// A request that a client sends straight to object storage (presigned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers the client must send as given; they are covered by the signature.
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

/// What object storage knows about a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    /// The SHA-256 checksum object storage keeps for the object (base64, or the composite
    /// `{base64}-{parts}` of a multipart upload), when it was uploaded with one.
    pub sha256: Option<String>,
}

/// A part of a multipart upload that object storage holds: the etag as object storage reports
/// it (quotes included), and the base64 SHA-256 it verified when the part arrived. The wire
/// type itself, so listing parts to the client copies nothing.
pub use ferry_api::UploadedPart as StoredPart;

/// A part to assemble into the object, as the uploader reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartToComplete {
    pub number: u32,
    pub etag: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object storage failed: {0}")]
    Backend(String),
    #[error("object is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The multipart upload does not exist (never did, completed, or aborted).
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// Object storage refused to assemble the parts as listed (missing, mismatched or too small).
    #[error("object storage refused the parts: {0}")]
    InvalidParts(String),
}

/// Object storage for file bytes (S3, or the embedded S3-compatible endpoint locally).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A presigned PUT that only accepts exactly `content_length` bytes of `content_type` at `key`
    /// (and, given `sha256`, only bytes with that base64 SHA-256, which the object then keeps).
    async fn presign_put(
        &self,
        key: &str,
        content_length: u64,
        content_type: &str,
        sha256: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError>;

    /// Starts a multipart upload whose parts carry SHA-256 checksums; returns its upload id.
    async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError>;

    /// A presigned UploadPart that only accepts exactly `content_length` bytes whose base64
    /// SHA-256 is `sha256`, as part `number` (1..=10 000) of the upload.
    async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        content_length: u64,
        sha256: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError>;

    /// Every part received so far, by part number (all pages); [`StorageError::NoSuchUpload`]
    /// when the upload is gone.
    async fn list_parts(&self, key: &str, upload_id: &str)
    -> Result<Vec<StoredPart>, StorageError>;

    /// Assembles the object from `parts` (ascending, consecutive from 1). Returns the object's
    /// composite SHA-256 checksum when object storage reports one.
    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartToComplete],
    ) -> Result<Option<String>, StorageError>;

    /// Abandons a multipart upload and frees its parts; aborting a missing upload succeeds.
    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), StorageError>;

    /// A presigned GET that makes browsers save the object (the `Content-Disposition` value is
    /// given in full, already encoded).
    async fn presign_get(
        &self,
        key: &str,
        content_disposition: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError>;

    /// Size and type of an object, or `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError>;

    /// The whole object, refused with [`StorageError::TooLarge`] above `max_bytes`.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Bytes>, StorageError>;

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError>;

    /// Removes an object; removing a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("quota exceeded: {used} of {quota} bytes used")]
    QuotaExceeded { used: u64, quota: u64 },
    #[error("item already exists")]
    AlreadyExists,
    /// The owner already has `max` uploads announced and not yet finished.
    #[error("too many pending uploads (at most {max})")]
    TooManyPending { max: u64 },
    #[error("metadata store failed: {0}")]
    Backend(String),
}

/// Bytes and files a user currently holds (pending uploads included: they reserve quota).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes_used: u64,
    pub file_count: u64,
}

/// What a new pending upload is checked against, atomically with recording it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Bytes the owner may hold, pending uploads included.
    pub quota: u64,
    /// Uploads the owner may have announced and not yet finished.
    pub max_pending: u64,
}

/// What a conditional state change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The record was in the expected state and changed.
    Applied,
    /// The record exists but was not in the expected state; nothing changed (a retry or duplicate).
    Unchanged,
    /// No such record.
    Missing,
}

/// The outcome of trying to take one download from a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadCount {
    /// Counted; the share as it is after counting (boxed: a link of many files is a large
    /// record).
    Counted(Box<ShareRecord>),
    NotFound,
    Expired,
    Revoked,
    Exhausted,
}

/// The outcome of reserving one password attempt on a share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptReservation {
    /// Reserved in the window that started at `window` (what a refund names).
    Granted {
        window: OffsetDateTime,
    },
    /// The current window's attempts are used up until `retry_at`.
    Refused {
        retry_at: OffsetDateTime,
    },
    NotFound,
}

/// One page of a user's files, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileListing {
    pub items: Vec<FileRecord>,
    /// The last id of this page when more may follow; pass it back as `after`.
    pub last: Option<FileId>,
}

/// File and share records (DynamoDB, or the embedded store locally). Every state change is a
/// conditional write, so retried requests and duplicate events are harmless.
/// File requests' records are part of it ([`RequestStore`]).
#[async_trait]
pub trait MetadataStore: RequestStore + Send + Sync {
    /// Records a new `pending` file and reserves its size in the owner's usage, in one atomic
    /// step that fails with [`MetadataError::QuotaExceeded`] when `usage + size > quota`.
    async fn insert_pending_file(
        &self,
        file: &FileRecord,
        quota: u64,
    ) -> Result<(), MetadataError> {
        let bounds = Reservation {
            quota,
            max_pending: u64::MAX,
        };
        self.reserve_pending_file(file, bounds).await
    }

    /// [`MetadataStore::insert_pending_file`] that also fails with
    /// [`MetadataError::TooManyPending`] when the owner already has `max_pending` pending files;
    /// both bounds are checked in the same atomic step as the insert.
    async fn reserve_pending_file(
        &self,
        file: &FileRecord,
        bounds: Reservation,
    ) -> Result<(), MetadataError>;

    async fn file(&self, owner: &UserId, id: &FileId) -> Result<Option<FileRecord>, MetadataError>;

    /// Up to `limit` files, newest first, starting after the file `after` (exclusive).
    async fn list_files(
        &self,
        owner: &UserId,
        limit: usize,
        after: Option<&FileId>,
    ) -> Result<FileListing, MetadataError>;

    /// `pending` → `ready`, recording the checksum when known.
    async fn mark_ready(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: Option<&str>,
    ) -> Result<Transition, MetadataError>;

    /// Records the checksum object storage verified, whatever the file's state (the upload's
    /// completion and its object-created event may arrive in either order).
    async fn set_sha256(
        &self,
        owner: &UserId,
        id: &FileId,
        sha256: &str,
    ) -> Result<Transition, MetadataError>;

    /// `pending` → `failed`, releasing the reserved quota.
    async fn mark_failed(&self, owner: &UserId, id: &FileId) -> Result<Transition, MetadataError>;

    async fn set_thumbnail(
        &self,
        owner: &UserId,
        id: &FileId,
        thumbnail_key: &str,
    ) -> Result<Transition, MetadataError>;

    /// Removes the file record, takes it out of every share of its owner (a link of one file
    /// goes with it, a link of several covers one fewer) and releases its bytes from the usage
    /// (unless already released). Returns the removed record.
    async fn delete_file(
        &self,
        owner: &UserId,
        id: &FileId,
    ) -> Result<Option<FileRecord>, MetadataError>;

    /// [`MetadataStore::delete_file`] for many of the owner's files at once (a folder, a
    /// selection: at most a link's worth), in a few requests. Ids without a file are skipped;
    /// returns the removed records.
    async fn delete_files(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError>;

    /// The owner's files among `ids` (at most a link's worth), in no particular order; ids
    /// without a file of this owner are left out. Reads in batches, not one request per file.
    async fn files_by_ids(
        &self,
        owner: &UserId,
        ids: &[FileId],
    ) -> Result<Vec<FileRecord>, MetadataError>;

    async fn usage(&self, owner: &UserId) -> Result<Usage, MetadataError>;

    /// `pending` files whose upload window closed before `before` (for the sweeper).
    async fn stale_pending_files(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<FileRecord>, MetadataError>;

    /// Stores a new share (of one or more of its owner's files); fails with
    /// [`MetadataError::AlreadyExists`] on a token collision.
    async fn insert_share(&self, share: &ShareRecord) -> Result<(), MetadataError>;

    async fn share(&self, token: &ShareToken) -> Result<Option<ShareRecord>, MetadataError>;

    /// The owner's shares, newest first.
    async fn list_shares(&self, owner: &UserId) -> Result<Vec<ShareRecord>, MetadataError>;

    /// Marks the owner's share revoked. `Missing` for unknown tokens and other owners' shares.
    async fn revoke_share(
        &self,
        owner: &UserId,
        token: &ShareToken,
    ) -> Result<Transition, MetadataError>;

    /// Atomically counts one download if the share is live at `now` and has downloads left.
    async fn count_download(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
    ) -> Result<DownloadCount, MetadataError>;

    /// Atomically takes one password attempt on the share under `policy`, before the password
    /// is checked, so concurrent guesses on every instance share one count.
    async fn reserve_password_attempt(
        &self,
        token: &ShareToken,
        now: OffsetDateTime,
        policy: AttemptPolicy,
    ) -> Result<AttemptReservation, MetadataError>;

    /// Gives back an attempt taken in the window that started at `window` (the password was
    /// right, or was never checked); does nothing once that window has been replaced.
    async fn refund_password_attempt(
        &self,
        token: &ShareToken,
        window: OffsetDateTime,
    ) -> Result<(), MetadataError>;
}

/// Who a verified access token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub username: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("could not fetch signing keys: {0}")]
    Keys(String),
}

/// Verifies access tokens (Cognito's, or the embedded identity provider's).
#[async_trait]
pub trait TokenVerifier: Send + Sync {
    async fn verify(&self, token: &str) -> Result<Identity, AuthError>;
}

/// The time, injectable so expiry rules can be tested.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is moved: expiry can then be tested by moving it instead
/// of waiting. Tests use it; so can anything that replays events at the time they happened.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.time() = at;
    }

    pub fn advance(&self, by: Duration) {
        *self.time() += by;
    }

    fn time(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // The guarded value is a plain time: a panic elsewhere cannot leave it half written.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.time()
    }
}
