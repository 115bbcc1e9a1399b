//! The [`ObjectStore`] contract for `S3ObjectStore` against moto's S3: storing, reading, size
//! limits, deleting, and the shape of presigned requests. moto does not check signatures, so
//! what a presigned URL refuses is tested against the embedded endpoint instead; here the URLs
//! are only shown to work when used as signed.

use std::time::Duration;

use crate::support::aws::{Moto, unique_name};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use ferry::adapters::s3::S3ObjectStore;
use ferry::ports::{ObjectStore, PartToComplete, StorageError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

async fn store_on_moto(moto: &Moto) -> S3ObjectStore {
    let client = moto.s3().await;
    let bucket = unique_name("ferry-files");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    S3ObjectStore::new(client, bucket)
}

#[tokio::test]
async fn s3_store_meets_the_object_contract_on_moto() {
    let Some(moto) = Moto::start("s3_store_meets_the_object_contract_on_moto").await else {
        return;
    };
    let store = store_on_moto(&moto).await;
    let key = "files/user-1/0190f5b2-7c1e-7000-8000-000000000001";

    // Missing objects are absent, not errors; deleting them succeeds.
    assert_eq!(store.head(key).await.unwrap(), None);
    assert_eq!(store.get(key, 1024).await.unwrap(), None);
    store.delete(key).await.unwrap();

    let body = Bytes::from_static(b"hello, ferry");
    store.put(key, body.clone(), "text/plain").await.unwrap();
    let info = store.head(key).await.unwrap().expect("stored object");
    assert_eq!(info.size, body.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert!(info.etag.is_some());
    assert_eq!(store.get(key, 1024).await.unwrap(), Some(body.clone()));
    assert_eq!(
        store.get(key, body.len() as u64).await.unwrap(),
        Some(body.clone())
    );
    match store.get(key, 4).await {
        Err(StorageError::TooLarge { limit: 4 }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }

    store.delete(key).await.unwrap();
    assert_eq!(store.head(key).await.unwrap(), None);
}

#[tokio::test]
async fn presigned_requests_have_the_promised_shape_and_work_on_moto() {
    let Some(moto) =
        Moto::start("presigned_requests_have_the_promised_shape_and_work_on_moto").await
    else {
        return;
    };
    let store = store_on_moto(&moto).await;
    let key = "files/user-1/0190f5b2-7c1e-7000-8000-000000000002";
    let body = b"\x89PNG not really".to_vec();
    let before = OffsetDateTime::now_utc();

    let put = store
        .presign_put(
            key,
            body.len() as u64,
            "image/png",
            None,
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(put.method, "PUT");
    assert!(
        put.url
            .starts_with(&format!("{}/{}/{key}?", moto.endpoint, store.bucket())),
        "{}",
        put.url
    );
    assert!(put.url.contains("X-Amz-Signature="));
    assert!(put.url.contains("X-Amz-Expires=600"));
    let header = |name: &str| {
        put.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("image/png"));
    assert_eq!(header("host"), None, "browsers set Host themselves");
    assert_eq!(
        header("content-length"),
        None,
        "browsers set Content-Length themselves"
    );
    let lifetime = put.expires_at - before;
    assert!(lifetime > time::Duration::seconds(590) && lifetime <= time::Duration::seconds(601));

    // Used the way a browser would: the listed headers, and the exact body.
    let http = reqwest::Client::new();
    let mut request = http.put(&put.url).body(body.clone());
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "PUT answered {}",
        response.status()
    );
    assert_eq!(
        store.head(key).await.unwrap().map(|i| i.size),
        Some(body.len() as u64)
    );

    let disposition = "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png";
    let get = store
        .presign_get(key, disposition, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(get.method, "GET");
    assert!(
        get.url.contains("response-content-disposition="),
        "{}",
        get.url
    );
    assert!(get.url.contains("X-Amz-Expires=60"));
    let response = http.get(&get.url).send().await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(
        response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok()),
        Some(disposition)
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), body);
}

/// Multipart uploads as Ferry drives them: presigned parts that carry SHA-256 checksums,
/// completion, and aborting.
#[tokio::test]
async fn multipart_uploads_work_on_moto() {
    let Some(moto) = Moto::start("multipart_uploads_work_on_moto").await else {
        return;
    };
    let store = store_on_moto(&moto).await;
    let key = "files/user-1/0190f5b2-7c1e-7000-8000-000000000003";
    const PART: usize = 5 << 20;
    let bytes: Vec<u8> = (0..2 * PART + 1000).map(|i| (i % 241) as u8).collect();
    let parts: Vec<&[u8]> = bytes.chunks(PART).collect();
    let digest = |part: &[u8]| STANDARD.encode(Sha256::digest(part));

    let upload_id = store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .unwrap();

    let http = reqwest::Client::new();
    let mut completed = Vec::new();
    // Out of order, as parallel uploads finish.
    for number in [3u32, 1, 2] {
        let part = parts[number as usize - 1];
        let sha = digest(part);
        let url = store
            .presign_upload_part(
                key,
                &upload_id,
                number,
                part.len() as u64,
                &sha,
                Duration::from_secs(300),
            )
            .await
            .unwrap();
        assert_eq!(url.method, "PUT");
        assert!(
            url.url.contains(&format!("partNumber={number}")),
            "{}",
            url.url
        );
        assert!(
            url.headers
                .iter()
                .any(|(n, v)| n == "x-amz-checksum-sha256" && *v == sha),
            "{:?}",
            url.headers
        );
        let mut request = http.put(&url.url).body(part.to_vec());
        for (name, value) in &url.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "part {number}: {}",
            response.status()
        );
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        completed.push(PartToComplete {
            number,
            etag,
            sha256: sha,
        });
    }
    completed.sort_by_key(|p| p.number);

    // A successful ListParts cannot be read here: moto answers with a `ListPartsResponse` root
    // element where S3 sends `ListPartsResult`, and the SDK refuses it. Listing is covered
    // against the embedded endpoint (tests/multipart.rs); its errors are checked below.

    let checksum = store
        .complete_multipart_upload(key, &upload_id, &completed)
        .await
        .unwrap();
    // moto may or may not compute the composite; when it does it must be S3's form.
    if let Some(checksum) = &checksum {
        assert!(checksum.ends_with("-3"), "{checksum}");
    }
    let info = store.head(key).await.unwrap().expect("assembled object");
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(
        store.get(key, 1 << 30).await.unwrap().unwrap().to_vec(),
        bytes
    );
    assert!(matches!(
        store.list_parts(key, &upload_id).await,
        Err(StorageError::NoSuchUpload)
    ));

    // Aborting frees an unfinished upload; aborting again (or a made-up id) succeeds.
    let other = "files/user-1/0190f5b2-7c1e-7000-8000-000000000004";
    let abandoned = store
        .create_multipart_upload(other, "text/plain")
        .await
        .unwrap();
    store
        .abort_multipart_upload(other, &abandoned)
        .await
        .unwrap();
    assert!(matches!(
        store.list_parts(other, &abandoned).await,
        Err(StorageError::NoSuchUpload)
    ));
    store
        .abort_multipart_upload(other, &abandoned)
        .await
        .unwrap();
    assert_eq!(store.head(other).await.unwrap(), None);
}
