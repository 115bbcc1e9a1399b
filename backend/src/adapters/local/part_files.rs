//! The bytes of multipart uploads on disk, for the embedded S3 endpoint: receiving a part in one
//! pass (write + SHA-256, + MD5 only when the client sent `Content-MD5`) and assembling the
//! completed object with in-kernel copies — instead of s3s-fs's part path (MD5 of every part,
//! 8 KiB buffered writes through tokio's file, one blocking-pool trip per chunk) and completion
//! (every part read back into user space, hashed with MD5 a second time and written again).
//!
//! Hashing and writing run on a blocking thread fed through a short channel, so the runtime's
//! threads only move request chunks, and a part is hashed while the next chunks arrive.
//!
//! Crash safety is the same as the rest of the store: every file is written under a temporary
//! name and renamed into place, so a part or an object is either complete or absent. There is
//! no fsync (nor in s3s-fs's PutObject): the local stack guards against a crashed process, not a
//! lost machine.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use s3s::StdError;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::StreamingBlob;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

/// Chunks are handed to the writer in batches of about this many bytes.
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between the request and the writer, per part.
const BATCHES_IN_FLIGHT: usize = 2;

/// A part as received and written.
#[derive(Debug)]
pub struct Received {
    pub size: u64,
    pub sha256: [u8; 32],
    /// Only when asked for (the request carried `Content-MD5`).
    pub md5: Option<[u8; 16]>,
}

/// Why a part was not received.
#[derive(Debug)]
pub enum ReceiveError {
    /// The request body ended early or broke off (the client went away): the client's doing.
    Body(StdError),
    /// Writing the part failed: the server's.
    Io(io::Error),
}

/// A file that is removed when dropped, unless kept.
pub struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path, keep: false }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file has been renamed away (or never existed): nothing to remove.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // A small unlink; also runs when the request is cancelled, so it cannot be async.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

enum Batch {
    Chunks(Vec<Bytes>),
    /// The body ended normally: everything before this was the whole part.
    End,
}

/// Streams `body` into a new file at `path`, computing its SHA-256 (and MD5 when `md5`) on the
/// way. The caller owns `path` afterwards: it renames it into place or removes it.
pub async fn receive(
    body: StreamingBlob,
    path: &Path,
    md5: bool,
) -> Result<Received, ReceiveError> {
    let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
    let path = path.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || write_part(&path, rx, md5));

    let sent = forward(body, &tx).await;
    drop(tx);
    let written = writer
        .await
        .map_err(|e| ReceiveError::Io(io::Error::other(e)))?;
    match (sent, written) {
        // The body broke off: that is the reason, whatever the writer says.
        (Err(e), _) => Err(ReceiveError::Body(e)),
        (Ok(()), written) => written.map_err(ReceiveError::Io),
    }
}

/// Sends the body to the writer in batches; stops early if the writer is gone (it failed).
async fn forward(mut body: StreamingBlob, tx: &mpsc::Sender<Batch>) -> Result<(), StdError> {
    let mut batch = Vec::new();
    let mut batched = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        batched += chunk.len();
        batch.push(chunk);
        if batched >= BATCH_BYTES {
            batched = 0;
            if tx
                .send(Batch::Chunks(std::mem::take(&mut batch)))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() && tx.send(Batch::Chunks(batch)).await.is_err() {
        return Ok(());
    }
    let _ = tx.send(Batch::End).await;
    Ok(())
}

fn write_part(path: &Path, rx: mpsc::Receiver<Batch>, md5: bool) -> io::Result<Received> {
    let written = write_part_file(path, rx, md5);
    if written.is_err() {
        // Also covers a request cancelled before the file existed, whose caller removed nothing.
        let _ = std::fs::remove_file(path);
    }
    written
}

fn write_part_file(path: &Path, mut rx: mpsc::Receiver<Batch>, md5: bool) -> io::Result<Received> {
    let mut file = File::create(path)?;
    let mut sha256 = Sha256::new();
    let mut md5 = md5.then(Md5::new);
    let mut size = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Batch::Chunks(chunks)) => {
                for chunk in chunks {
                    sha256.update(&chunk);
                    if let Some(md5) = &mut md5 {
                        md5.update(&chunk);
                    }
                    file.write_all(&chunk)?;
                    size += chunk.len() as u64;
                }
            }
            Some(Batch::End) => break,
            // The request went away mid-body; `receive` reports why.
            None => return Err(io::Error::other("the request body broke off")),
        }
    }
    Ok(Received {
        size,
        sha256: sha256.finalize().into(),
        md5: md5.map(Md5::finalize),
    })
}

