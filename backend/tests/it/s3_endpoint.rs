//! The embedded S3-compatible endpoint, driven over HTTP through the aws-sdk-s3 adapter and
//! plain HTTP requests, the way the browser and the backend use it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use ferry::adapters::local::s3_endpoint::{self, ObjectCreatedHook, S3Endpoint, S3EndpointConfig};
use ferry::adapters::s3::{S3ObjectStore, local_client};
use ferry::ports::{ObjectStore, PresignedRequest, StorageError};
use reqwest::StatusCode;
use tokio::sync::mpsc;

const BUCKET: &str = "ferry-files";
const ACCESS_KEY: &str = "ferry-local-access-key";
const SECRET_KEY: &str = "ferry-local-secret-key";
const REGION: &str = "us-east-1";
const ORIGIN: &str = "http://127.0.0.1:8080";
const MINUTE: Duration = Duration::from_secs(60);

struct TestS3 {
    endpoint: S3Endpoint,
    store: S3ObjectStore,
    client: aws_sdk_s3::Client,
    http: reqwest::Client,
    created: mpsc::UnboundedReceiver<String>,
    _dir: tempfile::TempDir,
}

/// The test endpoint's settings: a loopback port of its own, storage under `dir`.
fn endpoint_config(
    dir: &tempfile::TempDir,
    allowed_origins: Vec<String>,
    limits: ferry::serve_loop::ServeLimits,
) -> S3EndpointConfig {
    S3EndpointConfig {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        root: dir.path().to_path_buf(),
        bucket: BUCKET.to_owned(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.to_owned(),
        allowed_origins,
        limits,
    }
}

async fn spawn_s3() -> TestS3 {
    spawn_s3_in(tempfile::tempdir().expect("tempdir")).await
}

/// An endpoint over `dir`, which may hold what an earlier one left.
async fn spawn_s3_in(dir: tempfile::TempDir) -> TestS3 {
    let (tx, created) = mpsc::unbounded_channel();
    let hook: ObjectCreatedHook = Arc::new(move |key: String| {
        let tx = tx.clone();
        Box::pin(async move {
            let _ = tx.send(key);
        })
    });
    let endpoint = s3_endpoint::start(
        endpoint_config(&dir, vec![ORIGIN.to_owned()], Default::default()),
        hook,
    )
    .await
    .expect("endpoint starts");
    let client = local_client(&endpoint.url(), ACCESS_KEY, SECRET_KEY, REGION);
    TestS3 {
        store: S3ObjectStore::new(client.clone(), BUCKET),
        client,
        http: reqwest::Client::new(),
        created,
        endpoint,
        _dir: dir,
    }
}

impl TestS3 {
    /// Sends a presigned request as a browser would: the returned headers plus the body.
    async fn send(
        &self,
        request: &PresignedRequest,
        body: impl Into<Vec<u8>>,
    ) -> reqwest::Response {
        let method = request.method.parse().expect("method");
        let mut builder = self.http.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(body.into())
            .send()
            .await
            .expect("request sent")
    }

    async fn next_created(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(5), self.created.recv())
            .await
            .expect("object-created hook fired in time")
            .expect("hook channel open")
    }
}

/// The S3 error code of a refused request.
async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body = response.text().await.expect("error body");
    let code = body
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| format!("no code in {body:?}"));
    (status, code)
}

