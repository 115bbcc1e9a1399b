//! WebCrypto writes and reads the same records as the native implementation of `tests.rs`:
//! both check the vectors of `vectors.rs`.

use wasm_bindgen_test::wasm_bindgen_test;

use super::link::TransferKey;
use super::message::{self, Header};
use super::meta::{self, FileSecrets};
use super::vectors::*;
use super::webcrypto::WebCrypto;
use super::*;

fn rs(n: u64) -> RecordSize {
    RecordSize::new(n).expect("a valid record size")
}

/// What a recipient with `key` reads of `file`: its opened metadata and its content keys.
async fn opened(
    web: &WebCrypto,
    key: &TransferKey,
    file: &super::sealing::SealedFile,
) -> (FileSecrets, RecordKeys<web_sys::CryptoKey>) {
    let sealed_meta = crate::base64::decode_url(&file.meta.meta).unwrap();
    let secrets = meta::open(web, key, &sealed_meta).await.unwrap();
    let salt = secrets.content_salt().unwrap();
    let keys = RecordKeys::derive(web, AES_256_GCM, key.bytes(), &salt)
        .await
        .unwrap();
    (secrets, keys)
}

#[wasm_bindgen_test]
async fn webcrypto_matches_rfc_8188_section_3_1() {
    let web = WebCrypto::new().expect("WebCrypto");
    let (key, salt) = (b64(RFC_3_1_KEY), b64(RFC_3_1_SALT));
    let cek = web.hkdf_sha256(&key, &salt, AES_128_GCM.key_info, 16).await;
    assert_eq!(cek.unwrap(), b64(RFC_3_1_CEK));
    let k = RecordKeys::derive(&web, AES_128_GCM, &key, &salt)
        .await
        .unwrap();
    assert_eq!(k.nonce(0).to_vec(), b64(RFC_3_1_NONCE));
    let header = Header {
        salt: salt.try_into().unwrap(),
        rs: rs(4096),
        key_id: Vec::new(),
    };
    let message = message::encrypt(&web, AES_128_GCM, &key, &header, WALRUS).await;
    assert_eq!(message.unwrap(), b64(RFC_3_1_MESSAGE));
}

#[wasm_bindgen_test]
async fn webcrypto_matches_rfc_8188_section_3_2() {
    let web = WebCrypto::new().expect("WebCrypto");
    let key = b64(RFC_3_2_KEY);
    let vector = b64(RFC_3_2_MESSAGE);
    let opened = message::decrypt(&web, AES_128_GCM, &key, &vector).await;
    assert_eq!(opened.unwrap(), WALRUS);
    let (header, _) = Header::parse(&vector).unwrap();
    let k = RecordKeys::derive(&web, AES_128_GCM, &key, &header.salt)
        .await
        .unwrap();
    let mut message = header.to_bytes();
    message.extend(
        seal_record(&web, &k, 0, &WALRUS[..7], false, 1)
            .await
            .unwrap(),
    );
    message.extend(
        seal_record(&web, &k, 1, &WALRUS[7..], true, 0)
            .await
            .unwrap(),
    );
    assert_eq!(message, vector);
}

#[wasm_bindgen_test]
async fn webcrypto_writes_the_native_aes_256_records_and_refuses_tampering() {
    let web = WebCrypto::new().expect("WebCrypto");
    let cek = web
        .hkdf_sha256(&aes256_key(), &aes256_salt(), AES_256_GCM.key_info, 32)
        .await;
    assert_eq!(cek.unwrap(), b64(AES256_CEK));
    let k = RecordKeys::derive(&web, AES_256_GCM, &aes256_key(), &aes256_salt())
        .await
        .unwrap();
    assert_eq!(k.nonce(0).to_vec(), b64(AES256_NONCE));
    let r = rs(AES256_RS);
    let span = r.span(100, 0..r.ciphertext_size(100).unwrap()).unwrap();
    let sealed = seal_span(&web, &k, r, &span, &aes256_plaintext()).await;
    assert_eq!(sealed.unwrap(), b64(AES256_RECORDS));
    let empty = r.span(0, 0..17).unwrap();
    assert_eq!(
        seal_span(&web, &k, r, &empty, b"").await.unwrap(),
        b64(AES256_EMPTY)
    );

    let mut stored = b64(AES256_RECORDS);
    let opened = open_span(&web, &k, r, &span, &stored).await;
    assert_eq!(opened.unwrap(), aes256_plaintext());
    stored[70] ^= 1;
    let opened = open_span(&web, &k, r, &span, &stored).await;
    assert_eq!(opened, Err(CryptoError::Tampered));
}

