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

mod lifecycle;
mod refusals;

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
