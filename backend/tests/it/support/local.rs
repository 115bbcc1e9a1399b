//! The local stack for integration tests: started on free ports with a fresh data directory,
//! and driven over HTTP the way the browser and AWS clients drive it.

use std::time::Duration;

use ferry::config::Limits;
use ferry::local::{self, LocalOptions, LocalStack};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct-horse-42";

pub async fn start_in(dir: &std::path::Path, limits: Limits) -> LocalStack {
    local::start(LocalOptions {
        port: 0,
        s3_port: 0,
        data_dir: dir.to_path_buf(),
        site_dir: dir.join("site"),
        limits,
        ..LocalOptions::default()
    })
    .await
    .expect("local stack starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Calls an action of the Cognito JSON API, as boto3 or the AWS CLI would.
pub async fn cognito(stack: &LocalStack, action: &str, body: Value) -> (StatusCode, Value) {
    let res = http()
        .post(stack.config.cognito_endpoint.clone().unwrap())
        .header(
            "x-amz-target",
            format!("AWSCognitoIdentityProviderService.{action}"),
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn sign_up_and_in(stack: &LocalStack, email: &str) -> String {
    let client_id = &stack.config.client_id;
    let (status, body) = cognito(
        stack,
        "SignUp",
        json!({"ClientId": client_id, "Username": email, "Password": PASSWORD,
               "UserAttributes": [{"Name": "email", "Value": email}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["UserConfirmed"], true);
    sign_in(stack, email).await
}

pub async fn sign_in(stack: &LocalStack, email: &str) -> String {
    let (status, body) = cognito(
        stack,
        "InitiateAuth",
        json!({"ClientId": stack.config.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": email, "PASSWORD": PASSWORD}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub struct Api<'a> {
    pub stack: &'a LocalStack,
    pub token: String,
}

impl<'a> Api<'a> {
    /// A new user of `stack`, signed up and signed in.
    pub async fn new_user(stack: &'a LocalStack, email: &str) -> Self {
        Self {
            stack,
            token: sign_up_and_in(stack, email).await,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = http()
            .request(method, format!("{}{path}", self.stack.url()))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Announces a file and sends its bytes through the presigned PUT, as the browser does.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> (String, reqwest::Response) {
        let (status, ticket) = self
            .call(
                reqwest::Method::POST,
                "/api/uploads",
                Some(json!({"name": name, "size": bytes.len(), "content_type": "application/octet-stream"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let res = presigned(&ticket["upload"])
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        (ticket["file"]["id"].as_str().unwrap().to_owned(), res)
    }

    /// The file's bytes, through the presigned GET its download route hands out.
    pub async fn download(&self, id: &str) -> Vec<u8> {
        let (status, grant) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/files/{id}/download"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{grant}");
        let res = http()
            .get(grant["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap().to_vec()
    }

    pub async fn wait_until(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let (_, file) = self
                .call(reqwest::Method::GET, &format!("/api/files/{id}"), None)
                .await;
            if file["status"] == status {
                return file;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("file {id} never became {status}");
    }
}

/// A request built from a presigned-request description, with its headers.
pub fn presigned(upload: &Value) -> reqwest::RequestBuilder {
    let method =
        reqwest::Method::from_bytes(upload["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut req = http().request(method, upload["url"].as_str().unwrap());
    for header in upload["headers"].as_array().unwrap() {
        req = req.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    req
}

pub fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}
