//! Thumbnails of end-to-end encrypted images: made in the owner's browser at upload (at most
//! [`MAX_EDGE`] px, WebP or JPEG), sealed with the transfer's key as one RFC 8188 message (its
//! own random salt, key id `t` so a metadata blob cannot pass for one) and stored through a
//! presigned PUT of at most [`MAX_THUMBNAIL_BYTES`]. The server never decodes them; a browser
//! holding the key opens them for the owner's list and the recipients' page.

use ferry_api::encryption::MAX_THUMBNAIL_BYTES;

use super::link::TransferKey;
use super::message::{self, HEADER_LEN, Header};
use super::{AES_256_GCM, CryptoError, Primitives, RECORD_OVERHEAD, RecordSize, SALT_LEN};

/// Longest edge of a thumbnail, in pixels (the server's own thumbnails use the same).
pub const MAX_EDGE: u32 = 256;

/// The key id in a sealed thumbnail's header.
pub const KEY_ID: &[u8] = b"t";

/// One record holds the whole thumbnail.
pub const THUMB_RECORDS: RecordSize = RecordSize(MAX_THUMBNAIL_BYTES);

/// The largest image that still seals into [`MAX_THUMBNAIL_BYTES`].
pub const MAX_IMAGE_BYTES: usize =
    MAX_THUMBNAIL_BYTES as usize - HEADER_LEN - KEY_ID.len() - RECORD_OVERHEAD as usize;

/// Images above this are not decoded for a thumbnail (the decode would hold too much memory).
pub const MAX_SOURCE_BYTES: f64 = 50.0 * 1024.0 * 1024.0;

/// The size a `width` × `height` image is drawn at to fit [`MAX_EDGE`] (never enlarged, never
/// below 1 px).
pub fn fit(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height).max(1);
    if longest <= MAX_EDGE {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(MAX_EDGE) + u64::from(longest) / 2) / u64::from(longest))
            .max(1) as u32
    };
    (scale(width), scale(height))
}

/// Whether a file of this type is an image a browser can draw into a thumbnail.
pub fn wanted(content_type: &str, size: f64) -> bool {
    let ty = content_type.to_ascii_lowercase();
    matches!(
        ty.as_str(),
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/avif" | "image/bmp"
    ) && size > 0.0
        && size <= MAX_SOURCE_BYTES
}

/// The image type of thumbnail bytes, from their first bytes (a blob URL needs none to show,
/// but a type keeps it from being taken for anything else).
pub fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

/// Seals an encoded thumbnail; `salt` is fresh random bytes.
pub async fn seal<P: Primitives>(
    primitives: &P,
    key: &TransferKey,
    salt: [u8; SALT_LEN],
    image: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if image.is_empty() || image.len() > MAX_IMAGE_BYTES {
        return Err(CryptoError::Malformed("a thumbnail over 64 KiB"));
    }
    let header = Header {
        salt,
        rs: THUMB_RECORDS,
        key_id: KEY_ID.to_vec(),
    };
    message::encrypt(primitives, AES_256_GCM, key.bytes(), &header, image).await
}

/// Opens what [`seal`] made.
pub async fn open<P: Primitives>(
    primitives: &P,
    key: &TransferKey,
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() as u64 > MAX_THUMBNAIL_BYTES {
        return Err(CryptoError::Malformed("a thumbnail over 64 KiB"));
    }
    let (header, _) = message::Header::parse(sealed)?;
    if header.key_id != KEY_ID {
        return Err(CryptoError::Malformed("not a thumbnail"));
    }
    message::decrypt(primitives, AES_256_GCM, key.bytes(), sealed).await
}
