//! The metadata port of file requests: request and guest records, and the atomic reservation
//! of a request's limits with the owner's quota when a guest announces a file.

use std::collections::HashMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MetadataError, Transition};
use crate::domain::requests::{GuestId, GuestMark, GuestRecord, RequestRecord, RequestToken};
use crate::domain::{FileId, FileRecord, UserId};

/// Why a guest's upload was not reserved.
#[derive(Debug, thiserror::Error)]
pub enum RequestRefusal {
    #[error("no such request")]
    NotFound,
    #[error("no such guest")]
    UnknownGuest,
    #[error("request closed")]
    Closed,
    #[error("request expired")]
    Expired,
    #[error("no files left")]
    Full,
    #[error("only {bytes_left} bytes left")]
    TooLarge { bytes_left: u64 },
    #[error("quota exceeded: {used} of {quota} bytes used")]
    QuotaExceeded { used: u64, quota: u64 },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

impl RequestRefusal {
    /// Which limit of `request` refused a file of `size` bytes at `now` (after a conditional
    /// write said no without saying why).
    pub fn of(request: &RequestRecord, size: u64, now: OffsetDateTime) -> Option<Self> {
        use ferry_api::RequestState;
        match request.state_at(now) {
            RequestState::Expired => Some(Self::Expired),
            RequestState::Closed => Some(Self::Closed),
            RequestState::Open if request.files_left == 0 => Some(Self::Full),
            RequestState::Open if request.bytes_left < size => Some(Self::TooLarge {
                bytes_left: request.bytes_left,
            }),
            RequestState::Open => None,
        }
    }
}

/// Request and guest records. Implemented by both metadata stores and run through the same
/// contract tests.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Stores a new request; [`MetadataError::AlreadyExists`] on a token collision.
    async fn insert_request(&self, request: &RequestRecord) -> Result<(), MetadataError>;

    async fn request(&self, token: &RequestToken) -> Result<Option<RequestRecord>, MetadataError>;

    /// The owner's requests, newest first.
    async fn list_requests(&self, owner: &UserId) -> Result<Vec<RequestRecord>, MetadataError>;

    /// Closes (`closed`) or reopens the owner's request. `Missing` for other owners' requests,
    /// `Unchanged` when it already was so.
    async fn set_request_closed(
        &self,
        owner: &UserId,
        token: &RequestToken,
        closed: bool,
    ) -> Result<Transition, MetadataError>;

    /// Removes the owner's request and its guests' records (their files stay the owner's).
    async fn delete_request(
        &self,
        owner: &UserId,
        token: &RequestToken,
    ) -> Result<Transition, MetadataError>;

    /// Stores a new guest of a request; [`MetadataError::AlreadyExists`] on a collision.
    async fn insert_guest(&self, guest: &GuestRecord) -> Result<(), MetadataError>;

    async fn guest(
        &self,
        token: &RequestToken,
        guest: &GuestId,
    ) -> Result<Option<GuestRecord>, MetadataError>;

    /// Sets the guest's name and note, and the mark of each of `files` (the guest's, of the
    /// request's owner) to `mark`.
    async fn set_guest_note(
        &self,
        owner: &UserId,
        files: &[FileId],
        mark: &GuestMark,
    ) -> Result<Transition, MetadataError>;

    /// Records a guest's `pending` file (its `guest` mark set) in ONE atomic step with: one
    /// file and its bytes taken from the request (which must be open at `now`), its bytes
    /// added to the owner's usage (within `quota`), and its id added to the guest's record.
    async fn reserve_request_file(
        &self,
        file: &FileRecord,
        quota: u64,
        now: OffsetDateTime,
    ) -> Result<(), RequestRefusal>;

    /// Gives `files` files and `bytes` bytes back to the request (its guests' files went); a
    /// request that is gone is left alone.
    async fn release_request_files(
        &self,
        token: &RequestToken,
        files: u32,
        bytes: u64,
    ) -> Result<(), MetadataError>;

    /// Gives back what each of `removed` (files deleted or failed, as they were before) had
    /// taken from its request. Files that no longer held anything (already failed) are
    /// skipped.
    async fn release_guest_files(&self, removed: &[FileRecord]) -> Result<(), MetadataError> {
        let mut by_request: HashMap<&RequestToken, (u32, u64)> = HashMap::new();
        for file in removed.iter().filter(|f| f.holds_quota()) {
            if let Some(mark) = &file.guest {
                let entry = by_request.entry(&mark.request).or_default();
                entry.0 += 1;
                entry.1 += file.size;
            }
        }
        for (token, (files, bytes)) in by_request {
            self.release_request_files(token, files, bytes).await?;
        }
        Ok(())
    }
}
