//! The embedded identity provider over real HTTP, driven the way the SPA (hosted UI + PKCE) and
//! AWS clients (Cognito JSON API) use it; its tokens must pass the same verifier as Cognito's.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry::adapters::jwks::JwksVerifier;
use ferry::adapters::local::idp::{IdpConfig, IdpShared, LocalIdp};
use ferry::ports::{AuthError, Clock, TokenVerifier};
use ferry::work_gate::WorkGate;
use rand::RngCore;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const CLIENT: &str = "ferry-local-client";
const PASSWORD: &str = "correct horse 42";

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

#[tokio::test]
async fn json_api_sign_up_and_sign_in_give_access_tokens_the_verifier_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();

    let (status, signed_up) = app.sign_up(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{signed_up}");
    assert_eq!(signed_up["UserConfirmed"], true);
    let sub = signed_up["UserSub"].as_str().unwrap().to_owned();
    // Confirming is harmless when sign-ups are confirmed automatically.
    let (status, _) = app
        .cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "000000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, auth) = app.password_auth(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let result = &auth["AuthenticationResult"];
    assert_eq!(result["TokenType"], "Bearer");
    assert_eq!(result["ExpiresIn"], 3600);
    let access = result["AccessToken"].as_str().unwrap();
    let id_token = result["IdToken"].as_str().unwrap();
    assert!(
        result["RefreshToken"]
            .as_str()
            .is_some_and(|t| t.len() >= 40)
    );

    let verifier = app.verifier();
    let identity = verifier
        .verify(access)
        .await
        .expect("access token verifies");
    assert_eq!(identity.user.as_str(), sub);
    assert_eq!(identity.email.as_deref(), Some(email.as_str()));
    assert!(
        matches!(verifier.verify(id_token).await, Err(AuthError::Invalid(_))),
        "ID tokens are not access tokens"
    );

    let (status, user) = app.cognito("GetUser", json!({"AccessToken": access})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["Username"], sub);

    let info: Value = app
        .http
        .get(format!("{}/oauth2/userInfo", app.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub);
    assert_eq!(info["email"], email);
    let response = app
        .http
        .get(format!("{}/oauth2/userInfo", app.base))
        .bearer_auth(id_token)
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn json_api_errors_have_cognitos_shape() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);

    let error = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].is_string(), "{body}");
        body["__type"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        error(app.sign_up(&email, PASSWORD).await),
        "UsernameExistsException"
    );
    assert_eq!(
        error(app.sign_up(&email.to_uppercase(), PASSWORD).await),
        "UsernameExistsException"
    );
    assert_eq!(
        error(app.sign_up(&unique_email(), "short1").await),
        "InvalidPasswordException"
    );
    assert_eq!(
        error(app.sign_up(&unique_email(), "nodigitshere").await),
        "InvalidPasswordException"
    );
    assert_eq!(
        error(app.sign_up("not-an-email", PASSWORD).await),
        "InvalidParameterException"
    );
    assert_eq!(
        error(app.password_auth(&email, "wrong password 1").await),
        "NotAuthorizedException"
    );
    assert_eq!(
        error(app.password_auth(&unique_email(), PASSWORD).await),
        "NotAuthorizedException"
    );
    let wrong_client = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nope",
                   "AuthParameters": {"USERNAME": email, "PASSWORD": PASSWORD}}),
        )
        .await;
    assert_eq!(error(wrong_client), "ResourceNotFoundException");
    let srp = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": CLIENT, "AuthParameters": {}}),
        )
        .await;
    assert_eq!(error(srp), "InvalidParameterException");
    let missing = app
        .cognito("SignUp", json!({"ClientId": CLIENT, "Username": email}))
        .await;
    assert_eq!(error(missing), "InvalidParameterException");
    assert_eq!(
        error(app.cognito("AdminDeleteUser", json!({})).await),
        "UnknownOperationException"
    );
    let bad_refresh = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                   "AuthParameters": {"REFRESH_TOKEN": "made-up"}}),
        )
        .await;
    assert_eq!(error(bad_refresh), "NotAuthorizedException");
}

#[tokio::test]
async fn unconfirmed_users_cannot_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), false).await;
    let email = unique_email();
    let (status, signed_up) = app.sign_up(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed_up["UserConfirmed"], false);
    assert_eq!(signed_up["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL");

    let (status, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("UserNotConfirmedException"))
    );
    // Six digits cannot be 'x'; the real code is only in the console.
    let (status, body) = app
        .cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("CodeMismatchException"))
    );
}

