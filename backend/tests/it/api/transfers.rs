//! Router tests of transfers: folder paths on uploads, links of many files (`POST /api/shares`),
//! their public pages (`files`, `download` with `file_id`, `archive`) and batch deletes. A child
//! of `api`, so it uses the same `TestApi`.

use super::*;

/// Hostile or malformed folder paths, each refused with `invalid_path`.
const HOSTILE_FOLDERS: [&str; 9] = [
    "../x",
    "/abs",
    "a//b",
    "a/./b",
    "a/..",
    "a/",
    "a\\b",
    "a\u{FF0F}b",
    "a/b\u{7}",
];

#[tokio::test]
async fn uploads_keep_their_folder_and_refuse_hostile_paths() {
    let api = spawn_api().await;
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let reply = api
            .as_user(
                ALICE,
                Method::POST,
                route,
                Some(json!({"name": "img 1.jpg", "size": 10, "folder": "photos/re\u{301}sume\u{301}"})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{route}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["file"]["folder"], "photos/résumé", "{route}");

        let deep = vec!["d"; 33].join("/");
        let long = vec!["x".repeat(200); 6].join("/");
        for folder in HOSTILE_FOLDERS
            .iter()
            .map(|f| (*f).to_owned())
            .chain([deep, long])
        {
            let reply = api
                .as_user(
                    ALICE,
                    Method::POST,
                    route,
                    Some(json!({"name": "a.txt", "size": 1, "folder": folder})),
                )
                .await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::BAD_REQUEST, "invalid_path"),
                "{route} {folder:?}"
            );
        }
    }
    // The top level: no folder, or an empty one.
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "top.txt", "size": 1, "folder": ""})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.body["file"].get("folder").is_none());

    let listed = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    let folders: Vec<&Value> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["folder"])
        .collect();
    assert_eq!(
        folders,
        [
            &Value::Null,
            &json!("photos/résumé"),
            &json!("photos/résumé")
        ]
    );
}

