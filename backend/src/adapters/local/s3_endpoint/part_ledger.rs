//! What the embedded S3 endpoint knows about multipart uploads beyond what s3s-fs keeps: which
//! key an upload belongs to, whether its parts carry SHA-256 checksums, and each received part's
//! size, ETag and verified checksum — so ListParts and CompleteMultipartUpload can answer like
//! S3 (s3s-fs 0.14 reports neither ETags nor checksums of parts, and does not verify them).
//!
//! The ledger lives beside s3s-fs's own files in its root, under the upload's file-name prefix
//! (`.upload_id-{id}.ferry-…`), so s3s-fs's AbortMultipartUpload removes it with the parts.
//! Every file is written to a temporary name and renamed, so a crash never leaves half a record.
//!
//! A part's bytes live in one of two places. Most parts go straight into the upload's
//! *assembly file* ([`PartLedger::assembly_path`]) at `(number - 1) * stride`, where the stride is
//! the length of the first part received (recorded once, [`PartLedger::claim_stride`]): when
//! every part has that length but the last, completing is a truncate and a rename, not a copy.
//! A part that does not fit its slot, or that is received again while its slot already holds a
//! copy, goes to a file of its own ([`PartLedger::data_path`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::layout::S3sFsLayout;

/// A multipart upload as it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadEntry {
    pub bucket: String,
    pub key: String,
    /// Created with `ChecksumAlgorithm::SHA256`: every part must carry `x-amz-checksum-sha256`.
    pub sha256: bool,
    /// Created with another checksum algorithm (`CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`): every
    /// part must carry that checksum, kept in [`PartEntry::checksum`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The object's checksum is of the full object (`FULL_OBJECT`), not composite.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full_object: bool,
}

/// A received part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    pub number: i32,
    pub size: u64,
    /// The part's ETag in hex, without quotes: its MD5 when the client sent `Content-MD5`, else
    /// the first half of its SHA-256 (ETags are opaque; see `upload_part`).
    pub etag: String,
    /// Base64 SHA-256 of the part, as verified on arrival.
    pub sha256: Option<String>,
    /// Base64 checksum of the part in the upload's other algorithm ([`UploadEntry::algorithm`]),
    /// as verified on arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Where the bytes start in the upload's assembly file; `None`: in a file of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// The ledger in s3s-fs's root directory.
#[derive(Debug)]
pub struct PartLedger {
    layout: S3sFsLayout,
}

fn prefix(upload_id: &Uuid) -> String {
    format!("{}ferry-", S3sFsLayout::upload_prefix(upload_id))
}

impl PartLedger {
    pub fn new(layout: S3sFsLayout) -> Self {
        Self { layout }
    }

    fn root(&self) -> &Path {
        self.layout.root()
    }