#[wasm_bindgen_test]
async fn a_generated_key_seals_metadata_that_only_it_opens() {
    let web = WebCrypto::new().expect("WebCrypto");
    let key = TransferKey::generate().expect("random bytes");
    assert_ne!(key.bytes(), TransferKey::generate().unwrap().bytes());
    let secrets = FileSecrets {
        name: "report.pdf".to_owned(),
        folder: None,
        content_type: "application/pdf".to_owned(),
        size: 5,
        salt: crate::base64::encode_url(&[1; SALT_LEN]),
    };
    let blob = meta::seal(&web, &key, [2; SALT_LEN], &secrets)
        .await
        .unwrap();
    assert_eq!(meta::open(&web, &key, &blob).await, Ok(secrets));
    let fragment = key.fragment();
    assert_eq!(TransferKey::from_fragment(&fragment), Ok(key));
}

#[wasm_bindgen_test]
async fn a_part_of_a_blob_is_sealed_on_its_own_and_opens_back() {
    use super::sealing::SealedFile;
    use js_sys::{Array, Uint8Array};
    use wasm_bindgen_futures::JsFuture;

    // Three records and a bit, so the second "part" (one record) sits in the middle.
    let plain: Vec<u8> = (0..3 * 65_519 + 10).map(|i| (i % 251) as u8).collect();
    let blob =
        web_sys::Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(&plain[..])))
            .unwrap();
    let key = TransferKey::generate().unwrap();
    let file = SealedFile::new(
        &key,
        "big.bin",
        Some("a/b"),
        "application/x-test",
        plain.len() as u64,
    )
    .await
    .unwrap();
    assert_eq!(file.cipher_size, plain.len() as u64 + 4 * 17);
    let web = WebCrypto::new().unwrap();
    let (secrets, keys) = opened(&web, &key, &file).await;
    assert_eq!(
        (secrets.name.as_str(), secrets.folder.as_deref()),
        ("big.bin", Some("a/b"))
    );

    let r = CONTENT_RECORDS;
    let (start, end) = (r.get(), 2 * r.get());
    let (part, _) = file.part_with_checksum(&blob, start, end).await.unwrap();
    let buffer = JsFuture::from(part.blob().await.unwrap().array_buffer())
        .await
        .unwrap();
    let sealed = Uint8Array::new(&buffer).to_vec();
    assert_eq!(sealed.len() as u64, r.get());
    let span = r.span(plain.len() as u64, start..end).unwrap();
    let opened = open_span(&web, &keys, r, &span, &sealed).await.unwrap();
    assert_eq!(opened, plain[65_519..2 * 65_519]);
}

/// The parts `SealedFile` seals in JavaScript are byte for byte `seal_span`'s (the record
/// format's reference): every record, its delimiter (the file's last one marked last) and its
/// nonce from its index in the file, for middle parts, a short last part, the whole file in one
/// part and an empty file; and their checksum is the SHA-256 of exactly those bytes.
#[wasm_bindgen_test]
async fn every_sealed_part_is_the_reference_records_and_its_checksum_is_theirs() {
    use super::sealing::SealedFile;
    use js_sys::{Array, Uint8Array};
    use wasm_bindgen_futures::JsFuture;

    let web = WebCrypto::new().unwrap();
    let r = CONTENT_RECORDS;
    for plain_len in [5 * 65_519 + 10, 4 * 65_519, 0] {
        let plain: Vec<u8> = (0..plain_len).map(|i| (i % 253) as u8).collect();
        let blob =
            web_sys::Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(&plain[..])))
                .unwrap();
        let key = TransferKey::generate().unwrap();
        let file = SealedFile::new(&key, "f.bin", None, "application/x-test", plain_len)
            .await
            .unwrap();
        let (_, keys) = opened(&web, &key, &file).await;
        let total = file.cipher_size;
        // The whole file as one part, and parts of two records (the last one shorter).
        let cuts: Vec<u64> = (0..total).step_by(2 * r.get() as usize).collect();
        let parts = cuts.iter().map(|&s| (s, (s + 2 * r.get()).min(total)));
        let layouts = [vec![(0, total)], parts.collect()];
        for layout in layouts {
            let mut whole = Vec::new();
            for (start, end) in layout {
                let (part, sha256) = file.part_with_checksum(&blob, start, end).await.unwrap();
                let buffer = JsFuture::from(part.blob().await.unwrap().array_buffer())
                    .await
                    .unwrap();
                let sealed = Uint8Array::new(&buffer).to_vec();
                let span = r.span(plain_len, start..end).unwrap();
                let plaintext = &plain[span.plaintext.start as usize..span.plaintext.end as usize];
                let reference = seal_span(&web, &keys, r, &span, plaintext).await.unwrap();
                assert_eq!(
                    sealed, reference,
                    "part {start}..{end} of {plain_len} bytes"
                );
                let digest = crate::checksum::sha256_digest(&sealed).await.unwrap();
                assert_eq!(sha256, crate::checksum::encode(&digest));
                whole.extend_from_slice(&sealed);
            }
            assert_eq!(whole.len() as u64, total);
            let span = r.span(plain_len, 0..total).unwrap();
            assert_eq!(
                open_span(&web, &keys, r, &span, &whole).await.unwrap(),
                plain
            );
        }
    }
}

