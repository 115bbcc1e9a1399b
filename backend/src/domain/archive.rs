//! "Download all": what the ZIP the recipient's browser writes is called, the unique path of
//! each file inside it, and how long its download URLs live.

use std::collections::HashSet;
use std::time::Duration;

use time::OffsetDateTime;

use super::FileRecord;

/// Archive URLs live at least this long, however short the usual download URLs are: the
/// browser fetches the files one after another, and each must start before its URL expires.
pub const MIN_ARCHIVE_URL_TTL: Duration = Duration::from_secs(3600);
/// And at most this long (presigned by a Lambda's role, they could not outlive its session).
pub const MAX_ARCHIVE_URL_TTL: Duration = Duration::from_secs(12 * 3600);
/// The slowest download an archive's URLs are sized for, in bytes per second (1 MiB/s).
pub const SLOWEST_ARCHIVE_RATE: u64 = 1 << 20;

/// How long the URLs of an archive of `total_bytes` live: long enough to stream it all at
/// [`SLOWEST_ARCHIVE_RATE`], never less than `download_ttl` or [`MIN_ARCHIVE_URL_TTL`], never
/// more than [`MAX_ARCHIVE_URL_TTL`] (a request started in time runs to its end either way).
pub fn archive_url_ttl(download_ttl: Duration, total_bytes: u64) -> Duration {
    let streaming = Duration::from_secs(total_bytes.div_ceil(SLOWEST_ARCHIVE_RATE));
    download_ttl
        .max(MIN_ARCHIVE_URL_TTL)
        .max(streaming)
        .min(MAX_ARCHIVE_URL_TTL.max(download_ttl))
}

/// The ZIP's file name: the folder every file sits in (`photos.zip`), or `ferry-{date}.zip`.
pub fn zip_name(files: &[FileRecord], now: OffsetDateTime) -> String {
    let mut tops = files.iter().map(|f| f.folder.as_ref().map(|p| p.top()));
    let common = match tops.next() {
        Some(Some(first)) if tops.all(|t| t == Some(first)) => Some(first),
        _ => None,
    };
    match common {
        Some(top) => format!("{top}.zip"),
        None => {
            let date = now.date();
            format!(
                "ferry-{:04}-{:02}-{:02}.zip",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
        }
    }
}

/// Each file's path in the ZIP (`folder/name`), made unique: two files of one name in one
/// folder (uploaded twice), or names differing only in case (one file on Windows and macOS),
/// become `name (2).ext`.
pub fn entry_paths(files: &[FileRecord]) -> Vec<String> {
    let mut taken = HashSet::new();
    files
        .iter()
        .map(|file| {
            let folder = file.folder.as_ref().map(|p| p.as_str());
            let name = file.name.as_str();
            let mut path = ferry_api::paths::join(folder, name);
            let mut n = 2;
            while !taken.insert(path.to_lowercase()) {
                let (stem, ext) = match name.rfind('.') {
                    Some(dot) if dot > 0 => name.split_at(dot),
                    _ => (name, ""),
                };
                path = ferry_api::paths::join(folder, &format!("{stem} ({n}){ext}"));
                n += 1;
            }
            path
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(folder: Option<&str>, name: &str) -> FileRecord {
        FileRecord::sample_in(folder, name)
    }

    #[test]
    fn the_zip_is_named_after_the_common_top_folder_or_the_date() {
        let day = time::macros::datetime!(2026-03-07 10:00 UTC);
        let same = [file(Some("photos/2026"), "a"), file(Some("photos"), "b")];
        assert_eq!(zip_name(&same, day), "photos.zip");
        let mixed = [file(Some("photos"), "a"), file(None, "b")];
        assert_eq!(zip_name(&mixed, day), "ferry-2026-03-07.zip");
        let apart = [file(Some("a"), "x"), file(Some("b"), "y")];
        assert_eq!(zip_name(&apart, day), "ferry-2026-03-07.zip");
        assert_eq!(zip_name(&[], day), "ferry-2026-03-07.zip");
    }

    #[test]
    fn paths_keep_folders_and_never_collide() {
        let files = [
            file(Some("a/b"), "x.txt"),
            file(Some("a/b"), "x.txt"),
            file(Some("a/b"), "X.TXT"),
            file(None, "x.txt"),
            file(None, ".env"),
            file(None, ".env"),
            file(None, "x.txt"),
            file(None, "x (2).txt"),
        ];
        assert_eq!(
            entry_paths(&files),
            [
                "a/b/x.txt",
                "a/b/x (2).txt",
                "a/b/X (3).TXT",
                "x.txt",
                ".env",
                ".env (2)",
                "x (2).txt",
                "x (2) (2).txt"
            ]
        );
    }

    #[test]
    fn archive_urls_outlast_a_slow_download_within_bounds() {
        let five_min = Duration::from_secs(300);
        assert_eq!(archive_url_ttl(five_min, 10), MIN_ARCHIVE_URL_TTL);
        assert_eq!(
            archive_url_ttl(five_min, 5 << 30),
            Duration::from_secs(5 * 1024)
        );
        assert_eq!(archive_url_ttl(five_min, u64::MAX), MAX_ARCHIVE_URL_TTL);
        let two_hours = Duration::from_secs(7200);
        assert_eq!(archive_url_ttl(two_hours, 10), two_hours);
    }
}
