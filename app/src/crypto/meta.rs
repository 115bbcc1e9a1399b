//! A file's encrypted metadata: its name, folder, type, plaintext size and the salt of its
//! content keys, sealed with the transfer's key as one RFC 8188 message (AES-256-GCM, its own
//! random salt in the header, `rs` 4096, one record), sent base64url in
//! `ferry_api::encryption::EncryptedMeta`. The server stores it and never reads it.

use ferry_api::encryption::MAX_META_BYTES;
use serde::{Deserialize, Serialize};

use super::link::TransferKey;
use super::message::{self, HEADER_LEN, Header};
use super::{AES_256_GCM, CryptoError, Primitives, RECORD_OVERHEAD, RecordSize, SALT_LEN};

/// The metadata message's record size: the whole blob is one record.
pub const META_RECORDS: RecordSize = RecordSize(MAX_META_BYTES as u64);

/// The longest metadata JSON that still seals into [`MAX_META_BYTES`].
pub const MAX_META_JSON: usize = MAX_META_BYTES - HEADER_LEN - RECORD_OVERHEAD as usize;

/// What only the transfer's key holders may read about a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSecrets {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub content_type: String,
    /// The plaintext's size (the object holds [`super::CONTENT_RECORDS`]' ciphertext of it).
    pub size: u64,
    /// Base64url of the content's HKDF salt ([`SALT_LEN`] bytes).
    pub salt: String,
}

impl FileSecrets {
    /// The content's salt, checked.
    pub fn content_salt(&self) -> Result<[u8; SALT_LEN], CryptoError> {
        crate::base64::decode_url(&self.salt)
            .and_then(|salt| salt.try_into().ok())
            .ok_or(CryptoError::Malformed(
                "a content salt that is not 16 bytes",
            ))
    }
}

/// Seals `secrets` with the transfer's key; `salt` is fresh random bytes for this blob.
pub async fn seal<P: Primitives>(
    primitives: &P,
    key: &TransferKey,
    salt: [u8; SALT_LEN],
    secrets: &FileSecrets,
) -> Result<Vec<u8>, CryptoError> {
    let json = serde_json::to_vec(secrets)
        .map_err(|_| CryptoError::Malformed("metadata that is not JSON"))?;
    if json.len() > MAX_META_JSON {
        return Err(CryptoError::Malformed("metadata longer than 4 KiB"));
    }
    let header = Header {
        salt,
        rs: META_RECORDS,
        key_id: Vec::new(),
    };
    message::encrypt(primitives, AES_256_GCM, key.bytes(), &header, &json).await
}

/// Opens a blob [`seal`] made.
pub async fn open<P: Primitives>(
    primitives: &P,
    key: &TransferKey,
    blob: &[u8],
) -> Result<FileSecrets, CryptoError> {
    if blob.len() > MAX_META_BYTES {
        return Err(CryptoError::Malformed("metadata longer than 4 KiB"));
    }
    let json = message::decrypt(primitives, AES_256_GCM, key.bytes(), blob).await?;
    serde_json::from_slice(&json).map_err(|_| CryptoError::Malformed("metadata that is not JSON"))
}