/// One HTTP/1.1 exchange over a bare socket, for requests no HTTP client library would send.
async fn raw_exchange(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

fn replace_once(url: &str, from: &str, to: &str) -> String {
    assert!(url.contains(from), "{from:?} not in {url}");
    url.replacen(from, to, 1)
}

/// `request` with the first hex digit of its signature changed.
fn with_another_signature(request: &PresignedRequest) -> PresignedRequest {
    let (_, signature) = request
        .url
        .split_once("X-Amz-Signature=")
        .expect("signature");
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    PresignedRequest {
        url: replace_once(
            &request.url,
            &format!("X-Amz-Signature={}", &signature[..1]),
            &format!("X-Amz-Signature={flipped}"),
        ),
        ..request.clone()
    }
}

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
    let (status, code) = error_code(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
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
    let (status, code) = error_code(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    let bytes = s3
        .store
        .get("files/u1/f4", 16)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(&bytes[..], b"old", "the expired PUT changed nothing");

    // And one that simply runs out while waiting.
    let short = s3
        .store
        .presign_get("files/u1/f4", "attachment", Duration::from_secs(1))
        .await
        .expect("presign");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, code) = error_code(s3.send(&short, b"").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
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
async fn completed_multipart_uploads_are_reported() {
    const PART: &[u8] = b"PK\x03\x04 the only part";
    let mut s3 = spawn_s3().await;
    let key = "files/u1/big";
    let upload = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .content_type("application/zip")
        .send()
        .await
        .expect("create");
    let upload_id = upload.upload_id().expect("upload id");

    let part = s3
        .client
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(PART))
        .send()
        .await
        .expect("upload part");
    let etag = part.e_tag().expect("part etag").to_owned();

    let parts = s3
        .client
        .list_parts()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(parts.parts().len(), 1);

    assert_eq!(
        s3.store.head(key).await.expect("head"),
        None,
        "not visible before completion"
    );
    s3.client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .expect("complete");

    assert_eq!(s3.next_created().await, key);
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert_eq!(info.size, PART.len() as u64);

    // An aborted upload leaves nothing and reports nothing.
    let aborted = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("files/u1/aborted")
        .send()
        .await
        .expect("create");
    s3.client
        .abort_multipart_upload()
        .bucket(BUCKET)
        .key("files/u1/aborted")
        .upload_id(aborted.upload_id().expect("upload id"))
        .send()
        .await
        .expect("abort");
    assert_eq!(s3.store.head("files/u1/aborted").await.expect("head"), None);
    assert!(s3.created.try_recv().is_err());
}

#[tokio::test]
async fn cors_preflight_allows_the_site_and_exposes_etag() {
    let s3 = spawn_s3().await;
    let upload = s3
        .store
        .presign_put("files/u1/f8", 2, "text/plain", None, MINUTE)
        .await
        .expect("presign");

    let preflight = s3
        .http
        .request(reqwest::Method::OPTIONS, &upload.url)
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-checksum-crc32",
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(
        preflight.status(),
        StatusCode::OK,
        "answered without a signature"
    );
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    for method in ["GET", "PUT", "HEAD", "POST", "DELETE"] {
        assert!(methods.contains(method), "{method} not in {methods}");
    }
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii");
    assert!(
        allowed.contains("content-type") && allowed.contains("x-amz-checksum-crc32"),
        "{allowed}"
    );

    let response = s3
        .http
        .put(&upload.url)
        .header("origin", ORIGIN)
        .header("content-type", "text/plain")
        .header("if-none-match", "*")
        .body(&b"hi"[..])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.to_ascii_lowercase().contains("etag"), "{exposed}");

    let foreign = s3
        .http
        .request(reqwest::Method::OPTIONS, &upload.url)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .expect("sent");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn shutdown_stops_listening_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = endpoint_config(&dir, vec![], Default::default());
    let ignore: ObjectCreatedHook = Arc::new(|_key| Box::pin(async {}));

    let first = s3_endpoint::start(config.clone(), ignore.clone())
        .await
        .expect("start");
    let addr = first.local_addr();
    let store = S3ObjectStore::new(
        local_client(&first.url(), ACCESS_KEY, SECRET_KEY, REGION),
        BUCKET,
    );
    store
        .put("files/u1/kept", Bytes::from_static(b"kept"), "text/plain")
        .await
        .expect("put");
    first.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );

    let second = s3_endpoint::start(config, ignore).await.expect("restart");
    let store = S3ObjectStore::new(
        local_client(&second.url(), ACCESS_KEY, SECRET_KEY, REGION),
        BUCKET,
    );
    let bytes = store
        .get("files/u1/kept", 16)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(&bytes[..], b"kept");
}

