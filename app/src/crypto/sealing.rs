//! An encrypted upload's browser side: the file's sealed metadata and its ciphertext, one
//! multipart part (or the whole small file) at a time, read from the picked file's `Blob` by a
//! sealing worker ([`super::seal_worker`]). Each part is sealed on its own
//! ([`super::RecordSize::span`]), so the upload engine can hash, send, retry and resume parts as
//! it does plain ones, over the ciphertext.

use ferry_api::encryption::{ENCRYPTED_NAME, EncryptedMeta, META_VERSION};
use web_sys::{Blob, CryptoKey};

use super::link::TransferKey;
use super::meta::{self, FileSecrets};
use super::seal_worker::{self, SealedPart};
use super::webcrypto::{WebCrypto, random_bytes};
use super::{AES_256_GCM, CONTENT_RECORDS, CryptoError, RecordKeys, SALT_LEN};

/// One file being encrypted for upload.
pub struct SealedFile {
    keys: RecordKeys<CryptoKey>,
    plain_size: u64,
    /// What the upload announces as `size` and lays its parts out over.
    pub cipher_size: u64,
    /// What the upload announces as `encrypted` (with `name` = [`ENCRYPTED_NAME`]).
    pub meta: EncryptedMeta,
}

/// The neutral name an encrypted upload announces beside its sealed one.
pub const ANNOUNCED_NAME: &str = ENCRYPTED_NAME;

impl SealedFile {
    /// Fresh salts, the content keys and the sealed metadata of a file of `plain_size` bytes.
    pub async fn new(
        key: &TransferKey,
        name: &str,
        folder: Option<&str>,
        content_type: &str,
        plain_size: u64,
    ) -> Result<Self, CryptoError> {
        seal_worker::warm();
        let web = WebCrypto::new()?;
        let (mut content_salt, mut meta_salt) = ([0; SALT_LEN], [0; SALT_LEN]);
        random_bytes(&mut content_salt)?;
        random_bytes(&mut meta_salt)?;
        let secrets = FileSecrets {
            name: name.to_owned(),
            folder: folder.filter(|f| !f.is_empty()).map(str::to_owned),
            content_type: content_type.to_owned(),
            size: plain_size,
            salt: crate::base64::encode_url(&content_salt),
        };
        let blob = meta::seal(&web, key, meta_salt, &secrets).await?;
        let keys = RecordKeys::derive(&web, AES_256_GCM, key.bytes(), &content_salt).await?;
        let cipher_size = CONTENT_RECORDS
            .ciphertext_size(plain_size)
            .ok_or(CryptoError::Malformed("a file too large"))?;
        Ok(Self {
            keys,
            plain_size,
            cipher_size,
            meta: EncryptedMeta {
                meta: crate::base64::encode_url(&blob),
                version: META_VERSION,
            },
        })
    }

    /// The same file again after a reload: its content keys from `key` and the content salt
    /// inside its own sealed `meta` (as `GET /api/files/{id}` returns it), so parts still to
    /// send encrypt exactly as the ones already stored did. Refused when `key` does not open
    /// `meta` ([`CryptoError::Tampered`]) or the metadata is of another file size.
    pub async fn resume(
        key: &TransferKey,
        meta: &EncryptedMeta,
        plain_size: u64,
    ) -> Result<Self, CryptoError> {
        seal_worker::warm();
        let web = WebCrypto::new()?;
        let blob = crate::base64::decode_url(&meta.meta)
            .ok_or(CryptoError::Malformed("metadata that is not base64url"))?;
        let secrets = meta::open(&web, key, &blob).await?;
        if secrets.size != plain_size {
            return Err(CryptoError::Malformed("metadata of a file of another size"));
        }
        let salt = secrets.content_salt()?;
        let keys = RecordKeys::derive(&web, AES_256_GCM, key.bytes(), &salt).await?;
        let cipher_size = CONTENT_RECORDS
            .ciphertext_size(plain_size)
            .ok_or(CryptoError::Malformed("a file too large"))?;
        Ok(Self {
            keys,
            plain_size,
            cipher_size,
            meta: meta.clone(),
        })
    }

    /// The ciphertext bytes `start..end` of the stored object (a part of the layout over
    /// [`Self::cipher_size`]), encrypted from the plaintext `file` they cover, and the base64
    /// SHA-256 of that ciphertext, as S3 checks it.
    ///
    /// Sealed by a worker ([`super::seal_worker`]): this works out the part's records and their
    /// nonces, the worker reads, encrypts, hashes and keeps the part (and sends it, asked through
    /// the [`SealedPart`]), so the bytes never enter the page. Memory: the part's plaintext, its
    /// ciphertext and WebCrypto's copies of them in the worker while it is sealed, then the
    /// part's `Blob` in the worker until the `SealedPart` is dropped and its send has ended.
    pub async fn part_with_checksum(
        &self,
        file: &Blob,
        start: u64,
        end: u64,
    ) -> Result<(SealedPart, String), CryptoError> {
        let span = CONTENT_RECORDS.span(self.plain_size, start..end)?;
        let nonces: Vec<u8> = (0..span.records)
            .flat_map(|i| self.keys.nonce(span.first_record + i))
            .collect();
        let (part, digest) = seal_worker::seal(seal_worker::Job {
            key: &self.keys.key,
            file,
            plaintext: (span.plaintext.start, span.plaintext.end),
            nonces: &nonces,
            data_len: CONTENT_RECORDS.data_len(),
            part_len: end - start,
            ends_file: span.ends_file,
        })
        .await?;
        Ok((part, crate::checksum::encode(&digest)))
    }

    /// The `POST /api/uploads` (with the ciphertext's `sha256`) or `/api/uploads/multipart`
    /// body of this file.
    pub fn announcement(&self, sha256: Option<String>) -> crate::api_client::NewUpload {
        crate::api_client::NewUpload::sealed(self.cipher_size, self.meta.clone(), sha256)
    }
}
