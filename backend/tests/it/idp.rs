//! The embedded identity provider over real HTTP, driven the way the SPA (hosted UI + PKCE) and
//! AWS clients (Cognito JSON API) use it; its tokens must pass the same verifier as Cognito's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry::adapters::jwks::JwksVerifier;
use ferry::adapters::local::idp::{IdpConfig, IdpShared, LocalIdp};
use ferry::ports::{AuthError, Clock, ManualClock, TokenVerifier};
use ferry::work_gate::WorkGate;
use rand::RngCore;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const CLIENT: &str = "ferry-local-client";
const PASSWORD: &str = "correct horse 42";

mod attempts;
mod hosted_ui;
mod json_api;

struct TestIdp {
    base: String,
    idp: Arc<LocalIdp>,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

async fn spawn_idp(dir: &Path, auto_confirm: bool) -> TestIdp {
    spawn_idp_with(dir, auto_confirm, IdpShared::default()).await
}

async fn spawn_idp_with(dir: &Path, auto_confirm: bool, shared: IdpShared) -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let idp = LocalIdp::open_with(
        IdpConfig {
            data_dir: dir.to_path_buf(),
            issuer: base.clone(),
            region: "us-east-1".into(),
            user_pool_id: "us-east-1_local".into(),
            client_id: CLIENT.into(),
            redirect_uris: vec![format!("{base}/callback"), format!("{base}/")],
            auto_confirm,
            access_token_ttl: Duration::from_secs(3600),
        },
        shared,
    )
    .expect("idp opens");
    let (shutdown, stop) = oneshot::channel::<()>();
    let app = Arc::clone(&idp).router();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
            .expect("server runs");
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestIdp {
        base,
        idp,
        http,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn new_pkce() -> Pkce {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

impl TestIdp {
    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base)
    }

    fn verifier(&self) -> JwksVerifier {
        JwksVerifier::new(
            &self.base,
            format!("{}/.well-known/jwks.json", self.base),
            CLIENT,
        )
        .expect("verifier")
    }

    /// Calls a Cognito JSON API action exactly as the AWS SDKs do.
    async fn cognito(&self, action: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/", self.base))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = response.status();
        if !status.is_success() {
            let header = response.headers().get("x-amzn-errortype").cloned();
            let body: Value = response.json().await.expect("json error");
            assert_eq!(
                header.as_ref().and_then(|h| h.to_str().ok()),
                body["__type"].as_str()
            );
            return (status, body);
        }
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/x-amz-json-1.1")
        );
        (status, response.json().await.expect("json"))
    }

    async fn sign_up(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.cognito(
            "SignUp",
            json!({
                "ClientId": CLIENT, "Username": email, "Password": password,
                "UserAttributes": [{"Name": "email", "Value": email}],
            }),
        )
        .await
    }

    async fn password_auth(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.cognito(
            "InitiateAuth",
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": CLIENT,
                "AuthParameters": {"USERNAME": email, "PASSWORD": password},
            }),
        )
        .await
    }

    fn authorize_params(&self, pkce: &Pkce) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", CLIENT.into()),
            ("redirect_uri", self.redirect_uri()),
            ("state", "st<at>e 1".into()),
            ("code_challenge", pkce.challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("scope", "openid email".into()),
        ]
    }

    /// Signs in through the login form and returns the code from the redirect.
    async fn login_code(&self, pkce: &Pkce, email: &str, password: &str) -> String {
        let mut form = self.authorize_params(pkce);
        form.push(("email", email.into()));
        form.push(("password", password.into()));
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .form(&form)
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = location(&response);
        let url = reqwest::Url::parse(&location).expect("absolute redirect");
        assert_eq!(
            format!("{}{}", url.origin().ascii_serialization(), url.path()),
            self.redirect_uri()
        );
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(
            params.contains(&("state".into(), "st<at>e 1".into())),
            "{location}"
        );
        params
            .into_iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v)
            .expect("code in redirect")
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .form(form)
            .send()
            .await
            .expect("token request");
        (response.status(), response.json().await.expect("json"))
    }

    async fn redeem(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        let redirect_uri = self.redirect_uri();
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// Stops the server and waits until it has let go of the identity provider.
    async fn stop(mut self) -> Arc<LocalIdp> {
        drop(self.http);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server stops");
        }
        self.idp
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location header")
        .to_owned()
}

fn shared_with(clock: &Arc<ManualClock>) -> IdpShared {
    IdpShared {
        clock: Arc::clone(clock) as Arc<dyn Clock>,
        ..IdpShared::default()
    }
}

