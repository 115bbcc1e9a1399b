//! Multipart uploads: completion events, parts written into their slots and completed without a
//! copy, refused and repeated parts, restarts, hanging parts, uneven sizes, and checksums.

use super::*;

#[tokio::test]
async fn completed_multipart_uploads_are_reported() {
    const PART: &[u8] = b"PK\x03\x04 the only part";
    let mut s3 = spawn_s3().await;
    let key = "files/u1/big";
    let upload = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .content_type("application/zip")
        .send()
        .await
        .expect("create");
    let upload_id = upload.upload_id().expect("upload id");

    let part = s3
        .client
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(PART))
        .send()
        .await
        .expect("upload part");
    let etag = part.e_tag().expect("part etag").to_owned();

    let parts = s3
        .client
        .list_parts()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(parts.parts().len(), 1);

    assert_eq!(
        s3.store.head(key).await.expect("head"),
        None,
        "not visible before completion"
    );
    s3.client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .expect("complete");

    assert_eq!(s3.next_created().await, key);
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert_eq!(info.size, PART.len() as u64);

    // An aborted upload leaves nothing and reports nothing.
    let aborted = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("files/u1/aborted")
        .send()
        .await
        .expect("create");
    s3.client
        .abort_multipart_upload()
        .bucket(BUCKET)
        .key("files/u1/aborted")
        .upload_id(aborted.upload_id().expect("upload id"))
        .send()
        .await
        .expect("abort");
    assert_eq!(s3.store.head("files/u1/aborted").await.expect("head"), None);
    assert!(s3.created.try_recv().is_err());
}

/// Parts of S3's smallest size (5 MiB; Ferry's are 8 to 32 MiB): each fills a slot of the
/// assembly file.
const SLOT: usize = 5 << 20;

/// A part of `len` bytes that differs from every other part of the test.
fn part_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add((i % 251) as u8))
        .collect()
}

#[tokio::test]
async fn parts_land_in_their_slots_and_complete_without_a_copy() {
    use std::os::unix::fs::MetadataExt as _;
    let mut s3 = spawn_s3().await;
    let key = "files/u1/slotted";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(3, 1234),
    );
    // Out of order (one at a time here; parallel sends arrive in any order).
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.number, p.size))
            .collect::<Vec<_>>(),
        [(1, SLOT as u64), (2, SLOT as u64), (3, 1234)]
    );
    // Every part went into the one assembly file: no file per part.
    let files = s3.upload_files(&upload_id);
    assert!(!files.iter().any(|f| f.contains(".part-")), "{files:?}");
    let assembly = files
        .iter()
        .find(|f| f.ends_with(".ferry-object"))
        .map(|f| s3._dir.path().join(f))
        .unwrap_or_else(|| panic!("no assembly file in {files:?}"));
    let inode = std::fs::metadata(&assembly).expect("assembly").ino();

    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    let object = s3.object_path(key);
    // Renamed into place, not copied.
    assert_eq!(std::fs::metadata(&object).expect("object").ino(), inode);
    let expected = [one, two, three].concat();
    assert!(std::fs::read(&object).expect("object") == expected);
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert_eq!(info.size, expected.len() as u64);
    assert!(info.sha256.expect("checksum").ends_with("-3"));
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

#[tokio::test]
async fn a_refused_copy_of_a_part_never_replaces_the_stored_one() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/kept";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, bad, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(9, SLOT),
        part_bytes(3, 10),
    );
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    // Other bytes than the checksum says, for the part already in its slot: refused.
    let refused = s3.put_part_claiming(key, &upload_id, 2, &two, &bad).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::BAD_REQUEST, "BadDigest".to_owned())
    );
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two, three].concat());
    assert!(s3.upload_files(&upload_id).is_empty());
}

#[tokio::test]
async fn a_part_refused_in_its_slot_then_sent_again_twice_keeps_the_last_copy() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/resent";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, two_again, bad, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(22, SLOT),
        part_bytes(9, SLOT),
        part_bytes(3, 10),
    );
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    // The first copy of part 2 goes to its free slot and is refused there...
    let refused = s3.put_part_claiming(key, &upload_id, 2, &two, &bad).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::BAD_REQUEST, "BadDigest".to_owned())
    );
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(listed.iter().map(|p| p.number).collect::<Vec<_>>(), [1]);
    // ...so the next one takes the slot; one more with other bytes goes elsewhere, and wins,
    // as on S3.
    let _first = s3.put_part(key, &upload_id, 2, &two).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two_again).await;
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two_again), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(
        std::fs::read(s3.object_path(key)).expect("object") == [one, two_again, three].concat()
    );
    assert!(s3.upload_files(&upload_id).is_empty());
}

