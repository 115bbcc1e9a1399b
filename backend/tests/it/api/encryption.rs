//! Router tests of end-to-end encryption's server side: sealed metadata stored and handed back
//! untouched, never a plaintext name in the record or the log, no thumbnails, links marked
//! encrypted and never mixed. A child of `api`, so it uses the same `TestApi`.

use std::sync::Mutex;

use super::*;

/// Stands for a sealed blob: base64url, as the browser sends it.
const BLOB: &str = "c2VhbGVkLW1ldGFkYXRhLW9mLWEtdGVzdA_-AbCdEf0123";
/// A name only the browser knows; it must never reach the server's records or log.
const SECRET_NAME: &str = "Quarterly-Secret-Plan.pdf";

fn encrypted_upload(size: u64) -> Value {
    json!({"name": "encrypted", "size": size, "encrypted": {"meta": BLOB, "version": 1}})
}

/// Announces an encrypted upload of `size` bytes as ALICE; the new file's id.
async fn announce_encrypted(api: &TestApi, size: u64) -> String {
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(encrypted_upload(size)),
        )
        .await;
    reply.body["file"]["id"].as_str().unwrap().to_owned()
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every byte under `dir`, file by file (the metadata store's redb file among them).
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn an_encrypted_upload_keeps_no_plaintext_and_hands_its_blob_back_everywhere() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(ferry::local::log_filter(Some("debug")))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let api = spawn_api().await;

    // A client that would leak the name beside the sealed one is refused, and the name is not
    // echoed or logged.
    let leaky = json!({"name": SECRET_NAME, "size": 5, "encrypted": {"meta": BLOB, "version": 1}});
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let reply = api
            .as_user(ALICE, Method::POST, route, Some(leaky.clone()))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_encryption"),
            "{route}"
        );
        assert!(!reply.body.to_string().contains(SECRET_NAME));
    }

    let mut ids = Vec::new();
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let reply = api
            .as_user(ALICE, Method::POST, route, Some(encrypted_upload(500)))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{route}: {:?}",
            reply.body
        );
        let file = &reply.body["file"];
        assert_eq!(file["name"], "encrypted", "{route}");
        assert_eq!(file["content_type"], "application/octet-stream");
        assert!(file.get("folder").is_none());
        assert_eq!(file["encrypted"], json!({"meta": BLOB, "version": 1}));
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    let owner = UserId::parse(ALICE).unwrap();
    for id in &ids {
        let id = FileId::parse(id).unwrap();
        let record = api.meta.file(&owner, &id).await.unwrap().unwrap();
        assert_eq!(record.name.as_str(), "encrypted");
        assert_eq!(record.content_type.as_str(), "application/octet-stream");
        assert_eq!(record.encrypted.as_ref().map(|s| s.blob()), Some(BLOB));
        api.meta.mark_ready(&owner, &id, None).await.unwrap();
    }

    // The owner's list, the link, its public page, its files and its archive: the blob each time.
    let listed = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    for item in listed.body["items"].as_array().unwrap() {
        assert_eq!(item["encrypted"]["meta"], BLOB);
    }
    let link = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/shares",
            Some(json!({"file_ids": ids})),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{:?}", link.body);
    assert_eq!(link.body["encrypted"], true);
    let token = link.body["token"].as_str().unwrap();
    let page = api.view(token).await;
    assert_eq!(page.body["encrypted"], true);
    let files = api.public_post(token, "files", Some(json!({}))).await;
    for file in files.body["items"].as_array().unwrap() {
        assert_eq!(file["encrypted"]["meta"], BLOB, "{file}");
        assert!(file.get("thumbnail_url").is_none());
    }
    let archive = api.public_post(token, "archive", Some(json!({}))).await;
    for entry in archive.body["files"].as_array().unwrap() {
        assert_eq!(entry["encrypted"]["meta"], BLOB, "{entry}");
    }
    // A link of one encrypted file carries its blob on the page itself.
    let one = api.share(ALICE, &ids[0], json!({})).await;
    let page = api.view(&one).await;
    assert_eq!(page.body["encrypted"], true);
    assert_eq!(page.body["encrypted_meta"]["meta"], BLOB);
    assert_eq!(page.body["name"], "encrypted");

    // Neither the name nor the blob is in the log or in any stored byte.
    let log = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("upload issued"), "the log was captured: {log}");
    assert!(!log.contains(SECRET_NAME) && !log.contains(BLOB), "{log}");
    for (path, bytes) in files_under(api._dir.path()) {
        let leaked = bytes
            .windows(SECRET_NAME.len())
            .any(|w| w == SECRET_NAME.as_bytes());
        assert!(!leaked, "{} holds the name", path.display());
    }
}

