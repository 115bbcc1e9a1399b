//! Share links: their terms, download limits under concurrency, expiry, revocation, passwords
//! and their attempt limits and bounded hashing. A child of `api`, so it uses the same `TestApi`.

use super::*;

#[tokio::test]
async fn shares_validate_their_terms() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    for (body, code) in [
        (json!({"expires_in_seconds": 10}), "invalid_expiry"),
        (json!({"expires_in_seconds": 31 * 86400}), "invalid_expiry"),
        (json!({"max_downloads": 0}), "invalid_max_downloads"),
        (json!({"password": "abc"}), "invalid_password"),
        (json!({"password": "seven 7"}), "invalid_password"),
        (json!({"max_downloads": "five"}), "invalid_request"),
    ] {
        let reply = api
            .as_user(
                ALICE,
                Method::POST,
                &format!("/api/files/{id}/shares"),
                Some(body.clone()),
            )
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
            &format!("/api/files/{id}/shares"),
            Some(json!({"expires_in_seconds": 3600, "max_downloads": 3, "password": "hunter22"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let share = &reply.body;
    let token = share["token"].as_str().unwrap();
    assert_eq!(token.len(), 22);
    assert_eq!(share["url"], format!("https://ferry.test/s/{token}"));
    assert_eq!(share["file_id"], id.as_str());
    assert_eq!(share["file_name"], "a.txt");
    assert_eq!(share["max_downloads"], 3);
    assert_eq!(share["downloads"], 0);
    assert_eq!(share["has_password"], true);
    assert!(share.get("password").is_none() && !share.to_string().contains("hunter22"));

    let public = api.view(token).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body["requires_password"], true);
    let unlocked = api
        .public_post(token, "unlock", Some(json!({"password": "hunter22"})))
        .await;
    assert_eq!(unlocked.status, StatusCode::OK, "{:?}", unlocked.body);
    assert_eq!(unlocked.body["name"], "a.txt");
    assert_eq!(unlocked.body["size"], 5);
    assert_eq!(unlocked.body["downloads_left"], 3);
    // One PUT, no parts to speak of.
    assert!(
        unlocked.body.get("part_size").is_none(),
        "{:?}",
        unlocked.body
    );
}

#[tokio::test]
async fn concurrent_downloads_never_exceed_the_limit() {
    let api = Arc::new(spawn_api().await);
    let id = api.ready_file(ALICE, "hot.txt", 5).await;
    let token = api.share(ALICE, &id, json!({"max_downloads": 5})).await;
    let uri = format!("/api/public/shares/{token}/download");
    let replies = at_once(&api, 20, |api, _| {
        let uri = uri.clone();
        async move { api.send(Method::POST, &uri, None, None).await }
    })
    .await;
    let granted = tally(
        &replies,
        (StatusCode::OK, ""),
        (StatusCode::GONE, "share_exhausted"),
    );
    for reply in replies.iter().filter(|r| r.status == StatusCode::OK) {
        assert!(
            reply.body["url"]
                .as_str()
                .unwrap()
                .contains("X-Amz-Signature")
        );
    }
    assert_eq!(granted, 5);
    let shares = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"][0]["downloads"], 5);
    let public = api.view(&token).await;
    assert_eq!(
        (public.status, public.code()),
        (StatusCode::GONE, "share_exhausted")
    );
}

#[tokio::test]
async fn viewing_a_share_never_counts_a_download() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    let token = api.share(ALICE, &id, json!({"max_downloads": 1})).await;
    for _ in 0..3 {
        let view = api.view(&token).await;
        assert_eq!(view.body["downloads_left"], 1);
    }
    let first = api.public_post(&token, "download", None).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = api.public_post(&token, "download", None).await;
    assert_eq!(
        (second.status, second.code()),
        (StatusCode::GONE, "share_exhausted")
    );
}

#[tokio::test]
async fn shares_expire() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    let token = api
        .share(ALICE, &id, json!({"expires_in_seconds": 3600}))
        .await;
    let uri = format!("/api/public/shares/{token}");
    assert_eq!(
        api.send(Method::GET, &uri, None, None).await.status,
        StatusCode::OK
    );
    api.advance(time::Duration::seconds(3601));
    let view = api.send(Method::GET, &uri, None, None).await;
    assert_eq!(
        (view.status, view.code()),
        (StatusCode::GONE, "share_expired")
    );
    let download = api
        .send(Method::POST, &format!("{uri}/download"), None, None)
        .await;
    assert_eq!(
        (download.status, download.code()),
        (StatusCode::GONE, "share_expired")
    );
}