#[tokio::test]
async fn parts_in_their_slots_survive_a_restart() {
    use std::os::unix::fs::MetadataExt as _;
    let s3 = spawn_s3().await;
    let key = "files/u1/restarted";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (part_bytes(1, SLOT), part_bytes(2, SLOT), part_bytes(3, 77));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    let mut s3 = s3.restart().await;
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(listed.len(), 2);
    // The stride was recorded: the last part still goes to its slot after the restart.
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let assembly = s3
        .upload_files(&upload_id)
        .into_iter()
        .find(|f| f.ends_with(".ferry-object"))
        .map(|f| s3._dir.path().join(f))
        .expect("assembly file");
    let inode = std::fs::metadata(&assembly).expect("assembly").ino();
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    let object = s3.object_path(key);
    assert_eq!(std::fs::metadata(&object).expect("object").ino(), inode);
    assert!(std::fs::read(&object).expect("object") == [one, two, three].concat());
}

#[tokio::test]
async fn a_part_hanging_mid_body_neither_blocks_completion_nor_lands_after_it() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s3 = spawn_s3().await;
    let key = "files/u1/hanging";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, four) = (part_bytes(1, SLOT), part_bytes(2, 100), part_bytes(4, SLOT));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;

    // A client starts part 4 and stalls half-way, its connection open (a laptop gone to sleep).
    let request = s3
        .store
        .presign_upload_part(key, &upload_id, 4, SLOT as u64, &sha256_b64(&four), MINUTE)
        .await
        .expect("presign");
    let addr = s3.endpoint.local_addr();
    let head = put_head(addr, &request, &s3.endpoint.url(), SLOT);
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("head");
    socket.write_all(&four[..SLOT / 2]).await.expect("half");
    // Until the endpoint has begun writing it into its slot.
    let mut writing = false;
    for _ in 0..250 {
        let assembly_len = s3
            .upload_files(&upload_id)
            .iter()
            .find(|f| f.ends_with(".ferry-object"))
            .and_then(|f| std::fs::metadata(s3._dir.path().join(f)).ok())
            .map_or(0, |m| m.len());
        if assembly_len > (3 * SLOT) as u64 {
            writing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(writing, "part 4 never reached its slot");

    // Completing parts 1 and 2 does not wait for it.
    tokio::time::timeout(
        Duration::from_secs(5),
        s3.complete(key, &upload_id, &[(1, e1, &one), (2, e2, &two)]),
    )
    .await
    .expect("completion does not wait for a part in flight");
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two].concat());

    // When the stalled part finally arrives, the upload is gone and the object untouched.
    socket.write_all(&four[SLOT / 2..]).await.expect("rest");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("<Code>NoSuchUpload</Code>"), "{answer}");
    assert_eq!(
        std::fs::metadata(s3.object_path(key))
            .expect("object")
            .len(),
        (SLOT + 100) as u64
    );
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

#[tokio::test]
async fn parts_of_uneven_sizes_are_assembled_by_copy() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/uneven";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    // The last part arrives first and sets the stride; the longer ones cannot use its slots.
    let (one, two, three) = (
        part_bytes(1, SLOT + 100),
        part_bytes(2, SLOT + 100),
        part_bytes(3, SLOT),
    );
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two, three].concat());
    assert!(s3.upload_files(&upload_id).is_empty());

    // An aborted upload takes its assembly file along.
    let aborted = s3
        .store
        .create_multipart_upload("files/u1/dropped", "application/octet-stream")
        .await
        .expect("create");
    s3.put_part("files/u1/dropped", &aborted, 1, &part_bytes(4, SLOT))
        .await;
    assert!(!s3.upload_files(&aborted).is_empty());
    s3.store
        .abort_multipart_upload("files/u1/dropped", &aborted)
        .await
        .expect("abort");
    assert!(
        s3.upload_files(&aborted).is_empty(),
        "{:?}",
        s3.upload_files(&aborted)
    );
}

#[tokio::test]
async fn a_conditional_completion_reads_the_parts_out_of_their_slots() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/conditional";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (part_bytes(1, SLOT), part_bytes(2, 99), part_bytes(3, SLOT));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    // Received but not listed: left out of the object.
    s3.put_part(key, &upload_id, 3, &three).await;
    let part = |number: i32, etag: &str, bytes: &[u8]| {
        CompletedPart::builder()
            .part_number(number)
            .e_tag(etag)
            .checksum_sha256(sha256_b64(bytes))
            .build()
    };
    // Only if nothing is at the key yet (S3's conditional write).
    s3.client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&upload_id)
        .if_none_match("*")
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, &e1, &one))
                .parts(part(2, &e2, &two))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two].concat());
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert!(info.sha256.expect("checksum").ends_with("-2"));
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

