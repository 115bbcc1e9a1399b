//! Sealed metadata, keys in links, and the streaming decryptor.

use super::*;

fn secrets(name: &str) -> FileSecrets {
    FileSecrets {
        name: name.to_owned(),
        folder: Some("photos/2026".to_owned()),
        content_type: "image/jpeg".to_owned(),
        size: 123_456,
        salt: crate::base64::encode_url(&[7; SALT_LEN]),
    }
}

#[test]
fn metadata_seals_and_opens_with_the_transfer_key_only() {
    let key = TransferKey::from_bytes([9; 32]);
    let blob = run(meta::seal(
        &Native,
        &key,
        [3; SALT_LEN],
        &secrets("Été.jpg"),
    ))
    .unwrap();
    assert!(
        !blob.windows(3).any(|w| w == b"jpg"),
        "no plaintext in the blob"
    );
    assert_eq!(
        run(meta::open(&Native, &key, &blob)),
        Ok(secrets("Été.jpg"))
    );
    assert_eq!(secrets("x").content_salt(), Ok([7; SALT_LEN]));
    let other = TransferKey::from_bytes([8; 32]);
    assert_eq!(
        run(meta::open(&Native, &other, &blob)),
        Err(CryptoError::Tampered)
    );

    // The longest names and folders the API allows still fit in 4 KiB.
    let mut long = secrets(&"é".repeat(127));
    long.folder = Some("f".repeat(1024));
    let blob = run(meta::seal(&Native, &key, [3; SALT_LEN], &long)).unwrap();
    assert!(blob.len() <= ferry_api::encryption::MAX_META_BYTES);
    let too_long = secrets(&"x".repeat(MAX_META_JSON));
    let refused = run(meta::seal(&Native, &key, [3; SALT_LEN], &too_long));
    assert!(matches!(refused, Err(CryptoError::Malformed(_))));
}

#[test]
fn a_link_carries_the_key_in_its_fragment() {
    let key = TransferKey::from_bytes(std::array::from_fn(|i| i as u8 * 8));
    let link = key.link("https://ferry.example/s/abc");
    let (url, fragment) = link.split_once('#').unwrap();
    assert_eq!(url, "https://ferry.example/s/abc");
    assert_eq!(fragment.len(), 2 + 43);
    assert_eq!(TransferKey::from_fragment(fragment), Ok(key.clone()));
    assert_eq!(
        TransferKey::from_fragment(&format!("#{fragment}")),
        Ok(key.clone())
    );
    assert_eq!(
        TransferKey::from_fragment(&format!("#x=1&{fragment}")),
        Ok(key.clone())
    );
    assert!(!format!("{key:?}").contains(&fragment[2..]));
}

#[test]
fn a_link_without_its_key_says_what_is_missing() {
    for fragment in ["", "#", "#k=", "#x=1", "#key=abc"] {
        assert_eq!(
            TransferKey::from_fragment(fragment),
            Err(LinkKeyError::Missing),
            "{fragment}"
        );
    }
    let whole = TransferKey::from_bytes([1; 32]).fragment();
    for fragment in [&whole[..20], "k=!!!!", &format!("{whole}AA")] {
        assert_eq!(
            TransferKey::from_fragment(fragment),
            Err(LinkKeyError::Damaged),
            "{fragment}"
        );
    }
    assert!(
        LinkKeyError::Missing
            .to_string()
            .contains("missing its key")
    );
}

/// Streams `stored` through a [`stream::Decryptor`] in chunks of `chunk` bytes.
fn stream_file(
    keys: RecordKeys<LessSafeKey>,
    rs: RecordSize,
    plain_len: u64,
    stored: &[u8],
    chunk: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut decryptor = stream::Decryptor::new(keys, rs, plain_len)?;
    let mut out = Vec::new();
    for piece in stored.chunks(chunk) {
        out.extend(run(decryptor.push(&Native, piece))?);
        // Never more than one record and one chunk is held.
        assert!(out.len() as u64 <= plain_len);
    }
    out.extend(run(decryptor.finish(&Native))?);
    Ok(out)
}

