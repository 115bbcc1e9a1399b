//! Presigned PUTs and GETs, and the SDK through the adapter: what is stored and served, and every
//! way a signature, an expiry, a length, a key, a bucket or a replay is refused.

use super::*;

#[tokio::test]
async fn presigned_put_stores_the_object_and_reports_it() {
    let mut s3 = spawn_s3().await;

    let upload = s3
        .store
        .presign_put("files/u1/f1", 11, "text/plain", None, MINUTE)
        .await
        .expect("presign");
    assert_eq!(upload.method, "PUT");
    assert_eq!(
        upload.headers,
        vec![
            ("content-type".to_owned(), "text/plain".to_owned()),
            ("if-none-match".to_owned(), "*".to_owned()),
        ],
        "only content-type and the create-only condition are left for the client to set"
    );
    assert!(
        upload
            .url
            .starts_with(&format!("{}/{BUCKET}/files/u1/f1?", s3.endpoint.url()))
    );
    assert!(
        upload
            .url
            .contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match")
    );
    let remaining = upload.expires_at - time::OffsetDateTime::now_utc();
    assert!(remaining > time::Duration::seconds(50) && remaining <= time::Duration::seconds(60));

    let response = s3.send(&upload, b"hello world").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["etag"],
        "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"",
        "ETag is the MD5 of the body, as S3's"
    );

    assert_eq!(s3.next_created().await, "files/u1/f1");
    let info = s3
        .store
        .head("files/u1/f1")
        .await
        .expect("head")
        .expect("exists");
    assert_eq!(info.size, 11);
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
}

#[tokio::test]
async fn head_get_put_delete_through_the_adapter() {
    let mut s3 = spawn_s3().await;
    let key = "thumbs/u1/f1.webp";

    assert_eq!(s3.store.head(key).await.expect("head"), None);
    assert_eq!(s3.store.get(key, 1024).await.expect("get"), None);

    s3.store
        .put(key, Bytes::from_static(b"RIFF....WEBP"), "image/webp")
        .await
        .expect("put");
    assert_eq!(
        s3.next_created().await,
        key,
        "server-side puts are reported too"
    );

    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert_eq!(info.size, 12);
    assert_eq!(info.content_type.as_deref(), Some("image/webp"));
    assert!(info.etag.is_some());

    let bytes = s3.store.get(key, 12).await.expect("get").expect("exists");
    assert_eq!(&bytes[..], b"RIFF....WEBP");
    assert!(matches!(
        s3.store.get(key, 11).await,
        Err(StorageError::TooLarge { limit: 11 })
    ));

    s3.store.delete(key).await.expect("delete");
    assert_eq!(s3.store.head(key).await.expect("head"), None);
    s3.store
        .delete(key)
        .await
        .expect("deleting a missing object succeeds");
}

#[tokio::test]
async fn presigned_get_returns_the_bytes_as_an_attachment() {
    let s3 = spawn_s3().await;
    s3.store
        .put(
            "files/u1/f2",
            Bytes::from_static(b"%PDF-1.7"),
            "application/pdf",
        )
        .await
        .expect("put");
    let disposition = "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf";

    let download = s3
        .store
        .presign_get("files/u1/f2", disposition, MINUTE)
        .await
        .expect("presign");
    assert_eq!(download.method, "GET");
    assert!(download.headers.is_empty(), "{:?}", download.headers);

    let response = s3.send(&download, b"").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-disposition"], disposition);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(&response.bytes().await.expect("body")[..], b"%PDF-1.7");
}