impl TestApi {
    /// Announces a file in `folder`; marks it ready unless `pending`.
    async fn file_in(&self, sub: &str, folder: Option<&str>, name: &str, pending: bool) -> String {
        let mut body = json!({"name": name, "size": 5});
        if let Some(folder) = folder {
            body["folder"] = json!(folder);
        }
        let reply = self
            .as_user(sub, Method::POST, "/api/uploads", Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let id = reply.body["file"]["id"].as_str().unwrap().to_owned();
        if !pending {
            self.meta
                .mark_ready(
                    &UserId::parse(sub).unwrap(),
                    &FileId::parse(&id).unwrap(),
                    None,
                )
                .await
                .unwrap();
        }
        id
    }

    /// `POST /api/shares` as `sub`.
    async fn share_files(&self, sub: &str, body: Value) -> Reply {
        self.as_user(sub, Method::POST, "/api/shares", Some(body))
            .await
    }

    async fn link_of(&self, sub: &str, ids: &[&str], terms: Value) -> String {
        let mut body = terms;
        body["file_ids"] = json!(ids);
        let reply = self.share_files(sub, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["folder"].as_str() {
            Some(folder) => format!("{folder}/{}", f["name"].as_str().unwrap()),
            None => f["name"].as_str().unwrap().to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn a_link_of_many_files_takes_only_the_callers_files() {
    let api = spawn_api_with(Limits {
        max_share_files: 3,
        ..small_limits()
    })
    .await;
    let a = api.file_in(ALICE, None, "a.txt", false).await;
    let b = api.file_in(ALICE, Some("docs"), "b.txt", false).await;
    let arriving = api.file_in(ALICE, None, "c.txt", true).await;
    let bobs = api.file_in(BOB, None, "bob.txt", false).await;

    // Another user's file, or an unknown one: 404, and nothing is created.
    for ids in [
        json!([a, bobs]),
        json!([bobs]),
        json!([a, FileId::new().to_string()]),
    ] {
        let reply = api.share_files(ALICE, json!({"file_ids": ids})).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{ids}"
        );
    }
    let mine = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(mine.body["items"], json!([]), "nothing was created");

    for (body, code) in [
        (json!({"file_ids": []}), "invalid_request"),
        (json!({"file_ids": [a, a]}), "invalid_request"),
        (json!({"file_ids": ["not-an-id"]}), "invalid_request"),
        (json!({"file_ids": [a.to_uppercase()]}), "invalid_request"),
        (
            json!({"file_ids": [a, b, arriving, bobs]}),
            "too_many_files",
        ),
        (json!({"file_ids": "a"}), "invalid_request"),
        (json!({}), "invalid_request"),
        (
            json!({"file_ids": [a], "max_downloads": 0}),
            "invalid_max_downloads",
        ),
        (
            json!({"file_ids": [a], "password": "short"}),
            "invalid_password",
        ),
    ] {
        let reply = api.share_files(ALICE, body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }

    // Failed uploads cannot be shared; files still arriving can.
    let failed = api.file_in(ALICE, None, "broken.bin", true).await;
    api.meta
        .mark_failed(
            &UserId::parse(ALICE).unwrap(),
            &FileId::parse(&failed).unwrap(),
        )
        .await
        .unwrap();
    let reply = api
        .share_files(ALICE, json!({"file_ids": [a, failed]}))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );

    let reply = api
        .share_files(
            ALICE,
            json!({"file_ids": [b, a, arriving], "max_downloads": 4}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let share = &reply.body;
    assert_eq!(share["file_id"], b.as_str(), "the first file, as given");
    assert_eq!(share["file_name"], "b.txt");
    assert_eq!(
        (share["file_count"].clone(), share["total_size"].clone()),
        (json!(3), json!(15))
    );
    let token = share["token"].as_str().unwrap();
    let listed = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(listed.body["items"][0], *share);

    // Bob sees nothing of it and cannot revoke it.
    let theirs = api.as_user(BOB, Method::GET, "/api/shares", None).await;
    assert_eq!(theirs.body["items"], json!([]));
    let revoke = api
        .as_user(BOB, Method::DELETE, &format!("/api/shares/{token}"), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    let revoke = api
        .as_user(ALICE, Method::DELETE, &format!("/api/shares/{token}"), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let view = api.view(token).await;
    assert_eq!(
        (view.status, view.code()),
        (StatusCode::GONE, "share_revoked")
    );
    for action in ["files", "archive", "download"] {
        let reply = api
            .public_post(token, action, Some(json!({"file_id": a})))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::GONE, "share_revoked"),
            "{action}"
        );
    }
}

#[tokio::test]
async fn recipients_page_through_the_files_and_take_one_or_all() {
    let api = spawn_api().await;
    let top = api.file_in(ALICE, None, "zeta.txt", false).await;
    let img2 = api
        .file_in(ALICE, Some("photos/2026"), "img 2.jpg", false)
        .await;
    let img1 = api
        .file_in(ALICE, Some("photos/2026"), "img 1.jpg", false)
        .await;
    let arriving = api.file_in(ALICE, Some("photos"), "late.mov", true).await;
    let spaced = api.file_in(ALICE, Some("photos 2"), "a.txt", false).await;
    let token = api
        .link_of(
            ALICE,
            &[&img2, &spaced, &arriving, &top, &img1],
            json!({"max_downloads": 3}),
        )
        .await;

    let view = api.view(&token).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(
        (
            view.body["file_count"].clone(),
            view.body["total_size"].clone()
        ),
        (json!(5), json!(25))
    );
    assert!(
        view.body.get("name").is_none(),
        "a link of several names no one file"
    );

    // Every file, top level first, then folder by folder; two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"limit": 2});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = api.public_post(&token, "files", Some(body)).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        seen.extend(names(&page.body));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        [
            "zeta.txt",
            "photos/late.mov",
            "photos/2026/img 1.jpg",
            "photos/2026/img 2.jpg",
            "photos 2/a.txt"
        ]
    );
    let whole = api.public_post(&token, "files", None).await;
    assert_eq!(names(&whole.body), seen, "default page: all of them");
    assert!(whole.body.get("next_cursor").is_none());
    let statuses: Vec<&str> = whole.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ready", "pending", "ready", "ready", "ready"]);
    for (body, code) in [
        (json!({"limit": 0}), "invalid_request"),
        (json!({"limit": 1001}), "invalid_request"),
        (json!({"cursor": "!!"}), "invalid_cursor"),
        (json!({"cursor": "WyJhIl0"}), "invalid_cursor"),
    ] {
        let reply = api.public_post(&token, "files", Some(body.clone())).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }

    // One file: it must be named, be in the link and have arrived; nothing else counts.
    let download = |body: Value| api.public_post(&token, "download", Some(body));
    let reply = download(json!({})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "file_required")
    );
    let bobs = api.file_in(BOB, None, "bob.txt", false).await;
    for other in [bobs.as_str(), "nope", &FileId::new().to_string()] {
        let reply = download(json!({"file_id": other})).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{other}"
        );
    }
    let reply = download(json!({"file_id": arriving})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );
    assert_eq!(
        api.view(&token).await.body["downloads_left"],
        3,
        "nothing counted yet"
    );
    let reply = download(json!({"file_id": img1})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(reply.body["url"].as_str().unwrap().contains(img1.as_str()));
    assert_eq!(api.view(&token).await.body["downloads_left"], 2);

    // Everything that arrived, as one download, named after the common top folder.
    let grant = api.public_post(&token, "archive", None).await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.body);
    let paths: Vec<&str> = grant.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "zeta.txt",
            "photos/2026/img 1.jpg",
            "photos/2026/img 2.jpg",
            "photos 2/a.txt"
        ]
    );
    assert_eq!(grant.body["pending"], 1);
    assert_eq!(grant.body["total_size"], 20);
    let day = api.clock.now().date();
    assert_eq!(
        grant.body["name"],
        format!(
            "ferry-{:04}-{:02}-{:02}.zip",
            day.year(),
            u8::from(day.month()),
            day.day()
        )
    );
    let expires = time::OffsetDateTime::parse(
        grant.body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        expires - api.clock.now() >= time::Duration::hours(1),
        "URLs outlast a long stream"
    );
    for file in grant.body["files"].as_array().unwrap() {
        assert!(file["url"].as_str().unwrap().contains("X-Amz-Signature"));
    }
    assert_eq!(api.view(&token).await.body["downloads_left"], 1);