#[wasm_bindgen_test]
async fn the_stream_opens_many_records_at_once_with_webcrypto_in_order() {
    let web = WebCrypto::new().expect("WebCrypto");
    let salt = [3u8; SALT_LEN];
    let rs = rs(256);
    let keys = RecordKeys::derive(&web, AES_256_GCM, &[4; 32], &salt)
        .await
        .unwrap();
    let plain: Vec<u8> = (0..40 * rs.data_len() as usize + 11)
        .map(|i| (i * 13 % 241) as u8)
        .collect();
    let data_len = rs.data_len() as usize;
    let mut stored = Vec::new();
    let records = plain.len().div_ceil(data_len);
    for (seq, data) in plain.chunks(data_len).enumerate() {
        let last = seq + 1 == records;
        stored.extend(
            seal_record(&web, &keys, seq as u64, data, last, 0)
                .await
                .unwrap(),
        );
    }
    for chunk in [stored.len(), 1000] {
        let keys = RecordKeys::derive(&web, AES_256_GCM, &[4; 32], &salt)
            .await
            .unwrap();
        let mut decryptor = stream::Decryptor::new(keys, rs, plain.len() as u64).unwrap();
        let mut out = Vec::new();
        for piece in stored.chunks(chunk) {
            out.extend(decryptor.push(&web, piece).await.unwrap());
        }
        out.extend(decryptor.finish(&web).await.unwrap());
        let first = out.iter().zip(&plain).position(|(a, b)| a != b);
        assert!(
            out == plain,
            "chunks of {chunk}: {} vs {} bytes, first difference at {first:?}",
            out.len(),
            plain.len()
        );
    }
    let mut bad = stored.clone();
    bad[20 * 256 + 9] ^= 4;
    let keys = RecordKeys::derive(&web, AES_256_GCM, &[4; 32], &salt)
        .await
        .unwrap();
    let mut decryptor = stream::Decryptor::new(keys, rs, plain.len() as u64).unwrap();
    let err = decryptor.push(&web, &bad).await.unwrap_err();
    assert_eq!(err, CryptoError::Tampered);
}

/// Parts sealed all at once, more than there are sealing workers, each come back as their own
/// reference records (answers are matched to their requests, a recycled buffer holds no other
/// part's bytes); a file that changed size since it was picked is refused, not sealed short.
#[wasm_bindgen_test]
async fn parts_sealed_at_once_in_the_workers_are_each_their_own_and_a_shrunk_file_is_refused() {
    use super::sealing::SealedFile;
    use js_sys::{Array, Promise, Uint8Array};
    use std::rc::Rc;
    use wasm_bindgen_futures::{JsFuture, future_to_promise};

    let web = WebCrypto::new().unwrap();
    let r = CONTENT_RECORDS;
    let plain_len = 11 * 65_519 + 7;
    let plain: Vec<u8> = (0..plain_len).map(|i| (i * 7 % 251) as u8).collect();
    let blob =
        web_sys::Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(&plain[..])))
            .unwrap();
    let key = TransferKey::generate().unwrap();
    let file = Rc::new(
        SealedFile::new(&key, "f.bin", None, "application/x-test", plain_len)
            .await
            .unwrap(),
    );
    let (_, keys) = opened(&web, &key, &file).await;
    let total = file.cipher_size;
    let layout: Vec<(u64, u64)> = (0..total)
        .step_by(2 * r.get() as usize)
        .map(|s| (s, (s + 2 * r.get()).min(total)))
        .collect();
    let sealing = Array::new();
    for &(start, end) in &layout {
        let (file, blob) = (file.clone(), blob.clone());
        sealing.push(&future_to_promise(async move {
            let (part, sha256) = file.part_with_checksum(&blob, start, end).await.unwrap();
            let bytes = JsFuture::from(part.blob().await.unwrap().array_buffer()).await?;
            Ok(Array::of2(&bytes, &sha256.into()).into())
        }));
    }
    let sealed: Array = JsFuture::from(Promise::all(&sealing)).await.unwrap().into();
    assert_eq!(sealed.length() as usize, layout.len());
    for (answer, &(start, end)) in sealed.iter().zip(&layout) {
        let answer: Array = answer.into();
        let bytes = Uint8Array::new(&answer.get(0)).to_vec();
        let span = r.span(plain_len, start..end).unwrap();
        let plaintext = &plain[span.plaintext.start as usize..span.plaintext.end as usize];
        let reference = seal_span(&web, &keys, r, &span, plaintext).await.unwrap();
        assert_eq!(bytes, reference, "part {start}..{end}");
        let digest = crate::checksum::sha256_digest(&bytes).await.unwrap();
        assert_eq!(
            answer.get(1).as_string().unwrap(),
            crate::checksum::encode(&digest)
        );
    }

    let shrunk = blob.slice_with_i32_and_i32(0, 65_519).unwrap();
    let (start, end) = layout[0];
    assert!(file.part_with_checksum(&shrunk, start, end).await.is_err());
}
