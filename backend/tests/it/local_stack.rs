//! Integration tests: the whole local stack (`ferry serve`) on free ports with a fresh data
//! directory, driven over HTTP the way the browser and AWS clients drive it.

use std::time::Duration;

use crate::support::local::{
    Api, PASSWORD, cognito, http, presigned, sample, sign_in, sign_up_and_in, start_in,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry::config::Limits;
use ferry::local::{self, LocalStack};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn upload_share_download_delete_over_http() {
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
    assert_eq!(config["api_base"], "/api");
    assert_eq!(config["auth_base"], stack.url());

    let api = Api::new_user(&stack, "ada@example.com").await;
    let bytes = sample(300_000);
    let (id, put) = api.upload("report.bin", &bytes).await;
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let file = api.wait_until(&id, "ready").await;
    assert_eq!(file["size"], 300_000);

    let (status, share) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/files/{id}/shares"),
            Some(json!({"max_downloads": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = share["token"].as_str().unwrap();
    assert_eq!(share["url"], format!("{}/s/{token}", stack.url()));

    // Anyone with the link, no sign-in.
    let public = format!("{}/api/public/shares/{token}", stack.url());
    let view: Value = http()
        .get(&public)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["name"], "report.bin");
    let grant = http()
        .post(format!("{public}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::OK);
    let grant: Value = grant.json().await.unwrap();
    let download = http()
        .get(grant["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("report.bin"),
        "{disposition}"
    );
    let got = download.bytes().await.unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&bytes));
    let second = http()
        .post(format!("{public}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::GONE);

    let (status, _) = api
        .call(reqwest::Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let object = dir
        .path()
        .join("s3")
        .join(ferry::local::LOCAL_BUCKET)
        .join("files");
    let leftovers: Vec<_> = walk(&object);
    assert!(
        leftovers.iter().all(|p| !p.ends_with(&id)),
        "object gone: {leftovers:?}"
    );
    // The old download URL no longer yields the bytes.
    let stale = http()
        .get(grant["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    stack.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn the_s3_endpoint_refuses_tampered_and_mismatched_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "eve@example.com").await;
    let (status, ticket) = api
        .call(
            reqwest::Method::POST,
            "/api/uploads",
            Some(json!({"name": "a.txt", "size": 10, "content_type": "text/plain"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let upload = &ticket["upload"];
    let url = upload["url"].as_str().unwrap();

    // Someone else's key with this signature.
    let mut other_key = upload.clone();
    other_key["url"] = json!(url.replacen("/files/", "/files/x", 1));
    let res = presigned(&other_key)
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A longer lifetime than was signed.
    let mut longer = upload.clone();
    longer["url"] = json!(url.replace("X-Amz-Expires=", "X-Amz-Expires=9"));
    let res = presigned(&longer).body(vec![0u8; 10]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // More bytes than announced.
    let res = presigned(upload).body(vec![0u8; 11]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Another content type than announced.
    let res = http()
        .put(url)
        .header("content-type", "text/html")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // No signature at all.
    let res = http()
        .put(url.split('?').next().unwrap())
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let id = ticket["file"]["id"].as_str().unwrap();
    let (_, file) = api
        .call(reqwest::Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(file["status"], "pending", "refused uploads change nothing");
    // The genuine request still works.
    let res = presigned(upload).body(vec![7u8; 10]).send().await.unwrap();
    assert!(res.status().is_success());
    api.wait_until(id, "ready").await;
    stack.shutdown().await;
}

#[tokio::test]
async fn expired_upload_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        upload_url_ttl: Duration::from_secs(1),
        ..Limits::default()
    };
    let stack = start_in(dir.path(), limits).await;
    let api = Api::new_user(&stack, "late@example.com").await;
    let (_, ticket) = api
        .call(
            reqwest::Method::POST,
            "/api/uploads",
            Some(json!({"name": "a", "size": 3})),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = presigned(&ticket["upload"])
        .body(vec![1u8; 3])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    stack.shutdown().await;
}

/// Values of `<input ... name="N" value="V">` fields in a page.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            value
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#x27;", "'")
                .replace("&#39;", "'")
        })
    };
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

fn form_action(html: &str) -> String {
    let form = &html[html.find("<form").unwrap()..];
    let start = form.find("action=\"").unwrap() + 8;
    form[start..start + form[start..].find('"').unwrap()].replace("&amp;", "&")
}

/// Goes through the hosted UI's sign-in page like a browser and returns the authorization code.
async fn authorize_and_log_in(stack: &LocalStack, email: &str, challenge: &str) -> String {
    let redirect = &stack.config.redirect_uri;
    let mut authorize = reqwest::Url::parse(&format!("{}/oauth2/authorize", stack.url())).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &stack.config.client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "st4te")
        .append_pair("scope", "openid email")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    let page = http().get(authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"));

    let mut fields: Vec<(String, String)> = form_fields(&html)
        .into_iter()
        .filter(|(name, _)| !["email", "username", "password"].contains(&name.as_str()))
        .collect();
    let user_field = if html.contains("name=\"email\"") {
        "email"
    } else {
        "username"
    };
    fields.push((user_field.into(), email.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let action = form_action(&html);
    let action = if action.starts_with("http") {
        action
    } else {
        format!("{}{action}", stack.url())
    };
    let login = http().post(action).form(&fields).send().await.unwrap();
    assert_eq!(
        login.status(),
        StatusCode::FOUND,
        "{:?}",
        login.text().await
    );
    let location = reqwest::Url::parse(login.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect.as_str()));
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "st4te");
    query["code"].clone()
}

async fn exchange(stack: &LocalStack, code: &str, verifier: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth2/token", stack.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", stack.config.client_id.as_str()),
            ("redirect_uri", stack.config.redirect_uri.as_str()),
            ("code", code),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_hosted_ui_signs_in_with_pkce() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    sign_up_and_in(&stack, "pkce@example.com").await;
    let verifier = URL_SAFE_NO_PAD.encode([9u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));

    // A stolen code is useless without the verifier.
    let code = authorize_and_log_in(&stack, "pkce@example.com", &challenge).await;
    let wrong = exchange(&stack, &code, &URL_SAFE_NO_PAD.encode([8u8; 32])).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"], "invalid_grant");

    let code = authorize_and_log_in(&stack, "pkce@example.com", &challenge).await;
    let tokens = exchange(&stack, &code, &verifier).await;
    assert_eq!(tokens.status(), StatusCode::OK);
    let tokens: Value = tokens.json().await.unwrap();
    let api = Api {
        stack: &stack,
        token: tokens["access_token"].as_str().unwrap().to_owned(),
    };
    let (status, _) = api.call(reqwest::Method::GET, "/api/files", None).await;
    assert_eq!(status, StatusCode::OK);
    let reused = exchange(&stack, &code, &verifier).await;
    assert_eq!(
        reused.status(),
        StatusCode::BAD_REQUEST,
        "codes are single-use"
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "kept@example.com").await;
    let bytes = sample(4096);
    let (id, _) = api.upload("kept.bin", &bytes).await;
    api.wait_until(&id, "ready").await;
    let (_, share) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/files/{id}/shares"),
            Some(json!({})),
        )
        .await;
    let token = share["token"].as_str().unwrap().to_owned();
    stack.shutdown().await;

    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api {
        stack: &stack,
        token: sign_in(&stack, "kept@example.com").await,
    };
    let (status, files) = api.call(reqwest::Method::GET, "/api/files", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(files["items"][0]["id"], id.as_str());
    assert_eq!(files["items"][0]["status"], "ready");
    let grant: Value = http()
        .post(format!(
            "{}/api/public/shares/{token}/download",
            stack.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = http()
        .get(grant["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &bytes[..]);
    stack.shutdown().await;
}

#[tokio::test]
async fn the_site_is_served_with_client_routes_falling_back_to_the_app() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("site")).unwrap();
    std::fs::write(
        dir.path().join("site/index.html"),
        "<!doctype html><title>Ferry</title>",
    )
    .unwrap();
    // Share links get the recipients' own light page.
    std::fs::write(
        dir.path().join("site/share.html"),
        "<!doctype html><title>Ferry</title><main id=share>",
    )
    .unwrap();
    std::fs::write(dir.path().join("site/app-1234.js"), "export {}").unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    for path in [
        "/",
        "/files",
        "/links",
        "/s/AAAAAAAAAAAAAAAAAAAAAA",
        "/callback?code=x",
    ] {
        let res = http()
            .get(format!("{}{path}", stack.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let body = res.text().await.unwrap();
        assert!(body.contains("<title>Ferry</title>"), "{path}");
        assert_eq!(body.contains("id=share"), path.starts_with("/s/"), "{path}");
    }
    let asset = http()
        .get(format!("{}/app-1234.js", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.text().await.unwrap(), "export {}");
    // The JSON API of the identity provider shares `/` with the page.
    let (status, _) = cognito(&stack, "InitiateAuth", json!({"ClientId": "nope"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    stack.shutdown().await;
}

#[tokio::test]
async fn the_ferry_binary_serves_on_the_given_ports() {
    let dir = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, s3_port) = (free(), free());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--s3-port",
            &s3_port.to_string(),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--site-dir")
        .arg(dir.path().join("site"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(res) = http()
            .get(format!("http://127.0.0.1:{port}/api/health"))
            .send()
            .await
        {
            healthy = res.status() == StatusCode::OK;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "ferry serve answered /api/health");
    let s3 = http()
        .get(format!("http://127.0.0.1:{s3_port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        s3.status(),
        StatusCode::FORBIDDEN,
        "anonymous S3 requests are refused"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn trunks_dev_port_is_trusted_only_with_the_dev_flag() {
    for dev in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let stack = ferry::local::start(ferry::local::LocalOptions {
            port: 0,
            s3_port: 0,
            data_dir: dir.path().to_path_buf(),
            site_dir: dir.path().join("site"),
            dev,
            ..ferry::local::LocalOptions::default()
        })
        .await
        .unwrap();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(b"a verifier of some length"));
        let authorize = |redirect_uri: &str| {
            http()
                .get(format!("{}/oauth2/authorize", stack.url()))
                .query(&[
                    ("response_type", "code"),
                    ("client_id", stack.config.client_id.as_str()),
                    ("redirect_uri", redirect_uri),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                ])
                .send()
        };
        let own = authorize(&stack.config.redirect_uri).await.unwrap();
        assert_eq!(own.status(), StatusCode::OK);
        for trunk in [
            "http://127.0.0.1:8081/callback",
            "http://localhost:8081/callback",
        ] {
            let expected = if dev {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            let page = authorize(trunk).await.unwrap();
            assert_eq!(page.status(), expected, "{trunk}, dev: {dev}");
        }
        stack.shutdown().await;
    }
}

fn options_in(dir: &std::path::Path) -> local::LocalOptions {
    local::LocalOptions {
        port: 0,
        s3_port: 0,
        data_dir: dir.to_path_buf(),
        site_dir: dir.join("site"),
        ..Default::default()
    }
}

#[tokio::test]
async fn uploads_stored_just_before_a_crash_are_ready_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Dies, in effect, right after each PUT is stored: its object-created event never runs.
    let stack = local::start_losing_object_events(options_in(dir.path()))
        .await
        .unwrap();
    let api = Api::new_user(&stack, "crash@example.com").await;
    let bytes = sample(3000);
    let (id, res) = api.upload("survivor.bin", &bytes).await;
    assert_eq!(res.status(), StatusCode::OK);
    // (The listing does not settle uploads; only the restart below may.)
    let (_, files) = api.call(reqwest::Method::GET, "/api/files", None).await;
    assert_eq!(files["items"][0]["status"], "pending");
    stack.shutdown().await;

    let stack = local::start(options_in(dir.path())).await.unwrap();
    let api = Api {
        stack: &stack,
        token: sign_in(&stack, "crash@example.com").await,
    };
    let (_, files) = api.call(reqwest::Method::GET, "/api/files", None).await;
    assert_eq!(files["items"][0]["id"], id.as_str());
    assert_eq!(files["items"][0]["status"], "ready", "settled at start");
    let got = api.download(&id).await;
    assert_eq!(&got[..], &bytes[..], "the bytes were kept");
    stack.shutdown().await;
}

#[tokio::test]
async fn a_status_check_settles_an_upload_whose_event_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let stack = local::start_losing_object_events(options_in(dir.path()))
        .await
        .unwrap();
    let api = Api::new_user(&stack, "poll@example.com").await;
    let (id, res) = api.upload("polled.bin", &sample(500)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, file) = api
        .call(reqwest::Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!((status, &file["status"]), (StatusCode::OK, &json!("ready")));
    stack.shutdown().await;
}

#[tokio::test]
async fn the_s3_key_pair_is_random_per_data_dir_private_and_kept() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = ferry::local::s3_credentials(one.path()).unwrap();
    let again = ferry::local::s3_credentials(one.path()).unwrap();
    let other = ferry::local::s3_credentials(two.path()).unwrap();
    assert_eq!(first, again, "stable across starts");
    assert_ne!(first.access_key, other.access_key);
    assert_ne!(first.secret_key, other.secret_key);
    assert_ne!(first.access_key, "FERRYLOCALACCESSKEY0");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let file = one
            .path()
            .join(ferry::adapters::local::s3_credentials::FILE_NAME);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // The stack serves the data dir's pair, and only that one.
    let stack = start_in(one.path(), Limits::default()).await;
    let endpoint = stack.s3_endpoint.url();
    let client = |access: &str, secret: &str| {
        ferry::adapters::s3::local_client(&endpoint, access, secret, "us-east-1")
    };
    client(&first.access_key, &first.secret_key)
        .list_objects_v2()
        .bucket("ferry-files")
        .send()
        .await
        .expect("the data dir's pair lists the bucket");
    for (access, secret) in [
        (
            "FERRYLOCALACCESSKEY0",
            "ferry-local-secret-key-not-for-production",
        ),
        (other.access_key.as_str(), other.secret_key.as_str()),
    ] {
        let refused = client(access, secret)
            .list_objects_v2()
            .bucket("ferry-files")
            .send()
            .await
            .expect_err("another pair is refused");
        assert!(
            matches!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&refused),
                Some("NotSignedUp" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")
            ),
            "{refused:?}"
        );
    }
    stack.shutdown().await;
}

#[tokio::test]
async fn the_app_port_closes_a_half_sent_request_header() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().unwrap();
    let stack = ferry::local::start(ferry::local::LocalOptions {
        port: 0,
        s3_port: 0,
        data_dir: dir.path().to_path_buf(),
        site_dir: dir.path().join("site"),
        serve_limits: ferry::serve_loop::ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..ferry::local::LocalOptions::default()
    })
    .await
    .unwrap();
    let mut socket = tokio::net::TcpStream::connect(stack.app_addr)
        .await
        .unwrap();
    socket
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    // The server ends the connection by itself; the bound only keeps a broken build from hanging.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(60), socket.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the app port kept a half-sent request open");
    // A whole request on a fresh connection is still served.
    let health = http()
        .get(format!("{}/api/health", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    stack.shutdown().await;
}

#[tokio::test]
async fn replaying_the_upload_url_of_a_ready_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let api = Api::new_user(&stack, "replay@example.com").await;
    let bytes = sample(4096);
    let (status, ticket) = api
        .call(
            reqwest::Method::POST,
            "/api/uploads",
            Some(json!({"name": "r.bin", "size": bytes.len(), "content_type": "application/octet-stream"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let id = ticket["file"]["id"].as_str().unwrap().to_owned();
    let put = presigned(&ticket["upload"])
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    api.wait_until(&id, "ready").await;

    let forged = vec![0xAA; bytes.len()];
    let replay = presigned(&ticket["upload"])
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::PRECONDITION_FAILED);

    let downloaded = api.download(&id).await;
    assert_eq!(
        downloaded.as_slice(),
        bytes.as_slice(),
        "the stored bytes are unchanged"
    );
    stack.shutdown().await;
}