#[test]
fn the_stream_decrypts_chunks_that_do_not_align_with_records() {
    let salt = [7u8; SALT_LEN];
    let rs = rs(64);
    let data_len = rs.data_len() as usize;
    for plain_len in [
        0,
        1,
        data_len - 1,
        data_len,
        data_len + 1,
        5 * data_len,
        777,
    ] {
        let plain: Vec<u8> = (0..plain_len).map(|i| (i * 31 % 251) as u8).collect();
        let stored = seal_file(&keys(AES_256_GCM, &[3; 32], &salt), rs, &plain);
        for chunk in [1, 7, 63, 64, 65, 128, 1000, stored.len().max(1)] {
            let keys = keys(AES_256_GCM, &[3; 32], &salt);
            let out = stream_file(keys, rs, plain_len as u64, &stored, chunk).unwrap();
            assert_eq!(out, plain, "{plain_len} bytes in chunks of {chunk}");
        }
    }
}

#[test]
fn the_stream_decrypts_ferry_content_records_of_a_multi_record_file() {
    let key = TransferKey::from_bytes([9; 32]);
    let secrets = FileSecrets {
        size: 3 * CONTENT_RECORDS.data_len() + 12_345,
        salt: crate::base64::encode_url(&[5; SALT_LEN]),
        ..secrets("big.bin")
    };
    let plain: Vec<u8> = (0..secrets.size).map(|i| (i % 253) as u8).collect();
    let stored = seal_file(
        &keys(AES_256_GCM, key.bytes(), &[5; SALT_LEN]),
        CONTENT_RECORDS,
        &plain,
    );
    let mut decryptor = run(stream::Decryptor::for_file(&Native, key.bytes(), &secrets)).unwrap();
    let mut out = Vec::new();
    for piece in stored.chunks(100_000) {
        out.extend(run(decryptor.push(&Native, piece)).unwrap());
    }
    out.extend(run(decryptor.finish(&Native)).unwrap());
    assert_eq!(out, plain);
}

#[test]
fn a_truncated_stream_is_refused_at_its_end() {
    let salt = [1u8; SALT_LEN];
    let rs = rs(64);
    let plain = vec![42u8; 4 * rs.data_len() as usize + 10];
    let stored = seal_file(&keys(AES_256_GCM, &[2; 32], &salt), rs, &plain);
    // Cut at a record boundary, inside a record, and with only the last byte missing.
    for cut in [64, 128, 256, 100, stored.len() - 1] {
        let keys = keys(AES_256_GCM, &[2; 32], &salt);
        let err = stream_file(keys, rs, plain.len() as u64, &stored[..cut], 13).unwrap_err();
        assert_eq!(err, CryptoError::Truncated, "cut at {cut}");
    }
    // Even with the size it expects matching the cut, a file cut at a record boundary ends in
    // a record that says more follows.
    let whole_records = 2 * rs.data_len();
    let keys_cut = keys(AES_256_GCM, &[2; 32], &salt);
    let err = stream_file(keys_cut, rs, whole_records, &stored[..128], 50).unwrap_err();
    assert_eq!(err, CryptoError::Truncated);
    // Bytes beyond the last record are refused as they come.
    let mut longer = stored.clone();
    longer.push(0);
    let keys_long = keys(AES_256_GCM, &[2; 32], &salt);
    let err = stream_file(keys_long, rs, plain.len() as u64, &longer, 64).unwrap_err();
    assert!(matches!(err, CryptoError::Malformed(_)));
}

