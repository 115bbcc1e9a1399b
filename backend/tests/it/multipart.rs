//! Multipart uploads end to end on the local stack (`ferry serve` on free ports): the API hands
//! out part URLs, the embedded S3 endpoint verifies each part's SHA-256, completion is checked
//! against ListParts, and the upload survives expired URLs, missing parts and a lost client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::local::{Api, http, s3_refusal, sample, start_in, start_on_clock};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry::config::Limits;
use ferry::ports::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const MIB: usize = 1 << 20;
/// Three parts of 8 MiB, 8 MiB and 1 MiB + 123 bytes.
const FILE_LEN: usize = 17 * MIB + 123;

fn sha256_b64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// S3's composite checksum: SHA-256 over the parts' binary digests, then `-{parts}`.
fn composite(parts: &[&[u8]]) -> String {
    let mut outer = Sha256::new();
    for part in parts {
        outer.update(Sha256::digest(part));
    }
    format!("{}-{}", STANDARD.encode(outer.finalize()), parts.len())
}

/// The multipart routes, beside the shared helpers.
impl Api<'_> {
    /// Starts a multipart upload; returns the file id and the part size.
    async fn start(&self, name: &str, size: usize) -> (String, usize) {
        let (status, ticket) = self
            .call(
                Method::POST,
                "/api/uploads/multipart",
                Some(
                    json!({"name": name, "size": size, "content_type": "application/octet-stream"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        assert_eq!(ticket["file"]["status"], "pending");
        let part_size = ticket["part_size"].as_u64().unwrap() as usize;
        (ticket["file"]["id"].as_str().unwrap().to_owned(), part_size)
    }

    /// Part URLs for `(number, sha256)` pairs.
    async fn part_urls(&self, id: &str, parts: &[(usize, String)]) -> (StatusCode, Value) {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, sha)| json!({"number": number, "sha256": sha}))
            .collect();
        self.call(
            Method::POST,
            &format!("/api/files/{id}/parts"),
            Some(json!({ "parts": parts })),
        )
        .await
    }

    async fn complete(&self, id: &str, parts: &[(usize, String, String)]) -> (StatusCode, Value) {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, etag, sha)| json!({"number": number, "etag": etag, "sha256": sha}))
            .collect();
        self.call(
            Method::POST,
            &format!("/api/files/{id}/complete"),
            Some(json!({ "parts": parts })),
        )
        .await
    }
}

/// A browser's view of one file being uploaded: its bytes cut into parts, and a count of the
/// part PUTs it sent.
struct Uploader<'a> {
    bytes: &'a [u8],
    part_size: usize,
    puts: AtomicUsize,
}

impl<'a> Uploader<'a> {
    fn new(bytes: &'a [u8], part_size: usize) -> Self {
        Self {
            bytes,
            part_size,
            puts: AtomicUsize::new(0),
        }
    }

    fn part(&self, number: usize) -> &'a [u8] {
        let start = (number - 1) * self.part_size;
        &self.bytes[start..(start + self.part_size).min(self.bytes.len())]
    }

    fn count(&self) -> usize {
        self.bytes.len().div_ceil(self.part_size)
    }

    fn checksum(&self, number: usize) -> (usize, String) {
        (number, sha256_b64(self.part(number)))
    }

    /// PUTs `body` to a part URL with its signed headers.
    async fn put(&self, url: &Value, body: &[u8]) -> reqwest::Response {
        self.puts.fetch_add(1, Ordering::SeqCst);
        let mut req = http().put(url["url"].as_str().unwrap());
        for header in url["headers"].as_array().unwrap() {
            req = req.header(
                header["name"].as_str().unwrap(),
                header["value"].as_str().unwrap(),
            );
        }
        req.body(body.to_vec()).send().await.unwrap()
    }

    /// Gets URLs for `numbers` and sends those parts; returns `(number, etag, sha256)` each.
    async fn send(
        &self,
        api: &Api<'_>,
        id: &str,
        numbers: &[usize],
    ) -> Vec<(usize, String, String)> {
        let sums: Vec<(usize, String)> = numbers.iter().map(|&n| self.checksum(n)).collect();
        let (status, urls) = api.part_urls(id, &sums).await;
        assert_eq!(status, StatusCode::OK, "{urls}");
        let mut sent = Vec::new();
        for (url, (number, sha)) in urls["parts"].as_array().unwrap().iter().zip(sums) {
            assert_eq!(url["number"], number);
            let res = self.put(url, self.part(number)).await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "part {number}: {:?}",
                res.text().await
            );
            let etag = res.headers()["etag"].to_str().unwrap().to_owned();
            assert_eq!(
                res.headers()["x-amz-checksum-sha256"].to_str().unwrap(),
                sha,
                "the endpoint echoes the verified checksum"
            );
            sent.push((number, etag, sha));
        }
        sent
    }
}

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