/// The head of `request` (a presigned PUT to `endpoint`) as sent to `addr` over a bare socket,
/// announcing a body of `length` bytes.
fn put_head(addr: SocketAddr, request: &PresignedRequest, endpoint: &str, length: usize) -> String {
    let target = request.url.trim_start_matches(endpoint);
    let mut head = format!(
        "PUT {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {length}\r\nconnection: close\r\n"
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Sends the head of a request announcing `length` bytes and only `sent` of them, then closes
/// the sending side as a client that pauses or reloads mid-upload does; returns what the
/// endpoint answered.
async fn broken_off_exchange(
    addr: SocketAddr,
    request: &PresignedRequest,
    endpoint: &str,
    length: usize,
    sent: &[u8],
) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let head = put_head(addr, request, endpoint, length);
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("write head");
    socket.write_all(sent).await.expect("write body");
    socket.shutdown().await.expect("half-close");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_breaks_off_is_the_clients_error_and_leaves_nothing() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let s3 = spawn_s3().await;
    let addr = s3.endpoint.local_addr();
    let url = s3.endpoint.url();

    let put = s3
        .store
        .presign_put("files/u1/cut", 10, "application/octet-stream", None, MINUTE)
        .await
        .expect("presign");
    let answer = broken_off_exchange(addr, &put, &url, 10, b"0123").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>IncompleteBody</Code>"), "{answer}");
    assert_eq!(s3.store.head("files/u1/cut").await.expect("head"), None);

    let key = "files/u1/cut-parts";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let part = vec![7u8; 1000];
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&part));
    let request = s3
        .store
        .presign_upload_part(key, &upload_id, 1, 1000, &sha, MINUTE)
        .await
        .expect("presign part");
    let answer = broken_off_exchange(addr, &request, &url, 1000, &part[..300]).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>IncompleteBody</Code>"), "{answer}");
    assert!(
        s3.store
            .list_parts(key, &upload_id)
            .await
            .expect("list")
            .is_empty()
    );
    let leftovers: Vec<String> = std::fs::read_dir(s3._dir.path())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The whole part still goes through afterwards.
    let response = s3.send(&request, part).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Parts of S3's smallest size (5 MiB; Ferry's are 8 to 32 MiB): each fills a slot of the
/// assembly file.
const SLOT: usize = 5 << 20;

fn sha256_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

impl TestS3 {
    /// PUTs `bytes` as part `number` through a presigned URL; returns the ETag.
    async fn put_part(&self, key: &str, upload_id: &str, number: u32, bytes: &[u8]) -> String {
        let response = self
            .put_part_claiming(key, upload_id, number, bytes, bytes)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "part {number}");
        response.headers()["etag"]
            .to_str()
            .expect("etag")
            .to_owned()
    }

    async fn complete(&self, key: &str, upload_id: &str, parts: &[(u32, String, &[u8])]) {
        let parts: Vec<ferry::ports::PartToComplete> = parts
            .iter()
            .map(|(number, etag, bytes)| ferry::ports::PartToComplete {
                number: *number,
                etag: etag.clone(),
                sha256: sha256_b64(bytes),
            })
            .collect();
        self.store
            .complete_multipart_upload(key, upload_id, &parts)
            .await
            .expect("complete");
    }

    /// Names in the data directory (beside the bucket) that belong to `upload_id`.
    fn upload_files(&self, upload_id: &str) -> Vec<String> {
        std::fs::read_dir(self._dir.path())
            .expect("data dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(upload_id))
            .collect()
    }

    fn object_path(&self, key: &str) -> std::path::PathBuf {
        self._dir.path().join(BUCKET).join(key)
    }
}

/// A part of `len` bytes that differs from every other part of the test.
fn part_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add((i % 251) as u8))
        .collect()
}

#[tokio::test]
async fn parts_land_in_their_slots_and_complete_without_a_copy() {
    use std::os::unix::fs::MetadataExt as _;
    let mut s3 = spawn_s3().await;
    let key = "files/u1/slotted";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(3, 1234),
    );
    // Out of order (one at a time here; parallel sends arrive in any order).
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.number, p.size))
            .collect::<Vec<_>>(),
        [(1, SLOT as u64), (2, SLOT as u64), (3, 1234)]
    );
    // Every part went into the one assembly file: no file per part.
    let files = s3.upload_files(&upload_id);
    assert!(!files.iter().any(|f| f.contains(".part-")), "{files:?}");
    let assembly = files
        .iter()
        .find(|f| f.ends_with(".ferry-object"))
        .map(|f| s3._dir.path().join(f))
        .unwrap_or_else(|| panic!("no assembly file in {files:?}"));
    let inode = std::fs::metadata(&assembly).expect("assembly").ino();

    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    let object = s3.object_path(key);
    // Renamed into place, not copied.
    assert_eq!(std::fs::metadata(&object).expect("object").ino(), inode);
    let expected = [one, two, three].concat();
    assert!(std::fs::read(&object).expect("object") == expected);
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert_eq!(info.size, expected.len() as u64);
    assert!(info.sha256.expect("checksum").ends_with("-3"));
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

