//! The bytes of multipart uploads on disk, for the embedded S3 endpoint: receiving a part in one
//! pass (write + SHA-256, + MD5 only when the client sent `Content-MD5`), either into a file of
//! its own or straight into its slot of the object being assembled, and completing the object —
//! in place when the parts are already where they belong (a truncate and a rename), else with
//! in-kernel copies. s3s-fs's part path instead hashes every part with MD5, writes 8 KiB at a
//! time through tokio's file with one blocking-pool trip per chunk, and its completion reads
//! every part back into user space, hashes it a second time and writes it out again.
//!
//! Hashing and writing run on a blocking thread fed through a short channel, so the runtime's
//! threads only move request chunks, and a part is hashed while the next chunks arrive.
//!
//! Crash safety is the same as the rest of the store: every file is written under a temporary
//! name and renamed into place, so a part or an object is either complete or absent. There is
//! no fsync (nor in s3s-fs's PutObject): the local stack guards against a crashed process, not a
//! lost machine.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
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
    /// The body was longer than the slot it was written to (only possible when the length the
    /// request declared is not the one its body was held to): the client's doing.
    TooLong,
    /// Writing the part failed: the server's.
    Io(io::Error),
}

/// The error a slot's writer stops with when more bytes come than the slot holds.
#[derive(Debug, thiserror::Error)]
#[error("the part is longer than its slot")]
struct LongerThanSlot;

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

/// Where a part's bytes go.
#[derive(Clone, Debug)]
pub enum Destination {
    /// A new file (an existing one is truncated), removed again if receiving fails.
    File(PathBuf),
    /// At most `len` bytes at `offset` of an existing shared file, which is never truncated (a
    /// file that is gone is an error of kind `NotFound`). If receiving fails the region holds
    /// garbage, which nothing may refer to. Writers of one file take turns through `turns`, a
    /// batch at a time: the kernel's own lock on the file spins while another writer copies,
    /// which on a small machine takes the CPU from everything else.
    Slot {
        path: PathBuf,
        offset: u64,
        len: u64,
        turns: Arc<std::sync::Mutex<()>>,
    },
}

/// A run of bytes in a file: a part, wherever it was received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
}

enum Batch {
    Chunks(Vec<Bytes>),
    /// The body ended normally: everything before this was the whole part.
    End,
}