#[tokio::test]
async fn completing_again_settles_an_upload_whose_event_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    // The process that assembled the object stopped before handling its object-created event.
    let stack = ferry::local::start_losing_object_events(ferry::local::LocalOptions {
        port: 0,
        s3_port: 0,
        data_dir: dir.path().to_path_buf(),
        site_dir: dir.path().join("site"),
        ..Default::default()
    })
    .await
    .unwrap();
    let api = Api::new_user(&stack, "lost@example.com").await;
    let bytes = sample(FILE_LEN);
    let (id, part_size) = api.start("big.bin", bytes.len()).await;
    let uploader = Uploader::new(&bytes, part_size);
    let sent = uploader.send(&api, &id, &[1, 2, 3]).await;
    let (status, file) = api.complete(&id, &sent).await;
    assert_eq!(
        (status, &file["status"]),
        (StatusCode::OK, &json!("pending"))
    );

    // The client did not hear back and completes again: the object is there, so the handler
    // runs and the answer is the settled file.
    let (status, file) = api.complete(&id, &sent).await;
    assert_eq!((status, &file["status"]), (StatusCode::OK, &json!("ready")));
    assert!(api.download(&id).await == bytes, "downloaded bytes differ");
    stack.shutdown().await;
}

/// A guest's call to a file request's route, with their key in `x-ferry-guest`.
async fn as_guest(
    stack: &ferry::local::LocalStack,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http().request(method, format!("{}{path}", stack.url()));
    if let Some(key) = key {
        req = req.header("x-ferry-guest", key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_guest_sends_files_through_a_request_and_the_owner_receives_them() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let owner = Api::new_user(&stack, "owner@example.com").await;
    let (status, request) = owner
        .call(
            Method::POST,
            "/api/requests",
            Some(json!({"title": "Scans", "max_files": 3, "max_bytes": 64 * MIB})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let base = format!(
        "/api/public/requests/{}",
        request["token"].as_str().unwrap()
    );
    let (status, session) = as_guest(
        &stack,
        None,
        Method::POST,
        &format!("{base}/sessions"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let key = session["guest_key"].as_str().unwrap();

    // A multipart file, through the guest routes and the presigned part URLs.
    let bytes = sample(FILE_LEN);
    let (status, ticket) = as_guest(
        &stack,
        Some(key),
        Method::POST,
        &format!("{base}/uploads/multipart"),
        Some(json!({"name": "big.bin", "size": bytes.len(), "folder": "scans"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["file"]["id"].as_str().unwrap().to_owned();
    let uploader = Uploader::new(&bytes, ticket["part_size"].as_u64().unwrap() as usize);
    let sums: Vec<Value> = (1..=uploader.count())
        .map(|n| {
            let (number, sha) = uploader.checksum(n);
            json!({"number": number, "sha256": sha})
        })
        .collect();
    let (status, urls) = as_guest(
        &stack,
        Some(key),
        Method::POST,
        &format!("{base}/files/{id}/parts"),
        Some(json!({"parts": sums})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{urls}");
    let mut completed = Vec::new();
    for url in urls["parts"].as_array().unwrap() {
        let number = url["number"].as_u64().unwrap() as usize;
        let res = uploader.put(url, uploader.part(number)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        completed
            .push(json!({"number": number, "etag": etag, "sha256": uploader.checksum(number).1}));
    }
    let (status, listed) = as_guest(
        &stack,
        Some(key),
        Method::GET,
        &format!("{base}/files/{id}/parts"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["parts"].as_array().unwrap().len(), uploader.count());
    let (status, done) = as_guest(
        &stack,
        Some(key),
        Method::POST,
        &format!("{base}/files/{id}/complete"),
        Some(json!({"parts": completed})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["folder"], "scans");

    // A small one with a single presigned PUT.
    let small = sample(1000);
    let (status, single) = as_guest(
        &stack,
        Some(key),
        Method::POST,
        &format!("{base}/uploads"),
        Some(json!({"name": "note.txt", "size": small.len(), "content_type": "text/plain"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    let res = crate::support::local::presigned(&single["upload"])
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let small_id = single["file"]["id"].as_str().unwrap();

    // The owner has both, ready, marked with the request, byte identical.
    let file = owner.wait_until(&id, "ready").await;
    assert_eq!(file["request"]["title"], "Scans");
    assert!(
        owner.download(&id).await == bytes,
        "downloaded bytes differ"
    );
    owner.wait_until(small_id, "ready").await;
    assert_eq!(owner.download(small_id).await, small);
    let (_, sent) = as_guest(
        &stack,
        Some(key),
        Method::GET,
        &format!("{base}/files"),
        None,
    )
    .await;
    let statuses: Vec<&Value> = sent["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["status"])
        .collect();
    assert_eq!(statuses, [&json!("ready"), &json!("ready")]);
    let (_, request) = owner
        .call(
            Method::GET,
            &format!("/api/requests/{}", request["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(request["files_received"], 2);
    assert_eq!(request["bytes_received"], FILE_LEN + 1000);
    stack.shutdown().await;
}