impl TestS3 {
    /// PUTs `bytes` as part `number` with the checksum of `claimed`: refused unless they match.
    async fn put_part_claiming(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        claimed: &[u8],
        bytes: &[u8],
    ) -> reqwest::Response {
        let request = self
            .store
            .presign_upload_part(
                key,
                upload_id,
                number,
                bytes.len() as u64,
                &sha256_b64(claimed),
                MINUTE,
            )
            .await
            .expect("presign");
        self.send(&request, bytes.to_vec()).await
    }

    /// Stops this endpoint and starts another over the same data.
    async fn restart(self) -> TestS3 {
        let TestS3 { endpoint, _dir, .. } = self;
        endpoint.shutdown().await;
        spawn_s3_in(_dir).await
    }
}

#[tokio::test]
async fn a_refused_copy_of_a_part_never_replaces_the_stored_one() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/kept";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, bad, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(9, SLOT),
        part_bytes(3, 10),
    );
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    // Other bytes than the checksum says, for the part already in its slot: refused.
    let refused = s3.put_part_claiming(key, &upload_id, 2, &two, &bad).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::BAD_REQUEST, "BadDigest".to_owned())
    );
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two, three].concat());
    assert!(s3.upload_files(&upload_id).is_empty());
}

#[tokio::test]
async fn a_part_refused_in_its_slot_then_sent_again_twice_keeps_the_last_copy() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/resent";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, two_again, bad, three) = (
        part_bytes(1, SLOT),
        part_bytes(2, SLOT),
        part_bytes(22, SLOT),
        part_bytes(9, SLOT),
        part_bytes(3, 10),
    );
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    // The first copy of part 2 goes to its free slot and is refused there...
    let refused = s3.put_part_claiming(key, &upload_id, 2, &two, &bad).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::BAD_REQUEST, "BadDigest".to_owned())
    );
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(listed.iter().map(|p| p.number).collect::<Vec<_>>(), [1]);
    // ...so the next one takes the slot; one more with other bytes goes elsewhere, and wins,
    // as on S3.
    let _first = s3.put_part(key, &upload_id, 2, &two).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two_again).await;
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two_again), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(
        std::fs::read(s3.object_path(key)).expect("object") == [one, two_again, three].concat()
    );
    assert!(s3.upload_files(&upload_id).is_empty());
}

#[tokio::test]
async fn parts_in_their_slots_survive_a_restart() {
    use std::os::unix::fs::MetadataExt as _;
    let s3 = spawn_s3().await;
    let key = "files/u1/restarted";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (part_bytes(1, SLOT), part_bytes(2, SLOT), part_bytes(3, 77));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    let mut s3 = s3.restart().await;
    let listed = s3.store.list_parts(key, &upload_id).await.expect("list");
    assert_eq!(listed.len(), 2);
    // The stride was recorded: the last part still goes to its slot after the restart.
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let assembly = s3
        .upload_files(&upload_id)
        .into_iter()
        .find(|f| f.ends_with(".ferry-object"))
        .map(|f| s3._dir.path().join(f))
        .expect("assembly file");
    let inode = std::fs::metadata(&assembly).expect("assembly").ino();
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    let object = s3.object_path(key);
    assert_eq!(std::fs::metadata(&object).expect("object").ino(), inode);
    assert!(std::fs::read(&object).expect("object") == [one, two, three].concat());
}