    // A folder's files alone are named after it.
    let folder_link = api.link_of(ALICE, &[&img1, &img2], json!({})).await;
    let grant = api
        .public_post(&folder_link, "archive", Some(json!({})))
        .await;
    assert_eq!(grant.body["name"], "photos.zip");

    // Nothing arrived yet: nothing to take, nothing counted.
    let waiting = api
        .link_of(ALICE, &[&arriving], json!({"max_downloads": 1}))
        .await;
    let reply = api.public_post(&waiting, "archive", None).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );
    assert_eq!(api.view(&waiting).await.body["downloads_left"], 1);
}

#[tokio::test]
async fn a_protected_link_of_many_files_opens_with_its_password_or_access_key() {
    let api = spawn_api().await;
    let a = api.file_in(ALICE, Some("x"), "a.txt", false).await;
    let b = api.file_in(ALICE, Some("x"), "b.txt", false).await;
    let token = api
        .link_of(ALICE, &[&a, &b], json!({"password": "open sesame"}))
        .await;
    let view = api.view(&token).await;
    assert!(
        view.body.get("file_count").is_none(),
        "locked: {}",
        view.body
    );
    assert!(view.body.get("access").is_none());

    for action in ["files", "archive", "download"] {
        let reply = api
            .public_post(&token, action, Some(json!({"file_id": a})))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "password_required"),
            "{action}"
        );
        let reply = api
            .public_post(
                &token,
                action,
                Some(json!({"file_id": a, "password": "open says me"})),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "wrong_password"),
            "{action}"
        );
        let reply = api
            .public_post(
                &token,
                action,
                Some(json!({"file_id": a, "access": "AAAAAAAAAAAAAAAAAAAAAA"})),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "password_required"),
            "{action}: a wrong key"
        );
    }
    let unlocked = api
        .public_post(&token, "unlock", Some(json!({"password": "open sesame"})))
        .await;
    assert_eq!(unlocked.status, StatusCode::OK, "{:?}", unlocked.body);
    assert_eq!(unlocked.body["file_count"], 2);
    let access = unlocked.body["access"].as_str().unwrap().to_owned();
    assert_eq!(access.len(), 22);

    // The key opens every route, many times, without touching the password attempts.
    for _ in 0..6 {
        let page = api
            .public_post(&token, "files", Some(json!({"access": access})))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        assert_eq!(names(&page.body), ["x/a.txt", "x/b.txt"]);
    }
    let one = api
        .public_post(
            &token,
            "download",
            Some(json!({"access": access, "file_id": b})),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
    let all = api
        .public_post(&token, "archive", Some(json!({"access": access})))
        .await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(all.body["name"], "x.zip");
    // And the password still works alone.
    let page = api
        .public_post(&token, "files", Some(json!({"password": "open sesame"})))
        .await;
    assert_eq!(page.status, StatusCode::OK);

    // Another link's key opens nothing here.
    let other = api
        .link_of(ALICE, &[&a, &b], json!({"password": "open sesame"}))
        .await;
    let other_access = api
        .public_post(&other, "unlock", Some(json!({"password": "open sesame"})))
        .await
        .body["access"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other_access, access);
    let reply = api
        .public_post(&token, "files", Some(json!({"access": other_access})))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::FORBIDDEN, "password_required")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_archives_and_downloads_never_exceed_the_limit() {
    let api = Arc::new(spawn_api().await);
    let a = api.file_in(ALICE, None, "a.txt", false).await;
    let b = api.file_in(ALICE, None, "b.txt", false).await;
    let token = api
        .link_of(ALICE, &[&a, &b], json!({"max_downloads": 5}))
        .await;
    let replies = at_once(&api, 20, |api, i| {
        let (token, a) = (token.clone(), a.clone());
        async move {
            if i % 2 == 0 {
                api.public_post(&token, "archive", None).await
            } else {
                api.public_post(&token, "download", Some(json!({"file_id": a})))
                    .await
            }
        }
    })
    .await;
    let granted = tally(
        &replies,
        (StatusCode::OK, ""),
        (StatusCode::GONE, "share_exhausted"),
    );
    assert_eq!(granted, 5);
    let shares = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"][0]["downloads"], 5);
}

