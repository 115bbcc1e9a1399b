//! An encrypted upload's browser side: the file's sealed metadata and its ciphertext, one
//! multipart part (or the whole small file) at a time, read from the picked file's `Blob`. Each
//! part is sealed on its own ([`super::RecordSize::span`]), so the upload engine can hash, send,
//! retry and resume parts as it does plain ones, over the ciphertext.

use ferry_api::encryption::{ENCRYPTED_NAME, EncryptedMeta, META_VERSION};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CryptoKey};

use super::link::TransferKey;
use super::meta::{self, FileSecrets};
use super::webcrypto::{WebCrypto, random_bytes};
use super::{AES_256_GCM, CONTENT_RECORDS, CryptoError, RecordKeys, SALT_LEN, seal_span};

fn js(err: JsValue) -> CryptoError {
    CryptoError::Backend(
        err.as_string()
            .unwrap_or_else(|| "the file could not be read".into()),
    )
}

/// One file being encrypted for upload.
pub struct SealedFile {
    web: WebCrypto,
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
            web,
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
            web,
            keys,
            plain_size,
            cipher_size,
            meta: meta.clone(),
        })
    }

    /// The ciphertext bytes `start..end` of the stored object (a part of the layout over
    /// [`Self::cipher_size`]), encrypted from the plaintext `file` they cover.
    pub async fn part(&self, file: &Blob, start: u64, end: u64) -> Result<Blob, CryptoError> {
        let span = CONTENT_RECORDS.span(self.plain_size, start..end)?;
        let slice = file
            .slice_with_f64_and_f64(span.plaintext.start as f64, span.plaintext.end as f64)
            .map_err(js)?;
        let buffer = JsFuture::from(slice.array_buffer()).await.map_err(js)?;
        let plaintext = Uint8Array::new(&buffer).to_vec();
        let sealed = seal_span(&self.web, &self.keys, CONTENT_RECORDS, &span, &plaintext).await?;
        let parts = Array::of1(&Uint8Array::from(&sealed[..]));
        Blob::new_with_u8_array_sequence(&parts).map_err(js)
    }

    /// [`Self::part`] and the base64 SHA-256 of its ciphertext, as S3 checks it.
    pub async fn part_with_checksum(
        &self,
        file: &Blob,
        start: u64,
        end: u64,
    ) -> Result<(Blob, String), CryptoError> {
        let part = self.part(file, start, end).await?;
        let sha256 = crate::checksum::sha256(&part)
            .await
            .map_err(CryptoError::Backend)?;
        Ok((part, sha256))
    }

    /// The `POST /api/uploads` (with the ciphertext's `sha256`) or `/api/uploads/multipart`
    /// body of this file.
    pub fn announcement(&self, sha256: Option<String>) -> crate::api_client::NewUpload {
        crate::api_client::NewUpload::sealed(self.cipher_size, self.meta.clone(), sha256)
    }
}
