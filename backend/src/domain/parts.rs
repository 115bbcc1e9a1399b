//! How a file is cut into multipart-upload parts (the layout lives in `ferry_api::parts`, shared
//! with the app), and the checksums that travel with them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

// The layout itself is shared with the app.
pub use ferry_api::parts::{MAX_OBJECT_SIZE, MAX_PARTS, MIN_PART_SIZE, PartLayout};

/// The 32 bytes of a base64 SHA-256 (`x-amz-checksum-sha256`), or `None` if it is not one.
pub fn decode_sha256(value: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(value).ok()?;
    bytes.try_into().ok()
}

/// Base64 SHA-256 of `bytes`.
pub fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// S3's composite checksum of a multipart object: base64 of the SHA-256 of the concatenated
/// part digests, then `-{part count}`.
pub fn composite_sha256(parts: &[[u8; 32]]) -> String {
    let mut hasher = Sha256::new();
    for digest in parts {
        hasher.update(digest);
    }
    format!("{}-{}", STANDARD.encode(hasher.finalize()), parts.len())
}

/// An ETag without its quotes (and weak marker), for comparing what different clients echo.
pub fn bare_etag(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_decode_and_combine_like_s3() {
        let digest = sha256_base64(b"hello");
        assert_eq!(digest, "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert!(decode_sha256(&digest).is_some());
        assert_eq!(decode_sha256("aGVsbG8="), None);
        assert_eq!(decode_sha256("not base64!"), None);
        let a: [u8; 32] = Sha256::digest(b"a").into();
        let b: [u8; 32] = Sha256::digest(b"b").into();
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        assert_eq!(
            composite_sha256(&[a, b]),
            format!("{}-2", sha256_base64(&joined))
        );
        assert_eq!(bare_etag("\"abc\""), "abc");
        assert_eq!(bare_etag("W/\"abc\""), "abc");
        assert_eq!(bare_etag("abc"), "abc");
    }
}
