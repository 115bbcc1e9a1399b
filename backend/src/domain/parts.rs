//! How a file is cut into multipart-upload parts, and the checksums that travel with them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;

/// The smallest part Ferry hands out (S3's own minimum is 5 MiB for all but the last part).
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// Parts grow towards this size before the 10 000-part limit needs them to: every part is a
/// request, a read and a digest in the browser, and at 32 MiB Chromium spends about a fifth
/// less CPU per byte than at 8 MiB (bench/upload-throughput). Bigger still would mean more
/// bytes held while a part is hashed, and more to send again when a part is cut off.
pub const PREFERRED_PART_SIZE: u64 = 32 * MIB;
/// Files cut into fewer parts than this get smaller parts (down to [`MIN_PART_SIZE`]), so a
/// file just over the multipart threshold still goes out several parts at a time.
pub const TARGET_PARTS: u64 = 32;
/// S3's limit on parts per upload.
pub const MAX_PARTS: u64 = 10_000;
/// S3's limit on one object (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;

/// Part size and count of one upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartLayout {
    pub size: u64,
    pub part_size: u64,
    pub part_count: u32,
}

impl PartLayout {
    /// The layout for a file of `size` bytes (at least 1): parts of a whole number of MiB,
    /// about `size / 32` between 8 and 32 MiB, and larger only when the file would not fit in
    /// 10 000 parts otherwise. `None` above 5 TiB.
    pub fn for_size(size: u64) -> Option<Self> {
        if size == 0 || size > MAX_OBJECT_SIZE {
            return None;
        }
        let whole_mib = |bytes: u64| bytes.div_ceil(MIB) * MIB;
        let preferred =
            whole_mib(size.div_ceil(TARGET_PARTS)).clamp(MIN_PART_SIZE, PREFERRED_PART_SIZE);
        let needed = whole_mib(size.div_ceil(MAX_PARTS));
        Self::with_part_size(size, preferred.max(needed))
    }

    /// The layout of a recorded upload; `None` when the numbers cannot describe one.
    pub fn with_part_size(size: u64, part_size: u64) -> Option<Self> {
        if size == 0 || part_size == 0 {
            return None;
        }
        let count = size.div_ceil(part_size);
        (count <= MAX_PARTS).then_some(Self {
            size,
            part_size,
            part_count: count as u32,
        })
    }

    /// Bytes in part `number` (1-based); `None` outside `1..=part_count`.
    pub fn part_len(&self, number: u32) -> Option<u64> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size;
        Some((self.size - start).min(self.part_size))
    }
}

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
    fn small_files_get_eight_mib_parts() {
        let layout = PartLayout::for_size(17 * MIB).unwrap();
        assert_eq!((layout.part_size, layout.part_count), (8 * MIB, 3));
        assert_eq!(layout.part_len(1), Some(8 * MIB));
        assert_eq!(layout.part_len(3), Some(MIB));
        assert_eq!(layout.part_len(0), None);
        assert_eq!(layout.part_len(4), None);
        assert_eq!(PartLayout::for_size(1).unwrap().part_count, 1);
        assert_eq!(PartLayout::for_size(1).unwrap().part_len(1), Some(1));
    }

    #[test]
    fn parts_grow_towards_32_mib_for_larger_files() {
        let sizes = |size| {
            let layout = PartLayout::for_size(size).unwrap();
            (layout.part_size / MIB, layout.part_count)
        };
        // Just over the multipart threshold: still several parts to send at once.
        assert_eq!(sizes(65 * MIB), (8, 9));
        assert_eq!(sizes(256 * MIB), (8, 32));
        assert_eq!(sizes(300 * MIB), (10, 30));
        assert_eq!(sizes(1 << 30), (32, 32));
        assert_eq!(sizes(100 << 30), (32, 3200));
        // The largest files that fit 10 000 parts of 32 MiB, and one byte more.
        assert_eq!(sizes(10_000 * 32 * MIB), (32, 10_000));
        assert_eq!(sizes(10_000 * 32 * MIB + 1), (33, 9_697));
    }

    #[test]
    fn parts_grow_so_that_five_tib_fits_in_ten_thousand() {
        for size in [
            80_000 * MIB,
            80_000 * MIB + 1,
            1 << 40,
            MAX_OBJECT_SIZE - 1,
            MAX_OBJECT_SIZE,
        ] {
            let layout = PartLayout::for_size(size).unwrap();
            assert!(u64::from(layout.part_count) <= MAX_PARTS, "{size}");
            assert_eq!(layout.part_size % MIB, 0);
            assert!(layout.part_size >= MIN_PART_SIZE);
            let last = layout.part_len(layout.part_count).unwrap();
            assert!(last > 0 && last <= layout.part_size);
        }
        assert_eq!(
            PartLayout::for_size(MAX_OBJECT_SIZE).unwrap().part_size,
            525 * MIB
        );
        assert_eq!(PartLayout::for_size(0), None);
        assert_eq!(PartLayout::for_size(MAX_OBJECT_SIZE + 1), None);
    }

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
