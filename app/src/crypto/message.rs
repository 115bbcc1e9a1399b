//! Whole RFC 8188 messages: the header (salt, `rs`, key id) followed by the records. Ferry's
//! file contents leave the header out (the salt travels in the encrypted metadata, so parts
//! stay aligned); its metadata blobs are whole messages, and RFC 8188's examples are too.

use super::{
    CryptoError, Primitives, RecordKeys, RecordSize, SALT_LEN, Span, Suite, open_span, seal_span,
};

/// Salt, `rs` (4 bytes) and the key id's length: the header without the key id.
pub const HEADER_LEN: usize = SALT_LEN + 4 + 1;

/// A message's header, as RFC 8188 §2.1 lays it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub salt: [u8; SALT_LEN],
    pub rs: RecordSize,
    pub key_id: Vec<u8>,
}

impl Header {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.key_id.len());
        out.extend_from_slice(&self.salt);
        // `rs` fits: headers are only made from `RecordSize`s read from or meant for them.
        out.extend_from_slice(&(self.rs.get() as u32).to_be_bytes());
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(&self.key_id);
        out
    }

    /// The header and the records after it.
    pub fn parse(message: &[u8]) -> Result<(Self, &[u8]), CryptoError> {
        let short = CryptoError::Malformed("a message shorter than its header");
        let fixed = message.get(..HEADER_LEN).ok_or(short.clone())?;
        let mut salt = [0; SALT_LEN];
        salt.copy_from_slice(&fixed[..SALT_LEN]);
        let mut rs = [0; 4];
        rs.copy_from_slice(&fixed[SALT_LEN..SALT_LEN + 4]);
        let rs = RecordSize::new(u64::from(u32::from_be_bytes(rs)))
            .ok_or(CryptoError::Malformed("a record size below 18"))?;
        let id_len = usize::from(fixed[HEADER_LEN - 1]);
        let key_id = message
            .get(HEADER_LEN..HEADER_LEN + id_len)
            .ok_or(short)?
            .to_vec();
        let header = Self { salt, rs, key_id };
        Ok((header, &message[HEADER_LEN + id_len..]))
    }
}

/// Encrypts `plaintext` as one message: header, then full records and a last one, no padding.
pub async fn encrypt<P: Primitives>(
    primitives: &P,
    suite: Suite,
    ikm: &[u8],
    header: &Header,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let keys = RecordKeys::derive(primitives, suite, ikm, &header.salt).await?;
    let rs = header.rs;
    let size = rs
        .ciphertext_size(plaintext.len() as u64)
        .ok_or(CryptoError::Malformed("a message too large"))?;
    let span = rs.span(plaintext.len() as u64, 0..size)?;
    let mut out = header.to_bytes();
    out.extend_from_slice(&seal_span(primitives, &keys, rs, &span, plaintext).await?);
    Ok(out)
}

/// Decrypts a whole message with the key `ikm` (its key id is the caller's to check).
pub async fn decrypt<P: Primitives>(
    primitives: &P,
    suite: Suite,
    ikm: &[u8],
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (header, body) = Header::parse(message)?;
    let keys = RecordKeys::derive(primitives, suite, ikm, &header.salt).await?;
    let rs = header.rs;
    if body.is_empty() {
        return Err(CryptoError::Truncated);
    }
    let records = (body.len() as u64).div_ceil(rs.get());
    // Padding may make records' data shorter than `data_len`, so the plaintext's length is
    // only known once they are open: the span here stands for "these records, last at the end".
    let span = Span {
        first_record: 0,
        records,
        plaintext: 0..0,
        ends_file: true,
    };
    open_span(primitives, &keys, rs, &span, body).await
}