#[tokio::test]
async fn tampered_presigned_urls_are_refused() {
    let mut s3 = spawn_s3().await;
    let upload = s3
        .store
        .presign_put("files/u1/f3", 5, "text/plain", None, MINUTE)
        .await
        .expect("presign");

    // A different signature.
    let forged = with_another_signature(&upload);
    let (status, code) = error_code(s3.send(&forged, b"hello").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // Another key with the same signature.
    let elsewhere = PresignedRequest {
        url: replace_once(&upload.url, "files/u1/f3", "files/u2/f3"),
        ..upload.clone()
    };
    let (status, code) = error_code(s3.send(&elsewhere, b"hello").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // Another content type than the signed one.
    let html = PresignedRequest {
        headers: vec![("content-type".to_owned(), "text/html".to_owned())],
        ..upload.clone()
    };
    let (status, code) = error_code(s3.send(&html, b"hello").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // A longer lifetime than the signed one.
    let longer = PresignedRequest {
        url: replace_once(&upload.url, "X-Amz-Expires=60", "X-Amz-Expires=3600"),
        ..upload.clone()
    };
    let (status, code) = error_code(s3.send(&longer, b"hello").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // An unsigned x-amz-* header riding along with a valid signature.
    let response = s3
        .http
        .put(&upload.url)
        .header("content-type", "text/plain")
        .header("if-none-match", "*")
        .header("x-amz-meta-owner", "someone-else")
        .body(&b"hello"[..])
        .send()
        .await
        .expect("sent");
    let (status, code) = error_code(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    assert_eq!(s3.store.head("files/u1/f3").await.expect("head"), None);
    assert_eq!(s3.store.head("files/u2/f3").await.expect("head"), None);

    // The untouched request still works, and is the first object reported.
    assert_eq!(s3.send(&upload, b"hello").await.status(), StatusCode::OK);
    assert_eq!(s3.next_created().await, "files/u1/f3");
}

#[tokio::test]
async fn expired_presigned_urls_are_refused() {
    let mut s3 = spawn_s3().await;
    s3.store
        .put("files/u1/f4", Bytes::from_static(b"old"), "text/plain")
        .await
        .expect("put");
    assert_eq!(s3.next_created().await, "files/u1/f4");

    // Signed two minutes ago for one minute: the signature is valid, the time is not.
    let expired = || {
        PresigningConfig::builder()
            .start_time(SystemTime::now() - Duration::from_secs(120))
            .expires_in(MINUTE)
            .build()
            .expect("presigning config")
    };
    let get = s3
        .client
        .get_object()
        .bucket(BUCKET)
        .key("files/u1/f4")
        .presigned(expired())
        .await
        .expect("presign get");
    let response = s3.http.get(get.uri()).send().await.expect("sent");
    let (status, code, message) = s3_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
    );

    let put = s3
        .client
        .put_object()
        .bucket(BUCKET)
        .key("files/u1/f4")
        .content_length(3)
        .content_type("text/plain")
        .presigned(expired())
        .await
        .expect("presign put");
    let response = s3
        .http
        .put(put.uri())
        .header("content-type", "text/plain")
        .body(&b"new"[..])
        .send()
        .await
        .expect("sent");
    let (status, code, message) = s3_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
    );

    let bytes = s3
        .store
        .get("files/u1/f4", 16)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(&bytes[..], b"old", "the expired PUT changed nothing");

    // And one of the adapter's own that ran out: signed ten minutes ago for one second.
    let signed_earlier = Arc::new(ManualClock::new(
        OffsetDateTime::now_utc() - Duration::from_secs(600),
    ));
    let store = S3ObjectStore::new(s3.client.clone(), BUCKET).with_clock(signed_earlier);
    let short = store
        .presign_get("files/u1/f4", "attachment", Duration::from_secs(1))
        .await
        .expect("presign");
    assert_eq!(
        s3_refusal(s3.send(&short, b"").await).await,
        (
            StatusCode::FORBIDDEN,
            "AccessDenied".to_owned(),
            "Request has expired".to_owned()
        )
    );
}

#[tokio::test]
async fn a_body_of_another_length_than_signed_is_refused() {
    let mut s3 = spawn_s3().await;
    let upload = s3
        .store
        .presign_put("files/u1/f5", 10, "application/octet-stream", None, MINUTE)
        .await
        .expect("presign");

    for body in [&b"123456789"[..], &b"12345678901"[..], &b""[..]] {
        let (status, code) = error_code(s3.send(&upload, body).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
            "{} bytes",
            body.len()
        );
    }
    // Chunked, with no Content-Length at all (reqwest always sends a length for fixed bodies).
    let target = upload.url.trim_start_matches(&s3.endpoint.url()).to_owned();
    let request = format!(
        "PUT {target} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/octet-stream\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
        s3.endpoint.local_addr()
    );
    let answer = raw_exchange(s3.endpoint.local_addr(), &request).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert_eq!(s3.store.head("files/u1/f5").await.expect("head"), None);

    assert_eq!(
        s3.send(&upload, b"0123456789").await.status(),
        StatusCode::OK
    );
    assert_eq!(s3.next_created().await, "files/u1/f5");
}

#[tokio::test]
async fn unsigned_and_wrongly_keyed_requests_are_refused() {
    let s3 = spawn_s3().await;
    s3.store
        .put("files/u1/f6", Bytes::from_static(b"secret"), "text/plain")
        .await
        .expect("put");
    let url = format!("{}/{BUCKET}/files/u1/f6", s3.endpoint.url());

    let (status, code) = error_code(s3.http.get(&url).send().await.expect("sent")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    let response = s3
        .http
        .put(&url)
        .body("overwritten")
        .send()
        .await
        .expect("sent");
    let (status, code) = error_code(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    let listing = format!("{}/{BUCKET}?list-type=2", s3.endpoint.url());
    let (status, code) = error_code(s3.http.get(&listing).send().await.expect("sent")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    // Header-signed with the right access key but the wrong secret.
    let wrong = S3ObjectStore::new(
        local_client(&s3.endpoint.url(), ACCESS_KEY, "not-the-secret", REGION),
        BUCKET,
    );
    let err = wrong.get("files/u1/f6", 1024).await.expect_err("refused");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");

    // An unknown access key.
    let stranger = S3ObjectStore::new(
        local_client(&s3.endpoint.url(), "someone", SECRET_KEY, REGION),
        BUCKET,
    );
    assert!(stranger.head("files/u1/f6").await.is_err());

    let bytes = s3
        .store
        .get("files/u1/f6", 1024)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(&bytes[..], b"secret");
}

#[tokio::test]
async fn only_the_configured_bucket_is_served() {
    let s3 = spawn_s3().await;
    s3.store
        .put("files/u1/f7", Bytes::from_static(b"x"), "text/plain")
        .await
        .expect("put");

    let listed = s3
        .client
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("files/u1/")
        .send()
        .await
        .expect("list");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["files/u1/f7"]);

    s3.client
        .head_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("head bucket");
    let err = s3
        .client
        .head_bucket()
        .bucket("another-bucket")
        .send()
        .await
        .expect_err("other buckets do not exist");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
    let err = s3
        .client
        .put_object()
        .bucket("another-bucket")
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("other buckets do not exist");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
}

#[tokio::test]
async fn a_replayed_presigned_put_cannot_replace_a_stored_object() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/once";
    let upload = s3
        .store
        .presign_put(key, 5, "text/plain", None, MINUTE)
        .await
        .expect("presign");
    assert_eq!(s3.send(&upload, b"first").await.status(), StatusCode::OK);
    assert_eq!(s3.next_created().await, key);

    let replay = s3.send(&upload, b"other").await;
    assert_eq!(
        error_code(replay).await,
        (
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed".to_owned()
        )
    );
    assert_eq!(
        std::fs::read(s3.object_path(key)).expect("object"),
        b"first"
    );
    // Without the signed condition the URL does not verify at all.
    let mut stripped = upload.clone();
    stripped.headers.retain(|(name, _)| name != "if-none-match");
    let (status, _) = error_code(s3.send(&stripped, b"other").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        std::fs::read(s3.object_path(key)).expect("object"),
        b"first"
    );

    // A create-only completion of a multipart upload to a key that exists changes nothing.
    let upload_id = s3
        .store
        .create_multipart_upload(key, "text/plain")
        .await
        .expect("create");
    let etag = s3.put_part(key, &upload_id, 1, b"third").await;
    let refused = s3
        .client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&upload_id)
        .if_none_match("*")
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(&etag)
                        .checksum_sha256(sha256_b64(b"third"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
        Some("PreconditionFailed")
    );
    assert_eq!(
        std::fs::read(s3.object_path(key)).expect("object"),
        b"first"
    );
}
