//! A multipart upload from start to end over the local stack: ready and byte-identical, a
//! missing part retried, a resumed upload sending only what is missing, and a deleted pending
//! upload aborted. A child of `multipart`, so it uses the same `Uploader`.

use super::*;

#[tokio::test]
async fn a_multipart_upload_becomes_ready_and_downloads_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let config: Value = http()
        .get(format!("{}/config.json", stack.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["multipart_threshold"], 64 * MIB);
    let api = Api::new_user(&stack, "ada@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    assert_eq!(part_size, 8 * MIB);
    let uploader = Uploader::new(&bytes, part_size);
    assert_eq!(uploader.count(), 3);

    // Parts may arrive in any order.
    let mut sent = uploader.send(&api, &id, &[3, 1, 2]).await;
    sent.sort();
    let (status, file) = api.complete(&id, &sent).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let expected = composite(&[uploader.part(1), uploader.part(2), uploader.part(3)]);
    assert_eq!(file["sha256"], expected);

    let file = api.wait_until(&id, "ready").await;
    assert_eq!(file["sha256"], expected, "the event keeps the checksum");
    assert_eq!(file["size"], FILE_LEN);
    let got = api.download(&id).await;
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "downloaded bytes differ");

    // Completing again is harmless and answers the file.
    let (status, again) = api.complete(&id, &sent).await;
    assert_eq!(
        (status, &again["status"]),
        (StatusCode::OK, &json!("ready"))
    );
    // The recipient of a link sees the checksum too.
    let (_, share) = api
        .call(
            Method::POST,
            &format!("/api/files/{id}/shares"),
            Some(json!({})),
        )
        .await;
    let view: Value = http()
        .get(format!(
            "{}/api/public/shares/{}",
            stack.url(),
            share["token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["sha256"], expected);
    // And what the parts of that composite checksum are cut at.
    assert_eq!(view["part_size"], 8 * MIB);
    // A finished upload hands out no more part URLs.
    let (status, body) = api.part_urls(&id, &[uploader.checksum(1)]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("upload_closed"))
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn completing_with_a_missing_part_fails_cleanly_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "di@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);
    let mut sent = uploader.send(&api, &id, &[1, 3]).await;

    // Part 2 not listed at all.
    let (status, body) = api.complete(&id, &sent).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("part_missing")),
        "{body}"
    );
    // Part 2 listed with a made-up ETag: object storage does not have it.
    let (_, sha2) = uploader.checksum(2);
    let mut with_fake = sent.clone();
    with_fake.push((2, "\"0123456789abcdef0123456789abcdef\"".to_owned(), sha2));
    with_fake.sort();
    let (status, body) = api.complete(&id, &with_fake).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("part_missing")),
        "{body}"
    );

    // Nothing changed: still pending, parts 1 and 3 still there.
    let (_, file) = api
        .call(Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(file["status"], "pending");
    let (_, listed) = api
        .call(Method::GET, &format!("/api/files/{id}/parts"), None)
        .await;
    let numbers: Vec<u64> = listed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 3]);

    sent.extend(uploader.send(&api, &id, &[2]).await);
    sent.sort();
    // A wrong ETag for a part that is there is a mismatch, and also changes nothing.
    let mut wrong = sent.clone();
    wrong[0].1 = sent[1].1.clone();
    let (status, body) = api.complete(&id, &wrong).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("part_mismatch")),
        "{body}"
    );

    let (status, file) = api.complete(&id, &sent).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    api.wait_until(&id, "ready").await;
    assert!(api.download(&id).await == bytes);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_resumed_upload_sends_only_the_missing_parts() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "ed@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    {
        // The first page sends two parts, then is reloaded: its state is lost.
        let first = Uploader::new(&bytes, part_size);
        first.send(&api, &id, &[1, 3]).await;
        assert_eq!(first.puts.load(Ordering::SeqCst), 2);
    }

    // A new page knows only the file id; the server tells it the layout and what is there.
    let (status, listed) = api
        .call(Method::GET, &format!("/api/files/{id}/parts"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let resumed = Uploader::new(&bytes, listed["part_size"].as_u64().unwrap() as usize);
    let count = listed["part_count"].as_u64().unwrap() as usize;
    let mut have: Vec<(usize, String, String)> = Vec::new();
    for part in listed["parts"].as_array().unwrap() {
        let number = part["number"].as_u64().unwrap() as usize;
        // Only parts whose size and checksum match the local bytes count as sent.
        let (_, sha) = resumed.checksum(number);
        if part["sha256"] == sha && part["size"] == resumed.part(number).len() {
            have.push((number, part["etag"].as_str().unwrap().to_owned(), sha));
        }
    }
    let missing: Vec<usize> = (1..=count)
        .filter(|n| have.iter().all(|(h, _, _)| h != n))
        .collect();
    assert_eq!(missing, [2]);
    have.extend(resumed.send(&api, &id, &missing).await);
    have.sort();
    assert_eq!(
        resumed.puts.load(Ordering::SeqCst),
        1,
        "only the missing part is sent"
    );

    let (status, file) = api.complete(&id, &have).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    api.wait_until(&id, "ready").await;
    assert!(api.download(&id).await == bytes);
    stack.shutdown().await;
}

#[tokio::test]
async fn deleting_a_pending_multipart_upload_aborts_it_and_frees_the_space() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        user_quota: 20 * MIB as u64,
        ..Limits::default()
    };
    let stack = start_in(dir.path(), limits).await;
    let api = Api::new_user(&stack, "flo@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);
    uploader.send(&api, &id, &[1]).await;
    let (_, later) = api.part_urls(&id, &[uploader.checksum(2)]).await;

    // The quota holds the pending file.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/uploads/multipart",
            Some(json!({"name": "b.bin", "size": FILE_LEN})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("quota_exceeded"))
    );

    let (status, _) = api
        .call(Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The upload is gone from object storage: its parts, and any part sent later.
    let res = uploader.put(&later["parts"][0], uploader.part(2)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("NoSuchUpload"));
    let leftovers: Vec<String> = std::fs::read_dir(dir.path().join("s3"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".upload"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    // And the space is free again.
    let (status, _) = api
        .call(
            Method::POST,
            "/api/uploads/multipart",
            Some(json!({"name": "b.bin", "size": FILE_LEN})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    stack.shutdown().await;
}
