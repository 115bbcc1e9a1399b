//! Decrypts a file's records as its bytes arrive, in chunks of any size: a download streams
//! through it holding at most one record and one chunk, never the file. A record that fails its
//! tag, bytes missing before the record marked last, or bytes after it stop the stream.

use super::meta::FileSecrets;
use super::{
    AES_256_GCM, CONTENT_RECORDS, CryptoError, Primitives, RecordKeys, RecordSize, open_record,
};

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
        let mut out = Vec::with_capacity(self.pending.len());
        let mut from = 0;
        // A whole record followed by more bytes is not the last one.
        while self.pending.len() - from > rs {
            let record = &self.pending[from..from + rs];
            let data = open_record(primitives, &self.keys, self.seq, record, false).await?;
            out.extend_from_slice(&data);
            self.seq += 1;
            from += rs;
        }
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
