use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::aead::{AES_128_GCM as LC_AES_128, AES_256_GCM as LC_AES_256};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use ferry_api::PartLayout;
use ferry_api::parts::MIB;

use super::link::{LinkKeyError, TransferKey};
use super::message::{self, Header};
use super::meta::{self, FileSecrets, MAX_META_JSON};
use super::vectors::*;
use super::*;

/// [`Primitives`] on aws-lc-rs: a second implementation beside WebCrypto.
struct Native;

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn lc(_: aws_lc_rs::error::Unspecified) -> CryptoError {
    CryptoError::Backend("aws-lc-rs refused".to_owned())
}

impl Primitives for Native {
    type Key = LessSafeKey;

    async fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
        let info = [info];
        let okm = prk.expand(&info, Len(len)).map_err(lc)?;
        let mut out = vec![0; len];
        okm.fill(&mut out).map_err(lc)?;
        Ok(out)
    }

    async fn import_key(&self, raw: &[u8]) -> Result<LessSafeKey, CryptoError> {
        let algorithm = if raw.len() == 16 {
            &LC_AES_128
        } else {
            &LC_AES_256
        };
        Ok(LessSafeKey::new(
            UnboundKey::new(algorithm, raw).map_err(lc)?,
        ))
    }

    async fn seal(
        &self,
        key: &LessSafeKey,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut out = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(*nonce), Aad::empty(), &mut out)
            .map_err(lc)?;
        Ok(out)
    }

    async fn open(
        &self,
        key: &LessSafeKey,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut out = ciphertext.to_vec();
        let len = key
            .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::empty(), &mut out)
            .map_err(|_| CryptoError::Tampered)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// Runs a future of [`Native`], which never waits.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("native primitives never wait"),
    }
}

fn keys(suite: Suite, ikm: &[u8], salt: &[u8]) -> RecordKeys<LessSafeKey> {
    run(RecordKeys::derive(&Native, suite, ikm, salt)).expect("keys derive")
}

fn rs(n: u64) -> RecordSize {
    RecordSize::new(n).expect("a valid record size")
}

/// The whole file of `plain` bytes, encrypted in one span.
fn seal_file(keys: &RecordKeys<LessSafeKey>, rs: RecordSize, plain: &[u8]) -> Vec<u8> {
    let size = rs.ciphertext_size(plain.len() as u64).unwrap();
    let span = rs.span(plain.len() as u64, 0..size).unwrap();
    run(seal_span(&Native, keys, rs, &span, plain)).unwrap()
}

fn open_file(
    keys: &RecordKeys<LessSafeKey>,
    rs: RecordSize,
    plain_len: u64,
    stored: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let size = rs.ciphertext_size(plain_len).unwrap();
    let span = rs.span(plain_len, 0..size).unwrap();
    run(open_span(&Native, keys, rs, &span, stored))
}

#[test]
fn rfc_8188_section_3_1_derives_encrypts_and_decrypts() {
    let (key, salt) = (b64(RFC_3_1_KEY), b64(RFC_3_1_SALT));
    let cek = run(Native.hkdf_sha256(&key, &salt, AES_128_GCM.key_info, 16)).unwrap();
    assert_eq!(cek, b64(RFC_3_1_CEK));
    assert_eq!(
        keys(AES_128_GCM, &key, &salt).nonce(0).to_vec(),
        b64(RFC_3_1_NONCE)
    );

    let header = Header {
        salt: salt.try_into().unwrap(),
        rs: rs(4096),
        key_id: Vec::new(),
    };
    let message = run(message::encrypt(
        &Native,
        AES_128_GCM,
        &key,
        &header,
        WALRUS,
    ))
    .unwrap();
    assert_eq!(message, b64(RFC_3_1_MESSAGE));
    let opened = run(message::decrypt(&Native, AES_128_GCM, &key, &message)).unwrap();
    assert_eq!(opened, WALRUS);
}

#[test]
fn rfc_8188_section_3_2_two_records_with_padding_and_a_key_id() {
    let key = b64(RFC_3_2_KEY);
    let vector = b64(RFC_3_2_MESSAGE);
    let (header, _) = Header::parse(&vector).unwrap();
    assert_eq!((header.rs.get(), &header.key_id[..]), (25, &b"a1"[..]));
    let opened = run(message::decrypt(&Native, AES_128_GCM, &key, &vector)).unwrap();
    assert_eq!(opened, WALRUS);

    // The same records written here: 7 bytes, delimiter and one zero; then the last 8 bytes.
    let k = keys(AES_128_GCM, &key, &header.salt);
    let mut message = header.to_bytes();
    message.extend(run(seal_record(&Native, &k, 0, &WALRUS[..7], false, 1)).unwrap());
    message.extend(run(seal_record(&Native, &k, 1, &WALRUS[7..], true, 0)).unwrap());
    assert_eq!(message, vector);
}

