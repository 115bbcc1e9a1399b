//! Both Lambda functions on the AWS adapters against moto, fed real event documents:
//! API Gateway HTTP API v2 requests (JWT authorizer claims arrive as strings; the API checks the
//! bearer token itself), SQS-wrapped S3 notifications, and DynamoDB stream REMOVE records.
//! Along the way: `provision::run` sets up moto, and the SQS poller of the AWS mode carries moto's
//! own S3 notifications to the same handler.

use std::sync::Arc;
use std::time::Duration;

use crate::support::aws::{Moto, sign_in, unique_name, user_pool};
use crate::support::records::pending_file;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ferry::adapters::aws::provision::{self, ProvisionOptions};
use ferry::adapters::aws::{AwsAdapters, AwsSettings};
use ferry::config::Limits;
use ferry::domain::{FileId, FileRecord, UserId};
use ferry::lambda::events_function::EventsFunction;
use ferry::lambda::sqs;
use ferry::ports::{MetadataStore, ObjectStore};
use ferry_api::FileStatus;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

const SITE: &str = "https://ferry.example.com";

fn fixture(name: &str, replacements: &[(&str, &str)]) -> String {
    let path = format!("{}/tests/it/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    text
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Runs an API Gateway event through `lambda_http`'s adapter and the router, as the runtime
/// does; returns the status and the JSON body of the API Gateway response.
async fn invoke_api(router: &axum::Router, event: &str) -> (u16, Value) {
    let request: LambdaRequest = serde_json::from_str(event).expect("an API Gateway v2 event");
    let adapter = Adapter::from(router.clone());
    let response = adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    let response = serde_json::to_value(response).unwrap();
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = match (&response["body"], response["isBase64Encoded"].as_bool()) {
        (Value::String(b), Some(true)) => String::from_utf8(STANDARD.decode(b).unwrap()).unwrap(),
        (Value::String(b), _) => b.clone(),
        _ => String::new(),
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn pending(owner: &UserId, size: u64) -> FileRecord {
    let now = OffsetDateTime::now_utc();
    pending_file(owner, size, now, now + Duration::from_secs(900))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_functions_handle_real_events_on_moto() {
    let Some(moto) = Moto::start("lambda_functions_handle_real_events_on_moto").await else {
        return;
    };
    // Cognito on moto issues the tokens; the API is configured as on AWS, JWKS URL aside.
    let pool = user_pool(&moto).await;
    let (token, _) = sign_in(&moto, &pool, &pool.client_id, "alice").await;
    let issuer = claims(&token)["iss"].as_str().unwrap().to_owned();
    let sub = claims(&token)["sub"].as_str().unwrap().to_owned();
    let owner = UserId::parse(&sub).unwrap();
    let settings = AwsSettings {
        bucket: unique_name("ferry-files"),
        table: unique_name("ferry"),
        cognito_issuer: Some(issuer.clone()),
        cognito_jwks_url: Some(format!(
            "{}/{}/.well-known/jwks.json",
            moto.endpoint, pool.id
        )),
        cognito_client_id: Some(pool.client_id.clone()),
        public_base_url: Some(SITE.to_owned()),
        events_queue_url: None,
        live_endpoint: None,
    };
    let aws = AwsAdapters::new(&moto.sdk_config().await, settings);

    let options = ProvisionOptions {
        allowed_origins: vec![SITE.to_owned()],
        queue_name: unique_name("events"),
    };
    let first = provision::run(&aws, &options).await.expect("provision");
    assert!(first.bucket_created && first.table_created);
    let again = provision::run(&aws, &options)
        .await
        .expect("provision again");
    assert!(!again.bucket_created && !again.table_created);
    assert_eq!(again.queue_url, first.queue_url);

    let limits = Limits::default();
    let router = ferry::router(aws.app_state(limits.clone()).unwrap());
    let events = EventsFunction::new(aws.event_context(Arc::new(limits)), Some(aws.meta.clone()));
    let replacements = |token: &str, body: &str| {
        vec![
            ("__TOKEN__".to_owned(), token.to_owned()),
            ("__CLIENT_ID__".to_owned(), pool.client_id.clone()),
            ("__ISSUER__".to_owned(), issuer.clone()),
            ("__SUB__".to_owned(), sub.clone()),
            ("__LENGTH__".to_owned(), body.len().to_string()),
            ("__BODY_BASE64__".to_owned(), STANDARD.encode(body)),
        ]
    };
    let api_event = |name: &str, token: &str, body: &str| {
        let pairs = replacements(token, body);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        fixture(name, &refs)
    };

    // 1. POST /api/uploads through API Gateway's event: a pending file and a presigned PUT.
    let image = png(640, 480);
    let body =
        json!({"name": "sunset.png", "size": image.len(), "content_type": "image/png"}).to_string();
    let (status, ticket) = invoke_api(
        &router,
        &api_event("apigw_v2_create_upload.json", &token, &body),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let id = FileId::parse(ticket["file"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(ticket["file"]["status"], "pending");

    // The authorizer's claims are not trusted on their own: a bad bearer token is refused.
    let (status, error) = invoke_api(
        &router,
        &api_event("apigw_v2_list_files.json", "not-a-jwt", ""),
    )
    .await;
    assert_eq!(status, 401, "{error}");

    // 2. The browser's PUT, to moto's S3.
    let http = reqwest::Client::new();
    let mut put = http
        .put(ticket["upload"]["url"].as_str().unwrap())
        .body(image.clone());
    for header in ticket["upload"]["headers"].as_array().unwrap() {
        put = put.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    assert!(put.send().await.unwrap().status().is_success());

    // 3. moto's S3 notifies the queue; the AWS mode's poller feeds the events handler.
    let mut file = None;
    for _ in 0..10 {
        sqs::poll_once(&aws.sqs, &first.queue_url, &events, Duration::from_secs(1))
            .await
            .unwrap();
        let current = aws.meta.file(&owner, &id).await.unwrap().unwrap();
        if current.status == FileStatus::Ready {
            file = Some(current);
            break;
        }
    }
    let file = file.expect("the upload became ready from moto's own S3 notification");
    let thumb_key = file
        .thumbnail_key
        .clone()
        .expect("a thumbnail was recorded");
    assert_eq!(thumb_key, format!("thumbs/{sub}/{id}.webp"));
    let thumb = aws.objects.get(&thumb_key, 1 << 20).await.unwrap().unwrap();
    let decoded = image::load_from_memory_with_format(&thumb, image::ImageFormat::WebP).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 192));
    eprintln!(
        "thumbnail of a 640x480 PNG ({} B): {} B lossless WebP",
        image.len(),
        thumb.len()
    );

    // 4. GET /api/files through API Gateway's event.
    let (status, page) =
        invoke_api(&router, &api_event("apigw_v2_list_files.json", &token, "")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], json!(id.to_string()));
    assert_eq!(page["items"][0]["status"], "ready");
    assert!(
        page["items"][0]["thumbnail_url"]
            .as_str()
            .is_some_and(|u| u.contains("thumbs")),
        "{page}"
    );

    // 5. An SQS batch as Lambda delivers it: S3's test event, an upload, a thumbnail key
    //    (ignored), and a broken message (the only failure reported).
    let other = pending(&owner, 11);
    aws.meta.insert_pending_file(&other, 1 << 30).await.unwrap();
    aws.objects
        .put(
            &other.object_key(),
            b"eleven byte".to_vec().into(),
            "application/octet-stream",
        )
        .await
        .unwrap();
    let batch = fixture(
        "sqs_s3_notifications.json",
        &[
            ("__BUCKET__", &aws.settings.bucket),
            ("__KEY__", &other.object_key()),
            ("__SIZE__", "11"),
        ],
    );
    let response = events
        .handle(serde_json::from_str(&batch).unwrap())
        .await
        .unwrap();
    let failures: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failures, vec!["c0ffee00-1111-4222-8333-444455556666"]);
    assert_eq!(
        serde_json::to_value(&response).unwrap()["batchItemFailures"][0]["itemIdentifier"],
        json!(failures[0])
    );
    assert_eq!(
        aws.meta
            .file(&owner, &other.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        FileStatus::Ready
    );

    // 6. DynamoDB's TTL removes a pending upload: the stream record deletes the object and gives
    //    the quota back, once, however often it is delivered.
    let before = aws.meta.usage(&owner).await.unwrap();
    let expired = pending(&owner, 77);
    aws.meta
        .insert_pending_file(&expired, 1 << 30)
        .await
        .unwrap();
    aws.objects
        .put(
            &expired.object_key(),
            vec![0u8; 77].into(),
            "application/octet-stream",
        )
        .await
        .unwrap();
    aws.dynamodb
        .delete_item()
        .table_name(&aws.settings.table)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{sub}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("FILE#{}", expired.id)),
        )
        .send()
        .await
        .unwrap();
    let stream = fixture(
        "dynamodb_stream_remove_ttl.json",
        &[
            ("__SUB__", &sub),
            ("__ID__", &expired.id.to_string()),
            ("__SIZE__", "77"),
        ],
    );
    for _ in 0..2 {
        let response = events
            .handle(serde_json::from_str(&stream).unwrap())
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(aws.objects.head(&expired.object_key()).await.unwrap(), None);
    assert_eq!(
        aws.meta.usage(&owner).await.unwrap(),
        before,
        "released exactly once"
    );
}