#[tokio::test]
async fn a_part_hanging_mid_body_neither_blocks_completion_nor_lands_after_it() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s3 = spawn_s3().await;
    let key = "files/u1/hanging";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, four) = (part_bytes(1, SLOT), part_bytes(2, 100), part_bytes(4, SLOT));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;

    // A client starts part 4 and stalls half-way, its connection open (a laptop gone to sleep).
    let request = s3
        .store
        .presign_upload_part(key, &upload_id, 4, SLOT as u64, &sha256_b64(&four), MINUTE)
        .await
        .expect("presign");
    let addr = s3.endpoint.local_addr();
    let head = put_head(addr, &request, &s3.endpoint.url(), SLOT);
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("head");
    socket.write_all(&four[..SLOT / 2]).await.expect("half");
    // Until the endpoint has begun writing it into its slot.
    let mut writing = false;
    for _ in 0..250 {
        let assembly_len = s3
            .upload_files(&upload_id)
            .iter()
            .find(|f| f.ends_with(".ferry-object"))
            .and_then(|f| std::fs::metadata(s3._dir.path().join(f)).ok())
            .map_or(0, |m| m.len());
        if assembly_len > (3 * SLOT) as u64 {
            writing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(writing, "part 4 never reached its slot");

    // Completing parts 1 and 2 does not wait for it.
    tokio::time::timeout(
        Duration::from_secs(5),
        s3.complete(key, &upload_id, &[(1, e1, &one), (2, e2, &two)]),
    )
    .await
    .expect("completion does not wait for a part in flight");
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two].concat());

    // When the stalled part finally arrives, the upload is gone and the object untouched.
    socket.write_all(&four[SLOT / 2..]).await.expect("rest");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("<Code>NoSuchUpload</Code>"), "{answer}");
    assert_eq!(
        std::fs::metadata(s3.object_path(key))
            .expect("object")
            .len(),
        (SLOT + 100) as u64
    );
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

#[tokio::test]
async fn parts_of_uneven_sizes_are_assembled_by_copy() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/uneven";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    // The last part arrives first and sets the stride; the longer ones cannot use its slots.
    let (one, two, three) = (
        part_bytes(1, SLOT + 100),
        part_bytes(2, SLOT + 100),
        part_bytes(3, SLOT),
    );
    let e3 = s3.put_part(key, &upload_id, 3, &three).await;
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    s3.complete(
        key,
        &upload_id,
        &[(1, e1, &one), (2, e2, &two), (3, e3, &three)],
    )
    .await;
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two, three].concat());
    assert!(s3.upload_files(&upload_id).is_empty());

    // An aborted upload takes its assembly file along.
    let aborted = s3
        .store
        .create_multipart_upload("files/u1/dropped", "application/octet-stream")
        .await
        .expect("create");
    s3.put_part("files/u1/dropped", &aborted, 1, &part_bytes(4, SLOT))
        .await;
    assert!(!s3.upload_files(&aborted).is_empty());
    s3.store
        .abort_multipart_upload("files/u1/dropped", &aborted)
        .await
        .expect("abort");
    assert!(
        s3.upload_files(&aborted).is_empty(),
        "{:?}",
        s3.upload_files(&aborted)
    );
}

#[tokio::test]
async fn a_conditional_completion_reads_the_parts_out_of_their_slots() {
    let mut s3 = spawn_s3().await;
    let key = "files/u1/conditional";
    let upload_id = s3
        .store
        .create_multipart_upload(key, "application/octet-stream")
        .await
        .expect("create");
    let (one, two, three) = (part_bytes(1, SLOT), part_bytes(2, 99), part_bytes(3, SLOT));
    let e1 = s3.put_part(key, &upload_id, 1, &one).await;
    let e2 = s3.put_part(key, &upload_id, 2, &two).await;
    // Received but not listed: left out of the object.
    s3.put_part(key, &upload_id, 3, &three).await;
    let part = |number: i32, etag: &str, bytes: &[u8]| {
        CompletedPart::builder()
            .part_number(number)
            .e_tag(etag)
            .checksum_sha256(sha256_b64(bytes))
            .build()
    };
    // Only if nothing is at the key yet (S3's conditional write).
    s3.client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&upload_id)
        .if_none_match("*")
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, &e1, &one))
                .parts(part(2, &e2, &two))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(s3.next_created().await, key);
    assert!(std::fs::read(s3.object_path(key)).expect("object") == [one, two].concat());
    let info = s3.store.head(key).await.expect("head").expect("exists");
    assert!(info.sha256.expect("checksum").ends_with("-2"));
    assert!(
        s3.upload_files(&upload_id).is_empty(),
        "{:?}",
        s3.upload_files(&upload_id)
    );
}

/// An endpoint over a fresh directory with `limits` instead of the defaults.
async fn spawn_s3_with(limits: ferry::serve_loop::ServeLimits) -> (S3Endpoint, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = s3_endpoint::start(
        endpoint_config(&dir, vec![], limits),
        Arc::new(|_key| Box::pin(async {})),
    )
    .await
    .expect("endpoint starts");
    (endpoint, dir)
}