    fn upload_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root()
            .join(format!("{}upload.json", prefix(upload_id)))
    }

    /// Where a part's bytes live: s3s-fs's own name for them, so its AbortMultipartUpload (and
    /// CompleteMultipartUpload, for conditional requests) finds them.
    pub fn data_path(&self, upload_id: &Uuid, number: i32) -> PathBuf {
        self.layout.part(upload_id, number)
    }

    /// A fresh temporary file name under the upload's prefix (a part being received, an object
    /// being assembled): abort and [`PartLedger::forget`] remove whatever a crash left behind.
    pub fn temp_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root().join(format!(
            "{}tmp-{:016x}",
            prefix(upload_id),
            rand::random::<u64>()
        ))
    }

    /// The file that parts are written into at their slot, and that becomes the object.
    pub fn assembly_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root().join(format!("{}object", prefix(upload_id)))
    }

    fn stride_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root()
            .join(format!("{}stride.json", prefix(upload_id)))
    }

    /// The upload's slot length in the assembly file, once a part has set it.
    pub async fn stride(&self, upload_id: &Uuid) -> std::io::Result<Option<u64>> {
        Self::read_json(&self.stride_path(upload_id)).await
    }

    /// The upload's stride: the one recorded, else `proposed`, recorded now, with an empty
    /// assembly file made first (parts are written into it, never create it: a part arriving
    /// after completion renamed the file away cannot start a new one). The caller serialises
    /// claims of one upload (a check, then a write).
    pub async fn claim_stride(&self, upload_id: &Uuid, proposed: u64) -> std::io::Result<u64> {
        if let Some(stride) = self.stride(upload_id).await? {
            return Ok(stride);
        }
        tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.assembly_path(upload_id))
            .await?;
        self.write_json(&self.stride_path(upload_id), &proposed)
            .await?;
        Ok(proposed)
    }

    fn sealed_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root()
            .join(format!("{}sealed.json", prefix(upload_id)))
    }

    /// Records that completion is about to rename the assembly file (of `size` bytes) to the
    /// object: from now on no part is received, and a completion retried after a failure
    /// past the rename knows the object is already in place.
    pub async fn seal(&self, upload_id: &Uuid, size: u64) -> std::io::Result<()> {
        self.write_json(&self.sealed_path(upload_id), &size).await
    }

    /// The object's size, when a completion sealed the upload.
    pub async fn sealed(&self, upload_id: &Uuid) -> std::io::Result<Option<u64>> {
        Self::read_json(&self.sealed_path(upload_id)).await
    }

    fn part_path(&self, upload_id: &Uuid, number: i32) -> PathBuf {
        self.root()
            .join(format!("{}part-{number}.json", prefix(upload_id)))
    }

    async fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(value)?;
        let tmp = path.with_extension(format!("tmp{}", rand::random::<u64>()));
        tokio::fs::write(&tmp, bytes).await?;
        if let Err(e) = tokio::fs::rename(&tmp, path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        Ok(())
    }

    async fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> std::io::Result<Option<T>> {
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn open(&self, upload_id: &Uuid, entry: &UploadEntry) -> std::io::Result<()> {
        self.write_json(&self.upload_path(upload_id), entry).await
    }

    pub async fn upload(&self, upload_id: &Uuid) -> std::io::Result<Option<UploadEntry>> {
        Self::read_json(&self.upload_path(upload_id)).await
    }

    pub async fn record_part(&self, upload_id: &Uuid, part: &PartEntry) -> std::io::Result<()> {
        self.write_json(&self.part_path(upload_id, part.number), part)
            .await
    }

    /// Part `number`, if recorded.
    pub async fn part(&self, upload_id: &Uuid, number: i32) -> std::io::Result<Option<PartEntry>> {
        Self::read_json(&self.part_path(upload_id, number)).await
    }

    /// Every recorded part, by ascending number.
    pub async fn parts(&self, upload_id: &Uuid) -> std::io::Result<Vec<PartEntry>> {
        let prefix = format!("{}part-", prefix(upload_id));
        let mut parts = Vec::new();
        let mut dir = tokio::fs::read_dir(self.root()).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let is_part = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
                .is_some_and(|n| n.parse::<i32>().is_ok());
            if is_part && let Some(part) = Self::read_json::<PartEntry>(&entry.path()).await? {
                parts.push(part);
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    /// Removes the upload's ledger and the parts' bytes (after completion; abort removes them
    /// through s3s-fs). The upload's own record goes first, so an upload forgotten only half
    /// (the process died meanwhile) is gone to every request, not half there.
    pub async fn forget(&self, upload_id: &Uuid) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.upload_path(upload_id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // The ledger's files and the parts' (`.upload_id-{id}.part-N`).
        let prefix = S3sFsLayout::upload_prefix(upload_id);
        let mut dir = tokio::fs::read_dir(self.root()).await?;
        while let Some(entry) = dir.next_entry().await? {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(&prefix))
            {
                match tokio::fs::remove_file(entry.path()).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_ledger_lists_parts_in_order_and_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = PartLedger::new(S3sFsLayout::new(dir.path().to_path_buf()));
        let id = Uuid::new_v4();
        let entry = UploadEntry {
            bucket: "b".into(),
            key: "files/u/f".into(),
            sha256: true,
            algorithm: None,
            full_object: false,
        };
        assert_eq!(ledger.upload(&id).await.unwrap(), None);
        ledger.open(&id, &entry).await.unwrap();
        assert_eq!(ledger.upload(&id).await.unwrap(), Some(entry));
        for number in [10, 2, 1] {
            let part = PartEntry {
                number,
                size: 5,
                etag: format!("e{number}"),
                sha256: None,
                checksum: None,
                offset: (number < 10).then_some(u64::from(number.unsigned_abs()) * 5),
            };
            ledger.record_part(&id, &part).await.unwrap();
        }
        let numbers: Vec<i32> = ledger
            .parts(&id)
            .await
            .unwrap()
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(numbers, [1, 2, 10]);
        assert_eq!(ledger.part(&id, 2).await.unwrap().unwrap().offset, Some(10));
        assert_eq!(ledger.part(&id, 10).await.unwrap().unwrap().offset, None);
        assert_eq!(ledger.part(&id, 3).await.unwrap(), None);
        // The first stride claimed stays, and comes with an empty assembly file.
        assert_eq!(ledger.stride(&id).await.unwrap(), None);
        assert!(!ledger.assembly_path(&id).exists());
        assert_eq!(ledger.claim_stride(&id, 8).await.unwrap(), 8);
        assert_eq!(std::fs::read(ledger.assembly_path(&id)).unwrap(), b"");
        std::fs::write(ledger.assembly_path(&id), b"part").unwrap();
        assert_eq!(ledger.claim_stride(&id, 5).await.unwrap(), 8);
        assert_eq!(ledger.stride(&id).await.unwrap(), Some(8));
        assert_eq!(std::fs::read(ledger.assembly_path(&id)).unwrap(), b"part");
        assert_eq!(ledger.sealed(&id).await.unwrap(), None);
        ledger.seal(&id, 12).await.unwrap();
        assert_eq!(ledger.sealed(&id).await.unwrap(), Some(12));
        assert!(ledger.parts(&Uuid::new_v4()).await.unwrap().is_empty());
        // The parts' bytes and temporary files go with the ledger; another upload's stay.
        let other = Uuid::new_v4();
        for path in [
            ledger.data_path(&id, 1),
            ledger.assembly_path(&id),
            ledger.temp_path(&id),
            ledger.data_path(&other, 1),
        ] {
            std::fs::write(path, b"x").unwrap();
        }
        ledger.forget(&id).await.unwrap();
        assert_eq!(ledger.upload(&id).await.unwrap(), None);
        assert!(ledger.parts(&id).await.unwrap().is_empty());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(left, [ledger.data_path(&other, 1)]);
    }
}
