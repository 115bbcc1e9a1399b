//! What the metadata store keeps about files and shares.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_api::FileStatus;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::parts::PartLayout;
use super::requests::GuestMark;
use super::{
    ContentType, FileId, FileName, FolderPath, SealedMeta, ShareToken, UserId, file_object_key,
};

/// A user's file. `object_key` is always `files/{owner}/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub owner: UserId,
    pub id: FileId,
    pub name: FileName,
    pub size: u64,
    pub content_type: ContentType,
    pub status: FileStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// While `pending`: when the upload window closes and the sweeper may reclaim the record.
    #[serde(with = "time::serde::rfc3339")]
    pub upload_expires_at: OffsetDateTime,
    /// The checksum object storage verified: base64 SHA-256 for a single `PUT`, the composite
    /// `{base64}-{parts}` form for a multipart upload (see `ferry_api::PublicShare::sha256`).
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub thumbnail_key: Option<String>,
    /// The S3 multipart upload the bytes arrive through; `None` for a single `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart_upload_id: Option<String>,
    /// Bytes per part of a multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// The folder the file was uploaded in; `None` at the top level (and in records from before
    /// folders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderPath>,
    /// End to end encrypted: the sealed name, folder and type (then `name` is `encrypted`,
    /// the type `application/octet-stream`, no folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<SealedMeta>,
    /// Set when a guest sent the file through a file request; `None` in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestMark>,
}

impl FileRecord {
    pub fn object_key(&self) -> String {
        file_object_key(&self.owner, &self.id)
    }

    /// The part layout of a multipart upload; `None` for a single `PUT`.
    pub fn part_layout(&self) -> Option<PartLayout> {
        self.multipart_upload_id.as_ref()?;
        PartLayout::with_part_size(self.size, self.part_size?)
    }

    /// Whether this record still counts against the owner's quota.
    pub fn holds_quota(&self) -> bool {
        self.status != FileStatus::Failed
    }
}

/// A share link of one or more of its owner's files. Expiry, download limit, password and
/// revocation belong to the link as a whole.
///
/// Records written before links of several files had one `file_id`; they read as a list of one
/// (see [`StoredShare`]), so both shapes live side by side without a migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredShare")]
pub struct ShareRecord {
    pub token: ShareToken,
    pub owner: UserId,
    /// The files, in the order the owner gave them; empty once all of them were deleted.
    pub file_ids: Vec<FileId>,
    /// Name of the first file, so links can be listed without reading every file.
    pub file_name: FileName,
    /// Bytes of the files, kept as files leave the link; `None` in records from before links
    /// of several files (their one file tells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u32>,
    pub downloads: u32,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    pub revoked: bool,
    /// The link's access key (see [`ShareRecord::access_key`]); `None` in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Whether the link stays, empty, once all its files are deleted, so its recipients learn
    /// that (links made of several files); a link of one file goes with its file, as before.
    #[serde(default)]
    pub keep_when_empty: bool,
    /// The link's files are end-to-end encrypted (a link never mixes them with plain ones).
    #[serde(default)]
    pub encrypted: bool,
}

/// What a share record may look like when read: the current shape, or the one-file shape
/// written before links of several files.
#[derive(Deserialize)]
struct StoredShare {
    token: ShareToken,
    owner: UserId,
    #[serde(default)]
    file_ids: Option<Vec<FileId>>,
    #[serde(default)]
    file_id: Option<FileId>,
    file_name: FileName,
    #[serde(default)]
    total_size: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    max_downloads: Option<u32>,
    downloads: u32,
    password_hash: Option<String>,
    revoked: bool,
    #[serde(default)]
    access: Option<String>,
    #[serde(default)]
    keep_when_empty: bool,
    #[serde(default)]
    encrypted: bool,
}

impl From<StoredShare> for ShareRecord {
    fn from(s: StoredShare) -> Self {
        Self {
            token: s.token,
            owner: s.owner,
            file_ids: s
                .file_ids
                .unwrap_or_else(|| s.file_id.into_iter().collect()),
            file_name: s.file_name,
            total_size: s.total_size,
            created_at: s.created_at,
            expires_at: s.expires_at,
            max_downloads: s.max_downloads,
            downloads: s.downloads,
            password_hash: s.password_hash,
            revoked: s.revoked,
            access: s.access,
            keep_when_empty: s.keep_when_empty,
            encrypted: s.encrypted,
        }
    }
}

