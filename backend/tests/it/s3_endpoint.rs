//! The embedded S3-compatible endpoint, driven over HTTP through the aws-sdk-s3 adapter and
//! plain HTTP requests, the way the browser and the backend use it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::support::local::s3_refusal;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use ferry::adapters::local::s3_endpoint::{self, ObjectCreatedHook, S3Endpoint, S3EndpointConfig};
use ferry::adapters::s3::{S3ObjectStore, local_client};
use ferry::ports::{ManualClock, ObjectStore, PresignedRequest, StorageError};
use reqwest::StatusCode;
use time::OffsetDateTime;
use tokio::sync::mpsc;

const BUCKET: &str = "ferry-files";
const ACCESS_KEY: &str = "ferry-local-access-key";
const SECRET_KEY: &str = "ferry-local-secret-key";
const REGION: &str = "us-east-1";
const ORIGIN: &str = "http://127.0.0.1:8080";
const MINUTE: Duration = Duration::from_secs(60);

mod multipart;
mod presign;
mod serving;

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
