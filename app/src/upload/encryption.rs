//! End-to-end encrypted uploads in the engine: what an encrypted upload stores and counts, which
//! transfer key a drop seals its files with, and whether an earlier encrypted upload can carry
//! on after a reload. The bytes themselves are sealed by [`crate::crypto::sealing`]; the runner
//! asks these rules and does the browser side (`single`, `opening`, `drive`).

use leptos::prelude::*;

use crate::crypto::CONTENT_RECORDS;
use crate::crypto::link::TransferKey;
use crate::crypto::sealing::SealedFile;

use super::error::{ErrorKind, UploadError};
use super::queue::UploadId;
use super::resume::{FileIdentity, ResumeRecord};
use super::runner::Uploader;

/// `localStorage`: this device's choice of the "Encrypt end to end" toggle ("1" or "0").
pub const CHOICE_KEY: &str = "ferry.e2ee.upload.v1";

/// Bytes an upload of `plain` bytes stores: the ciphertext's size when encrypted. The queue, the
/// multipart threshold, the part layout and the progress bar all count these, so a bar of an
/// encrypted file ends exactly at its stored size.
pub fn stored_size(plain: u64, encrypted: bool) -> u64 {
    if encrypted {
        CONTENT_RECORDS.ciphertext_size(plain).unwrap_or(u64::MAX)
    } else {
        plain
    }
}

/// The toggle's first state: this device's last choice, else the operator's default.
pub fn initial_choice(stored: Option<&str>, operator_default: bool) -> bool {
    match stored {
        Some("1") => true,
        Some("0") => false,
        _ => operator_default,
    }
}

/// What becomes of an earlier upload of the same file that this browser remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// Carry on: the parts storage holds are not sent again.
    Resume,
    /// Encrypted, and this device no longer holds its key (another browser's record, or the key
    /// ring was cleared): its parts cannot be continued without corrupting the file.
    KeyMissing,
    /// Uploaded plain while this one is encrypted, or the other way round: start afresh and
    /// leave it be (its parts are not this upload's bytes).
    OtherMode,
}

pub fn earlier(record: &ResumeRecord, encrypting: bool, key_held: bool) -> Earlier {
    match (record.encrypted, encrypting) {
        (true, true) if key_held => Earlier::Resume,
        (true, true) => Earlier::KeyMissing,
        (false, false) => Earlier::Resume,
        _ => Earlier::OtherMode,
    }
}

/// Earlier encrypted uploads of the account that files of a new drop would resume (by name,
/// folder, size and time; the sample is checked when each one opens): the drop reuses the key of
/// one of them, so resumed and fresh files of one drop share the key one link carries.
pub fn resumed_by<'a>(
    records: &'a [ResumeRecord],
    account_email: &str,
    files: &[FileIdentity],
) -> Vec<&'a str> {
    records
        .iter()
        .filter(|r| r.encrypted && files.iter().any(|f| r.is_for(account_email, f)))
        .map(|r| r.file_id.as_str())
        .collect()
}

/// The refusal a resume gets when the key is gone.
pub fn key_missing() -> UploadError {
    UploadError {
        kind: ErrorKind::Other,
        message: "This encrypted upload was started with a key this browser no longer holds \
                  (another device, or its storage was cleared), so it cannot be resumed without \
                  corrupting the file. Retry to upload it again from the start."
            .to_owned(),
    }
}

/// The refusal when the file could not be encrypted (WebCrypto unavailable or refusing).
pub fn unsealable(why: &crate::crypto::CryptoError) -> UploadError {
    UploadError {
        kind: ErrorKind::Other,
        message: format!("The file could not be encrypted: {why}."),
    }
}

impl Uploader {
    /// The transfer key upload `id` is sealed with; `None` for a plain upload.
    pub(super) fn key_of(&self, id: UploadId) -> Option<TransferKey> {
        self.keys
            .with_value(|k| k.get(&id).and_then(|key| key.as_ref().ok()).cloned())
    }

    /// Why upload `id`, meant to be encrypted, has no key (it must not go up in plaintext).
    pub(super) fn key_refused(&self, id: UploadId) -> Option<UploadError> {
        self.keys
            .with_value(|k| k.get(&id).and_then(|key| key.as_ref().err()).cloned())
    }

    /// A file record now holds bytes sealed with `key`: this device remembers it at once, so
    /// the files page can show the name, a link can carry the key and a reload can resume.
    pub(super) fn remember_key(&self, file_id: &str, key: &TransferKey) {
        #[cfg(target_arch = "wasm32")]
        {
            let mut ring = crate::crypto::keyring::KeyRing::load();
            ring.remember(file_id, key);
            ring.save();
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (file_id, key);
    }

    /// The key this device holds for the file record `file_id`.
    pub(super) fn held_key(&self, file_id: &str) -> Option<TransferKey> {
        #[cfg(target_arch = "wasm32")]
        return crate::crypto::keyring::KeyRing::load().key_for(file_id);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = file_id;
            None
        }
    }

