//! What the embedded S3 endpoint knows about multipart uploads beyond what s3s-fs keeps: which
//! key an upload belongs to, whether its parts carry SHA-256 checksums, and each received part's
//! size, ETag and verified checksum — so ListParts and CompleteMultipartUpload can answer like
//! S3 (s3s-fs 0.14 reports neither ETags nor checksums of parts, and does not verify them).
//!
//! The ledger lives beside s3s-fs's own files in its root, under the upload's file-name prefix
//! (`.upload_id-{id}.ferry-…`), so s3s-fs's AbortMultipartUpload removes it with the parts.
//! Every file is written to a temporary name and renamed, so a crash never leaves half a record.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use s3s::dto::StreamingBlob;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A multipart upload as it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadEntry {
    pub bucket: String,
    pub key: String,
    /// Created with `ChecksumAlgorithm::SHA256`: every part must carry `x-amz-checksum-sha256`.
    pub sha256: bool,
}

/// A received part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    pub number: i32,
    pub size: u64,
    /// The part's MD5 in hex, without quotes (S3's part ETag).
    pub etag: String,
    /// Base64 SHA-256 of the part, as verified on arrival.
    pub sha256: Option<String>,
}

/// The ledger in s3s-fs's root directory.
#[derive(Debug)]
pub struct PartLedger {
    root: PathBuf,
}

fn prefix(upload_id: &Uuid) -> String {
    format!(".upload_id-{upload_id}.ferry-")
}

impl PartLedger {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn upload_path(&self, upload_id: &Uuid) -> PathBuf {
        self.root.join(format!("{}upload.json", prefix(upload_id)))
    }

    fn part_path(&self, upload_id: &Uuid, number: i32) -> PathBuf {
        self.root
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

    /// Every recorded part, by ascending number.
    pub async fn parts(&self, upload_id: &Uuid) -> std::io::Result<Vec<PartEntry>> {
        let prefix = format!("{}part-", prefix(upload_id));
        let mut parts = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.root).await?;
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

    /// Removes the upload's ledger (after completion; abort removes it with the parts).
    pub async fn forget(&self, upload_id: &Uuid) -> std::io::Result<()> {
        let prefix = prefix(upload_id);
        let mut dir = tokio::fs::read_dir(&self.root).await?;
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

/// What a body stream saw, readable once the stream is done.
#[derive(Debug, Default)]
pub struct BodyTally {
    bytes: AtomicU64,
    mismatch: AtomicBool,
}

impl BodyTally {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    pub fn mismatched(&self) -> bool {
        self.mismatch.load(Ordering::Acquire)
    }
}

/// A request body that counts its bytes and, given an expected SHA-256, fails at its end when
/// the bytes have another digest — so the consumer (s3s-fs writing the part to a temporary file)
/// stops before the part is stored, and the previous copy of the part, if any, stays.
pub struct CheckedBody {
    inner: StreamingBlob,
    hasher: Option<(Sha256, [u8; 32])>,
    tally: Arc<BodyTally>,
}

impl CheckedBody {
    pub fn wrap(
        inner: StreamingBlob,
        expected: Option<[u8; 32]>,
    ) -> (StreamingBlob, Arc<BodyTally>) {
        let tally = Arc::new(BodyTally::default());
        let body = Self {
            inner,
            hasher: expected.map(|digest| (Sha256::new(), digest)),
            tally: Arc::clone(&tally),
        };
        (StreamingBlob::wrap(body), tally)
    }
}

impl Stream for CheckedBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                this.tally
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::AcqRel);
                if let Some((hasher, _)) = &mut this.hasher {
                    hasher.update(&bytes);
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(std::io::Error::other(e)))),
            Poll::Ready(None) => {
                let mismatch = this
                    .hasher
                    .take()
                    .is_some_and(|(hasher, expected)| hasher.finalize().as_slice() != expected);
                if mismatch {
                    this.tally.mismatch.store(true, Ordering::Release);
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "x-amz-checksum-sha256 does not match the body",
                    ))))
                } else {
                    Poll::Ready(None)
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn blob(chunks: &[&'static [u8]]) -> StreamingBlob {
        let items: Vec<Result<Bytes, std::io::Error>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        StreamingBlob::wrap(futures::stream::iter(items))
    }

    async fn drain(mut body: StreamingBlob) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn bodies_with_the_announced_digest_pass_others_fail_at_the_end() {
        let digest: [u8; 32] = Sha256::digest(b"hello world").into();
        let (body, tally) = CheckedBody::wrap(blob(&[b"hello ", b"world"]), Some(digest));
        assert_eq!(drain(body).await.unwrap(), b"hello world");
        assert_eq!((tally.bytes(), tally.mismatched()), (11, false));

        let (body, tally) = CheckedBody::wrap(blob(&[b"hello ", b"there"]), Some(digest));
        assert!(drain(body).await.is_err());
        assert!(tally.mismatched());

        let (body, tally) = CheckedBody::wrap(blob(&[b"abc"]), None);
        assert_eq!(drain(body).await.unwrap(), b"abc");
        assert_eq!(tally.bytes(), 3);
    }

    #[tokio::test]
    async fn the_ledger_lists_parts_in_order_and_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = PartLedger::new(dir.path().to_path_buf());
        let id = Uuid::new_v4();
        let entry = UploadEntry {
            bucket: "b".into(),
            key: "files/u/f".into(),
            sha256: true,
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
        assert!(ledger.parts(&Uuid::new_v4()).await.unwrap().is_empty());
        ledger.forget(&id).await.unwrap();
        assert_eq!(ledger.upload(&id).await.unwrap(), None);
        assert!(ledger.parts(&id).await.unwrap().is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