#[tokio::test]
async fn the_pkce_flow_gives_tokens_once_and_only_to_the_right_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let pkce = new_pkce();

    // The sign-in page keeps every OAuth parameter, escaped.
    let page = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&app.authorize_params(&pkce))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Sign in · Ferry</title>"));
    assert!(html.contains(&format!(
        "name=\"code_challenge\" value=\"{}\"",
        pkce.challenge
    )));
    assert!(html.contains("value=\"st&lt;at&gt;e 1\""));
    assert!(html.contains("href=\"/signup?"));
    assert!(!html.contains("st<at>e"));

    // A wrong verifier is refused, and the code is spent.
    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let (status, body) = app.redeem(&code, &new_pkce().verifier).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let (status, _) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The right verifier works once.
    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let (status, tokens) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let (status, body) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    let verifier = app.verifier();
    let access = tokens["access_token"].as_str().unwrap();
    let identity = verifier
        .verify(access)
        .await
        .expect("access token verifies");
    assert_eq!(identity.email.as_deref(), Some(email.as_str()));
    assert!(
        verifier
            .verify(tokens["id_token"].as_str().unwrap())
            .await
            .is_err()
    );

    // Refresh through the token endpoint and through the JSON API.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    let again = verifier
        .verify(refreshed["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(again.user, identity.user);
    let (status, body) = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                   "AuthParameters": {"REFRESH_TOKEN": refresh}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["AuthenticationResult"]["AccessToken"].is_string());
    assert!(body["AuthenticationResult"].get("RefreshToken").is_none());
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "other"),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn codes_are_bound_to_the_redirect_uri_and_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let pkce = new_pkce();

    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let other_uri = format!("{}/", app.base);
    let (status, body) = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", &code),
            ("redirect_uri", &other_uri),
            ("code_verifier", &pkce.verifier),
        ])
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let redirect_uri = app.redirect_uri();
    let (status, body) = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "someone-else"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &pkce.verifier),
        ])
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"}))
    );
    let (status, body) = app
        .token(&[("grant_type", "password"), ("client_id", CLIENT)])
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
}

#[tokio::test]
async fn the_hosted_pages_sign_up_refuse_and_redirect_safely() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let pkce = new_pkce();
    let params = app.authorize_params(&pkce);

    let page = app
        .http
        .get(format!("{}/signup", app.base))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>Create account · Ferry</title>")
    );

    let signup = |email: String, password: &'static str| {
        let mut form = params.clone();
        form.push(("email", email));
        form.push(("password", password.into()));
        app.http
            .post(format!("{}/signup", app.base))
            .form(&form)
            .send()
    };
    let weak = signup(unique_email(), "password").await.unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(
        weak.text()
            .await
            .unwrap()
            .contains("at least 8 characters, including a letter and a digit")
    );

    let email = unique_email();
    let created = signup(email.clone(), PASSWORD).await.unwrap();
    assert_eq!(created.status(), StatusCode::FOUND);
    assert!(location(&created).starts_with(&format!("{}?code=", app.redirect_uri())));
    let code = reqwest::Url::parse(&location(&created))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(app.redeem(&code, &pkce.verifier).await.0, StatusCode::OK);

    let duplicate = signup(email.clone(), PASSWORD).await.unwrap();
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    assert!(duplicate.text().await.unwrap().contains("already exists"));

    // Bad credentials re-show the form with the email kept and a message.
    let mut form = params.clone();
    form.push(("email", email.clone()));
    form.push(("password", "wrong password 1".into()));
    let refused = app
        .http
        .post(format!("{}/login", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Incorrect email or password.") && html.contains(&email));

    // Unknown redirect URIs get a page, never a redirect.
    let mut evil = params.clone();
    evil[2] = ("redirect_uri", "https://evil.example/cb".into());
    let response = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&evil)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());

    // Without PKCE the client is told so at its redirect URI.
    let no_pkce: Vec<_> = params
        .iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let response = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&no_pkce)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).contains("error=invalid_request"));

    // Logout only goes back to allowed URIs.
    let back = format!("{}/", app.base);
    let out = app
        .http
        .get(format!("{}/logout", app.base))
        .query(&[("client_id", CLIENT), ("logout_uri", &back)])
        .send()
        .await
        .unwrap();
    assert_eq!((out.status(), location(&out)), (StatusCode::FOUND, back));
    let out = app
        .http
        .get(format!("{}/logout", app.base))
        .query(&[
            ("client_id", CLIENT),
            ("logout_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn discovery_jwks_and_cors_for_browser_callers() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let config: Value = app
        .http
        .get(format!("{}/.well-known/openid-configuration", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuer"], app.base);
    assert_eq!(
        config["token_endpoint"],
        format!("{}/oauth2/token", app.base)
    );
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
    let jwks: Value = app
        .http
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, app.idp.jwks());
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/token", app.base),
        )
        .header("origin", "http://127.0.0.1:8081")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let userinfo = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/userInfo", app.base),
        )
        .header("origin", "http://127.0.0.1:8081")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    let allowed = userinfo
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        allowed.map(str::to_ascii_lowercase).as_deref(),
        Some("authorization")
    );
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
}