#[test]
fn aes_256_records_match_an_independent_implementation() {
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let cek = run(Native.hkdf_sha256(&aes256_key(), &aes256_salt(), AES_256_GCM.key_info, 32));
    assert_eq!(cek.unwrap(), b64(AES256_CEK));
    assert_eq!(k.nonce(0).to_vec(), b64(AES256_NONCE));
    let records = seal_file(&k, rs(AES256_RS), &aes256_plaintext());
    assert_eq!(records, b64(AES256_RECORDS));
    assert_eq!(seal_file(&k, rs(AES256_RS), b""), b64(AES256_EMPTY));
    let opened = open_file(&k, rs(AES256_RS), 100, &records).unwrap();
    assert_eq!(opened, aes256_plaintext());
}

#[test]
fn the_nonce_is_the_base_xor_the_big_endian_sequence_number() {
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let base = k.nonce(0);
    let n = k.nonce(0x0102_0304_0506_0708);
    assert_eq!(n[..4], base[..4]);
    for (i, s) in (4..12).zip(1u8..) {
        assert_eq!(n[i], base[i] ^ s);
    }
}

#[test]
fn ciphertext_sizes_are_exact_and_invertible() {
    let r = CONTENT_RECORDS;
    assert_eq!((r.get(), r.data_len()), (65_536, 65_519));
    assert_eq!(r.ciphertext_size(0), Some(17));
    assert_eq!(r.ciphertext_size(1), Some(18));
    assert_eq!(r.ciphertext_size(65_519), Some(65_536));
    assert_eq!(r.ciphertext_size(65_520), Some(65_536 + 18));
    assert_eq!(r.ciphertext_size(u64::MAX), None);
    for plain in [0, 1, 2, 65_518, 65_519, 65_520, 131_038, 131_039, 10 << 30] {
        let cipher = r.ciphertext_size(plain).unwrap();
        assert_eq!(r.plaintext_size(cipher), Some(plain), "{plain}");
    }
    // Sizes no plaintext encrypts to: shorter than one record's overhead, or a last record
    // holding only a tag.
    for cipher in [0, 1, 16, 65_536 + 1, 65_536 + 16] {
        assert_eq!(r.plaintext_size(cipher), None, "{cipher}");
    }
}

#[test]
fn every_part_of_the_multipart_layout_holds_whole_records() {
    let r = CONTENT_RECORDS;
    for plain in [64 * MIB, 100 * MIB + 7, 1 << 30, 80_000 * MIB + 12_345] {
        let cipher = r.ciphertext_size(plain).unwrap();
        let layout = PartLayout::for_size(cipher).unwrap();
        let mut next = 0;
        for number in 1..=layout.part_count {
            let (start, end) = layout.range(number).unwrap();
            let span = r.span(plain, start..end).unwrap();
            assert_eq!(span.plaintext.start, next, "part {number} of {plain}");
            assert_eq!(span.ends_file, number == layout.part_count);
            next = span.plaintext.end;
        }
        assert_eq!(next, plain);
    }
}

#[test]
fn a_range_must_start_and_end_on_records() {
    let r = rs(64);
    let size = r.ciphertext_size(1000).unwrap();
    assert!(r.span(1000, 1..128).is_err());
    assert!(r.span(1000, 0..100).is_err());
    assert!(r.span(1000, 0..size + 1).is_err());
    assert!(r.span(1000, 64..64).is_err());
    let tail = r.span(1000, 64 * 20..size).unwrap();
    assert_eq!((tail.first_record, tail.records), (20, 2));
    assert_eq!(tail.plaintext, 940..1000);
    assert!(tail.ends_file);
}

#[test]
fn parts_encrypt_and_decrypt_on_their_own_in_any_order() {
    let r = rs(64);
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let whole = seal_file(&k, r, &plain);
    let size = whole.len() as u64;
    let parts: Vec<Range<u64>> = (0..size)
        .step_by(192)
        .map(|start| start..(start + 192).min(size))
        .collect();
    let mut stored = vec![0; whole.len()];
    for part in parts.iter().rev() {
        let span = r.span(1000, part.clone()).unwrap();
        let slice = &plain[span.plaintext.start as usize..span.plaintext.end as usize];
        let sealed = run(seal_span(&Native, &k, r, &span, slice)).unwrap();
        stored[part.start as usize..part.end as usize].copy_from_slice(&sealed);
        let opened = run(open_span(&Native, &k, r, &span, &sealed)).unwrap();
        assert_eq!(opened, slice);
    }
    assert_eq!(stored, whole);
}