#[tokio::test]
async fn revoked_shares_stop_working_and_only_the_owner_can_revoke() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    let token = api.share(ALICE, &id, json!({})).await;
    let by_bob = api
        .as_user(BOB, Method::DELETE, &format!("/api/shares/{token}"), None)
        .await;
    assert_eq!(by_bob.status, StatusCode::NOT_FOUND);
    let revoke = api
        .as_user(ALICE, Method::DELETE, &format!("/api/shares/{token}"), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let again = api
        .as_user(ALICE, Method::DELETE, &format!("/api/shares/{token}"), None)
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "revoking twice is harmless"
    );
    let view = api.view(&token).await;
    assert_eq!(
        (view.status, view.code()),
        (StatusCode::GONE, "share_revoked")
    );
    let download = api.public_post(&token, "download", None).await;
    assert_eq!(
        (download.status, download.code()),
        (StatusCode::GONE, "share_revoked")
    );
    let listed = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(listed.body["items"][0]["revoked"], true);
}

#[tokio::test]
async fn passwords_protect_downloads_and_guessing_is_throttled() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    let token = api
        .share(ALICE, &id, json!({"password": "open sesame"}))
        .await;
    let uri = format!("/api/public/shares/{token}/download");
    let none = api.send(Method::POST, &uri, None, None).await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::FORBIDDEN, "password_required")
    );
    let wrong = api
        .send(Method::POST, &uri, None, Some(json!({"password": "nope"})))
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    let right = api
        .send(
            Method::POST,
            &uri,
            None,
            Some(json!({"password": "open sesame"})),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK);
    for _ in 0..4 {
        api.send(Method::POST, &uri, None, Some(json!({"password": "guess"})))
            .await;
    }
    let blocked = api
        .send(
            Method::POST,
            &uri,
            None,
            Some(json!({"password": "open sesame"})),
        )
        .await;
    assert_eq!(
        (blocked.status, blocked.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
}

#[tokio::test]
async fn unknown_and_malformed_tokens_look_the_same() {
    let api = spawn_api().await;
    for token in ["AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fetc", "%00"] {
        let view = api.view(token).await;
        assert_eq!(
            (view.status, view.code()),
            (StatusCode::NOT_FOUND, "share_not_found"),
            "{token}"
        );
        let dl = api.public_post(token, "download", None).await;
        assert_eq!(
            (dl.status, dl.code()),
            (StatusCode::NOT_FOUND, "share_not_found")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_password_guesses_get_five_checks_and_the_rest_wait() {
    let api = Arc::new(
        spawn_api_tuned(small_limits(), |state| {
            // Room for every guess at once: only the attempt limit may refuse them.
            state.password_work = Arc::new(WorkGate::new(4, 64));
        })
        .await,
    );
    let id = api.ready_file(ALICE, "secret.txt", 5).await;
    let token = api
        .share(ALICE, &id, json!({"password": "correct horse"}))
        .await;
    let uri = format!("/api/public/shares/{token}/download");
    let guesses = at_once(&api, 24, |api, i| {
        let uri = uri.clone();
        async move {
            let guess = json!({"password": format!("guess number {i}")});
            api.send(Method::POST, &uri, None, Some(guess)).await
        }
    })
    .await;
    let wrong = tally(
        &guesses,
        (StatusCode::FORBIDDEN, "wrong_password"),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
    );
    let limited = guesses.len() - wrong;
    assert_eq!((wrong, limited), (5, 19), "only 5 guesses were checked");
    // The limit holds for the right password too, and for unlocking, until the window passes.
    let right = json!({"password": "correct horse"});
    for path in ["download", "unlock"] {
        let reply = api.public_post(&token, path, Some(right.clone())).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            "{path}"
        );
        // The window opened with the guesses, on the test's clock: 5 minutes to wait.
        assert_eq!(reply.headers["retry-after"], "300", "{path}");
    }
    api.advance(time::Duration::minutes(5));
    let reply = api.send(Method::POST, &uri, None, Some(right)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn a_full_password_gate_answers_busy_and_nothing_else_breaks() {
    let gate = Arc::new(WorkGate::new(1, 0));
    let api = Arc::new(
        spawn_api_tuned(small_limits(), {
            let gate = Arc::clone(&gate);
            move |state| state.password_work = gate
        })
        .await,
    );
    let id = api.ready_file(ALICE, "a.txt", 5).await;
    let token = api
        .share(ALICE, &id, json!({"password": "correct horse"}))
        .await;
    // Another job holds the only slot, and the line has no room.
    let held = gate.enter().await.unwrap();
    // Two waves of new protected links and password checks: 8 checks in all, more than the
    // link's 5 attempts, at most 4 at once.
    for _ in 0..2 {
        let flood = at_once(&api, 8, |api, i| {
            let (token, id) = (token.clone(), id.clone());
            async move {
                if i % 2 == 0 {
                    let body = json!({"password": format!("new password {i}")});
                    let uri = format!("/api/files/{id}/shares");
                    api.as_user(ALICE, Method::POST, &uri, Some(body)).await
                } else {
                    let body = json!({"password": "correct horse"});
                    let uri = format!("/api/public/shares/{token}/download");
                    api.send(Method::POST, &uri, None, Some(body)).await
                }
            }
        })
        .await;
        for reply in flood {
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::SERVICE_UNAVAILABLE, "busy"),
                "{:?}",
                reply.body
            );
            let retry_after = reply.headers["retry-after"].to_str().unwrap();
            assert!(retry_after.parse::<u32>().unwrap() >= 1, "{retry_after}");
        }
    }
    // What needs no hashing goes on.
    let open = api.share(ALICE, &id, json!({})).await;
    let view = api.view(&open).await;
    assert_eq!(view.status, StatusCode::OK);
    drop(held);
    // The busy answers used none of the link's 5 password attempts: the password still works.
    let reply = api
        .public_post(
            &token,
            "download",
            Some(json!({"password": "correct horse"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    api.share(ALICE, &id, json!({"password": "another one"}))
        .await;
    assert_eq!(gate.available(), 1, "every slot was given back");
}

#[tokio::test]
async fn a_protected_link_shows_its_file_only_after_the_password() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "tax return 2025.pdf", 5).await;
    let sha = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    api.meta
        .set_sha256(
            &UserId::parse(ALICE).unwrap(),
            &FileId::parse(&id).unwrap(),
            sha,
        )
        .await
        .unwrap();
    let token = api
        .share(
            ALICE,
            &id,
            json!({"password": "open sesame", "max_downloads": 2}),
        )
        .await;
    let view = api.view(&token).await;
    assert_eq!(view.status, StatusCode::OK);
    let mut shown: Vec<_> = view.body.as_object().unwrap().keys().cloned().collect();
    shown.sort();
    assert_eq!(shown, ["expires_at", "requires_password"], "{}", view.body);
    assert_eq!(view.body["requires_password"], true);

    let unlock = format!("/api/public/shares/{token}/unlock");
    for (body, status, code) in [
        (None, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            Some(json!({"password": ""})),
            StatusCode::FORBIDDEN,
            "password_required",
        ),
        (
            Some(json!({"password": "open says me"})),
            StatusCode::FORBIDDEN,
            "wrong_password",
        ),
    ] {
        let reply = api.send(Method::POST, &unlock, None, body.clone()).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body:?}");
        assert!(!reply.body.to_string().contains("tax return"));
    }
    for _ in 0..2 {
        let reply = api
            .send(
                Method::POST,
                &unlock,
                None,
                Some(json!({"password": "open sesame"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["name"], "tax return 2025.pdf");
        assert_eq!(reply.body["size"], 5);
        assert_eq!(reply.body["content_type"], "application/octet-stream");
        assert_eq!(reply.body["sha256"], sha);
        assert_eq!(reply.body["requires_password"], true);
        assert_eq!(reply.body["downloads_left"], 2, "unlocking is no download");
    }
    // An open link shows everything at once, and unlocking it needs nothing.
    let open = api.share(ALICE, &id, json!({})).await;
    let view = api.view(&open).await;
    assert_eq!(view.body["name"], "tax return 2025.pdf");
    assert_eq!(view.body["sha256"], sha);
    let reply = api
        .public_post(&open, "unlock", Some(json!({"password": "anything"})))
        .await;
    assert_eq!(reply.body, view.body);

    let doc = api.send(Method::GET, "/api/openapi.json", None, None).await;
    assert!(
        doc.body["paths"]["/api/public/shares/{token}/unlock"]["post"].is_object(),
        "openapi lacks unlock"
    );
    let password = &doc.body["components"]["schemas"]["CreateShare"]["properties"]["password"];
    assert_eq!(password["minLength"], 8, "{password}");
    assert_eq!(password["maxLength"], 128, "{password}");
}