#[tokio::test]
async fn users_keys_and_refresh_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    let (_, signed_up) = app.sign_up(&email, PASSWORD).await;
    let (_, auth) = app.password_auth(&email, PASSWORD).await;
    let refresh = auth["AuthenticationResult"]["RefreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks = app.idp.jwks();
    drop(app.stop().await);

    let app = spawn_idp(dir.path(), true).await;
    assert_eq!(app.idp.jwks(), jwks, "the signing key is kept");
    let (status, auth) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let access = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap();
    let identity = app.verifier().verify(access).await.unwrap();
    assert_eq!(Some(identity.user.as_str()), signed_up["UserSub"].as_str());
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn minted_tokens_exercise_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "sub": "3f1c2a9e-1111-4222-8333-944455556666", "iss": app.base, "client_id": CLIENT,
        "token_use": "access", "exp": now + 60, "iat": now,
    });
    let verifier = app.verifier();
    assert!(
        verifier
            .verify(&app.idp.sign_claims(&claims).unwrap())
            .await
            .is_ok()
    );
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 3600);
    assert!(matches!(
        verifier
            .verify(&app.idp.sign_claims(&expired).unwrap())
            .await,
        Err(AuthError::Expired)
    ));
}

/// A clock the tests move by hand.
struct TestClock(Mutex<time::OffsetDateTime>);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(time::OffsetDateTime::now_utc())))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

fn shared_with(clock: &Arc<TestClock>) -> IdpShared {
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
async fn a_full_password_gate_turns_sign_ins_away_without_hashing() {
    let dir = tempfile::tempdir().unwrap();
    // One slot, nobody may wait: the test takes the slot, so every sign-in finds the gate full.
    let gate = Arc::new(WorkGate::new(1, 0));
    let shared = IdpShared {
        password_work: Arc::clone(&gate),
        ..IdpShared::default()
    };
    let app = spawn_idp_with(dir.path(), true, shared).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let before = app.idp.password_verifications();
    let held = gate.enter().await.unwrap();

    let pkce = new_pkce();
    let app_ref = &app;
    let json_attempts = (0..24).map(|i| {
        let password = format!("wrong password {i}");
        let email = email.clone();
        async move { app_ref.password_auth(&email, &password).await }
    });
    let page_attempts = (0..24).map(|i| {
        let form = app_ref.login_form(&pkce, &unique_email(), &format!("wrong password {i}"));
        async move { app_ref.post_form("/login", &form, &[]).await }
    });
    let (json, pages) = tokio::join!(
        futures::future::join_all(json_attempts),
        futures::future::join_all(page_attempts)
    );
    for (status, body) in json {
        // Cognito throttles with a 400 and `TooManyRequestsException`.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["__type"], "TooManyRequestsException");
    }
    for page in pages {
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.headers().get("retry-after").is_some());
        assert!(page.text().await.unwrap().contains("try again in a moment"));
    }
    let (status, body) = app.sign_up(&unique_email(), PASSWORD).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("TooManyRequestsException"))
    );
    let mut form = app.authorize_params(&pkce);
    form.push(("email", unique_email()));
    form.push(("password", PASSWORD.into()));
    let signup = app.post_form("/signup", &form, &[]).await;
    assert_eq!(signup.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.idp.password_verifications(),
        before,
        "no argon2 work ran while the gate was full"
    );

    drop(held);
    let (status, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(gate.available(), 1, "every slot was given back");
}

