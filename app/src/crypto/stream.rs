//! Decrypts a file's records as its bytes arrive, in chunks of any size: a download streams
//! through it holding at most one chunk and the records in flight, never the file. A record that
//! fails its tag, bytes missing before the record marked last, or bytes after it stop the stream.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use super::meta::FileSecrets;
use super::{
    AES_256_GCM, CONTENT_RECORDS, CryptoError, Primitives, RecordKeys, RecordSize, open_record,
};

/// Records of a chunk opened at once. WebCrypto decrypts off the main thread, so while one
/// record is opened the next ones are too (one at a time left the download CPU-bound on the
/// round trips, bench/zip-download); 16 records of 64 KiB bound the plaintext in flight to 1 MiB.
pub const IN_FLIGHT: usize = 16;

/// One file's decryption, fed its stored bytes front to back.
pub struct Decryptor<K> {
    keys: RecordKeys<K>,
    rs: RecordSize,
    /// The next record's sequence number.
    seq: u64,
    /// Bytes of records not yet complete (at most one record and one chunk).
    pending: Vec<u8>,
    /// Stored bytes still expected, from the plaintext size the metadata gives.
    left: u64,
}

impl<K> Decryptor<K> {
    /// The decryptor of a file whose stored object is `rs`-records of `plain` bytes.
    pub fn new(keys: RecordKeys<K>, rs: RecordSize, plain: u64) -> Result<Self, CryptoError> {
        let left = rs
            .ciphertext_size(plain)
            .ok_or(CryptoError::Malformed("a file too large"))?;
        Ok(Self {
            keys,
            rs,
            seq: 0,
            pending: Vec::new(),
            left,
        })
    }

    /// The decryptor of a Ferry file: its content keys from the transfer's key and the salt in
    /// its opened metadata.
    pub async fn for_file<P: Primitives<Key = K>>(
        primitives: &P,
        transfer_key: &[u8],
        secrets: &FileSecrets,
    ) -> Result<Self, CryptoError> {
        let salt = secrets.content_salt()?;
        let keys = RecordKeys::derive(primitives, AES_256_GCM, transfer_key, &salt).await?;
        Self::new(keys, CONTENT_RECORDS, secrets.size)
    }

    /// The plaintext of the records `chunk` completes (maybe none). The file's last record is
    /// held back until [`Self::finish`], which alone may open it as the last.
    pub async fn push<P: Primitives<Key = K>>(
        &mut self,
        primitives: &P,
        chunk: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if chunk.len() as u64 > self.left {
            return Err(CryptoError::Malformed("data after the last record"));
        }
        self.left -= chunk.len() as u64;
        self.pending.extend_from_slice(chunk);
        let rs = self.rs.get() as usize;
        // A whole record followed by more bytes is not the last one.
        let whole = self.pending.len().saturating_sub(1) / rs;
        let mut out = Vec::with_capacity(whole * rs);
        let (keys, pending, seq) = (&self.keys, &self.pending, self.seq);
        let opening = (0..whole).map(|i| {
            let record = &pending[i * rs..(i + 1) * rs];
            open_record(primitives, keys, seq + i as u64, record, false)
        });
        in_order(opening, IN_FLIGHT, |data| out.extend_from_slice(&data)).await?;
        self.seq += whole as u64;
        let from = whole * rs;
        self.pending.drain(..from);
        Ok(out)
    }

    /// The plaintext of the last record, once every stored byte has arrived; an error if the
    /// bytes ended early or the last record does not say it is the last.
    pub async fn finish<P: Primitives<Key = K>>(
        mut self,
        primitives: &P,
    ) -> Result<Vec<u8>, CryptoError> {
        if self.left > 0 || self.pending.is_empty() {
            return Err(CryptoError::Truncated);
        }
        let record = std::mem::take(&mut self.pending);
        open_record(primitives, &self.keys, self.seq, &record, true).await
    }
}

/// A started future and, once it has finished, its output.
type Flying<F> = (Pin<Box<F>>, Option<<F as Future>::Output>);

/// Runs `futures` with up to `window` of them started at once, handing their outputs to `each`
/// in the order the futures come; stops at the first error in that order (the ones after it
/// are dropped, which only discards their results).
async fn in_order<T, F>(
    mut futures: impl Iterator<Item = F>,
    window: usize,
    mut each: impl FnMut(T),
) -> Result<(), CryptoError>
where
    F: Future<Output = Result<T, CryptoError>>,
{
    let mut flight: VecDeque<Flying<F>> = VecDeque::new();
    poll_fn(|cx| {
        loop {
            while flight.len() < window.max(1) {
                match futures.next() {
                    Some(future) => flight.push_back((Box::pin(future), None)),
                    None => break,
                }
            }
            if flight.is_empty() {
                return Poll::Ready(Ok(()));
            }
            // Polling a future for the first time is what starts its work.
            for (future, done) in flight.iter_mut().filter(|(_, done)| done.is_none()) {
                if let Poll::Ready(out) = future.as_mut().poll(cx) {
                    *done = Some(out);
                }
            }
            let mut handed = false;
            while flight.front().is_some_and(|(_, done)| done.is_some()) {
                if let Some((_, Some(out))) = flight.pop_front() {
                    match out {
                        Ok(value) => each(value),
                        Err(err) => return Poll::Ready(Err(err)),
                    }
                    handed = true;
                }
            }
            // Only freed room lets more start; otherwise wait for a waker.
            if !handed {
                return Poll::Pending;
            }
        }
    })
    .await
}