#[tokio::test]
async fn sealed_metadata_is_checked_and_never_comes_with_plaintext() {
    let api = spawn_api().await;
    let too_long = "A".repeat(ferry_api::encryption::MAX_META_CHARS + 1);
    for encrypted in [
        json!({"meta": "", "version": 1}),
        json!({"meta": "ab+/", "version": 1}),
        json!({"meta": "abcd==", "version": 1}),
        json!({"meta": too_long, "version": 1}),
        json!({"meta": BLOB, "version": 2}),
    ] {
        let body = json!({"name": "encrypted", "size": 5, "encrypted": encrypted});
        let reply = api
            .as_user(ALICE, Method::POST, "/api/uploads", Some(body))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_encryption"),
            "{encrypted}"
        );
    }
    for beside in [
        json!({"folder": "photos"}),
        json!({"content_type": "image/png"}),
        json!({"name": "photo.png"}),
    ] {
        let mut body = encrypted_upload(5);
        for (k, v) in beside.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = api
            .as_user(ALICE, Method::POST, "/api/uploads", Some(body))
            .await;
        assert_eq!(reply.code(), "invalid_encryption", "{beside}");
    }
    // The neutral type and an empty folder are what an encrypted upload may say.
    let mut body = encrypted_upload(5);
    body["content_type"] = json!("application/octet-stream");
    body["folder"] = json!("");
    let reply = api
        .as_user(ALICE, Method::POST, "/api/uploads", Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    // A plain upload answers without `encrypted`, and its link is not marked.
    let plain = api.ready_file(ALICE, "plain.txt", 5).await;
    let token = api.share(ALICE, &plain, json!({})).await;
    assert!(api.view(&token).await.body.get("encrypted").is_none());
    let listed = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    let plain_item = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == plain.as_str())
        .unwrap();
    assert!(plain_item.get("encrypted").is_none());
}

#[tokio::test]
async fn a_link_never_mixes_encrypted_and_plain_files() {
    let api = spawn_api().await;
    let plain = api.ready_file(ALICE, "plain.txt", 5).await;
    let sealed = announce_encrypted(&api, 5).await;
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/shares",
            Some(json!({"file_ids": [plain, sealed]})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "mixed_encryption")
    );
}

#[tokio::test]
async fn encrypted_images_get_no_thumbnail_and_the_openapi_document_describes_the_blob() {
    let api = spawn_api().await;
    let owner = UserId::parse(ALICE).unwrap();
    let id = FileId::parse(&announce_encrypted(&api, 5).await).unwrap();
    let mut record = api.meta.file(&owner, &id).await.unwrap().unwrap();
    // Even if its record said image/png, its bytes would not be decoded.
    record.content_type = ferry::domain::ContentType::parse("image/png").unwrap();
    assert!(!ferry::thumbnail::wanted(&record, u64::MAX));
    record.encrypted = None;
    assert!(ferry::thumbnail::wanted(&record, u64::MAX));

    let doc = api
        .send(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    let schemas = &doc["components"]["schemas"];
    let meta = &schemas["EncryptedMeta"]["properties"];
    assert_eq!(meta["meta"]["maxLength"], 5464);
    assert_eq!(meta["version"]["maximum"], 1);
    assert!(
        schemas["CreateUpload"]["properties"]
            .get("encrypted")
            .is_some()
    );
    assert!(
        schemas["PublicShare"]["properties"]
            .get("encrypted")
            .is_some()
    );
}

#[tokio::test]
async fn a_sealed_thumbnail_is_granted_only_for_the_owners_encrypted_file_within_64_kib() {
    let api = spawn_api().await;
    let owner = UserId::parse(ALICE).unwrap();
    let id = announce_encrypted(&api, 5).await;
    let plain = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "a.png", "size": 5, "content_type": "image/png"})),
        )
        .await;
    let plain_id = plain.body["file"]["id"].as_str().unwrap().to_owned();
    let route = |id: &str| format!("/api/files/{id}/thumbnail");

    // Another user's file, a plain file, and sizes outside 1..=64 KiB are refused.
    let bob = api
        .as_user(BOB, Method::POST, &route(&id), Some(json!({"size": 10})))
        .await;
    assert_eq!(
        (bob.status, bob.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            &route(&plain_id),
            Some(json!({"size": 10})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "not_encrypted")
    );
    for size in [json!(0), json!(65_537), json!(-1), json!("10")] {
        let reply = api
            .as_user(
                ALICE,
                Method::POST,
                &route(&id),
                Some(json!({"size": size})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{size}: {:?}",
            reply.body
        );
    }
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            &route(&id),
            Some(json!({"size": 65_537})),
        )
        .await;
    assert_eq!(reply.code(), "invalid_thumbnail");
    let unauthenticated = api
        .send(Method::POST, &route(&id), None, Some(json!({"size": 10})))
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    // The grant: a PUT of exactly that many bytes, to the file's thumbnail key.
    let grant = api
        .as_user(ALICE, Method::POST, &route(&id), Some(json!({"size": 10})))
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.body);
    assert_eq!(grant.body["method"], "PUT");
    let mut put = reqwest::Client::new().put(grant.body["url"].as_str().unwrap());
    for header in grant.body["headers"].as_array().unwrap() {
        put = put.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    let longer = put
        .try_clone()
        .unwrap()
        .body(vec![7u8; 11])
        .send()
        .await
        .unwrap();
    assert!(!longer.status().is_success(), "{}", longer.status());
    let sent = put.body(vec![7u8; 10]).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::OK);

    // Listed with a URL of those sealed bytes, on the owner's list and the link's files.
    let record = api
        .meta
        .file(&owner, &FileId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(record.thumbnail_key.is_some());
    api.meta.mark_ready(&owner, &record.id, None).await.unwrap();
    let listed = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    let item = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .unwrap()
        .clone();
    let url = item["thumbnail_url"].as_str().unwrap();
    let got = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], &[7u8; 10][..]);
    let token = api.share(ALICE, &id, json!({})).await;
    let files = api.public_post(&token, "files", Some(json!({}))).await;
    assert!(
        files.body["items"][0]["thumbnail_url"].is_string(),
        "{:?}",
        files.body
    );

    let doc = api
        .send(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    assert!(doc["paths"]["/api/files/{id}/thumbnail"]["post"].is_object());
    assert_eq!(
        doc["components"]["schemas"]["SealedThumbnail"]["properties"]["size"]["maximum"],
        65536
    );
}