#[tokio::test]
async fn deleting_many_files_shrinks_their_links_until_they_say_so() {
    let api = spawn_api_with(Limits {
        max_share_files: 3,
        ..small_limits()
    })
    .await;
    let a = api.file_in(ALICE, None, "a.txt", false).await;
    let b = api.file_in(ALICE, None, "b.txt", false).await;
    let c = api.file_in(ALICE, None, "c.txt", true).await;
    let bobs = api.file_in(BOB, None, "bob.txt", false).await;
    let many = api.link_of(ALICE, &[&a, &b, &c], json!({})).await;
    let only_a = api.share(ALICE, &a, json!({})).await;
    assert_eq!(usage_of(&api, ALICE).await, (15, 3));

    let delete = |body: Value| api.as_user(ALICE, Method::POST, "/api/files/delete", Some(body));
    for (body, code) in [
        (json!({"file_ids": []}), "invalid_request"),
        (json!({"file_ids": [a, a]}), "invalid_request"),
        (json!({"file_ids": ["x"]}), "invalid_request"),
        (json!({"file_ids": [a, b, c, bobs]}), "too_many_files"),
    ] {
        let reply = delete(body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    // Bob's file and an unknown id count as already gone.
    let reply = delete(json!({"file_ids": [a, bobs, FileId::new().to_string()]})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"deleted": 1}));
    let bob_still = api
        .as_user(BOB, Method::GET, &format!("/api/files/{bobs}"), None)
        .await;
    assert_eq!(bob_still.status, StatusCode::OK);
    assert_eq!(usage_of(&api, ALICE).await, (10, 2));

    let view = api.view(&only_a).await;
    assert_eq!(
        (view.status, view.code()),
        (StatusCode::NOT_FOUND, "share_not_found")
    );
    let view = api.view(&many).await;
    assert_eq!(
        (
            view.body["file_count"].clone(),
            view.body["total_size"].clone()
        ),
        (json!(2), json!(10))
    );
    let listed = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            items[0]["file_count"].clone(),
            items[0]["file_name"].clone()
        ),
        (json!(2), json!("b.txt"))
    );

    let reply = delete(json!({"file_ids": [b, c]})).await;
    assert_eq!(reply.body, json!({"deleted": 2}));
    assert_eq!(usage_of(&api, ALICE).await, (0, 0));
    let view = api.view(&many).await;
    assert_eq!(
        (view.status, view.code()),
        (StatusCode::GONE, "share_empty")
    );
    assert!(
        view.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deleted")
    );
    for action in ["files", "archive", "download"] {
        let reply = api.public_post(&many, action, None).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::GONE, "share_empty"),
            "{action}"
        );
    }
    let listed = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(listed.body["items"][0]["file_count"], 0);
    let files = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    assert_eq!(files.body["items"], json!([]));
}