/// What taking files out of a link left of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shrunk {
    /// None of the files was in the link.
    Untouched,
    /// The link covers fewer files now; `first_changed` when its first file went (its
    /// [`ShareRecord::file_name`] is then the new first file's to look up).
    Fewer { first_changed: bool },
    /// The link covered only files that went, and goes with them.
    Gone,
}

impl ShareRecord {
    /// A new link of `files` (in this order; at least one), with a fresh access key.
    pub fn of_files(
        token: ShareToken,
        files: &[FileRecord],
        terms: ShareRecordTerms,
    ) -> Option<Self> {
        let first = files.first()?;
        Some(Self {
            token,
            owner: first.owner.clone(),
            file_ids: files.iter().map(|f| f.id).collect(),
            file_name: first.name.clone(),
            total_size: Some(files.iter().map(|f| f.size).sum()),
            created_at: terms.created_at,
            expires_at: terms.expires_at,
            max_downloads: terms.max_downloads,
            downloads: 0,
            password_hash: terms.password_hash,
            revoked: false,
            access: Some(super::ids::random_secret()),
            keep_when_empty: files.len() > 1,
            encrypted: files.iter().any(|f| f.encrypted.is_some()),
        })
    }

    /// The first file (the only one of a one-file link); `None` once all are gone.
    pub fn first_file(&self) -> Option<FileId> {
        self.file_ids.first().copied()
    }

    pub fn file_count(&self) -> u32 {
        u32::try_from(self.file_ids.len()).unwrap_or(u32::MAX)
    }

