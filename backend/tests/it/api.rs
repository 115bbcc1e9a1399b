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

mod files;
mod shares;
mod surface;

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
