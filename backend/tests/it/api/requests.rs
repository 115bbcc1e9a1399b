//! Router tests of file requests: the owner's routes, the guests' routes and the authz matrix
//! between guests, the owner and other users; 20 parallel guest uploads against 5 files; the
//! size limit under concurrency; closed, expired and protected requests; the rate limit. A
//! child of `api`, so it uses the same `TestApi`.

use super::*;

const GUEST: &str = "x-ferry-guest";

impl TestApi {
    /// A call to a guest route, with `key` in the guest header.
    async fn as_guest(
        &self,
        key: Option<&str>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let header = key.map(|key| (GUEST, key.to_owned()));
        self.send_with(method, uri, header, body).await
    }

    /// A new request of `sub`; returns its token.
    async fn new_request(&self, sub: &str, body: Value) -> String {
        let reply = self
            .as_user(sub, Method::POST, "/api/requests", Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    /// A new guest session on `token`; returns the guest key.
    async fn new_guest(&self, token: &str) -> String {
        let reply = self
            .as_guest(
                None,
                Method::POST,
                &format!("/api/public/requests/{token}/sessions"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["guest_key"].as_str().unwrap().to_owned()
    }

    async fn guest_upload(
        &self,
        token: &str,
        key: &str,
        name: impl AsRef<str>,
        size: u64,
    ) -> Reply {
        let name = name.as_ref();
        self.as_guest(
            Some(key),
            Method::POST,
            &format!("/api/public/requests/{token}/uploads"),
            Some(json!({"name": name, "size": size})),
        )
        .await
    }
}

#[tokio::test]
async fn owners_create_list_close_reopen_and_delete_requests_and_others_see_none() {
    let api = spawn_api().await;
    for (body, code) in [
        (
            json!({"title": " ", "max_files": 1, "max_bytes": 1}),
            "invalid_title",
        ),
        (
            json!({"title": "a\u{7}", "max_files": 1, "max_bytes": 1}),
            "invalid_title",
        ),
        (
            json!({"title": "x".repeat(201), "max_files": 1, "max_bytes": 1}),
            "invalid_title",
        ),
        (
            json!({"title": "t", "message": "m".repeat(2001), "max_files": 1, "max_bytes": 1}),
            "invalid_text",
        ),
        (
            json!({"title": "t", "max_files": 0, "max_bytes": 1}),
            "invalid_max_files",
        ),
        (
            json!({"title": "t", "max_files": 1001, "max_bytes": 1}),
            "invalid_max_files",
        ),
        (
            json!({"title": "t", "max_files": 1, "max_bytes": 0}),
            "invalid_max_bytes",
        ),
        (
            json!({"title": "t", "max_files": 1, "max_bytes": 2501}),
            "invalid_max_bytes",
        ),
        (
            json!({"title": "t", "max_files": 1, "max_bytes": 1, "expires_in_seconds": 5}),
            "invalid_expiry",
        ),
        (
            json!({"title": "t", "max_files": 1, "max_bytes": 1, "password": "short"}),
            "invalid_password",
        ),
    ] {
        let reply = api
            .as_user(ALICE, Method::POST, "/api/requests", Some(body.clone()))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/requests",
            Some(
                json!({"title": "Scans", "message": "All pages", "max_files": 3, "max_bytes": 900}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let token = reply.body["token"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["url"], format!("https://ferry.test/r/{token}"));
    assert_eq!(reply.body["state"], "open");
    assert_eq!(reply.body["files_received"], 0);
    assert_eq!(reply.body["has_password"], false);
    assert!(token.len() >= 22, "at least 128 bits");

    let mine = api.as_user(ALICE, Method::GET, "/api/requests", None).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let theirs = api.as_user(BOB, Method::GET, "/api/requests", None).await;
    assert_eq!(theirs.body["items"], json!([]));

    let one = format!("/api/requests/{token}");
    for (method, uri) in [
        (Method::GET, one.clone()),
        (Method::POST, format!("{one}/close")),
        (Method::POST, format!("{one}/reopen")),
        (Method::DELETE, one.clone()),
    ] {
        let reply = api.as_user(BOB, method.clone(), &uri, None).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "request_not_found"),
            "{method} {uri}"
        );
        let reply = api.send(method.clone(), &uri, None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }

    let closed = api
        .as_user(ALICE, Method::POST, &format!("{one}/close"), None)
        .await;
    assert_eq!(closed.body["state"], "closed");
    let again = api
        .as_user(ALICE, Method::POST, &format!("{one}/close"), None)
        .await;
    assert_eq!(again.body["state"], "closed", "closing again is fine");
    let open = api
        .as_user(ALICE, Method::POST, &format!("{one}/reopen"), None)
        .await;
    assert_eq!(open.body["state"], "open");

    api.advance(time::Duration::days(8));
    let got = api.as_user(ALICE, Method::GET, &one, None).await;
    assert_eq!(got.body["state"], "expired");
    let reopen = api
        .as_user(ALICE, Method::POST, &format!("{one}/reopen"), None)
        .await;
    assert_eq!(
        (reopen.status, reopen.code()),
        (StatusCode::CONFLICT, "request_expired")
    );
    let gone = api.as_user(ALICE, Method::DELETE, &one, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let view = api
        .as_guest(
            None,
            Method::GET,
            &format!("/api/public/requests/{token}"),
            None,
        )
        .await;
    assert_eq!(view.code(), "request_not_found");
}

#[tokio::test]
async fn guests_send_into_the_owners_space_and_see_only_what_they_sent() {
    let api = spawn_api().await;
    let token = api
        .new_request(
            ALICE,
            json!({"title": "Scans", "max_files": 5, "max_bytes": 2500}),
        )
        .await;
    let other = api
        .new_request(
            BOB,
            json!({"title": "Bob's", "max_files": 5, "max_bytes": 2000}),
        )
        .await;
    let owners_own = api.ready_file(ALICE, "private.txt", 5).await;
    let (ann, ben) = (api.new_guest(&token).await, api.new_guest(&token).await);

    let view = api
        .as_guest(
            None,
            Method::GET,
            &format!("/api/public/requests/{token}"),
            None,
        )
        .await;
    assert_eq!(view.body["title"], "Scans");
    assert_eq!(view.body["files_left"], 5);
    assert_eq!(
        view.body["bytes_left"],
        2500 - 5,
        "the owner's free space is less"
    );

    let sent = api.guest_upload(&token, &ann, "scan 1.pdf", 100).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    assert_eq!(sent.body["upload"]["method"], "PUT");
    assert!(
        sent.body["upload"]["url"]
            .as_str()
            .unwrap()
            .contains(&format!("files/{ALICE}/")),
        "the owner's key"
    );
    let file = sent.body["file"]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent.body["file"]["request"]["token"], token);
    let multipart = api
        .as_guest(
            Some(&ann),
            Method::POST,
            &format!("/api/public/requests/{token}/uploads/multipart"),
            Some(json!({"name": "big.bin", "size": 200, "folder": "scans/2026"})),
        )
        .await;
    assert_eq!(
        multipart.status,
        StatusCode::CREATED,
        "{:?}",
        multipart.body
    );
    let big = multipart.body["file"]["id"].as_str().unwrap().to_owned();
    let parts = api
        .as_guest(
            Some(&ann),
            Method::GET,
            &format!("/api/public/requests/{token}/files/{big}/parts"),
            None,
        )
        .await;
    assert_eq!(parts.status, StatusCode::OK, "{:?}", parts.body);
    assert_eq!(parts.body["parts"], json!([]));

    // The owner sees them among their files, marked with the request.
    let files = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    let marked: Vec<&Value> = files.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["request"]["token"] == token)
        .collect();
    assert_eq!(marked.len(), 2);
    assert_eq!(marked[0]["request"]["title"], "Scans");

    // Ann lists hers; Ben sees nothing of Ann's, nor can he touch it.
    let mine = api
        .as_guest(
            Some(&ann),
            Method::GET,
            &format!("/api/public/requests/{token}/files"),
            None,
        )
        .await;
    assert_eq!(
        mine.body["files"].as_array().unwrap().len(),
        2,
        "{:?}",
        mine.body
    );
    assert_eq!(mine.body["files"][1]["folder"], "scans/2026");
    let his = api
        .as_guest(
            Some(&ben),
            Method::GET,
            &format!("/api/public/requests/{token}/files"),
            None,
        )
        .await;
    assert_eq!(his.body["files"], json!([]));
    for id in [&file, &big, &owners_own] {
        for (method, uri, body) in [
            (
                Method::DELETE,
                format!("/api/public/requests/{token}/files/{id}"),
                None,
            ),
            (
                Method::GET,
                format!("/api/public/requests/{token}/files/{id}/parts"),
                None,
            ),
            (
                Method::POST,
                format!("/api/public/requests/{token}/files/{id}/parts"),
                Some(json!({"parts": [{"number": 1, "sha256": "x"}]})),
            ),
            (
                Method::POST,
                format!("/api/public/requests/{token}/files/{id}/complete"),
                Some(json!({"parts": []})),
            ),
        ] {
            let reply = api.as_guest(Some(&ben), method.clone(), &uri, body).await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::NOT_FOUND, "not_found"),
                "{method} {uri}"
            );
        }
    }
    // Ann's own key opens nothing of the owner's, of Bob's request, or without the header.
    let reply = api
        .as_guest(
            Some(&ann),
            Method::DELETE,
            &format!("/api/public/requests/{token}/files/{owners_own}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for key in [Some(ann.as_str()), None, Some("not-a-key")] {
        let reply = api
            .guest_upload(&other, key.unwrap_or(""), "x.txt", 1)
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "guest_key_required"),
            "{key:?}"
        );
        let reply = api
            .as_guest(
                key,
                Method::GET,
                &format!("/api/public/requests/{token}/files"),
                None,
            )
            .await;
        if key != Some(ann.as_str()) {
            assert_eq!(reply.code(), "guest_key_required", "{key:?}");
        }
    }
    // Guests have no way to the owner's files or downloads.
    for uri in [
        "/api/files".to_owned(),
        format!("/api/files/{file}/download"),
    ] {
        let reply = api.as_guest(Some(&ann), Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    // Bob, signed in, sees nothing of it either.
    let reply = api
        .as_user(BOB, Method::GET, &format!("/api/files/{file}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // A name and note go onto Ann's files, for the owner.
    let noted = api
        .as_guest(
            Some(&ann),
            Method::PUT,
            &format!("/api/public/requests/{token}/note"),
            Some(json!({"name": "Ann", "note": "Pages 1-3\nmore soon"})),
        )
        .await;
    assert_eq!(noted.status, StatusCode::OK, "{:?}", noted.body);
    assert_eq!(noted.body["name"], "Ann");
    let owner_view = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{file}"), None)
        .await;
    assert_eq!(owner_view.body["request"]["guest_name"], "Ann");
    assert_eq!(
        owner_view.body["request"]["guest_note"],
        "Pages 1-3\nmore soon"
    );
    let bad = api
        .as_guest(
            Some(&ann),
            Method::PUT,
            &format!("/api/public/requests/{token}/note"),
            Some(json!({"note": "n".repeat(501)})),
        )
        .await;
    assert_eq!(bad.code(), "invalid_text");

    // Ann removes one; its place in the request is free again.
    let removed = api
        .as_guest(
            Some(&ann),
            Method::DELETE,
            &format!("/api/public/requests/{token}/files/{file}"),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let request = api
        .as_user(ALICE, Method::GET, &format!("/api/requests/{token}"), None)
        .await;
    assert_eq!(request.body["files_received"], 1);
    assert_eq!(request.body["bytes_received"], 200);
    // The owner deleting a guest's file gives its place back too.
    let deleted = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{big}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let request = api
        .as_user(ALICE, Method::GET, &format!("/api/requests/{token}"), None)
        .await;
    assert_eq!(request.body["files_received"], 0);
}

#[tokio::test]
async fn twenty_parallel_guest_uploads_against_five_files_give_exactly_five() {
    let api = Arc::new(spawn_api().await);
    let token = api
        .new_request(
            ALICE,
            json!({"title": "Party pics", "max_files": 5, "max_bytes": 2000}),
        )
        .await;
    let mut keys = Vec::new();
    for _ in 0..20 {
        keys.push(api.new_guest(&token).await);
    }
    let replies = at_once(&api, keys.len(), |api, i| {
        let (token, key) = (token.clone(), keys[i].clone());
        async move {
            api.guest_upload(&token, &key, format!("p{i}.jpg"), 10)
                .await
        }
    })
    .await;
    let created = tally(
        &replies,
        (StatusCode::CREATED, ""),
        (StatusCode::CONFLICT, "request_full"),
    );
    assert_eq!(created, 5);
    let request = api
        .as_user(ALICE, Method::GET, &format!("/api/requests/{token}"), None)
        .await;
    assert_eq!(request.body["files_received"], 5);
    assert_eq!(usage_of(&api, ALICE).await, (50, 5));
}

#[tokio::test]
async fn the_size_limit_holds_under_concurrency() {
    let api = Arc::new(spawn_api().await);
    let token = api
        .new_request(
            ALICE,
            json!({"title": "Docs", "max_files": 100, "max_bytes": 100}),
        )
        .await;
    let key = api.new_guest(&token).await;
    let replies = at_once(&api, 10, |api, i| {
        let (token, key) = (token.clone(), key.clone());
        async move {
            api.guest_upload(&token, &key, format!("d{i}.pdf"), 30)
                .await
        }
    })
    .await;
    let created = tally(
        &replies,
        (StatusCode::CREATED, ""),
        (StatusCode::PAYLOAD_TOO_LARGE, "request_too_large"),
    );
    assert_eq!(created, 3);
    let request = api
        .as_user(ALICE, Method::GET, &format!("/api/requests/{token}"), None)
        .await;
    assert_eq!(request.body["bytes_received"], 90);
}

#[tokio::test]
async fn closed_and_expired_requests_refuse_guests_clearly() {
    let api = spawn_api().await;
    let token = api
        .new_request(
            ALICE,
            json!({"title": "T", "max_files": 5, "max_bytes": 500, "expires_in_seconds": 3600}),
        )
        .await;
    let key = api.new_guest(&token).await;
    let sent = api.guest_upload(&token, &key, "a.txt", 10).await;
    let file = sent.body["file"]["id"].as_str().unwrap().to_owned();
    api.as_user(
        ALICE,
        Method::POST,
        &format!("/api/requests/{token}/close"),
        None,
    )
    .await;
    let view = api
        .as_guest(
            None,
            Method::GET,
            &format!("/api/public/requests/{token}"),
            None,
        )
        .await;
    assert_eq!(
        (view.status, &view.body["state"]),
        (StatusCode::OK, &json!("closed"))
    );
    assert_eq!(view.body["files_left"], 0);
    let refused = api.guest_upload(&token, &key, "b.txt", 10).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "request_closed")
    );
    let session = api
        .as_guest(
            None,
            Method::POST,
            &format!("/api/public/requests/{token}/sessions"),
            None,
        )
        .await;
    assert_eq!(session.code(), "request_closed");
    let delete = api
        .as_guest(
            Some(&key),
            Method::DELETE,
            &format!("/api/public/requests/{token}/files/{file}"),
            None,
        )
        .await;
    assert_eq!(delete.code(), "request_closed");
    // What was sent stays listed for the guest.
    let mine = api
        .as_guest(
            Some(&key),
            Method::GET,
            &format!("/api/public/requests/{token}/files"),
            None,
        )
        .await;
    assert_eq!(mine.body["files"].as_array().unwrap().len(), 1);

    api.as_user(
        ALICE,
        Method::POST,
        &format!("/api/requests/{token}/reopen"),
        None,
    )
    .await;
    api.advance(time::Duration::hours(2));
    let view = api
        .as_guest(
            None,
            Method::GET,
            &format!("/api/public/requests/{token}"),
            None,
        )
        .await;
    assert_eq!(view.body["state"], "expired");
    let refused = api.guest_upload(&token, &key, "c.txt", 10).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::GONE, "request_expired")
    );
}

#[tokio::test]
async fn a_protected_request_shows_only_that_it_needs_a_password() {
    let api = spawn_api().await;
    let token = api
        .new_request(
            ALICE,
            json!({"title": "Secret", "message": "hush", "max_files": 2, "max_bytes": 50, "password": "correct horse"}),
        )
        .await;
    let base = format!("/api/public/requests/{token}");
    let view = api.as_guest(None, Method::GET, &base, None).await;
    let mut keys: Vec<&String> = view.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["expires_at", "requires_password", "state"]);
    let session = api
        .as_guest(
            None,
            Method::POST,
            &format!("{base}/sessions"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (session.status, session.code()),
        (StatusCode::FORBIDDEN, "password_required")
    );
    let wrong = api
        .as_guest(
            None,
            Method::POST,
            &format!("{base}/unlock"),
            Some(json!({"password": "nope nope"})),
        )
        .await;
    assert_eq!(wrong.code(), "wrong_password");
    let right = api
        .as_guest(
            None,
            Method::POST,
            &format!("{base}/unlock"),
            Some(json!({"password": "correct horse"})),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{:?}", right.body);
    assert_eq!(right.body["title"], "Secret");
    let access = right.body["access"].as_str().unwrap();
    let session = api
        .as_guest(
            None,
            Method::POST,
            &format!("{base}/sessions"),
            Some(json!({"access": access})),
        )
        .await;
    assert_eq!(session.status, StatusCode::CREATED, "{:?}", session.body);
    let forged = api
        .as_guest(
            None,
            Method::POST,
            &format!("{base}/sessions"),
            Some(json!({"access": "AAAAAAAAAAAAAAAAAAAAAA"})),
        )
        .await;
    assert_eq!(forged.code(), "password_required");
}

#[tokio::test]
async fn guest_routes_are_rate_limited_per_client() {
    let api = spawn_api().await;
    let token = api
        .new_request(ALICE, json!({"title": "T", "max_files": 1, "max_bytes": 1}))
        .await;
    let uri = format!("/api/public/requests/{token}");
    for _ in 0..ferry::rate_limit::PER_CLIENT_PER_MINUTE {
        let reply = api.as_guest(None, Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let limited = api.as_guest(None, Method::GET, &uri, None).await;
    assert_eq!(
        (limited.status, limited.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(limited.headers.contains_key("retry-after"));
    api.advance(time::Duration::minutes(1));
    let reply = api.as_guest(None, Method::GET, &uri, None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn guest_files_are_only_ever_served_as_attachments() {
    let api = spawn_api().await;
    let token = api
        .new_request(
            ALICE,
            json!({"title": "T", "max_files": 2, "max_bytes": 500}),
        )
        .await;
    let key = api.new_guest(&token).await;
    let sent = api
        .as_guest(
            Some(&key),
            Method::POST,
            &format!("/api/public/requests/{token}/uploads"),
            Some(json!({"name": "page.html", "size": 10, "content_type": "text/html"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let id = sent.body["file"]["id"].as_str().unwrap().to_owned();
    api.meta
        .mark_ready(
            &UserId::parse(ALICE).unwrap(),
            &FileId::parse(&id).unwrap(),
            None,
        )
        .await
        .unwrap();
    let download = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{id}/download"),
            None,
        )
        .await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);
    let url = download.body["url"].as_str().unwrap();
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    // Deleting the request keeps what it received; deleting that file later still works.
    let gone = api
        .as_user(
            ALICE,
            Method::DELETE,
            &format!("/api/requests/{token}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let kept = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(
        (kept.status, &kept.body["request"]["title"]),
        (StatusCode::OK, &json!("T"))
    );
    // The guest has no download route at all.
    for method in [Method::GET, Method::POST] {
        let reply = api
            .as_guest(
                Some(&key),
                method,
                &format!("/api/public/requests/{token}/files/{id}/download"),
                None,
            )
            .await;
        assert!(
            reply.status == StatusCode::NOT_FOUND || reply.status == StatusCode::METHOD_NOT_ALLOWED,
            "{:?}",
            reply.status
        );
    }
    let deleted = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn each_guest_has_a_bound_on_unfinished_uploads() {
    let api = spawn_api_with(Limits {
        max_pending_uploads: 2,
        ..small_limits()
    })
    .await;
    let token = api
        .new_request(
            ALICE,
            json!({"title": "T", "max_files": 10, "max_bytes": 500}),
        )
        .await;
    let (ann, ben) = (api.new_guest(&token).await, api.new_guest(&token).await);
    for name in ["a", "b"] {
        let sent = api.guest_upload(&token, &ann, name, 10).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    }
    let third = api.guest_upload(&token, &ann, "c", 10).await;
    assert_eq!(
        (third.status, third.code()),
        (StatusCode::CONFLICT, "too_many_pending_uploads")
    );
    // Another guest has a bound of their own.
    let other = api.guest_upload(&token, &ben, "d", 10).await;
    assert_eq!(other.status, StatusCode::CREATED, "{:?}", other.body);
}