#[test]
fn a_flipped_bit_anywhere_stops_the_stream() {
    let salt = [4u8; SALT_LEN];
    let rs = rs(64);
    let plain: Vec<u8> = (0..3 * rs.data_len() as usize + 5)
        .map(|i| i as u8)
        .collect();
    let stored = seal_file(&keys(AES_256_GCM, &[8; 32], &salt), rs, &plain);
    for at in 0..stored.len() {
        let mut bad = stored.clone();
        bad[at] ^= 0x10;
        let keys = keys(AES_256_GCM, &[8; 32], &salt);
        let err = stream_file(keys, rs, plain.len() as u64, &bad, 50).unwrap_err();
        assert_eq!(err, CryptoError::Tampered, "byte {at}");
    }
    let wrong = keys(AES_256_GCM, &[9; 32], &salt);
    let err = stream_file(wrong, rs, plain.len() as u64, &stored, 50).unwrap_err();
    assert_eq!(err, CryptoError::Tampered);
}

/// [`Native`] whose `open` waits a few polls first, as WebCrypto's promises do, counting the
/// records open at once; records finish in another order than they started, or (with a
/// `spread` of 1) all together.
#[derive(Default)]
struct Staggered {
    spread: usize,
    open: std::cell::Cell<usize>,
    most: std::cell::Cell<usize>,
}

/// Pending for as many polls as it holds.
struct Polls(usize);

impl Future for Polls {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        Poll::Pending
    }
}

impl Primitives for Staggered {
    type Key = LessSafeKey;

    async fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        Native.hkdf_sha256(ikm, salt, info, len).await
    }

    async fn import_key(&self, raw: &[u8]) -> Result<LessSafeKey, CryptoError> {
        Native.import_key(raw).await
    }

    async fn seal(
        &self,
        key: &LessSafeKey,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        Native.seal(key, nonce, plaintext).await
    }

    async fn open(
        &self,
        key: &LessSafeKey,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.open.set(self.open.get() + 1);
        self.most.set(self.most.get().max(self.open.get()));
        Polls(1 + nonce[NONCE_LEN - 1] as usize % self.spread.max(1)).await;
        self.open.set(self.open.get() - 1);
        Native.open(key, nonce, ciphertext).await
    }
}

/// Polls `future` until it is ready ([`Staggered`] needs no waker to make progress).
fn run_staggered<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn the_stream_opens_a_chunks_records_at_once_and_keeps_their_order() {
    let salt = [6u8; SALT_LEN];
    let rs = rs(64);
    let plain: Vec<u8> = (0..40 * rs.data_len() as usize + 9)
        .map(|i| (i * 7 % 249) as u8)
        .collect();
    let stored = seal_file(&keys(AES_256_GCM, &[5; 32], &salt), rs, &plain);
    for (chunk, spread) in [
        (stored.len(), 7),
        (stored.len(), 1),
        (1000, 7),
        (5 * 64 + 3, 7),
        (64, 7),
    ] {
        let slow = Staggered {
            spread,
            ..Staggered::default()
        };
        let keys = keys(AES_256_GCM, &[5; 32], &salt);
        let mut decryptor = stream::Decryptor::new(keys, rs, plain.len() as u64).unwrap();
        let mut out = Vec::new();
        for piece in stored.chunks(chunk) {
            out.extend(run_staggered(decryptor.push(&slow, piece)).unwrap());
        }
        out.extend(run_staggered(decryptor.finish(&slow)).unwrap());
        assert_eq!(out, plain, "chunks of {chunk}");
        let most = slow.most.get();
        assert!(most <= stream::IN_FLIGHT, "{most} records at once");
        if chunk >= 17 * 64 {
            assert_eq!(most, stream::IN_FLIGHT, "chunks of {chunk}");
        } else if chunk > 2 * 64 {
            assert!(most > 1, "chunks of {chunk}");
        }
    }
    // A flipped bit in a record in the middle of a window stops the stream there.
    for record in [0, 7, 20, 39] {
        let mut bad = stored.clone();
        bad[record * 64 + 3] ^= 1;
        let slow = Staggered::default();
        let keys = keys(AES_256_GCM, &[5; 32], &salt);
        let mut decryptor = stream::Decryptor::new(keys, rs, plain.len() as u64).unwrap();
        let err = run_staggered(decryptor.push(&slow, &bad)).unwrap_err();
        assert_eq!(err, CryptoError::Tampered, "record {record}");
    }
}
