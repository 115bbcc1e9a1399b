//! What the multipart routes and the endpoint refuse: a part with a wrong checksum, an expired
//! part URL (a renewed one works), other users' uploads, and single PUTs carrying a checksum. A
//! child of `multipart`, so it uses the same `Uploader`.

use super::*;

#[tokio::test]
async fn a_part_with_a_wrong_checksum_is_refused_by_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "bob@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);

    // The URL is signed for part 1's digest; a corrupted body of the same length is refused.
    let (status, urls) = api.part_urls(&id, &[uploader.checksum(1)]).await;
    assert_eq!(status, StatusCode::OK);
    let url = &urls["parts"][0];
    let names: Vec<&str> = url["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"x-amz-checksum-sha256"), "{names:?}");
    let mut corrupted = uploader.part(1).to_vec();
    corrupted[12345] ^= 1;
    let res = uploader.put(url, &corrupted).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("BadDigest"));
    // Claiming another checksum than was signed breaks the signature.
    let mut forged = url.clone();
    for header in forged["headers"].as_array_mut().unwrap() {
        if header["name"] == "x-amz-checksum-sha256" {
            header["value"] = json!(sha256_b64(&corrupted));
        }
    }
    let res = uploader.put(&forged, &corrupted).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Nothing was stored; the right bytes still go through on the same URL.
    let (status, listed) = api
        .call(Method::GET, &format!("/api/files/{id}/parts"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["parts"], json!([]));
    assert_eq!(
        (listed["part_size"].as_u64(), listed["part_count"].as_u64()),
        (Some(8 * MIB as u64), Some(3))
    );
    let res = uploader.put(url, uploader.part(1)).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Malformed requests are refused by the API with stable codes.
    for (parts, code) in [
        (
            json!([{"number": 4, "sha256": sha256_b64(b"x")}]),
            "invalid_part",
        ),
        (
            json!([{"number": 0, "sha256": sha256_b64(b"x")}]),
            "invalid_part",
        ),
        (
            json!([{"number": 1, "sha256": "bm90IGEgZGlnZXN0"}]),
            "invalid_checksum",
        ),
        (json!([]), "invalid_request"),
    ] {
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/api/files/{id}/parts"),
                Some(json!({ "parts": parts })),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{parts}"
        );
    }
    stack.shutdown().await;
}

#[tokio::test]
async fn an_expired_part_url_is_refused_and_a_renewed_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        upload_url_ttl: Duration::from_secs(60),
        ..Limits::default()
    };
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let stack = start_on_clock(dir.path(), limits, clock.clone()).await;
    let api = Api::new_user(&stack, "cy@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);

    // Issued ten minutes ago for a minute: the signature is valid, the time is not.
    clock.set(OffsetDateTime::now_utc() - Duration::from_secs(600));
    let (_, urls) = api.part_urls(&id, &[uploader.checksum(2)]).await;
    clock.set(OffsetDateTime::now_utc());
    let res = uploader.put(&urls["parts"][0], uploader.part(2)).await;
    let (status, code, message) = s3_refusal(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "expired URL accepted");
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("AccessDenied", "Request has expired")
    );

    // Asking again for the same part issues a fresh URL.
    let sent = uploader.send(&api, &id, &[2]).await;
    assert_eq!(sent.len(), 1);
    let (_, listed) = api
        .call(Method::GET, &format!("/api/files/{id}/parts"), None)
        .await;
    assert_eq!(listed["parts"][0]["number"], 2);
    assert_eq!(listed["parts"][0]["etag"], sent[0].1);
    stack.shutdown().await;
}

#[tokio::test]
async fn other_users_get_404_on_every_multipart_route() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let owner = Api::new_user(&stack, "gus@example.com").await;
    let stranger = Api::new_user(&stack, "hal@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = owner.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);
    let sent = uploader.send(&owner, &id, &[1, 2, 3]).await;

    let parts = json!({"parts": [{"number": 1, "sha256": uploader.checksum(1).1}]});
    let complete = json!({"parts": sent.iter().map(|(n, e, s)| json!({"number": n, "etag": e, "sha256": s})).collect::<Vec<_>>()});
    for (method, path, body) in [
        (Method::POST, format!("/api/files/{id}/parts"), Some(parts)),
        (Method::GET, format!("/api/files/{id}/parts"), None),
        (
            Method::POST,
            format!("/api/files/{id}/complete"),
            Some(complete),
        ),
        (Method::DELETE, format!("/api/files/{id}"), None),
    ] {
        let (status, reply) = stranger.call(method.clone(), &path, body).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{method} {path}"
        );
    }
    // The owner's upload is untouched and completes.
    let (status, _) = owner.complete(&id, &sent).await;
    assert_eq!(status, StatusCode::OK);
    owner.wait_until(&id, "ready").await;
    stack.shutdown().await;
}

#[tokio::test]
async fn single_put_uploads_can_carry_a_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "ida@example.com").await;
    let bytes = sample(300_000);
    let sha = sha256_b64(&bytes);
    let (status, ticket) = api
        .call(
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "a.bin", "size": bytes.len(), "content_type": "application/octet-stream", "sha256": sha})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let uploader = Uploader::new(&bytes, bytes.len());
    let mut corrupted = bytes.clone();
    corrupted[0] ^= 1;
    let res = uploader.put(&ticket["upload"], &corrupted).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = uploader.put(&ticket["upload"], &bytes).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = ticket["file"]["id"].as_str().unwrap();
    let file = api.wait_until(id, "ready").await;
    assert_eq!(file["sha256"], sha);

    // Without one, uploads work as before; with a malformed one they are refused.
    let (status, ticket) = api
        .call(
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "b.bin", "size": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        ticket["upload"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["name"] != "x-amz-checksum-sha256")
    );
    let (status, body) = api
        .call(
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "c.bin", "size": 3, "sha256": "abc"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_checksum"))
    );
    // Single-PUT files are not multipart uploads.
    let (status, body) = api
        .call(Method::GET, &format!("/api/files/{id}/parts"), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_multipart"))
    );
    stack.shutdown().await;
}
