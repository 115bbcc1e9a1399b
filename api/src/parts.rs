//! How a file is cut into multipart-upload parts: the layout the API hands out and the app
//! follows, and the numbers both sides must agree on.

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

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
/// Files above this many bytes go in parts when `/config.json` does not say otherwise
/// ([`crate::SiteConfig::multipart_threshold`], `FERRY_MULTIPART_THRESHOLD`).
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * MIB;
/// Parts per `POST /api/files/{id}/parts`: enough for many parts in flight, small enough to
/// answer quickly.
pub const MAX_PART_URLS: usize = 100;

/// Part size and count of one upload: part `n` (1-based) covers bytes `(n-1)*part_size ..` up to
/// `part_size` bytes; only the last part may be shorter.
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

    /// The layout an API answer announces for a file of `size` bytes
    /// ([`crate::MultipartTicket`], [`crate::UploadedParts`]); `None` when the part count does
    /// not fit the file (the answer was odd).
    pub fn announced(size: u64, part_size: u64, part_count: u32) -> Option<Self> {
        Self::with_part_size(size, part_size).filter(|layout| layout.part_count == part_count)
    }

    /// Byte range `start..end` of part `number` (1-based); `None` outside `1..=part_count`.
    pub fn range(&self, number: u32) -> Option<(u64, u64)> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size;
        Some((start, (start + self.part_size).min(self.size)))
    }

    /// Bytes in part `number` (1-based); `None` outside `1..=part_count`.
    pub fn part_len(&self, number: u32) -> Option<u64> {
        self.range(number).map(|(start, end)| end - start)
    }
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

    /// Moved from the app's `PartPlan` (now this type).
    #[test]
    fn plans_cut_the_file_into_whole_parts_and_a_short_last_one() {
        let plan = |size: u64, part: u64| {
            PartLayout::announced(size, part, size.div_ceil(part) as u32).unwrap()
        };
        let p = plan(20 * MIB + 5, 8 * MIB);
        assert_eq!(p.part_count, 3);
        assert_eq!(p.range(1), Some((0, 8 * MIB)));
        assert_eq!(p.range(3), Some((16 * MIB, 20 * MIB + 5)));
        assert_eq!(p.part_len(3), Some(4 * MIB + 5));
        assert_eq!(
            (1..=3).filter_map(|n| p.part_len(n)).sum::<u64>(),
            p.size,
            "parts cover the file exactly"
        );
        assert!(
            PartLayout::announced(20 * MIB, 8 * MIB, 2).is_none(),
            "count must match"
        );
        assert!(PartLayout::announced(0, 8 * MIB, 0).is_none());
    }

    #[test]
    fn the_app_and_the_api_agree_on_the_default_threshold() {
        // Just over the threshold, a file still goes out in several parts at once.
        let layout = PartLayout::for_size(DEFAULT_MULTIPART_THRESHOLD + 1).unwrap();
        assert_eq!(layout.part_count, 9);
    }
}