#[tokio::test]
async fn multipart_uploads_take_every_checksum_algorithm_s3_does() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    use base64::Engine as _;
    let mut s3 = spawn_s3().await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // Ferry's own client sends checksums only when told to; this one computes them as the SDK
    // does by default (in an `aws-chunked` trailer).
    let client = aws_sdk_s3::Client::from_conf(
        s3.client
            .config()
            .to_builder()
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
            )
            .build(),
    );
    let (one, two) = (part_bytes(7, SLOT), part_bytes(8, 1234));
    let cases = [
        (ChecksumAlgorithm::Crc32, None),
        (ChecksumAlgorithm::Crc32C, Some(ChecksumType::FullObject)),
        (ChecksumAlgorithm::Crc64Nvme, None),
        (ChecksumAlgorithm::Sha1, None),
        (ChecksumAlgorithm::Sha256, None),
    ];
    for (algorithm, checksum_type) in cases {
        let key = format!("files/u1/{}", algorithm.as_str());
        let created = s3
            .client
            .create_multipart_upload()
            .bucket(BUCKET)
            .key(&key)
            .checksum_algorithm(algorithm.clone())
            .set_checksum_type(checksum_type.clone())
            .send()
            .await
            .expect("create");
        assert_eq!(created.checksum_algorithm(), Some(&algorithm));
        let upload_id = created.upload_id().expect("upload id");
        let mut completed = CompletedMultipartUpload::builder();
        for (number, bytes) in [(1, &one), (2, &two)] {
            // The SDK computes the part's checksum and sends it (a header, or a trailer).
            let part = client
                .upload_part()
                .bucket(BUCKET)
                .key(&key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{algorithm:?} part {number}: {e:?}"));
            completed = completed.parts(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(part.e_tag().expect("etag"))
                    .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                    .set_checksum_crc32_c(part.checksum_crc32_c().map(str::to_owned))
                    .set_checksum_crc64_nvme(part.checksum_crc64_nvme().map(str::to_owned))
                    .set_checksum_sha1(part.checksum_sha1().map(str::to_owned))
                    .set_checksum_sha256(part.checksum_sha256().map(str::to_owned))
                    .build(),
            );
        }
        let done = s3
            .client
            .complete_multipart_upload()
            .bucket(BUCKET)
            .key(&key)
            .upload_id(upload_id)
            .multipart_upload(completed.build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?} complete: {e:?}"));
        assert_eq!(s3.next_created().await, key);
        let head = s3
            .client
            .head_object()
            .bucket(BUCKET)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
        let reported = [
            head.checksum_crc32(),
            head.checksum_crc32_c(),
            head.checksum_crc64_nvme(),
            head.checksum_sha1(),
            head.checksum_sha256(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        assert_eq!(reported.len(), 1, "{algorithm:?}: {reported:?}");
        let completed_sums = [
            done.checksum_crc32(),
            done.checksum_crc32_c(),
            done.checksum_crc64_nvme(),
            done.checksum_sha1(),
            done.checksum_sha256(),
        ];
        assert!(completed_sums.contains(&Some(reported[0])), "{algorithm:?}");
        let full_object = matches!(
            algorithm,
            ChecksumAlgorithm::Crc64Nvme | ChecksumAlgorithm::Crc32C
        );
        if full_object {
            assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));
            assert!(!reported[0].contains('-'), "{algorithm:?}: {reported:?}");
        } else {
            assert_eq!(done.checksum_type(), Some(&ChecksumType::Composite));
            assert!(reported[0].ends_with("-2"), "{algorithm:?}: {reported:?}");
        }
        let whole = [one.clone(), two.clone()].concat();
        assert_eq!(std::fs::read(s3.object_path(&key)).expect("object"), whole);
        if algorithm == ChecksumAlgorithm::Crc64Nvme {
            // CRC-64/NVME of the whole object, as S3 reports it.
            let expected = crc64nvme(&whole);
            assert_eq!(reported[0], b64(&expected.to_be_bytes()));
        }
    }
}

/// CRC-64/NVME, bit by bit: slow and obviously right.
fn crc64nvme(data: &[u8]) -> u64 {
    const POLY: u64 = 0x9a6c_9329_ac4b_c9b5; // reflected 0xad93d23594c93659
    let mut crc = u64::MAX;
    for byte in data {
        crc ^= u64::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_part_whose_crc32_does_not_match_is_refused() {
    let s3 = spawn_s3().await;
    let key = "files/u1/crc";
    let created = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("create");
    let refused = s3
        .client
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(created.upload_id().expect("id"))
        .part_number(1)
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"some bytes"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
        Some("BadDigest")
    );
}