#[tokio::test]
async fn a_host_other_than_the_endpoints_address_is_refused() {
    let s3 = spawn_s3().await;
    let addr = s3.endpoint.local_addr();
    let port = addr.port();
    // A page whose DNS name was rebound to 127.0.0.1 sends its own name as Host.
    for host in [
        format!("rebound.example:{port}"),
        format!("127.0.0.1:{}", port ^ 1),
    ] {
        let answer = raw_exchange(
            addr,
            &format!(
                "GET /{BUCKET}?list-type=2 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains("<Code>AccessDenied</Code>"), "{answer}");
        assert!(answer.contains("Host header"), "{answer}");
    }
    // The endpoint's own address, spelled either way, reaches S3 (unsigned, so refused there).
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let answer = raw_exchange(
            addr,
            &format!(
                "GET /{BUCKET}?list-type=2 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(!answer.contains("Host header"), "{answer}");
    }
    // SDK clients and presigned URLs name the endpoint as it is bound.
    let localhost = local_client(
        &format!("http://localhost:{port}"),
        ACCESS_KEY,
        SECRET_KEY,
        REGION,
    );
    localhost
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("list through localhost");
}

#[tokio::test]
async fn a_half_sent_request_header_is_closed_after_the_deadline() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (endpoint, _dir) = spawn_s3_with(ferry::serve_loop::ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut socket = tokio::net::TcpStream::connect(endpoint.local_addr())
        .await
        .expect("connect");
    socket
        .write_all(b"GET /ferry-files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("write");
    // The server ends the connection by itself; the bound only keeps a broken build from hanging.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(60), socket.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the server kept a half-sent request open");
}

#[tokio::test]
async fn connections_over_the_cap_are_answered_503_and_closed() {
    use tokio::io::AsyncReadExt as _;
    let (endpoint, _dir) = spawn_s3_with(ferry::serve_loop::ServeLimits {
        max_connections: 1,
        ..Default::default()
    })
    .await;
    let addr = endpoint.local_addr();
    let _held = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut over = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), over.read_to_end(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
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

#[tokio::test]
async fn multipart_uploads_take_every_checksum_algorithm_s3_does() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    use base64::Engine as _;
    let mut s3 = spawn_s3().await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // Ferry's own client sends checksums only when told to; this one computes them as the SDK
    // does by default (in an `aws-chunked` trailer).
    let client = aws_sdk_s3::Client::from_conf(
        s3.client
            .config()
            .to_builder()
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
            )
            .build(),
    );
    let (one, two) = (part_bytes(7, SLOT), part_bytes(8, 1234));
    let cases = [
        (ChecksumAlgorithm::Crc32, None),
        (ChecksumAlgorithm::Crc32C, Some(ChecksumType::FullObject)),
        (ChecksumAlgorithm::Crc64Nvme, None),
        (ChecksumAlgorithm::Sha1, None),
        (ChecksumAlgorithm::Sha256, None),
    ];
    for (algorithm, checksum_type) in cases {
        let key = format!("files/u1/{}", algorithm.as_str());
        let created = s3
            .client
            .create_multipart_upload()
            .bucket(BUCKET)
            .key(&key)
            .checksum_algorithm(algorithm.clone())
            .set_checksum_type(checksum_type.clone())
            .send()
            .await
            .expect("create");
        assert_eq!(created.checksum_algorithm(), Some(&algorithm));
        let upload_id = created.upload_id().expect("upload id");
        let mut completed = CompletedMultipartUpload::builder();
        for (number, bytes) in [(1, &one), (2, &two)] {
            // The SDK computes the part's checksum and sends it (a header, or a trailer).
            let part = client
                .upload_part()
                .bucket(BUCKET)
                .key(&key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{algorithm:?} part {number}: {e:?}"));
            completed = completed.parts(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(part.e_tag().expect("etag"))
                    .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                    .set_checksum_crc32_c(part.checksum_crc32_c().map(str::to_owned))
                    .set_checksum_crc64_nvme(part.checksum_crc64_nvme().map(str::to_owned))
                    .set_checksum_sha1(part.checksum_sha1().map(str::to_owned))
                    .set_checksum_sha256(part.checksum_sha256().map(str::to_owned))
                    .build(),
            );
        }
        let done = s3
            .client
            .complete_multipart_upload()
            .bucket(BUCKET)
            .key(&key)
            .upload_id(upload_id)
            .multipart_upload(completed.build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?} complete: {e:?}"));
        assert_eq!(s3.next_created().await, key);
        let head = s3
            .client
            .head_object()
            .bucket(BUCKET)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
        let reported = [
            head.checksum_crc32(),
            head.checksum_crc32_c(),
            head.checksum_crc64_nvme(),
            head.checksum_sha1(),
            head.checksum_sha256(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        assert_eq!(reported.len(), 1, "{algorithm:?}: {reported:?}");
        let completed_sums = [
            done.checksum_crc32(),
            done.checksum_crc32_c(),
            done.checksum_crc64_nvme(),
            done.checksum_sha1(),
            done.checksum_sha256(),
        ];
        assert!(completed_sums.contains(&Some(reported[0])), "{algorithm:?}");
        let full_object = matches!(
            algorithm,
            ChecksumAlgorithm::Crc64Nvme | ChecksumAlgorithm::Crc32C
        );
        if full_object {
            assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));
            assert!(!reported[0].contains('-'), "{algorithm:?}: {reported:?}");
        } else {
            assert_eq!(done.checksum_type(), Some(&ChecksumType::Composite));
            assert!(reported[0].ends_with("-2"), "{algorithm:?}: {reported:?}");
        }
        let whole = [one.clone(), two.clone()].concat();
        assert_eq!(std::fs::read(s3.object_path(&key)).expect("object"), whole);
        if algorithm == ChecksumAlgorithm::Crc64Nvme {
            // CRC-64/NVME of the whole object, as S3 reports it.
            let expected = crc64nvme(&whole);
            assert_eq!(reported[0], b64(&expected.to_be_bytes()));
        }
    }
}

/// CRC-64/NVME, bit by bit: slow and obviously right.
fn crc64nvme(data: &[u8]) -> u64 {
    const POLY: u64 = 0x9a6c_9329_ac4b_c9b5; // reflected 0xad93d23594c93659
    let mut crc = u64::MAX;
    for byte in data {
        crc ^= u64::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_part_whose_crc32_does_not_match_is_refused() {
    let s3 = spawn_s3().await;
    let key = "files/u1/crc";
    let created = s3
        .client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .send()
        .await
        .expect("create");
    let refused = s3
        .client
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(created.upload_id().expect("id"))
        .part_number(1)
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"some bytes"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
        Some("BadDigest")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn refused_requests_log_one_debug_line_and_no_error() {
    use std::sync::Mutex;
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
    let lines = Lines::default();
    let writer = lines.clone();
    // `ferry`'s own filter, at debug, so the refusal line itself is visible.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(ferry::local::log_filter(Some("debug")))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s3 = spawn_s3().await;
    let upload = s3
        .store
        .presign_put("files/u1/logged", 3, "text/plain", None, MINUTE)
        .await
        .expect("presign");
    let tampered = with_another_signature(&upload);
    let (status, code) = error_code(s3.send(&tampered, b"abc").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );
    let missing = s3
        .client
        .get_object()
        .bucket(BUCKET)
        .key("files/u1/none")
        .send()
        .await
        .expect_err("no such key");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&missing),
        Some("NoSuchKey")
    );
    drop(_guard);

    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let logged: Vec<&str> = logged.lines().filter(|l| !l.contains("aws_")).collect();
    assert!(
        !logged
            .iter()
            .any(|l| l.contains("ERROR") || l.contains("WARN")),
        "{logged:#?}"
    );
    let refusals: Vec<&&str> = logged
        .iter()
        .filter(|l| l.contains("s3 request refused"))
        .collect();
    assert_eq!(refusals.len(), 2, "{logged:#?}");
    assert!(
        refusals.iter().all(|l| l.contains("DEBUG")),
        "{refusals:#?}"
    );
}

#[tokio::test]
async fn a_put_whose_checksum_does_not_match_stores_nothing() {
    let s3 = spawn_s3().await;
    for (key, request) in [
        (
            "files/u1/bad-crc",
            s3.client.put_object().checksum_crc32("AAAAAA=="),
        ),
        (
            "files/u1/bad-md5",
            s3.client
                .put_object()
                .content_md5("AAAAAAAAAAAAAAAAAAAAAA=="),
        ),
    ] {
        let refused = request
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(b"some bytes"))
            .send()
            .await
            .expect_err("refused");
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
            Some("BadDigest"),
            "{key}"
        );
        assert!(!s3.object_path(key).exists(), "{key} was stored");
        assert!(s3.store.head(key).await.expect("head").is_none(), "{key}");
    }
}