#[tokio::test]
async fn every_failed_sign_in_costs_exactly_one_verification() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let known = unique_email();
    assert_eq!(app.sign_up(&known, PASSWORD).await.0, StatusCode::OK);
    let unknown = unique_email();
    let too_long = format!("a1{}", "x".repeat(300));
    for (email, password) in [
        (known.as_str(), too_long.as_str()),
        (known.as_str(), "wrong password 1"),
        (unknown.as_str(), too_long.as_str()),
        (unknown.as_str(), "wrong password 1"),
        ("not an address", "wrong password 1"),
    ] {
        let before = app.idp.password_verifications();
        let (status, body) = app.password_auth(email, password).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("Incorrect username or password.")
            ),
            "{email} / {} chars",
            password.len()
        );
        assert_eq!(
            app.idp.password_verifications() - before,
            1,
            "{email} / {} chars",
            password.len()
        );
    }
    let before = app.idp.password_verifications();
    assert_eq!(app.password_auth(&known, PASSWORD).await.0, StatusCode::OK);
    assert_eq!(app.idp.password_verifications() - before, 1);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_an_address_like_cognito() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let stranger = unique_email();
    for i in 0..5 {
        for who in [&email, &stranger] {
            let (_, body) = app.password_auth(who, &format!("wrong password {i}")).await;
            assert_eq!(body["message"], "Incorrect username or password.");
        }
    }
    // Locked for 2^(5-5) = 1 s: even the right password is refused, without hashing, and an
    // address with no account answers the same.
    let before = app.idp.password_verifications();
    for who in [&email, &stranger] {
        let (status, body) = app.password_auth(who, PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "NotAuthorizedException");
        assert_eq!(body["message"], "Password attempts exceeded");
    }
    let pkce = new_pkce();
    let page = app
        .post_form("/login", &app.login_form(&pkce, &email, PASSWORD), &[])
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    assert_eq!(app.idp.password_verifications(), before);

    // The lock outlives a restart.
    drop(app.stop().await);
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    let (_, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(body["message"], "Password attempts exceeded");

    // After the second, one more failure locks for 2 s; then the right password works and
    // starts the count over.
    clock.advance(Duration::from_secs(1));
    let (_, body) = app.password_auth(&email, "wrong password 6").await;
    assert_eq!(body["message"], "Incorrect username or password.");
    clock.advance(Duration::from_millis(1999));
    let (_, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(body["message"], "Password attempts exceeded");
    clock.advance(Duration::from_millis(1));
    assert_eq!(app.password_auth(&email, PASSWORD).await.0, StatusCode::OK);
    let (_, body) = app.password_auth(&email, "wrong password 7").await;
    assert_eq!(body["message"], "Incorrect username or password.");
    assert_eq!(app.password_auth(&email, PASSWORD).await.0, StatusCode::OK);

    // Fifteen quiet minutes forget the stranger's failures too.
    clock.advance(Duration::from_secs(15 * 60));
    let (_, body) = app.password_auth(&stranger, PASSWORD).await;
    assert_eq!(body["message"], "Incorrect username or password.");
}

#[tokio::test]
async fn concurrent_wrong_passwords_cannot_slip_past_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let shared = IdpShared {
        // Room for every guess in the line, so none is turned away as busy.
        password_work: Arc::new(WorkGate::new(2, 64)),
        ..shared_with(&clock)
    };
    let app = spawn_idp_with(dir.path(), true, shared).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let before = app.idp.password_verifications();
    let (app_ref, email_ref) = (&app, &email);
    let guesses = (0..16).map(|i| async move {
        app_ref
            .password_auth(email_ref, &format!("wrong password {i}"))
            .await
    });
    let answers = futures::future::join_all(guesses).await;
    let exceeded = answers
        .iter()
        .filter(|(_, body)| body["message"] == "Password attempts exceeded")
        .count();
    // Each attempt is counted before its password is checked: five are, the rest wait.
    assert_eq!(exceeded, 11, "{answers:?}");
    assert_eq!(app.idp.password_verifications() - before, 5);
}

#[tokio::test]
async fn confirmation_codes_die_after_five_wrong_guesses() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), false).await;
    let confirm = |email: &str| {
        app.cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "000000"}),
        )
    };
    // The code is random: find an account whose code is not 000000 (one in a million is).
    let email = loop {
        let email = unique_email();
        let (status, body) = app.sign_up(&email, PASSWORD).await;
        assert_eq!(
            (status, &body["UserConfirmed"]),
            (StatusCode::OK, &json!(false))
        );
        let (status, body) = confirm(&email).await;
        if status != StatusCode::OK {
            assert_eq!(body["__type"], "CodeMismatchException");
            break email;
        }
    };
    for _ in 1..5 {
        let (status, body) = confirm(&email).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "CodeMismatchException");
    }
    // Five wrong guesses: the code is dead, whatever comes next.
    let (status, body) = confirm(&email).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "ExpiredCodeException", "{body}");
    assert_eq!(
        body["message"],
        "Invalid code provided, please request a code again."
    );
}

#[tokio::test]
async fn hosted_forms_posted_from_another_site_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let pkce = new_pkce();
    let email = unique_email();
    let form = app.login_form(&pkce, &email, PASSWORD);
    let own_origin = app.base.as_str();
    for path in ["/login", "/signup", "/confirm"] {
        for headers in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")][..],
            &[("origin", "null"), ("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")][..],
        ] {
            let response = app.post_form(path, &form, headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} {headers:?}"
            );
            assert!(response.headers().get("location").is_none());
        }
    }
    let created = app
        .post_form(
            "/signup",
            &form,
            &[("origin", own_origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::FOUND);
    let login = app
        .post_form("/login", &form, &[("origin", own_origin)])
        .await;
    assert_eq!(login.status(), StatusCode::FOUND);
    // A page under `Referrer-Policy: no-referrer` posts with `Origin: null`; the browser's
    // `Sec-Fetch-Site` still says where it came from.
    let login = app
        .post_form(
            "/login",
            &form,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(login.status(), StatusCode::FOUND);
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
    let clock = TestClock::new();
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