/// Stores `sealed` as the sealed thumbnail of ALICE's encrypted file `id` (grant, then PUT),
/// and marks the file ready.
async fn store_sealed_thumbnail(api: &TestApi, id: &str, sealed: &[u8]) {
    let route = format!("/api/files/{id}/thumbnail");
    let grant = api
        .as_user(
            ALICE,
            Method::POST,
            &route,
            Some(json!({"size": sealed.len()})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.body);
    let mut put = reqwest::Client::new().put(grant.body["url"].as_str().unwrap());
    for header in grant.body["headers"].as_array().unwrap() {
        put = put.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    let sent = put.body(sealed.to_vec()).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let owner = UserId::parse(ALICE).unwrap();
    api.meta
        .mark_ready(&owner, &FileId::parse(id).unwrap(), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn recipients_get_the_sealed_thumbnails_of_the_links_files_only_as_downloads_are_authorised_and_uncounted()
 {
    let api = spawn_api().await;
    let shared = announce_encrypted(&api, 5).await;
    let other = announce_encrypted(&api, 5).await;
    store_sealed_thumbnail(&api, &shared, &[1u8; 40]).await;
    store_sealed_thumbnail(&api, &other, &[2u8; 40]).await;
    let token = api
        .share(
            ALICE,
            &shared,
            json!({"max_downloads": 1, "password": "correct horse"}),
        )
        .await;

    // Without the link's password, or with a wrong one, no file and no thumbnail URL.
    for (body, code) in [
        (json!({}), "password_required"),
        (json!({"password": "nope nope"}), "wrong_password"),
    ] {
        let refused = api.public_post(&token, "files", Some(body)).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::FORBIDDEN, code)
        );
        assert!(refused.body.get("items").is_none());
    }

    // With it: the one file of the link, with a URL of its sealed bytes as stored; the owner's
    // other encrypted file, not in the link, is neither listed nor its thumbnail handed out.
    let listed = api
        .public_post(&token, "files", Some(json!({"password": "correct horse"})))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], shared.as_str());
    assert!(items[0]["encrypted"]["meta"].is_string());
    let url = items[0]["thumbnail_url"].as_str().unwrap();
    assert!(url.contains(&shared) && !url.contains(&other), "{url}");
    assert!(!listed.body.to_string().contains(&other));
    for _ in 0..3 {
        let got = reqwest::get(url).await.unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(&got.bytes().await.unwrap()[..], &[1u8; 40][..]);
    }

    // Listing and fetching thumbnails counted nothing: the link's one download is still there.
    let unlocked = api
        .public_post(&token, "unlock", Some(json!({"password": "correct horse"})))
        .await;
    assert_eq!(unlocked.body["downloads_left"], 1, "{:?}", unlocked.body);
    let download = api
        .public_post(
            &token,
            "download",
            Some(json!({"password": "correct horse", "file_id": shared})),
        )
        .await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);

    // A link that can no longer be downloaded hands out no thumbnail either.
    let used_up = api
        .public_post(&token, "files", Some(json!({"password": "correct horse"})))
        .await;
    assert_eq!(
        (used_up.status, used_up.code()),
        (StatusCode::GONE, "share_exhausted")
    );
    let open = api.share(ALICE, &shared, json!({})).await;
    let revoke = api
        .as_user(ALICE, Method::DELETE, &format!("/api/shares/{open}"), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let revoked = api.public_post(&open, "files", Some(json!({}))).await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::GONE, "share_revoked")
    );
}
