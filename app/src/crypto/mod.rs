//! End-to-end encryption's content format: RFC 8188's records (HKDF-SHA256 from the transfer's
//! key and a per-file salt; fixed-size records ending in a delimiter; nonce = base XOR sequence
//! number), with AES-256-GCM, sized so every multipart part holds whole records.
//!
//! Plain Rust without I/O, like `zip`: the AES-GCM and HKDF calls go through [`Primitives`],
//! which the browser implements with WebCrypto ([`webcrypto`]) and the native tests with a
//! native library. docs/ENCRYPTION.md explains the choices.

pub mod keyring;
pub mod link;
pub mod link_key;
pub mod message;
pub mod meta;
pub mod names;
pub mod seal_worker;
pub mod sealing;
pub mod stream;
pub mod thumb_queue;
pub mod thumb_rows;
pub mod thumbnail;
pub mod thumbnail_browser;
pub mod webcrypto;

use std::fmt;
use std::future::Future;
use std::ops::Range;

/// AES-GCM's tag, at the end of every record.
pub const TAG_LEN: usize = 16;
/// A file's (and a metadata blob's) HKDF salt, as RFC 8188's header has it.
pub const SALT_LEN: usize = 16;
/// AES-GCM's nonce.
pub const NONCE_LEN: usize = 12;
/// What every record adds to its data: the delimiter and the tag.
pub const RECORD_OVERHEAD: u64 = 1 + TAG_LEN as u64;
/// RFC 8188's info string for the nonce base.
pub const NONCE_INFO: &[u8] = b"Content-Encoding: nonce\0";

const MORE: u8 = 1;
const LAST: u8 = 2;

/// An AEAD of RFC 8188's construction: the key length and the info string of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub key_len: usize,
    pub key_info: &'static [u8],
}

/// RFC 8188's own coding, for its test vectors.
pub const AES_128_GCM: Suite = Suite {
    key_len: 16,
    key_info: b"Content-Encoding: aes128gcm\0",
};

/// What Ferry encrypts with: the same construction with a 256-bit key.
pub const AES_256_GCM: Suite = Suite {
    key_len: 32,
    key_info: b"Content-Encoding: aes256gcm\0",
};

