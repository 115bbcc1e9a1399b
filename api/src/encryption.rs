//! End-to-end encryption on the wire: the sealed metadata a browser attaches to an encrypted
//! upload, which the server stores and hands back without reading it. The format is the app's
//! (`app/src/crypto/`, docs/ENCRYPTION.md); the server only checks its size and encoding.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The largest sealed metadata blob, in bytes (before base64url).
pub const MAX_META_BYTES: usize = 4096;

/// The largest `meta` string: base64url (no padding) of [`MAX_META_BYTES`].
pub const MAX_META_CHARS: usize = MAX_META_BYTES.div_ceil(3) * 4;

/// The format version this server knows: RFC 8188 records with AES-256-GCM, 64 KiB records
/// of content, metadata as one message with `rs` 4096.
pub const META_VERSION: u8 = 1;

/// What the server stores as the name of an encrypted file.
pub const ENCRYPTED_NAME: &str = "encrypted";

/// A file's name, folder, type and content salt, sealed with the transfer's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EncryptedMeta {
    /// Base64url without padding of the sealed blob, at most 4096 bytes (5464 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 5464))]
    pub meta: String,
    /// The format's version: 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub version: u8,
}

/// The largest sealed thumbnail an encrypted file may have, in bytes.
pub const MAX_THUMBNAIL_BYTES: u64 = 64 * 1024;

/// `POST /api/files/{id}/thumbnail`: the size of the thumbnail the owner's browser made and
/// sealed with the transfer's key; the answer is a presigned PUT of exactly that many bytes.
/// The file's `thumbnail_url` then fetches those sealed bytes (only a key holder can show them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SealedThumbnail {
    /// Bytes of the sealed thumbnail, 1..=65536.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65536))]
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_meta_string_holds_the_largest_blob() {
        assert_eq!(MAX_META_CHARS, 5464);
        const { assert!(MAX_META_CHARS * 3 / 4 >= MAX_META_BYTES) };
    }

    #[test]
    fn sealed_metadata_round_trips_on_the_wire_and_is_absent_when_plain() {
        let json = serde_json::json!({
            "name": ENCRYPTED_NAME, "size": 17,
            "encrypted": {"meta": "AbC-_9", "version": 1}
        });
        let req: crate::CreateUpload = serde_json::from_value(json.clone()).unwrap();
        let meta = req.encrypted.clone().unwrap();
        assert_eq!((meta.meta.as_str(), meta.version), ("AbC-_9", META_VERSION));
        assert_eq!(
            serde_json::to_value(&req).unwrap()["encrypted"],
            json["encrypted"]
        );

        let plain: crate::CreateUpload =
            serde_json::from_str(r#"{"name": "a", "size": 1}"#).unwrap();
        assert_eq!(plain.encrypted, None);
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("encrypted")
                .is_none()
        );
        // Answers of servers from before encryption read as plain.
        let share: crate::PublicShare = serde_json::from_value(serde_json::json!({
            "expires_at": "2026-01-01T00:00:00Z", "requires_password": false
        }))
        .unwrap();
        assert!(!share.encrypted && share.encrypted_meta.is_none());
    }
}