/// `body` with a flag that is set when it breaks off (ends in an error: the client went away),
/// to tell that apart from a server error when the consumer fails.
pub fn watch(body: Option<StreamingBlob>) -> (Option<StreamingBlob>, Arc<AtomicBool>) {
    let broke_off = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&broke_off);
    let body = body.map(|body| {
        StreamingBlob::wrap(body.map_err(io::Error::other).inspect_err(move |_| {
            flag.store(true, Ordering::Release);
        }))
    });
    (body, broke_off)
}

/// Writes `parts` (path and expected size each, in order) one after the other into a new file
/// at `tmp`, with in-kernel copies (`copy_file_range` on Linux: the bytes never enter user space),
/// then renames it to `dest`. The parts stay where they are.
pub async fn assemble(parts: Vec<(PathBuf, u64)>, tmp: TempFile, dest: PathBuf) -> io::Result<u64> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = File::create(tmp.path())?;
        let mut total = 0u64;
        for (path, expected) in &parts {
            let mut part = File::open(path)?;
            let copied = io::copy(&mut part, &mut out)?;
            if copied != *expected {
                return Err(io::Error::other(format!(
                    "{} holds {copied} bytes, the ledger says {expected}",
                    path.display()
                )));
            }
            total += copied;
        }
        drop(out);
        std::fs::rename(tmp.path(), &dest)?;
        tmp.keep();
        Ok(total)
    })
    .await
    .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(items: Vec<Result<Bytes, io::Error>>) -> StreamingBlob {
        StreamingBlob::wrap(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn a_part_is_written_and_hashed_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        let big = vec![7u8; 3 * BATCH_BYTES + 5];
        let items = vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from(big.clone())),
            Ok(Bytes::from_static(b"world")),
        ];
        let received = receive(blob(items), &path, true).await.unwrap();
        let mut expected = b"hello ".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"world");
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(received.size, expected.len() as u64);
        assert_eq!(received.sha256, <[u8; 32]>::from(Sha256::digest(&expected)));
        assert_eq!(received.md5, Some(Md5::checksum(&expected)));

        let received = receive(blob(vec![]), &path, false).await.unwrap();
        assert_eq!((received.size, received.md5), (0, None));
        assert_eq!(received.sha256, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_the_clients_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        let items = vec![
            Ok(Bytes::from_static(b"hello")),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")),
        ];
        let err = receive(blob(items), &path, false).await.unwrap_err();
        assert!(matches!(err, ReceiveError::Body(_)), "{err:?}");
    }

    #[tokio::test]
    async fn parts_are_assembled_in_order_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, content) in [&b"one "[..], b"two ", b"three"].iter().enumerate() {
            let path = dir.path().join(format!("p{i}"));
            std::fs::write(&path, content).unwrap();
            parts.push((path, content.len() as u64));
        }
        let dest = dir.path().join("bucket/files/obj");
        let tmp = TempFile::new(dir.path().join("tmp"));
        let total = assemble(parts.clone(), tmp, dest.clone()).await.unwrap();
        assert_eq!(total, 13);
        assert_eq!(std::fs::read(&dest).unwrap(), b"one two three");
        assert!(parts.iter().all(|(p, _)| p.exists()));
        assert!(!dir.path().join("tmp").exists());

        // A part of another size than recorded: nothing is created, the temporary file is gone.
        parts[1].1 = 3;
        let dest2 = dir.path().join("bucket/files/obj2");
        let tmp = TempFile::new(dir.path().join("tmp2"));
        assert!(assemble(parts, tmp, dest2.clone()).await.is_err());
        assert!(!dest2.exists());
        assert!(!dir.path().join("tmp2").exists());
    }
}