#[test]
fn a_missing_last_record_is_truncation() {
    let r = rs(64);
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let stored = b64(AES256_RECORDS);
    // Cut at a record's end: the record now last says more follows.
    let span = Span {
        first_record: 0,
        records: 1,
        plaintext: 0..47,
        ends_file: true,
    };
    let opened = run(open_span(&Native, &k, r, &span, &stored[..64]));
    assert_eq!(opened, Err(CryptoError::Truncated));
    // Shorter than the size the file announced, at a record's end or inside one.
    for cut in [128, 100, 64, 10, 0] {
        assert_eq!(
            open_file(&k, r, 100, &stored[..cut]),
            Err(CryptoError::Truncated),
            "{cut}"
        );
    }
    // A whole message missing its last record.
    let header = Header {
        salt: aes256_salt().try_into().unwrap(),
        rs: r,
        key_id: Vec::new(),
    };
    let mut message = header.to_bytes();
    message.extend_from_slice(&stored[..128]);
    let opened = run(message::decrypt(
        &Native,
        AES_256_GCM,
        &aes256_key(),
        &message,
    ));
    assert_eq!(opened, Err(CryptoError::Truncated));
}

#[test]
fn reordered_records_fail_to_authenticate() {
    let r = rs(64);
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let stored = b64(AES256_RECORDS);
    let mut swapped = stored[64..128].to_vec();
    swapped.extend_from_slice(&stored[..64]);
    swapped.extend_from_slice(&stored[128..]);
    assert_eq!(open_file(&k, r, 100, &swapped), Err(CryptoError::Tampered));
    // A part uploaded in the place of another: the same bytes under other sequence numbers.
    let span = r.span(100, 64..128).unwrap();
    let moved = run(open_span(&Native, &k, r, &span, &stored[..64]));
    assert_eq!(moved, Err(CryptoError::Tampered));
}

#[test]
fn any_flipped_bit_fails_to_authenticate() {
    let r = rs(64);
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let stored = b64(AES256_RECORDS);
    for i in 0..stored.len() {
        let mut flipped = stored.clone();
        flipped[i] ^= 0x10;
        assert_eq!(
            open_file(&k, r, 100, &flipped),
            Err(CryptoError::Tampered),
            "byte {i}"
        );
    }
}

#[test]
fn a_wrong_key_or_salt_fails_to_authenticate() {
    let r = rs(64);
    let stored = b64(AES256_RECORDS);
    let mut key = aes256_key();
    key[31] ^= 1;
    let wrong_key = keys(AES_256_GCM, &key, &aes256_salt());
    assert_eq!(
        open_file(&wrong_key, r, 100, &stored),
        Err(CryptoError::Tampered)
    );
    let wrong_salt = keys(AES_256_GCM, &aes256_key(), &[0; SALT_LEN]);
    assert_eq!(
        open_file(&wrong_salt, r, 100, &stored),
        Err(CryptoError::Tampered)
    );
}

#[test]
fn an_empty_file_is_one_record_marked_last() {
    let r = CONTENT_RECORDS;
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let stored = seal_file(&k, r, b"");
    assert_eq!(stored.len(), 17);
    assert_eq!(open_file(&k, r, 0, &stored), Ok(Vec::new()));
    assert_eq!(open_file(&k, r, 0, b""), Err(CryptoError::Truncated));
}

#[test]
fn a_record_after_the_last_is_refused() {
    let r = rs(64);
    let k = keys(AES_256_GCM, &aes256_key(), &aes256_salt());
    let header = Header {
        salt: aes256_salt().try_into().unwrap(),
        rs: r,
        key_id: Vec::new(),
    };
    let mut message = header.to_bytes();
    // Record 0 says it is the last, then record 1 follows.
    message.extend(run(seal_record(&Native, &k, 0, &[1; 47], true, 0)).unwrap());
    message.extend(run(seal_record(&Native, &k, 1, b"more", true, 0)).unwrap());
    let opened = run(message::decrypt(
        &Native,
        AES_256_GCM,
        &aes256_key(),
        &message,
    ));
    assert!(
        matches!(opened, Err(CryptoError::Malformed(_))),
        "{opened:?}"
    );
    // A bad header is malformed, never a panic.
    for short in [&message[..3], &message[..20]] {
        let opened = run(message::decrypt(&Native, AES_256_GCM, &aes256_key(), short));
        assert!(
            matches!(opened, Err(CryptoError::Malformed(_))),
            "{opened:?}"
        );
    }
}

mod metadata_links_streams;
mod owner_names;
mod thumbnails;
