//! Router tests: the whole API through `oneshot`, with the embedded store, the embedded S3
//! endpoint (for presigning and deletes) and tokens signed by the embedded identity provider.

use crate::support::embedded_s3;
use crate::support::faulty::{Fault, FaultyObjectStore, Op};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use ferry::AppState;
use ferry::adapters::jwks::JwksVerifier;
use ferry::adapters::local::idp::{IdpConfig, LocalIdp};
use ferry::adapters::local::s3_endpoint::S3Endpoint;
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::config::Limits;
use ferry::domain::{FileId, UserId};
use ferry::ports::{Clock, ManualClock, MetadataStore};
use ferry::work_gate::WorkGate;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

const ISSUER: &str = "http://idp.test";
const CLIENT: &str = "test-client";
const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const BOB: &str = "b2b2b2b2-0000-4000-8000-000000000002";

struct TestApi {
    router: Router,
    idp: Arc<LocalIdp>,
    meta: Arc<LocalMetadataStore>,
    clock: Arc<ManualClock>,
    _s3: S3Endpoint,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

fn small_limits() -> Limits {
    Limits {
        max_file_size: 1000,
        user_quota: 2500,
        ..Limits::default()
    }
}

async fn spawn_api() -> TestApi {
    spawn_api_with(small_limits()).await
}

async fn spawn_api_with(limits: Limits) -> TestApi {
    spawn_api_tuned(limits, |_| {}).await
}

/// Like [`spawn_api_with`], with a last change to the state (e.g. a smaller work gate).
async fn spawn_api_tuned(limits: Limits, tune: impl FnOnce(&mut AppState)) -> TestApi {
    let dir = tempfile::tempdir().unwrap();
    let (s3, objects) = embedded_s3::start(dir.path().join("s3")).await;
    let meta = Arc::new(LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap());
    let idp = LocalIdp::open(IdpConfig {
        data_dir: dir.path().join("idp"),
        issuer: ISSUER.into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        client_id: CLIENT.into(),
        redirect_uris: vec![],
        auto_confirm: true,
        access_token_ttl: Duration::from_secs(3600),
    })
    .unwrap();
    let tokens = Arc::new(JwksVerifier::from_jwks(ISSUER, CLIENT, idp.jwks()).unwrap());
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let mut state = AppState::new(
        objects,
        meta.clone(),
        tokens,
        clock.clone(),
        limits,
        "https://ferry.test",
    );
    tune(&mut state);
    TestApi {
        router: ferry::router(state),
        idp,
        meta,
        clock,
        _s3: s3,
        _dir: dir,
    }
}

impl TestApi {
    fn claims(&self, sub: &str) -> Value {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "sub": sub, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
            "scope": "openid email", "iat": now, "exp": now + 3600, "username": sub,
        })
    }

    fn token_with(&self, claims: Value) -> String {
        self.idp.sign_claims(&claims).unwrap()
    }

    fn token(&self, sub: &str) -> String {
        self.token_with(self.claims(sub))
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let bearer = token.map(|token| ("authorization", format!("Bearer {token}")));
        self.send_with(method, uri, bearer, body).await
    }

    /// A call through the router with one extra `(name, value)` header (a bearer token, a
    /// guest key), or none.
    async fn send_with(
        &self,
        method: Method,
        uri: &str,
        header: Option<(&str, String)>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let body = match body {
            Some(json) => {
                req = req.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn as_user(&self, sub: &str, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.send(method, uri, Some(&self.token(sub)), body).await
    }

    /// What anyone sees at a link: `GET /api/public/shares/{token}`.
    async fn view(&self, token: &str) -> Reply {
        let uri = format!("/api/public/shares/{token}");
        self.send(Method::GET, &uri, None, None).await
    }

    /// `POST /api/public/shares/{token}/{action}` (`unlock`, `download`), without a bearer token.
    async fn public_post(&self, token: &str, action: &str, body: Option<Value>) -> Reply {
        let uri = format!("/api/public/shares/{token}/{action}");
        self.send(Method::POST, &uri, None, body).await
    }

    /// Announces a file and marks it ready, as a completed upload would.
    async fn ready_file(&self, sub: &str, name: &str, size: u64) -> String {
        let reply = self
            .as_user(
                sub,
                Method::POST,
                "/api/uploads",
                Some(json!({"name": name, "size": size})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let id = reply.body["file"]["id"].as_str().unwrap().to_owned();
        let owner = UserId::parse(sub).unwrap();
        self.meta
            .mark_ready(&owner, &FileId::parse(&id).unwrap(), None)
            .await
            .unwrap();
        id
    }

    async fn share(&self, sub: &str, file: &str, body: Value) -> String {
        let reply = self
            .as_user(
                sub,
                Method::POST,
                &format!("/api/files/{file}/shares"),
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    fn advance(&self, by: time::Duration) {
        self.clock.set(self.clock.now() + by);
    }
}

/// Makes `calls` calls at once, each on its own task (so a multi-thread runtime runs them in
/// parallel); their replies, in call order.
async fn at_once<F>(
    api: &Arc<TestApi>,
    calls: usize,
    call: impl Fn(Arc<TestApi>, usize) -> F,
) -> Vec<Reply>
where
    F: Future<Output = Reply> + Send + 'static,
{
    let tasks: Vec<_> = (0..calls)
        .map(|i| tokio::spawn(call(Arc::clone(api), i)))
        .collect();
    let mut replies = Vec::with_capacity(calls);
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

/// How many `replies` are `counted` (a status and error code, `""` for none); every other one
/// must be `refused`.
fn tally(replies: &[Reply], counted: (StatusCode, &str), refused: (StatusCode, &str)) -> usize {
    let mut count = 0;
    for reply in replies {
        if (reply.status, reply.code()) == counted {
            count += 1;
        } else {
            assert_eq!((reply.status, reply.code()), refused, "{:?}", reply.body);
        }
    }
    count
}

// ---- authentication ------------------------------------------------------------------------

#[tokio::test]
async fn private_routes_refuse_missing_and_bad_tokens() {
    let api = spawn_api().await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = api.claims(ALICE);
    expired["exp"] = json!(now - 600);
    expired["iat"] = json!(now - 4200);
    let mut wrong_issuer = api.claims(ALICE);
    wrong_issuer["iss"] = json!("http://evil.test");
    let mut wrong_client = api.claims(ALICE);
    wrong_client["client_id"] = json!("other-client");
    let mut id_token = api.claims(ALICE);
    id_token["token_use"] = json!("id");
    id_token["aud"] = json!(CLIENT);

    let good = api.token(ALICE);
    let mut bad_signature = good.clone();
    let last = bad_signature.pop().unwrap();
    bad_signature.push(if last == 'A' { 'B' } else { 'A' });
    let alg_none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
        let payload = b64.encode(api.claims(ALICE).to_string());
        format!("{header}.{payload}.")
    };

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("expired", Some(api.token_with(expired))),
        ("bad signature", Some(bad_signature)),
        ("alg none", Some(alg_none)),
        ("wrong issuer", Some(api.token_with(wrong_issuer))),
        ("wrong client", Some(api.token_with(wrong_client))),
        ("id token", Some(api.token_with(id_token))),
    ];
    let routes = [
        (Method::GET, "/api/files"),
        (Method::POST, "/api/uploads"),
        (Method::POST, "/api/uploads/multipart"),
        (
            Method::GET,
            "/api/files/00000000-0000-7000-8000-000000000000/parts",
        ),
        (
            Method::POST,
            "/api/files/00000000-0000-7000-8000-000000000000/complete",
        ),
        (Method::GET, "/api/shares"),
        (
            Method::DELETE,
            "/api/files/00000000-0000-7000-8000-000000000000",
        ),
    ];
    for (case, token) in &cases {
        for (method, uri) in &routes {
            let body = (*method == Method::POST).then(|| json!({"name": "a", "size": 1}));
            let reply = api.send(method.clone(), uri, token.as_deref(), body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {method} {uri}"
            );
            assert_eq!(reply.code(), "unauthorized", "{case}");
            assert!(
                reply.body.get("items").is_none(),
                "{case}: no data on refusal"
            );
            assert_eq!(reply.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(
        api.send(Method::GET, "/api/files", Some(&good), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_users_files_and_shares_are_not_found() {
    let api = spawn_api().await;
    let file = api.ready_file(ALICE, "secret.txt", 10).await;
    let token = api.share(ALICE, &file, json!({})).await;

    for (method, uri, body) in [
        (Method::GET, format!("/api/files/{file}"), None),
        (Method::GET, format!("/api/files/{file}/download"), None),
        (Method::DELETE, format!("/api/files/{file}"), None),
        (
            Method::POST,
            format!("/api/files/{file}/shares"),
            Some(json!({})),
        ),
        (Method::DELETE, format!("/api/shares/{token}"), None),
        (Method::GET, format!("/api/files/{file}/parts"), None),
        (
            Method::POST,
            format!("/api/files/{file}/parts"),
            Some(json!({"parts": [{"number": 1, "sha256": "x"}]})),
        ),
        (
            Method::POST,
            format!("/api/files/{file}/complete"),
            Some(json!({"parts": []})),
        ),
    ] {
        let reply = api.as_user(BOB, method.clone(), &uri, body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(reply.code(), "not_found");
    }
    let listing = api.as_user(BOB, Method::GET, "/api/files", None).await;
    assert_eq!(listing.body["items"], json!([]));
    let shares = api.as_user(BOB, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"], json!([]));
    // Alice still has everything.
    let mine = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{file}"), None)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["name"], "secret.txt");
}

// ---- uploads ------------------------------------------------------------------------------

#[tokio::test]
async fn upload_issues_a_presigned_put_for_a_pending_file() {
    let api = spawn_api().await;
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "Holiday photo.JPG", "size": 321, "content_type": "image/jpeg"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let file = &reply.body["file"];
    assert_eq!(file["name"], "Holiday photo.JPG");
    assert_eq!(file["status"], "pending");
    assert_eq!(file["size"], 321);
    let upload = &reply.body["upload"];
    assert_eq!(upload["method"], "PUT");
    let url = upload["url"].as_str().unwrap();
    let id = file["id"].as_str().unwrap();
    assert!(
        url.contains(&format!("/bucket/files/{ALICE}/{id}?")),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="));
    let signed = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        signed.contains("content-length") && signed.contains("content-type"),
        "{signed}"
    );
    assert!(
        !url.contains("Holiday"),
        "the user's name never reaches the key"
    );
    let headers = upload["headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h["name"] == "content-type" && h["value"] == "image/jpeg")
    );
    assert!(reply.headers["cache-control"] == "no-store");
}

#[tokio::test]
async fn upload_validates_name_type_and_size() {
    let api = spawn_api().await;
    let cases = [
        (
            json!({"name": "a/b.txt", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "  ", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a\u{0007}b", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "x".repeat(256), "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "..", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a", "size": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_size",
        ),
        (
            json!({"name": "a", "size": 1001}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            json!({"name": "a", "size": -1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": "a", "size": 1, "content_type": "no slash"}),
            StatusCode::BAD_REQUEST,
            "invalid_content_type",
        ),
        (
            json!({"size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let reply = api
            .as_user(ALICE, Method::POST, "/api/uploads", Some(body.clone()))
            .await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body}");
        assert!(!reply.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let listing = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    assert_eq!(
        listing.body["items"],
        json!([]),
        "refused uploads leave nothing behind"
    );
}

#[tokio::test]
async fn quota_counts_pending_and_ready_files_and_frees_on_delete() {
    let api = spawn_api().await; // quota 2500, max file 1000
    api.ready_file(ALICE, "one", 1000).await;
    let second = api.ready_file(ALICE, "two", 1000).await;
    let over = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "three", "size": 501})),
        )
        .await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::FORBIDDEN, "quota_exceeded")
    );
    assert!(
        over.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("free")
    );
    // Another user's quota is separate.
    api.ready_file(BOB, "bob", 1000).await;
    // Exactly filling the quota works; deleting frees it again.
    api.ready_file(ALICE, "fits", 500).await;
    let del = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{second}"), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    api.ready_file(ALICE, "again", 1000).await;
}

// ---- listing ------------------------------------------------------------------------------

#[tokio::test]
async fn files_are_listed_newest_first_across_pages() {
    let api = spawn_api_with(Limits {
        user_quota: 1 << 20,
        ..small_limits()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(api.ready_file(ALICE, &format!("f{i}"), 10).await);
    }
    api.ready_file(BOB, "not alice's", 10).await;
    let mut seen = Vec::new();
    let mut uri = "/api/files?limit=2".to_owned();
    for _ in 0..5 {
        let page = api.as_user(ALICE, Method::GET, &uri, None).await;
        assert_eq!(page.status, StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|f| f["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/files?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);

    for bad in [
        "/api/files?limit=0",
        "/api/files?limit=101",
        "/api/files?limit=x",
    ] {
        let reply = api.as_user(ALICE, Method::GET, bad, None).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{bad}"
        );
    }
    let reply = api
        .as_user(ALICE, Method::GET, "/api/files?cursor=%21%21", None)
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "invalid_cursor")
    );
}

// ---- downloads and deletes ------------------------------------------------------------------

#[tokio::test]
async fn downloads_need_a_ready_file_and_save_under_its_name() {
    let api = spawn_api().await;
    let pending = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "p.txt", "size": 5})),
        )
        .await;
    let pending_id = pending.body["file"]["id"].as_str().unwrap();
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{pending_id}/download"),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );
    let share = api
        .as_user(
            ALICE,
            Method::POST,
            &format!("/api/files/{pending_id}/shares"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (share.status, share.code()),
        (StatusCode::CONFLICT, "file_not_ready")
    );

    let id = api.ready_file(ALICE, "naïve.txt", 5).await;
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{id}/download"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let url = reply.body["url"].as_str().unwrap();
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    assert!(
        url.contains("na%25C3%25AFve.txt"),
        "RFC 6266 filename* is carried: {url}"
    );
    assert!(reply.body["expires_at"].as_str().is_some());
}

#[tokio::test]
async fn deleting_a_file_removes_it_and_kills_its_links() {
    let api = spawn_api().await;
    let id = api.ready_file(ALICE, "gone.txt", 5).await;
    let token = api.share(ALICE, &id, json!({})).await;
    let reply = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let again = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let public = api.view(&token).await;
    assert_eq!(
        (public.status, public.code()),
        (StatusCode::NOT_FOUND, "share_not_found")
    );
    let shares = api.as_user(ALICE, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"], json!([]));
    let twice = api
        .as_user(ALICE, Method::DELETE, &format!("/api/files/{id}"), None)
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
}

// ---- shares -------------------------------------------------------------------------------

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

// ---- the rest -----------------------------------------------------------------------------

#[tokio::test]
async fn health_openapi_and_unknown_routes_answer_json() {
    let api = spawn_api().await;
    let health = api.send(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.body["status"], "ok");
    let doc = api.send(Method::GET, "/api/openapi.json", None, None).await;
    for path in [
        "/api/uploads",
        "/api/uploads/multipart",
        "/api/files/{id}/parts",
        "/api/files/{id}/complete",
        "/api/files",
        "/api/files/{id}",
        "/api/files/{id}/download",
        "/api/files/{id}/shares",
        "/api/shares",
        "/api/shares/{token}",
        "/api/public/shares/{token}",
        "/api/public/shares/{token}/download",
        "/api/health",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "openapi lacks {path}"
        );
    }
    let missing = api.send(Method::GET, "/api/nope", None, None).await;
    assert_eq!(
        (missing.status, missing.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let method = api.send(Method::PUT, "/api/health", None, None).await;
    assert_eq!(
        (method.status, method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let bad_json = {
        let req = Request::post("/api/uploads")
            .header("authorization", format!("Bearer {}", api.token(ALICE)))
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        api.router.clone().oneshot(req).await.unwrap()
    };
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn multipart_uploads_validate_like_single_uploads_and_report_their_layout() {
    let api = spawn_api_with(Limits {
        max_file_size: 40 << 20,
        user_quota: 50 << 20,
        ..Limits::default()
    })
    .await;
    let start =
        |body: Value| api.as_user(ALICE, Method::POST, "/api/uploads/multipart", Some(body));
    for (body, status, code) in [
        (
            json!({"name": "a", "size": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_size",
        ),
        (
            json!({"name": "", "size": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": "a", "size": 41 << 20}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            json!({"name": "a", "size": 1, "sha256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}),
            StatusCode::BAD_REQUEST,
            "invalid_checksum",
        ),
    ] {
        let reply = start(body.clone()).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{body}");
    }
    let reply = start(json!({"name": "big.iso", "size": (17 << 20) + 1})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["part_size"], 8 << 20);
    assert_eq!(reply.body["part_count"], 3);
    assert_eq!(reply.body["file"]["status"], "pending");
    // The reservation counts against the quota like any pending file.
    let reply = start(json!({"name": "more.iso", "size": 40 << 20})).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::FORBIDDEN, "quota_exceeded")
    );
    // Single-PUT files have no parts.
    let single = api.ready_file(ALICE, "small.txt", 10).await;
    let reply = api
        .as_user(
            ALICE,
            Method::GET,
            &format!("/api/files/{single}/parts"),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::CONFLICT, "not_multipart")
    );
}

#[tokio::test]
async fn unfinished_uploads_are_capped_per_user() {
    let api = spawn_api_with(Limits {
        max_pending_uploads: 2,
        ..small_limits()
    })
    .await;
    let announce = async |sub: &str, route: &str| {
        api.as_user(
            sub,
            Method::POST,
            route,
            Some(json!({"name": "a.bin", "size": 1})),
        )
        .await
    };
    let first = announce(ALICE, "/api/uploads").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(
        announce(ALICE, "/api/uploads/multipart").await.status,
        StatusCode::CREATED
    );
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let refused = announce(ALICE, route).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{route}");
        assert_eq!(refused.code(), "too_many_pending_uploads");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("2 uploads"), "{message}");
    }
    let owner = UserId::parse(ALICE).unwrap();
    assert_eq!(
        api.meta.usage(&owner).await.unwrap().file_count,
        2,
        "refusals reserve nothing"
    );
    // Someone else is not held up, and a finished upload frees a place.
    assert_eq!(
        announce(BOB, "/api/uploads").await.status,
        StatusCode::CREATED
    );
    let id = FileId::parse(first.body["file"]["id"].as_str().unwrap()).unwrap();
    api.meta.mark_ready(&owner, &id, None).await.unwrap();
    assert_eq!(
        announce(ALICE, "/api/uploads").await.status,
        StatusCode::CREATED
    );
}

// ---- share passwords: attempts, bounded hashing, nothing shown before the password ---------

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

// ---- body limits and the OpenAPI document --------------------------------------------------

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_malformed_ones_400() {
    let api = spawn_api().await;
    let token = api.token(ALICE);
    let file = api.ready_file(ALICE, "a.txt", 10).await;
    let share = api.share(ALICE, &file, json!({})).await;
    let padding = "x".repeat(65 * 1024);
    let big = json!({"name": padding, "size": 1}).to_string();
    let cases = [
        (Method::POST, "/api/uploads".to_owned()),
        (Method::POST, "/api/uploads/multipart".to_owned()),
        (Method::POST, format!("/api/files/{file}/shares")),
        (Method::POST, format!("/api/public/shares/{share}/download")),
    ];
    for (method, uri) in cases {
        for (body, status, code) in [
            (
                big.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "{not json".to_owned(),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
        ] {
            let req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let res = api.router.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), status, "{method} {uri}");
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            let reply: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(reply["error"]["code"], code, "{method} {uri}: {reply}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_server_enforces() {
    let api = spawn_api().await;
    let doc = api
        .send(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Pagination: optional query parameters, limit 1..=100.
    let params = doc["paths"]["/api/files"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in ["limit", "cursor"] {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["in"], "query", "{name}");
        assert_ne!(p["required"], true, "{name}");
    }
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);

    // Every operation: its path parameters, its answers; 401 when it needs a token, 400 and 413
    // when it reads a body.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            let has = |status: &str| responses.contains_key(status);
            if op.get("security").is_some() {
                assert!(has("401"), "{method} {path} lacks 401");
            }
            if op.get("requestBody").is_some() {
                assert!(has("400") && has("413"), "{method} {path} lacks 400/413");
            }
            for name in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                let documented = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(documented, "{method} {path} lacks path parameter {name}");
            }
        }
    }
    assert!(operations >= 15, "{operations}");
    for action in ["download", "unlock"] {
        let responses =
            &doc["paths"][format!("/api/public/shares/{{token}}/{action}")]["post"]["responses"];
        for status in ["400", "413", "503"] {
            assert!(responses.get(status).is_some(), "{action} lacks {status}");
        }
    }
    assert!(
        doc["paths"]["/api/files/{id}/shares"]["post"]["responses"]
            .get("503")
            .is_some()
    );

    // The limits the server checks.
    let schemas = &doc["components"]["schemas"];
    let upload = &schemas["CreateUpload"]["properties"];
    assert_eq!(upload["name"]["maxLength"], 255);
    assert_eq!(upload["name"]["minLength"], 1);
    let share = &schemas["CreateShare"]["properties"];
    assert_eq!(share["expires_in_seconds"]["minimum"], 60);
    assert_eq!(share["max_downloads"]["minimum"], 1);
    assert_eq!(share["max_downloads"]["maximum"], 10000);
    assert_eq!(share["password"]["minLength"], 8);
    assert_eq!(share["password"]["maxLength"], 128);
    let parts = &schemas["PartUrlsRequest"]["properties"]["parts"];
    assert_eq!(
        (parts["minItems"].clone(), parts["maxItems"].clone()),
        (json!(1), json!(100))
    );
}

// ---- object storage faults ----------------------------------------------------------------

/// The API over object storage that fails when the test says so.
async fn spawn_api_with_faults(limits: Limits) -> (TestApi, Arc<FaultyObjectStore>) {
    let mut faulty = None;
    let api = spawn_api_tuned(limits, |state| {
        let objects = FaultyObjectStore::new(state.objects.clone());
        state.objects = objects.clone();
        faulty = Some(objects);
    })
    .await;
    (api, faulty.expect("the state was tuned"))
}

async fn usage_of(api: &TestApi, sub: &str) -> (u64, u64) {
    let usage = api.meta.usage(&UserId::parse(sub).unwrap()).await.unwrap();
    (usage.bytes_used, usage.file_count)
}

#[tokio::test]
async fn an_upload_url_object_storage_cannot_sign_gives_the_reservation_back() {
    let (api, objects) = spawn_api_with_faults(small_limits()).await;
    objects.arm(Fault::on(Op::PresignPut));
    let announce = || {
        let body = json!({"name": "a.txt", "size": 1000});
        api.as_user(ALICE, Method::POST, "/api/uploads", Some(body))
    };

    let failed = announce().await;
    assert_eq!(
        (failed.status, failed.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert_eq!(usage_of(&api, ALICE).await, (0, 0));
    let listing = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    assert_eq!(listing.body["items"], json!([]));
    // The fault was for one call: the same upload goes through now.
    let retried = announce().await;
    assert_eq!(retried.status, StatusCode::CREATED, "{:?}", retried.body);
    assert_eq!(usage_of(&api, ALICE).await, (1000, 1));
}

#[tokio::test]
async fn a_multipart_upload_object_storage_cannot_start_reserves_nothing() {
    let (api, objects) = spawn_api_with_faults(small_limits()).await;
    objects.arm(Fault::on(Op::CreateMultipartUpload));

    let body = json!({"name": "a.bin", "size": 1000});
    let failed = api
        .as_user(ALICE, Method::POST, "/api/uploads/multipart", Some(body))
        .await;

    assert_eq!(
        (failed.status, failed.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert_eq!(usage_of(&api, ALICE).await, (0, 0));
    let listing = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    assert_eq!(listing.body["items"], json!([]));
}

#[tokio::test]
async fn a_refused_multipart_reservation_answers_its_refusal_even_when_the_abort_fails() {
    let (api, objects) = spawn_api_with_faults(Limits {
        max_pending_uploads: 1,
        ..small_limits()
    })
    .await;
    api.as_user(
        ALICE,
        Method::POST,
        "/api/uploads",
        Some(json!({"name": "first.txt", "size": 10})),
    )
    .await;
    objects.arm(Fault::on(Op::AbortMultipartUpload).always());

    let body = json!({"name": "second.bin", "size": 10});
    let refused = api
        .as_user(ALICE, Method::POST, "/api/uploads/multipart", Some(body))
        .await;

    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "too_many_pending_uploads")
    );
    assert_eq!(usage_of(&api, ALICE).await, (10, 1));
}

#[tokio::test]
async fn completion_answers_object_storage_failures_changes_nothing_and_can_be_retried() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ferry::ports::StorageError;
    use sha2::{Digest, Sha256};

    let (api, objects) = spawn_api_with_faults(small_limits()).await;
    let bytes = vec![7u8; 1000];
    let digest = Sha256::digest(&bytes);
    let sha = STANDARD.encode(digest);
    let started = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads/multipart",
            Some(json!({"name": "a.bin", "size": 1000})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let id = started.body["file"]["id"].as_str().unwrap().to_owned();
    let urls = api
        .as_user(
            ALICE,
            Method::POST,
            &format!("/api/files/{id}/parts"),
            Some(json!({"parts": [{"number": 1, "sha256": sha}]})),
        )
        .await;
    assert_eq!(urls.status, StatusCode::OK, "{:?}", urls.body);
    let url = &urls.body["parts"][0];
    let mut put = reqwest::Client::new().put(url["url"].as_str().unwrap());
    for header in url["headers"].as_array().unwrap() {
        put = put.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    let sent = put.body(bytes.clone()).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let etag = sent.headers()["etag"].to_str().unwrap().to_owned();
    let uri = format!("/api/files/{id}/complete");
    let body = json!({"parts": [{"number": 1, "etag": etag, "sha256": sha}]});
    let complete = || api.as_user(ALICE, Method::POST, &uri, Some(body.clone()));

    for (fault, status, code) in [
        (
            Fault::on(Op::CompleteMultipartUpload),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
        ),
        (
            Fault::on(Op::CompleteMultipartUpload).with(|| StorageError::NoSuchUpload),
            StatusCode::GONE,
            "upload_expired",
        ),
        (
            Fault::on(Op::CompleteMultipartUpload)
                .with(|| StorageError::InvalidParts("part 1 is missing".into())),
            StatusCode::BAD_REQUEST,
            "part_mismatch",
        ),
    ] {
        objects.arm(fault);
        let failed = complete().await;
        assert_eq!((failed.status, failed.code()), (status, code));
        let file = api
            .as_user(ALICE, Method::GET, &format!("/api/files/{id}"), None)
            .await;
        assert_eq!(file.body["status"], "pending", "{code}");
        assert_eq!(file.body["sha256"], Value::Null, "{code}");
    }

    let completed = complete().await;
    assert_eq!(completed.status, StatusCode::OK, "{:?}", completed.body);
    let composite = format!("{}-1", STANDARD.encode(Sha256::digest(digest)));
    assert_eq!(completed.body["sha256"], composite);
}

// ---- transfers: folders, links of many files, batch deletes -----------------------------------

mod transfers;

// ---- end-to-end encryption: sealed metadata -----------------------------------------------------

mod encryption;
// ---- file requests -------------------------------------------------------------------------

mod requests;
