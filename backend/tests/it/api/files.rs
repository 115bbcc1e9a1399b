//! The owner's files: uploads and their checks, the quota, unfinished uploads, listing,
//! downloads and deletes. A child of `api`, so it uses the same `TestApi`.

use super::*;

#[tokio::test]
async fn upload_issues_a_presigned_put_for_a_pending_file() {
    let api = spawn_api().await;
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "Holiday photo.JPG", "size": 321, "content_type": "image/jpeg"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let file = &reply.body["file"];
    assert_eq!(file["name"], "Holiday photo.JPG");
    assert_eq!(file["status"], "pending");
    assert_eq!(file["size"], 321);
    let upload = &reply.body["upload"];
    assert_eq!(upload["method"], "PUT");
    let url = upload["url"].as_str().unwrap();
    let id = file["id"].as_str().unwrap();
    assert!(
        url.contains(&format!("/bucket/files/{ALICE}/{id}?")),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="));
    let signed = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        signed.contains("content-length") && signed.contains("content-type"),
        "{signed}"
    );
    assert!(
        !url.contains("Holiday"),
        "the user's name never reaches the key"
    );
    let headers = upload["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "content-type" && h["value"] == "image/jpeg")
    );
    assert!(reply.headers["cache-control"] == "no-store");
}

#[tokio::test]
async fn upload_validates_name_type_and_size() {
    let api = spawn_api().await;
    let cases = [
        (
            json!({"name": "a/b.txt", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "  ", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a\u{0007}b", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "x".repeat(256), "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "..", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a", "size": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_size",
        ),
        (
            json!({"name": "a", "size": 1001}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            json!({"name": "a", "size": -1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": "a", "size": 1, "content_type": "no slash"}),
            StatusCode::BAD_REQUEST,
            "invalid_content_type",
        ),
        (
            json!({"size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let reply = api
            .as_user(ALICE, Method::POST, "/api/uploads", Some(body.clone()))
            .await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body}");
        assert!(!reply.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let listing = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    assert_eq!(
        listing.body["items"],
        json!([]),
        "refused uploads leave nothing behind"
    );
}

#[tokio::test]
async fn quota_counts_pending_and_ready_files_and_frees_on_delete() {
    let api = spawn_api().await; // quota 2500, max file 1000
    api.ready_file(ALICE, "one", 1000).await;
    let second = api.ready_file(ALICE, "two", 1000).await;
    let over = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "three", "size": 501})),
        )
        .await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::FORBIDDEN, "quota_exceeded")
    );
    assert!(
        over.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("free")
    );
    // Another user's quota is separate.
    api.ready_file(BOB, "bob", 1000).await;
    // Exactly filling the quota works; deleting frees it again.
    api.ready_file(ALICE, "fits", 500).await;
    let del = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{second}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    api.ready_file(ALICE, "again", 1000).await;
}

#[tokio::test]
async fn files_are_listed_newest_first_across_pages() {
    let api = spawn_api_with(Limits {
        user_quota: 1 << 20,
        ..small_limits()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(api.ready_file(ALICE, &format!("f{i}"), 10).await);
    }
    api.ready_file(BOB, "not alice's", 10).await;
    let mut seen = Vec::new();
    let mut uri = "/api/files?limit=2".to_owned();
    for _ in 0..5 {
        let page = api.as_user(ALICE, Method::GET, &uri, None).await;
        assert_eq!(page.status, StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|f| f["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/files?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);

    for bad in [
        "/api/files?limit=0",
        "/api/files?limit=101",
        "/api/files?limit=x",
    ] {
        let reply = api.as_user(ALICE, Method::GET, bad, None).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{bad}"
        );
    }
    let reply = api
        .as_user(ALICE, Method::GET, "/api/files?cursor=%21%21", None)
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
}

#[tokio::test]
async fn downloads_need_a_ready_file_and_save_under_its_name() {
    let api = spawn_api().await;
    let pending = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "p.txt", "size": 5})),
        )
        .await;
    let pending_id = pending.body["file"]["id"].as_str().unwrap();
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{pending_id}/download"),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );
    let share = api
        .as_user(
            ALICE,
            Method::POST,
            &format!("/api/files/{pending_id}/shares"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (share.status, share.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );

    let id = api.ready_file(ALICE, "naïve.txt", 5).await;
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{id}/download"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let url = reply.body["url"].as_str().unwrap();
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    assert!(
        url.contains("na%25C3%25AFve.txt"),
        "RFC 6266 filename* is carried: {url}"
    );
    assert!(reply.body["expires_at"].as_str().is_some());
}

#[tokio::test]
async fn deleting_a_file_removes_it_and_kills_its_links() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "gone.txt", 5).await;
    let token = api.share(ALICE, &id, json!({})).await;
    let reply = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let again = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let public = api.view(&token).await;
    assert_eq!(
        (public.status, public.code()),
        (StatusCode::NOT_FOUND, "share_not_found")
    );
    let shares = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"], json!([]));
    let twice = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn multipart_uploads_validate_like_single_uploads_and_report_their_layout() {
    let api = spawn_api_with(Limits {
        max_file_size: 40 << 20,
        user_quota: 50 << 20,
        ..Limits::default()
    })
    .await;
    let start =
        |body: Value| api.as_user(ALICE, Method::POST, "/api/uploads/multipart", Some(body));
    for (body, status, code) in [
        (
            json!({"name": "a", "size": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_size",
        ),
        (
            json!({"name": "", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a", "size": 41 << 20}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            json!({"name": "a", "size": 1, "sha256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}),
            StatusCode::BAD_REQUEST,
            "invalid_checksum",
        ),
    ] {
        let reply = start(body.clone()).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body}");
    }
    let reply = start(json!({"name": "big.iso", "size": (17 << 20) + 1})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["part_size"], 8 << 20);
    assert_eq!(reply.body["part_count"], 3);
    assert_eq!(reply.body["file"]["status"], "pending");
    // The reservation counts against the quota like any pending file.
    let reply = start(json!({"name": "more.iso", "size": 40 << 20})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::FORBIDDEN, "quota_exceeded")
    );
    // Single-PUT files have no parts.
    let single = api.ready_file(ALICE, "small.txt", 10).await;
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{single}/parts"),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "not_multipart")
    );
}

#[tokio::test]
async fn unfinished_uploads_are_capped_per_user() {
    let api = spawn_api_with(Limits {
        max_pending_uploads: 2,
        ..small_limits()
    })
    .await;
    let announce = async |sub: &str, route: &str| {
        api.as_user(
            sub,
            Method::POST,
            route,
            Some(json!({"name": "a.bin", "size": 1})),
        )
        .await
    };
    let first = announce(ALICE, "/api/uploads").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(
        announce(ALICE, "/api/uploads/multipart").await.status,
        StatusCode::CREATED
    );
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let refused = announce(ALICE, route).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{route}");
        assert_eq!(refused.code(), "too_many_pending_uploads");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("2 uploads"), "{message}");
    }
    let owner = UserId::parse(ALICE).unwrap();
    assert_eq!(
        api.meta.usage(&owner).await.unwrap().file_count,
        2,
        "refusals reserve nothing"
    );
    // Someone else is not held up, and a finished upload frees a place.
    assert_eq!(
        announce(BOB, "/api/uploads").await.status,
        StatusCode::CREATED
    );
    let id = FileId::parse(first.body["file"]["id"].as_str().unwrap()).unwrap();
    api.meta.mark_ready(&owner, &id, None).await.unwrap();
    assert_eq!(
        announce(ALICE, "/api/uploads").await.status,
        StatusCode::CREATED
    );
}