/// Streams `body` to `dest`, computing its SHA-256 (and MD5 when `md5`) on the way. The caller
/// owns what was written afterwards: it renames a new file into place or removes it, and
/// records a slot or forgets it.
///
/// `hold` (a claim on the slot, say) belongs to the writing thread until it has stopped
/// writing, and comes back with the part: if the request is dropped meanwhile, it is released
/// only once nothing more is written.
pub async fn receive<H: Send + 'static>(
    body: StreamingBlob,
    dest: Destination,
    md5: bool,
    hold: H,
) -> Result<(Received, H), ReceiveError> {
    let (tx, rx) = mpsc::channel(BATCHES_IN_FLIGHT);
    let writer = tokio::task::spawn_blocking(move || (write_part(&dest, rx, md5), hold));

    let sent = forward(body, &tx).await;
    drop(tx);
    let (written, hold) = writer
        .await
        .map_err(|e| ReceiveError::Io(io::Error::other(e)))?;
    match (sent, written) {
        // The body broke off: that is the reason, whatever the writer says.
        (Err(e), _) => Err(ReceiveError::Body(e)),
        (Ok(()), Err(e)) if e.get_ref().is_some_and(|e| e.is::<LongerThanSlot>()) => {
            Err(ReceiveError::TooLong)
        }
        (Ok(()), written) => written.map(|part| (part, hold)).map_err(ReceiveError::Io),
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

fn write_part(dest: &Destination, rx: mpsc::Receiver<Batch>, md5: bool) -> io::Result<Received> {
    let written = write_part_file(dest, rx, md5);
    if written.is_err()
        && let Destination::File(path) = dest
    {
        // Also covers a request cancelled before the file existed, whose caller removed nothing.
        let _ = std::fs::remove_file(path);
    }
    written
}

fn write_part_file(
    dest: &Destination,
    mut rx: mpsc::Receiver<Batch>,
    md5: bool,
) -> io::Result<Received> {
    let (mut file, limit, turns) = match dest {
        Destination::File(path) => (File::create(path)?, u64::MAX, None),
        Destination::Slot {
            path,
            offset,
            len,
            turns,
        } => {
            let mut file = OpenOptions::new().write(true).open(path)?;
            file.seek(SeekFrom::Start(*offset))?;
            (file, *len, Some(turns))
        }
    };
    let mut sha256 = Sha256::new();
    let mut md5 = md5.then(Md5::new);
    let mut size = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Batch::Chunks(chunks)) => {
                for chunk in &chunks {
                    // Never past the slot, into the next part's (the caller sized the slot from
                    // the request's Content-Length, which the body is held to).
                    if size + chunk.len() as u64 > limit {
                        return Err(io::Error::other(LongerThanSlot));
                    }
                    size += chunk.len() as u64;
                    sha256.update(chunk);
                    if let Some(md5) = &mut md5 {
                        md5.update(chunk);
                    }
                }
                let _turn =
                    turns.map(|t| t.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                for chunk in &chunks {
                    file.write_all(chunk)?;
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

/// Appends `piece` to `out` at its current position, with an in-kernel copy (`copy_file_range`
/// on Linux: the bytes never enter user space).
fn copy_piece(piece: &Piece, out: &mut File) -> io::Result<()> {
    let mut source = File::open(&piece.path)?;
    source.seek(SeekFrom::Start(piece.offset))?;
    let copied = io::copy(&mut source.take(piece.len), out)?;
    if copied != piece.len {
        return Err(io::Error::other(format!(
            "{} holds {copied} bytes at {}, the ledger says {}",
            piece.path.display(),
            piece.offset,
            piece.len
        )));
    }
    Ok(())
}

fn create_parent(dest: &Path) -> io::Result<()> {
    match dest.parent() {
        Some(dir) => std::fs::create_dir_all(dir),
        None => Ok(()),
    }
}

/// Writes `pieces` one after the other into a new file at `tmp`, then renames it to `dest`.
/// The pieces stay where they are. Returns the object's length.
pub async fn assemble(pieces: Vec<Piece>, tmp: TempFile, dest: PathBuf) -> io::Result<u64> {
    tokio::task::spawn_blocking(move || {
        create_parent(&dest)?;
        let mut out = File::create(tmp.path())?;
        for piece in &pieces {
            copy_piece(piece, &mut out)?;
        }
        drop(out);
        std::fs::rename(tmp.path(), &dest)?;
        tmp.keep();
        Ok(pieces.iter().map(|p| p.len).sum())
    })
    .await
    .map_err(io::Error::other)?
}

/// Completes an object in the file its parts were received into: copies each of `patches` (a
/// part received elsewhere, and where it belongs) into place, cuts the file to `len` and renames
/// it to `dest`. `placed_until` is where the furthest part already in the file ends: the file
/// must reach that far (a file that went missing or short is an error, never filled with
/// zeros); when it is 0 no part is in the file yet, and it is created if need be. On failure the
/// file stays where it was, with the patched regions written.
pub async fn finish_in_place(
    file: PathBuf,
    patches: Vec<(Piece, u64)>,
    len: u64,
    placed_until: u64,
    dest: PathBuf,
) -> io::Result<()> {
    tokio::task::spawn_blocking(move || {
        create_parent(&dest)?;
        let mut out = OpenOptions::new()
            .write(true)
            .create(placed_until == 0)
            .truncate(false)
            .open(&file)?;
        let held = out.metadata()?.len();
        if held < placed_until {
            return Err(io::Error::other(format!(
                "{} holds {held} bytes, its parts end at {placed_until}",
                file.display()
            )));
        }
        for (piece, offset) in &patches {
            out.seek(SeekFrom::Start(*offset))?;
            copy_piece(piece, &mut out)?;
        }
        out.set_len(len)?;
        drop(out);
        std::fs::rename(&file, &dest)
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
        let received = receive(blob(items), Destination::File(path.clone()), true, ())
            .await
            .unwrap()
            .0;
        let mut expected = b"hello ".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"world");
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(received.size, expected.len() as u64);
        assert_eq!(received.sha256, <[u8; 32]>::from(Sha256::digest(&expected)));
        assert_eq!(received.md5, Some(Md5::checksum(&expected)));

        let received = receive(blob(vec![]), Destination::File(path.clone()), false, ())
            .await
            .unwrap()
            .0;
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
        let err = receive(blob(items), Destination::File(path.clone()), false, ())
            .await
            .unwrap_err();
        assert!(matches!(err, ReceiveError::Body(_)), "{err:?}");
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn parts_go_into_their_slots_and_never_past_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        let turns = Arc::default();
        let slot = |offset, len| Destination::Slot {
            path: path.clone(),
            offset,
            len,
            turns: Arc::clone(&turns),
        };
        // The file is made when the upload gets its stride; a slot is never a new file.
        let one = || blob(vec![Ok(Bytes::from_static(b"aaaa"))]);
        let err = receive(one(), slot(0, 4), false, ()).await.unwrap_err();
        assert!(
            matches!(&err, ReceiveError::Io(e) if e.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert!(!path.exists());
        std::fs::write(&path, b"").unwrap();

        // Out of order, as parallel parts arrive; the last one is short. What is held while
        // writing comes back with the part.
        for (offset, bytes) in [(8, &b"cc"[..]), (0, b"aaaa"), (4, b"bbbb")] {
            let (received, held) = receive(
                blob(vec![Ok(Bytes::from_static(bytes))]),
                slot(offset, 4),
                false,
                offset,
            )
            .await
            .unwrap();
            assert_eq!(held, offset);
            assert_eq!(received.size, bytes.len() as u64);
            assert_eq!(received.sha256, <[u8; 32]>::from(Sha256::digest(bytes)));
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"aaaabbbbcc");

        // A body longer than its slot stops before the next part's bytes; the file stays.
        let long = blob(vec![
            Ok(Bytes::from_static(b"xxx")),
            Ok(Bytes::from_static(b"yy")),
        ]);
        let err = receive(long, slot(0, 4), false, ()).await.unwrap_err();
        assert!(matches!(err, ReceiveError::TooLong), "{err:?}");
        assert_eq!(&std::fs::read(&path).unwrap()[3..], b"abbbbcc");
    }

    #[tokio::test]
    async fn an_object_is_finished_in_place_with_its_stray_parts_copied_in() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("object");
        // Slots of 4 bytes: part 2 was received elsewhere; part 4 (beyond the object) is cut.
        std::fs::write(&file, b"aaaa????ccddzzzz").unwrap();
        let stray = dir.path().join("part-2");
        std::fs::write(&stray, b"--bbbb").unwrap();
        let piece = Piece {
            path: stray,
            offset: 2,
            len: 4,
        };
        let dest = dir.path().join("bucket/files/obj");
        finish_in_place(file.clone(), vec![(piece.clone(), 4)], 12, 16, dest.clone())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"aaaabbbbccdd");
        assert!(!file.exists());

        // Parts recorded in a file that is gone (a completion that crashed after its rename,
        // retried): an error, not an object of zeros.
        let err = finish_in_place(file.clone(), vec![], 12, 12, dest.clone()).await;
        assert!(err.is_err());
        std::fs::write(&file, b"aaaa").unwrap();
        let err = finish_in_place(file.clone(), vec![], 12, 12, dest.clone()).await;
        assert!(err.is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"aaaabbbbccdd");

        // Every part received elsewhere: the file is made.
        std::fs::remove_file(&file).unwrap();
        finish_in_place(file, vec![(piece, 0)], 4, 0, dest.clone())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"bbbb");
    }

    #[tokio::test]
    async fn parts_are_assembled_in_order_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = Vec::new();
        for (i, content) in [&b"one "[..], b"two ", b"three"].iter().enumerate() {
            let path = dir.path().join(format!("p{i}"));
            std::fs::write(&path, content).unwrap();
            parts.push(Piece {
                path,
                offset: 0,
                len: content.len() as u64,
            });
        }
        // And one from the middle of a shared file.
        let shared = dir.path().join("shared");
        std::fs::write(&shared, b"xx four!yy").unwrap();
        parts.push(Piece {
            path: shared,
            offset: 2,
            len: 6,
        });
        let dest = dir.path().join("bucket/files/obj");
        let tmp = TempFile::new(dir.path().join("tmp"));
        let total = assemble(parts.clone(), tmp, dest.clone()).await.unwrap();
        assert_eq!(total, 19);
        assert_eq!(std::fs::read(&dest).unwrap(), b"one two three four!");
        assert!(parts.iter().all(|p| p.path.exists()));
        assert!(!dir.path().join("tmp").exists());

        // A part shorter than recorded: nothing is created, the temporary file is gone.
        parts[1].len = 5;
        let dest2 = dir.path().join("bucket/files/obj2");
        let tmp = TempFile::new(dir.path().join("tmp2"));
        assert!(assemble(parts, tmp, dest2.clone()).await.is_err());
        assert!(!dest2.exists());
        assert!(!dir.path().join("tmp2").exists());
    }
}