impl TestIdp {
    /// Posts a hosted-UI form with extra headers (e.g. `Origin`).
    async fn post_form(
        &self,
        path: &str,
        form: &[(&str, String)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("form post")
    }

    fn login_form(&self, pkce: &Pkce, email: &str, password: &str) -> Vec<(&'static str, String)> {
        let mut form = self.authorize_params(pkce);
        form.push(("email", email.into()));
        form.push(("password", password.into()));
        form
    }
}

#[tokio::test]
async fn revoked_refresh_tokens_and_their_access_tokens_stop_working() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    app.sign_up(&email, PASSWORD).await;
    let pkce = new_pkce();
    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let (_, tokens) = app.redeem(&code, &pkce.verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let app = &app;
    let refresh_with = move |token: String| async move {
        app.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &token),
        ])
        .await
    };
    let (status, refreshed) = refresh_with(refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let refreshed_access = refreshed["access_token"].as_str().unwrap().to_owned();

    let revoke = move |form: Vec<(&'static str, String)>| async move {
        let response = app
            .http
            .post(format!("{}/oauth2/revoke", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    };
    assert_eq!(
        revoke(vec![("client_id", CLIENT.into())]).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = revoke(vec![
        ("token", refresh.clone()),
        ("client_id", "other".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("invalid_client"));
    let (status, body) = revoke(vec![
        ("token", access.clone()),
        ("client_id", CLIENT.into()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unsupported_token_type"));
    // Still good: none of those revoked anything.
    assert_eq!(refresh_with(refresh.clone()).await.0, StatusCode::OK);

    let (status, body) = revoke(vec![
        ("token", refresh.clone()),
        ("client_id", CLIENT.into()),
    ])
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, body) = refresh_with(refresh.clone()).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    // The access tokens of that sign-in, refreshed ones included, are refused by the IdP's own
    // APIs (resource servers that only check signatures accept them until they expire).
    for token in [&access, &refreshed_access] {
        let (status, body) = app
            .cognito("GetUser", json!({ "AccessToken": token }))
            .await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (StatusCode::BAD_REQUEST, Some("NotAuthorizedException"))
        );
        let info = app
            .http
            .get(format!("{}/oauth2/userInfo", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
    }
    // Revoking again, or a token nobody issued, is fine (RFC 7009).
    assert_eq!(
        revoke(vec![
            ("token", refresh.clone()),
            ("client_id", CLIENT.into())
        ])
        .await
        .0,
        StatusCode::OK
    );

    // The JSON API's RevokeToken does the same for a JSON sign-in; other sign-ins live on.
    let (_, first) = app.password_auth(&email, PASSWORD).await;
    let (_, second) = app.password_auth(&email, PASSWORD).await;
    let token_of = |auth: &Value, name: &str| {
        auth["AuthenticationResult"][name]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (status, _) = app
        .cognito(
            "RevokeToken",
            json!({"ClientId": CLIENT, "Token": token_of(&first, "RefreshToken")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        refresh_with(token_of(&first, "RefreshToken")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        refresh_with(token_of(&second, "RefreshToken")).await.0,
        StatusCode::OK
    );
    let (status, _) = app
        .cognito(
            "GetUser",
            json!({ "AccessToken": token_of(&second, "AccessToken") }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expired_refresh_tokens_are_pruned_on_use_at_start_and_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    let email = unique_email();
    app.sign_up(&email, PASSWORD).await;
    let mut refresh_tokens = Vec::new();
    for _ in 0..3 {
        let (_, auth) = app.password_auth(&email, PASSWORD).await;
        refresh_tokens.push(
            auth["AuthenticationResult"]["RefreshToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(app.idp.stored_refresh_tokens().unwrap(), 3);
    clock.advance(Duration::from_secs(30 * 86_400));

    // On use: the expired token is refused and forgotten.
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &refresh_tokens[0]),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.idp.stored_refresh_tokens().unwrap(), 2);

    // At start: opening the IdP drops the rest.
    drop(app.stop().await);
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    assert_eq!(app.idp.stored_refresh_tokens().unwrap(), 0);

    // On demand (the periodic task calls this): only expired ones go.
    let (_, auth) = app.password_auth(&email, PASSWORD).await;
    assert!(auth["AuthenticationResult"]["RefreshToken"].is_string());
    app.idp.prune().unwrap();
    assert_eq!(app.idp.stored_refresh_tokens().unwrap(), 1);
    clock.advance(Duration::from_secs(30 * 86_400 + 1));
    app.idp.prune().unwrap();
    assert_eq!(app.idp.stored_refresh_tokens().unwrap(), 0);
}
