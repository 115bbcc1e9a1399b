//! An encrypted upload's browser side: the file's sealed metadata and its ciphertext, one
//! multipart part (or the whole small file) at a time, read from the picked file's `Blob`. Each
//! part is sealed on its own ([`super::RecordSize::span`]), so the upload engine can hash, send,
//! retry and resume parts as it does plain ones, over the ciphertext.

use ferry_api::encryption::{ENCRYPTED_NAME, EncryptedMeta, META_VERSION};
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, Blob, CryptoKey};

use super::link::TransferKey;
use super::meta::{self, FileSecrets};
use super::webcrypto::{WebCrypto, random_bytes};
use super::{AES_256_GCM, CONTENT_RECORDS, CryptoError, LAST, MORE, RecordKeys, SALT_LEN, TAG_LEN};

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
    /// [`Self::cipher_size`]), encrypted from the plaintext `file` they cover, and the base64
    /// SHA-256 of that ciphertext, as S3 checks it.
    ///
    /// The bytes stay in JavaScript (no copies through the wasm heap), every record of the part
    /// is handed to WebCrypto at once (it seals them on its own threads), and the digest is
    /// taken from the sealed bytes before they become the `Blob`, which is never read back.
    /// Memory: the part's plaintext, its ciphertext buffer and WebCrypto's copies of them, for
    /// as long as this part is in flight.
    pub async fn part_with_checksum(
        &self,
        file: &Blob,
        start: u64,
        end: u64,
    ) -> Result<(Blob, String), CryptoError> {
        let span = CONTENT_RECORDS.span(self.plain_size, start..end)?;
        let slice = file
            .slice_with_f64_and_f64(span.plaintext.start as f64, span.plaintext.end as f64)
            .map_err(js)?;
        let plain = Uint8Array::new(&JsFuture::from(slice.array_buffer()).await.map_err(js)?);
        let len = plain.length();
        if u64::from(len) != span.plaintext.end - span.plaintext.start {
            return Err(CryptoError::Malformed(
                "plaintext of another length than the span",
            ));
        }
        let too_large = || CryptoError::Malformed("a part larger than 4 GiB");
        let out = Uint8Array::new_with_length(u32::try_from(end - start).map_err(|_| too_large())?);
        let (rs, data_len) = (
            CONTENT_RECORDS.get() as u32,
            CONTENT_RECORDS.data_len() as u32,
        );
        // Record i's plaintext (data and delimiter) is staged where its ciphertext will go
        // (offset i * rs): `encrypt` copies its input before it returns, and every record's
        // ciphertext (data + delimiter + tag) ends where the next record begins.
        let sealing = Array::new();
        for i in 0..span.records {
            let index = u32::try_from(i).map_err(|_| too_large())?;
            let from = index.saturating_mul(data_len).min(len);
            let to = from.saturating_add(data_len).min(len);
            let at = index.checked_mul(rs).ok_or_else(too_large)?;
            let record_end = at + (to - from) + 1;
            if u64::from(record_end) + TAG_LEN as u64 > u64::from(out.length()) {
                return Err(CryptoError::Malformed(
                    "sealed records longer than the part",
                ));
            }
            out.set(&plain.subarray(from, to), at);
            let last = span.ends_file && i + 1 == span.records;
            out.set_index(record_end - 1, if last { LAST } else { MORE });
            let nonce = self.keys.nonce(span.first_record + i);
            let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&nonce[..]));
            let promise = self
                .web
                .subtle()
                .encrypt_with_object_and_buffer_source(
                    &params,
                    &self.keys.key,
                    &out.subarray(at, record_end),
                )
                .map_err(js)?;
            sealing.push(&promise);
        }
        let sealed: Array = JsFuture::from(Promise::all(&sealing))
            .await
            .map_err(js)?
            .unchecked_into();
        drop(sealing);
        let mut at = 0u32;
        for record in sealed.iter() {
            let record = Uint8Array::new(&record);
            if u64::from(at) + u64::from(record.length()) > u64::from(out.length()) {
                return Err(CryptoError::Malformed(
                    "sealed records longer than the part",
                ));
            }
            out.set(&record, at);
            at += record.length();
        }
        if at != out.length() {
            return Err(CryptoError::Malformed(
                "sealed records shorter than the part",
            ));
        }
        let digest = self
            .web
            .subtle()
            .digest_with_str_and_buffer_source("SHA-256", &out)
            .map_err(js)?;
        let digest = JsFuture::from(digest).await.map_err(js)?;
        let sha256 = crate::checksum::encode(&Uint8Array::new(&digest).to_vec());
        let part = Blob::new_with_u8_array_sequence(&Array::of1(&out)).map_err(js)?;
        Ok((part, sha256))
    }

    /// The `POST /api/uploads` (with the ciphertext's `sha256`) or `/api/uploads/multipart`
    /// body of this file.
    pub fn announcement(&self, sha256: Option<String>) -> crate::api_client::NewUpload {
        crate::api_client::NewUpload::sealed(self.cipher_size, self.meta.clone(), sha256)
    }
}