#[tokio::test]
async fn the_openapi_document_describes_the_transfer_routes() {
    let api = spawn_api().await;
    let doc = api
        .send(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    for (path, private) in [
        ("/api/shares", true),
        ("/api/files/delete", true),
        ("/api/public/shares/{token}/files", false),
        ("/api/public/shares/{token}/archive", false),
    ] {
        let op = &doc["paths"][path]["post"];
        assert!(op.is_object(), "{path} is missing");
        let responses = op["responses"].as_object().unwrap();
        for status in ["400", "413"] {
            assert!(responses.contains_key(status), "{path} lacks {status}");
        }
        assert_eq!(responses.contains_key("401"), private, "{path}");
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "CreateShareOfFiles",
        "DeleteFiles",
        "DeletedFiles",
        "PublicFilesQuery",
        "PublicFilePage",
        "PublicFile",
        "PublicArchive",
        "ArchiveGrant",
        "ArchiveEntry",
    ] {
        assert!(schemas[name].is_object(), "{name} is missing");
    }
    assert_eq!(
        schemas["CreateShareOfFiles"]["properties"]["file_ids"]["maxItems"],
        1000
    );
    assert_eq!(
        schemas["PublicFilesQuery"]["properties"]["limit"]["maximum"],
        1000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_file_link_lists_in_one_page_and_archives_whole() {
    let api = spawn_api().await;
    let mut ids = Vec::with_capacity(1000);
    for i in 0..1000 {
        let folder = format!("set/{}", i % 10);
        let reply = api
            .as_user(
                ALICE,
                Method::POST,
                "/api/uploads",
                Some(json!({"name": format!("f{i:04}.txt"), "size": 1, "folder": folder})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let id = reply.body["file"]["id"].as_str().unwrap().to_owned();
        api.meta
            .mark_ready(
                &UserId::parse(ALICE).unwrap(),
                &FileId::parse(&id).unwrap(),
                None,
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let reply = api.share_files(ALICE, json!({"file_ids": ids})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["file_count"], 1000);
    let token = reply.body["token"].as_str().unwrap();

    let started = std::time::Instant::now();
    let page = api
        .public_post(token, "files", Some(json!({"limit": 1000})))
        .await;
    let listed_in = started.elapsed();
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1000);
    assert!(page.body.get("next_cursor").is_none());
    let default_page = api.public_post(token, "files", None).await;
    assert_eq!(default_page.body["items"].as_array().unwrap().len(), 200);

    let started = std::time::Instant::now();
    let grant = api.public_post(token, "archive", None).await;
    let granted_in = started.elapsed();
    assert_eq!(grant.status, StatusCode::OK);
    assert_eq!(grant.body["files"].as_array().unwrap().len(), 1000);
    assert_eq!(grant.body["name"], "set.zip");
    assert_eq!(grant.body["files"][0]["path"], "set/0/f0000.txt");
    eprintln!(
        "1,000-file link (debug build, embedded store): files page {listed_in:?}, archive grant {granted_in:?}"
    );
}
