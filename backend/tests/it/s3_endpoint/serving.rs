//! The endpoint as an HTTP server: CORS, shutdown and restart, bodies that break off, hosts,
//! header deadlines and the connection cap.

use super::*;

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