    /// The key a new drop seals with: that of an earlier encrypted upload one of its files
    /// resumes (when this device holds it), else a fresh one.
    pub(super) fn drop_key(&self, files: &[FileIdentity]) -> Result<TransferKey, UploadError> {
        let account_email = self.account_email();
        let earlier: Vec<String> = self.resumable.with_untracked(|all| {
            resumed_by(all, &account_email, files)
                .into_iter()
                .map(str::to_owned)
                .collect()
        });
        if let Some(key) = earlier.iter().find_map(|id| self.held_key(id)) {
            return Ok(key);
        }
        TransferKey::generate().map_err(|e| unsealable(&e))
    }

    /// A sealed file's upload has completed: storage holds all of `file_id`'s ciphertext and
    /// the key is in this device's [`crate::crypto::keyring::KeyRing`] under `file_id`.
    ///
    /// Hook for encrypted thumbnails (made in the browser from the plaintext `file`, sealed
    /// with the same key, uploaded beside the file): the single place both the one-`PUT` and
    /// the multipart flow pass through once an encrypted file has landed.
    pub(super) fn sealed_file_landed(&self, file_id: &str, file: &web_sys::File) {
        if let super::target::Target::Owner { api, library } = self.target {
            library.add_sealed_thumbnail(api, file_id, file);
        }
    }
}

/// Seals the file of upload `id` afresh (a new file record): its name, folder and type go into
/// the sealed metadata, nothing of them to the server.
pub(super) async fn seal_new(
    key: &TransferKey,
    file: &web_sys::File,
    folder: Option<&str>,
) -> Result<SealedFile, UploadError> {
    let content_type = file.type_();
    let content_type = if content_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        content_type
    };
    SealedFile::new(key, &file.name(), folder, &content_type, file.size() as u64)
        .await
        .map_err(|e| unsealable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn record(file_id: &str, encrypted: bool) -> ResumeRecord {
        ResumeRecord {
            account_email: "a@example.com".into(),
            file_id: file_id.into(),
            name: "film.mov".into(),
            folder: Some("Fotos".into()),
            size: 200 * MIB,
            last_modified: 7,
            sample_sha256: "s".into(),
            part_size: 8 * MIB,
            part_count: 26,
            parts: vec![],
            saved_at_ms: 5,
            encrypted,
        }
    }

    #[test]
    fn an_encrypted_upload_counts_its_ciphertext() {
        assert_eq!(stored_size(1000, false), 1000);
        assert_eq!(stored_size(1000, true), 1017);
        assert_eq!(stored_size(0, true), 17, "an empty file is one record");
        let gib = 1024 * MIB;
        assert_eq!(
            stored_size(gib, true),
            gib + 17 * gib.div_ceil(65_519),
            "17 bytes a record of 65 519"
        );
        assert_eq!(stored_size(u64::MAX, true), u64::MAX);
    }

    #[test]
    fn the_toggle_starts_as_this_device_left_it_else_as_the_operator_says() {
        assert!(initial_choice(Some("1"), false));
        assert!(!initial_choice(Some("0"), true));
        assert!(initial_choice(None, true));
        assert!(!initial_choice(None, false));
        assert!(initial_choice(Some("junk"), true));
    }

    #[test]
    fn an_earlier_upload_resumes_only_in_its_mode_and_with_its_key() {
        let sealed = record("f1", true);
        let plain = record("f2", false);
        assert_eq!(earlier(&sealed, true, true), Earlier::Resume);
        assert_eq!(earlier(&sealed, true, false), Earlier::KeyMissing);
        assert_eq!(earlier(&sealed, false, true), Earlier::OtherMode);
        assert_eq!(earlier(&plain, false, false), Earlier::Resume);
        assert_eq!(earlier(&plain, true, true), Earlier::OtherMode);
    }

    #[test]
    fn a_drop_reuses_the_key_of_encrypted_uploads_it_resumes() {
        let records = vec![
            record("plain", false),
            record("sealed", true),
            ResumeRecord {
                account_email: "b@example.com".into(),
                ..record("theirs", true)
            },
        ];
        let same = FileIdentity {
            name: "film.mov".into(),
            folder: Some("Fotos".into()),
            size: 200 * MIB,
            last_modified: 7,
        };
        assert_eq!(
            resumed_by(&records, "a@example.com", std::slice::from_ref(&same)),
            ["sealed"]
        );
        let other = FileIdentity {
            last_modified: 8,
            ..same
        };
        assert!(resumed_by(&records, "a@example.com", &[other]).is_empty());
    }
}