    /// The secret `unlock` gives to a visitor who knew the password, which opens the link
    /// instead of the password afterwards. Records from before it was kept derive theirs from
    /// the password hash (a secret of the server's, salted per link), so they need no migration.
    pub fn access_key(&self) -> Option<String> {
        if let Some(access) = &self.access {
            return Some(access.clone());
        }
        let hash = self.password_hash.as_deref()?;
        let digest = Sha256::new()
            .chain_update(b"ferry share access\0")
            .chain_update(self.token.as_str())
            .chain_update(b"\0")
            .chain_update(hash)
            .finalize();
        Some(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// Whether `given` is this link's access key, compared in constant time.
    pub fn access_matches(&self, given: &str) -> bool {
        self.access_key()
            .is_some_and(|key| super::ids::same_secret(key.as_bytes(), given.as_bytes()))
    }

    /// Takes the files of `gone` out of the link, with their bytes.
    pub fn remove_files(&mut self, gone: &[FileRecord]) -> Shrunk {
        let before = self.file_ids.len();
        let first = self.first_file();
        let leaving: Vec<&FileRecord> = gone
            .iter()
            .filter(|f| f.owner == self.owner && self.file_ids.contains(&f.id))
            .collect();
        if leaving.is_empty() {
            return Shrunk::Untouched;
        }
        self.file_ids
            .retain(|id| !leaving.iter().any(|f| f.id == *id));
        if self.file_ids.len() == before {
            return Shrunk::Untouched;
        }
        if self.file_ids.is_empty() && !self.keep_when_empty {
            return Shrunk::Gone;
        }
        let bytes: u64 = leaving.iter().map(|f| f.size).sum();
        self.total_size = self.total_size.map(|t| t.saturating_sub(bytes));
        Shrunk::Fewer {
            first_changed: self.first_file() != first && !self.file_ids.is_empty(),
        }
    }
}

/// The terms a new link's record is made with.
#[derive(Clone, Debug)]
pub struct ShareRecordTerms {
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub max_downloads: Option<u32>,
    pub password_hash: Option<String>,
}

/// A `ready` text file of `owner` for unit tests, created now, with nothing optional set; a
/// test changes what it needs with `FileRecord { …, ..FileRecord::sample(…) }`.
#[cfg(test)]
impl FileRecord {
    pub(crate) fn sample(owner: &UserId, name: &str, size: u64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            owner: owner.clone(),
            id: FileId::new(),
            name: FileName::parse(name).unwrap(),
            size,
            content_type: ContentType::parse("text/plain").unwrap(),
            status: FileStatus::Ready,
            created_at: now,
            upload_expires_at: now + std::time::Duration::from_secs(60),
            sha256: None,
            thumbnail_key: None,
            multipart_upload_id: None,
            part_size: None,
            folder: None,
            encrypted: None,
            guest: None,
        }
    }

    /// A one-byte [`Self::sample`] of a user `u`, in `folder`.
    pub(crate) fn sample_in(folder: Option<&str>, name: &str) -> Self {
        Self {
            folder: folder.map(|f| FolderPath::parse(f).unwrap()),
            ..Self::sample(&UserId::parse("u").unwrap(), name, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn terms() -> ShareRecordTerms {
        let now = OffsetDateTime::now_utc();
        ShareRecordTerms {
            created_at: now,
            expires_at: now + Duration::from_secs(3600),
            max_downloads: None,
            password_hash: Some("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA".to_owned()),
        }
    }

    #[test]
    fn one_file_records_of_before_read_as_a_list_of_one() {
        let owner = UserId::parse("u").unwrap();
        let id = FileId::new();
        let old = serde_json::json!({
            "token": ShareToken::generate().as_str(), "owner": "u", "file_id": id.to_string(),
            "file_name": "a.txt", "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z", "max_downloads": 3, "downloads": 1,
            "password_hash": null, "revoked": false
        });
        let share: ShareRecord = serde_json::from_value(old).unwrap();
        assert_eq!(
            (share.owner.clone(), share.file_ids.clone()),
            (owner, vec![id])
        );
        assert_eq!((share.total_size, share.access.clone()), (None, None));
        assert!(!share.keep_when_empty);
        let again: ShareRecord =
            serde_json::from_slice(&serde_json::to_vec(&share).unwrap()).unwrap();
        assert_eq!(again, share);
    }

    #[test]
    fn links_shrink_as_files_go_and_only_transfers_stay_empty() {
        let owner = UserId::parse("u").unwrap();
        let (a, b, c) = (
            FileRecord::sample(&owner, "a", 1),
            FileRecord::sample(&owner, "b", 10),
            FileRecord::sample(&owner, "c", 100),
        );
        let mut many = ShareRecord::of_files(
            ShareToken::generate(),
            &[a.clone(), b.clone(), c.clone()],
            terms(),
        )
        .unwrap();
        assert_eq!((many.file_count(), many.total_size), (3, Some(111)));
        assert!(many.keep_when_empty);
        let stranger = FileRecord::sample(&UserId::parse("v").unwrap(), "x", 5);
        assert_eq!(many.remove_files(&[stranger]), Shrunk::Untouched);
        assert_eq!(
            many.remove_files(std::slice::from_ref(&b)),
            Shrunk::Fewer {
                first_changed: false
            }
        );
        assert_eq!(
            many.remove_files(std::slice::from_ref(&a)),
            Shrunk::Fewer {
                first_changed: true
            }
        );
        assert_eq!(
            (many.file_ids.clone(), many.total_size),
            (vec![c.id], Some(100))
        );
        assert_eq!(
            many.remove_files(std::slice::from_ref(&c)),
            Shrunk::Fewer {
                first_changed: false
            }
        );
        assert_eq!((many.file_count(), many.total_size), (0, Some(0)));

        let mut one =
            ShareRecord::of_files(ShareToken::generate(), std::slice::from_ref(&a), terms())
                .unwrap();
        assert_eq!(one.remove_files(&[a]), Shrunk::Gone);
        assert!(ShareRecord::of_files(ShareToken::generate(), &[], terms()).is_none());
    }

    #[test]
    fn access_keys_are_random_per_link_or_derived_for_older_records() {
        let owner = UserId::parse("u").unwrap();
        let f = FileRecord::sample(&owner, "a", 1);
        let share =
            ShareRecord::of_files(ShareToken::generate(), std::slice::from_ref(&f), terms())
                .unwrap();
        let key = share.access_key().unwrap();
        assert_eq!(key.len(), 22);
        assert!(share.access_matches(&key));
        assert!(!share.access_matches(&key[1..]));
        assert!(!share.access_matches(""));
        let other = ShareRecord::of_files(ShareToken::generate(), &[f], terms()).unwrap();
        assert_ne!(other.access_key(), Some(key));

        let old = ShareRecord {
            access: None,
            ..other.clone()
        };
        let derived = old.access_key().unwrap();
        assert_eq!(old.access_key(), Some(derived.clone()), "stable");
        assert!(old.access_matches(&derived));
        let unprotected = ShareRecord {
            password_hash: None,
            ..old
        };
        assert_eq!(unprotected.access_key(), None);
    }
}
