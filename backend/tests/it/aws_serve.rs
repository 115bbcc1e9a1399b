//! The local stack's end-to-end flow with `ferry serve --backend aws` against moto, after
//! `ferry provision`: Cognito tokens, DynamoDB records, S3 presigned URLs and S3 → SQS events.

use std::process::Stdio;
use std::time::Duration;

use crate::support::aws::{Moto, REGION, SKIP_EMULATOR_TESTS, sign_in, unique_name, user_pool};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::process::Command;

fn ferry(moto: &Moto, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_whole_flow_runs_on_aws_services_in_moto() {
    let Some(moto) = Moto::start("the_whole_flow_runs_on_aws_services_in_moto").await else {
        return;
    };
    let pool = user_pool(&moto).await;
    let (access, _) = sign_in(&moto, &pool, &pool.client_id, "grace").await;
    let port = free_port();
    let base = vec![
        ("FERRY_BUCKET", unique_name("files")),
        ("FERRY_TABLE", unique_name("ferry")),
    ];

    let provisioned = ferry(&moto, &base)
        .args(["provision", "--origin", &format!("http://127.0.0.1:{port}")])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&provisioned.stdout);
    assert!(
        provisioned.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&provisioned.stderr)
    );
    let queue_url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("FERRY_EVENTS_QUEUE_URL="))
        .expect("provision prints the queue URL")
        .to_owned();

    let mut env = base.clone();
    env.extend([
        ("FERRY_BACKEND", "aws".to_owned()),
        (
            "FERRY_COGNITO_ISSUER",
            format!("https://cognito-idp.{REGION}.amazonaws.com/{}", pool.id),
        ),
        (
            "FERRY_COGNITO_JWKS_URL",
            format!("{}/{}/.well-known/jwks.json", moto.endpoint, pool.id),
        ),
        ("FERRY_COGNITO_CLIENT_ID", pool.client_id.clone()),
        ("FERRY_EVENTS_QUEUE_URL", queue_url),
    ]);
    let _server = ferry(&moto, &env)
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--site-dir",
            "/nonexistent",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{url}/api/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "ferry serve --backend aws answers");

    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{url}{path}"))
            .bearer_auth(&access)
    };
    let unauthorized = http.get(format!("{url}/api/files")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);

    // Upload straight to (moto's) S3 through the presigned PUT.
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let ticket: Value = api(reqwest::Method::POST, "/api/uploads")
        .json(&json!({"name": "notes.bin", "size": bytes.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ticket["file"]["id"].as_str().expect("a file id").to_owned();
    let mut put = http.put(ticket["upload"]["url"].as_str().unwrap());
    for h in ticket["upload"]["headers"].as_array().unwrap() {
        put = put.header(h["name"].as_str().unwrap(), h["value"].as_str().unwrap());
    }
    assert!(
        put.body(bytes.clone())
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    // S3 → SQS → the poller → the events handler marks it ready.
    let mut ready = false;
    for _ in 0..150 {
        let file: Value = api(reqwest::Method::GET, &format!("/api/files/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if file["status"] == "ready" {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the upload event reached the handler through SQS");

    let share: Value = api(reqwest::Method::POST, &format!("/api/files/{id}/shares"))
        .json(&json!({"max_downloads": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = share["token"].as_str().unwrap();
    let grant = http
        .post(format!("{url}/api/public/shares/{token}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::OK);
    let grant: Value = grant.json().await.unwrap();
    let got = http
        .get(grant["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&bytes));
    let again = http
        .post(format!("{url}/api/public/shares/{token}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);

    let deleted = api(reqwest::Method::DELETE, &format!("/api/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let s3 = moto.s3().await;
    let bucket = &env[0].1;
    let sub = ticket["upload"]["url"]
        .as_str()
        .unwrap()
        .split("/files/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(format!("files/{sub}/{id}"))
        .send()
        .await;
    assert!(head.is_err(), "the object is gone from S3");
    let gone = http
        .get(format!("{url}/api/public/shares/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// moto runs DynamoDB's requests one at a time (serial_moto.py), but nothing else: the events
/// poller keeps an SQS long poll open all the time, and it must not hold back the other
/// requests of the whole flow above for up to 20 s each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_answers_other_requests_while_an_sqs_long_poll_waits() {
    let Some(moto) = Moto::start("moto_answers_other_requests_while_an_sqs_long_poll_waits").await
    else {
        return;
    };
    let sqs = moto.sqs().await;
    let queue = sqs
        .create_queue()
        .queue_name(unique_name("events"))
        .send()
        .await
        .unwrap()
        .queue_url
        .expect("a queue URL");
    let long_poll = tokio::spawn({
        let (sqs, queue) = (sqs.clone(), queue.clone());
        async move {
            sqs.receive_message()
                .queue_url(queue)
                .wait_time_seconds(20)
                .send()
                .await
                .unwrap()
        }
    });

    moto.dynamodb().await.list_tables().send().await.unwrap();
    moto.s3().await.list_buckets().send().await.unwrap();
    assert!(
        !long_poll.is_finished(),
        "DynamoDB and S3 answered while the long poll was waiting"
    );
    // The poll is still open, so it receives what is sent now (rather than timing out empty
    // after the message waited behind it).
    sqs.send_message()
        .queue_url(&queue)
        .message_body("wake up")
        .send()
        .await
        .unwrap();
    let received = long_poll.await.unwrap();
    let bodies: Vec<_> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, ["wake up"]);
}

/// A moto-backed test that cannot run because moto is missing fails; it passes without running
/// only when skipping is asked for, and then says so.
#[test]
fn a_moto_test_without_moto_fails_unless_skipping_is_asked_for() {
    let run = |skip: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            // Inside the one test binary, a test's name starts with its module.
            "aws_serve::moto_answers_other_requests_while_an_sqs_long_poll_waits",
            "--nocapture",
        ])
        .env("FERRY_MOTO_SERVER", "/nonexistent/moto_server")
        .env_remove(SKIP_EMULATOR_TESTS)
        .env_remove("CI");
        if skip {
            cmd.env(SKIP_EMULATOR_TESTS, "1");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stderr)
    };
    let (passed, stderr) = run(false);
    assert!(!passed, "without moto the test fails: {stderr}");
    assert!(stderr.contains("cannot run"), "{stderr}");
    let (passed, stderr) = run(true);
    assert!(passed, "skipping is allowed when asked for: {stderr}");
    assert!(
        stderr.contains("SKIPPED moto_answers_other_requests_while_an_sqs_long_poll_waits"),
        "{stderr}"
    );
}