/// Why bytes did not encrypt or decrypt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// A record failed authentication: wrong key, or bytes changed, swapped or moved.
    Tampered,
    /// The bytes end before the record marked last.
    Truncated,
    /// Bytes that cannot be records of this format (a bad header, a record after the last,
    /// a part that does not hold whole records).
    Malformed(&'static str),
    /// The platform's crypto refused (WebCrypto unavailable, a key it would not import).
    Backend(String),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tampered => f.write_str(
                "the encrypted data was changed or the key is wrong: it does not authenticate",
            ),
            Self::Truncated => f.write_str("the encrypted data ends too early: it was cut short"),
            Self::Malformed(why) => write!(f, "the encrypted data is malformed: {why}"),
            Self::Backend(why) => write!(f, "encryption is unavailable: {why}"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// The AES-GCM and HKDF-SHA256 calls the format needs. WebCrypto is asynchronous, so these are
/// futures; a native implementation answers at once.
pub trait Primitives {
    /// An AES-GCM key ready for use (WebCrypto's `CryptoKey`).
    type Key;
    /// HKDF-SHA256 (RFC 5869, extract then expand) of `len` bytes.
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> impl Future<Output = Result<Vec<u8>, CryptoError>>;
    /// An AES-GCM key of 16 or 32 raw bytes.
    fn import_key(&self, raw: &[u8]) -> impl Future<Output = Result<Self::Key, CryptoError>>;
    /// Ciphertext with the 16-byte tag appended; no associated data.
    fn seal(
        &self,
        key: &Self::Key,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CryptoError>>;
    /// The plaintext, or [`CryptoError::Tampered`] when the tag does not verify.
    fn open(
        &self,
        key: &Self::Key,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, CryptoError>>;
}

/// The content key and nonce base of one file (or one metadata blob): RFC 8188 §2.2, §2.3.
pub struct RecordKeys<K> {
    key: K,
    nonce_base: [u8; NONCE_LEN],
}

impl<K> RecordKeys<K> {
    /// HKDF-SHA256 of `ikm` (the transfer's key) with `salt`.
    pub async fn derive<P: Primitives<Key = K>>(
        primitives: &P,
        suite: Suite,
        ikm: &[u8],
        salt: &[u8],
    ) -> Result<Self, CryptoError> {
        let raw = primitives
            .hkdf_sha256(ikm, salt, suite.key_info, suite.key_len)
            .await?;
        let base = primitives
            .hkdf_sha256(ikm, salt, NONCE_INFO, NONCE_LEN)
            .await?;
        let nonce_base = base
            .try_into()
            .map_err(|_| CryptoError::Backend("HKDF gave a short nonce".to_owned()))?;
        Ok(Self {
            key: primitives.import_key(&raw).await?,
            nonce_base,
        })
    }

    /// The nonce of record `seq`: the base XOR the 96-bit big-endian sequence number.
    pub fn nonce(&self, seq: u64) -> [u8; NONCE_LEN] {
        let mut nonce = self.nonce_base;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }
}

/// Seals record `seq`: `data`, the delimiter (2 if `last`, else 1), `pad` zero bytes.
pub async fn seal_record<P: Primitives>(
    primitives: &P,
    keys: &RecordKeys<P::Key>,
    seq: u64,
    data: &[u8],
    last: bool,
    pad: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut plaintext = Vec::with_capacity(data.len() + 1 + pad);
    plaintext.extend_from_slice(data);
    plaintext.push(if last { LAST } else { MORE });
    plaintext.resize(data.len() + 1 + pad, 0);
    primitives
        .seal(&keys.key, &keys.nonce(seq), &plaintext)
        .await
}

/// Opens record `seq` and returns its data. `last` says whether the reader expects it to be
/// the final record: a record that says otherwise is a truncation (expected last, says more)
/// or data after the end (says last, more expected).
pub async fn open_record<P: Primitives>(
    primitives: &P,
    keys: &RecordKeys<P::Key>,
    seq: u64,
    record: &[u8],
    last: bool,
) -> Result<Vec<u8>, CryptoError> {
    if record.len() <= TAG_LEN {
        return Err(CryptoError::Truncated);
    }
    let mut plaintext = primitives.open(&keys.key, &keys.nonce(seq), record).await?;
    let end = plaintext
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(CryptoError::Malformed("a record without its delimiter"))?;
    match (plaintext[end], last) {
        (LAST, true) | (MORE, false) => {
            plaintext.truncate(end);
            Ok(plaintext)
        }
        (MORE, true) => Err(CryptoError::Truncated),
        (LAST, false) => Err(CryptoError::Malformed("data after the last record")),
        _ => Err(CryptoError::Malformed("a record with an unknown delimiter")),
    }
}

/// A record size `rs` in RFC 8188's sense: ciphertext bytes of every record but the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSize(u64);

/// The content records of Ferry's files: 64 KiB of ciphertext, so every part of a whole
/// number of MiB (all parts of `ferry_api::parts::PartLayout`) holds a whole number of records.
pub const CONTENT_RECORDS: RecordSize = RecordSize(64 * 1024);

impl RecordSize {
    /// `None` below RFC 8188's minimum of 18 (a tag, a delimiter and one byte of data).
    pub const fn new(rs: u64) -> Option<Self> {
        if rs > RECORD_OVERHEAD {
            Some(Self(rs))
        } else {
            None
        }
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// Data bytes in a full record.
    pub const fn data_len(self) -> u64 {
        self.0 - RECORD_OVERHEAD
    }

    /// Records of a file of `plain` bytes: at least one, as even an empty file ends in a
    /// record marked last.
    pub fn record_count(self, plain: u64) -> u64 {
        plain.div_ceil(self.data_len()).max(1)
    }

    /// The exact ciphertext size of a file of `plain` bytes (what Content-Length and the part
    /// layout use); `None` beyond `u64`.
    pub fn ciphertext_size(self, plain: u64) -> Option<u64> {
        plain.checked_add(self.record_count(plain).checked_mul(RECORD_OVERHEAD)?)
    }

    /// The plaintext size of `cipher` bytes of ciphertext, if some plaintext encrypts to that.
    pub fn plaintext_size(self, cipher: u64) -> Option<u64> {
        let records = cipher.div_ceil(self.0).max(1);
        let plain = cipher.checked_sub(records * RECORD_OVERHEAD)?;
        (self.ciphertext_size(plain) == Some(cipher)).then_some(plain)
    }

    /// Which records and plaintext bytes the ciphertext bytes `cipher` of a file of `plain`
    /// bytes hold: the range must start on a record and end on one or at the file's end.
    pub fn span(self, plain: u64, cipher: Range<u64>) -> Result<Span, CryptoError> {
        let total = self
            .ciphertext_size(plain)
            .ok_or(CryptoError::Malformed("a file too large"))?;
        let Range { start, end } = cipher;
        if start >= end || end > total {
            return Err(CryptoError::Malformed("a range outside the file"));
        }
        if start % self.0 != 0 || (end % self.0 != 0 && end != total) {
            return Err(CryptoError::Malformed("a range that splits a record"));
        }
        let first = start / self.0;
        let records = (end - start).div_ceil(self.0);
        let data_start = first * self.data_len();
        Ok(Span {
            first_record: first,
            records,
            plaintext: data_start..(data_start + records * self.data_len()).min(plain),
            ends_file: end == total,
        })
    }
}

/// Whole records inside a file: a multipart part, or the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The sequence number of the span's first record.
    pub first_record: u64,
    pub records: u64,
    /// The plaintext bytes the records hold.
    pub plaintext: Range<u64>,
    /// Whether the span's last record is the file's last.
    pub ends_file: bool,
}

/// Encrypts `plaintext` (a span's bytes: [`Span::plaintext`]) into the span's records.
pub async fn seal_span<P: Primitives>(
    primitives: &P,
    keys: &RecordKeys<P::Key>,
    rs: RecordSize,
    span: &Span,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if plaintext.len() as u64 != span.plaintext.end - span.plaintext.start {
        return Err(CryptoError::Malformed(
            "plaintext of another length than the span",
        ));
    }
    let data_len = rs.data_len() as usize;
    let mut out = Vec::with_capacity(plaintext.len() + span.records as usize * 17);
    for i in 0..span.records {
        let from = (i as usize * data_len).min(plaintext.len());
        let to = (from + data_len).min(plaintext.len());
        let last = span.ends_file && i + 1 == span.records;
        let record = seal_record(
            primitives,
            keys,
            span.first_record + i,
            &plaintext[from..to],
            last,
            0,
        )
        .await?;
        out.extend_from_slice(&record);
    }
    Ok(out)
}

/// Decrypts a span's records (`ciphertext`, as stored) into its plaintext.
pub async fn open_span<P: Primitives>(
    primitives: &P,
    keys: &RecordKeys<P::Key>,
    rs: RecordSize,
    span: &Span,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let records: Vec<&[u8]> = ciphertext.chunks(rs.get() as usize).collect();
    if (records.len() as u64) < span.records {
        return Err(CryptoError::Truncated);
    }
    if records.len() as u64 > span.records {
        return Err(CryptoError::Malformed("more records than the span holds"));
    }
    let mut out = Vec::with_capacity(ciphertext.len());
    for (i, record) in records.iter().enumerate() {
        let last = span.ends_file && i + 1 == records.len();
        if !last && record.len() as u64 != rs.get() {
            return Err(CryptoError::Truncated);
        }
        let seq = span.first_record + i as u64;
        out.extend_from_slice(&open_record(primitives, keys, seq, record, last).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod vectors;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
