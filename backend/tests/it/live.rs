//! Live updates: who may connect (the local server's `/live` and the `ferry-live` Lambda fed API
//! Gateway WebSocket events), the fan-out contract both connection registries meet (every
//! connection of the user, none of another's, gone ones forgotten), the stream records that
//! become events, and the local stack end to end.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::aws::{Moto, unique_name};
use crate::support::embedded_s3;
use crate::support::local::{Api, http, sample, sign_in, sign_up_and_in, start_in, start_on_clock};
use crate::support::records::pending_file;
use axum::extract::{Path, State};
use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use ferry::adapters::aws::create_table;
use ferry::adapters::aws::live::{DynamoConnections, ManagementApiPush};
use ferry::adapters::jwks::JwksVerifier;
use ferry::adapters::local::live::LocalLiveHub;
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::config::Limits;
use ferry::domain::UserId;
use ferry::lambda::events_function::EventsFunction;
use ferry::lambda::live_function::LiveFunction;
use ferry::live::{FanOut, LiveNotifier};
use ferry::live_ports::{ConnectionId, LiveConnections, LivePush};
use ferry::local::LocalStack;
use ferry::ports::{ManualClock, SystemClock};
use ferry::upload_events::EventContext;
use ferry::work_gate::WorkGate;
use ferry_api::live::{EndReason, LiveEvent};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc::Receiver;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A guard against a hung test, not a synchronisation: messages normally arrive in milliseconds.
const PATIENCE: Duration = Duration::from_secs(20);

fn fixture(name: &str, replacements: &[(&str, &str)]) -> Value {
    let path = format!("{}/tests/it/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn user(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

fn conn(raw: &str) -> ConnectionId {
    ConnectionId::parse(raw).unwrap()
}

fn ready(file_id: &str) -> LiveEvent {
    LiveEvent::FileReady {
        file_id: file_id.to_owned(),
    }
}

/// Opens `/live` offering `protocols`; the handshake's response, or the refusal's status.
async fn open_live(
    stack: &LocalStack,
    protocols: Option<&str>,
) -> Result<(Socket, tungstenite::handshake::client::Response), u16> {
    let url = format!("ws://{}/live", stack.app_addr);
    let mut request = url.into_client_request().unwrap();
    if let Some(protocols) = protocols {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(pair) => Ok(pair),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("unexpected handshake failure: {other}"),
    }
}

async fn connect_as(stack: &LocalStack, token: &str) -> Socket {
    open_live(stack, Some(&format!("ferry.v1, bearer.{token}")))
        .await
        .expect("live connection accepted")
        .0
}

async fn next_event(socket: &mut Socket) -> LiveEvent {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a live message in time")
            .expect("the socket stays open")
            .expect("a readable message");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("a live event");
        }
    }
}

#[tokio::test]
async fn live_local_connect_refuses_missing_expired_and_unprotocolled_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(now - Duration::from_secs(3 * 3600)));
    let stack = start_on_clock(dir.path(), Limits::default(), clock.clone()).await;
    // Issued three hours ago with a one-hour lifetime.
    let expired = sign_up_and_in(&stack, "old@example.com").await;
    clock.set(now);
    let valid = sign_in(&stack, "old@example.com").await;

    for (offered, why) in [
        (None, "no subprotocol at all"),
        (Some("ferry.v1".to_owned()), "no token"),
        (
            Some(format!("bearer.{valid}")),
            "a token without the protocol",
        ),
        (
            Some(format!("ferry.v1, bearer.{expired}")),
            "an expired token",
        ),
        (
            Some("ferry.v1, bearer.not.a.jwt".to_owned()),
            "a forged token",
        ),
    ] {
        let refused = open_live(&stack, offered.as_deref()).await;
        assert_eq!(refused.err(), Some(401), "{why}");
    }
    assert!(stack.live.hub.is_empty(), "refused attempts leave nothing");

    let (_socket, response) = open_live(&stack, Some(&format!("ferry.v1, bearer.{valid}")))
        .await
        .expect("a valid token is accepted");
    let echoed: Vec<_> = response
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        echoed,
        ["ferry.v1"],
        "only the protocol is echoed, never the token"
    );
    assert_eq!(stack.live.hub.len(), 1);
    stack.shutdown().await;
}

#[tokio::test]
async fn live_local_stack_tells_every_tab_of_the_owner_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let alice = Api::new_user(&stack, "alice@example.com").await;
    let bob = Api::new_user(&stack, "bob@example.com").await;
    let mut tab1 = connect_as(&stack, &alice.token).await;
    let mut tab2 = connect_as(&stack, &alice.token).await;
    let mut bobs = connect_as(&stack, &bob.token).await;

    let (id, put) = alice.upload("slides.pdf", &sample(1200)).await;
    assert!(put.status().is_success());
    assert_eq!(next_event(&mut tab1).await, ready(&id));
    assert_eq!(next_event(&mut tab2).await, ready(&id));

    let (status, share) = alice
        .call(
            reqwest::Method::POST,
            &format!("/api/files/{id}/shares"),
            Some(json!({"max_downloads": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    let token = share["token"].as_str().unwrap().to_owned();
    let download = http()
        .post(format!(
            "{}/api/public/shares/{token}/download",
            stack.url()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    for tab in [&mut tab1, &mut tab2] {
        assert_eq!(
            next_event(tab).await,
            LiveEvent::ShareDownloaded {
                token: token.clone(),
                file_id: id.clone(),
                downloads: 1
            }
        );
        assert_eq!(
            next_event(tab).await,
            LiveEvent::ShareEnded {
                token: token.clone(),
                reason: EndReason::Exhausted
            }
        );
    }

    // Bob's first message is about his own upload: none of Alice's reached him before it.
    let (bobs_id, _) = bob.upload("notes.txt", &sample(10)).await;
    assert_eq!(next_event(&mut bobs).await, ready(&bobs_id));

    // A closed tab is forgotten; the other keeps receiving.
    tab2.close(None).await.unwrap();
    drop(tab2);
    let (second, _) = alice.upload("more.bin", &sample(20)).await;
    assert_eq!(next_event(&mut tab1).await, ready(&second));
    let alice_id = user(&alice_sub(&alice.token));
    let mut open = stack.live.hub.connections_of(&alice_id).await.unwrap();
    for _ in 0..200 {
        if open.len() == 1 {
            break;
        }
        // The server notices the close on its own task; wait for that, bounded.
        tokio::time::sleep(Duration::from_millis(25)).await;
        open = stack.live.hub.connections_of(&alice_id).await.unwrap();
    }
    assert_eq!(open.len(), 1, "the closed tab was forgotten");
    stack.shutdown().await;
}

fn alice_sub(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// Lets the contract read what each connection received and make one gone, whatever registry
/// and transport are behind it.
#[async_trait::async_trait]
trait Probe: Send + Sync {
    async fn connected(&self, connection: &ConnectionId);
    async fn received(&self, connection: &ConnectionId) -> Vec<String>;
    async fn make_gone(&self, connection: &ConnectionId);
}

/// The contract of a connection registry and its transport, through [`LiveNotifier`].
async fn fan_out_contract(
    connections: Arc<dyn LiveConnections>,
    push: Arc<dyn LivePush>,
    probe: &dyn Probe,
) {
    let notifier = LiveNotifier::new(connections.clone(), push);
    let (alice, bob) = (user("alice-sub"), user("bob-sub"));
    let until = OffsetDateTime::now_utc() + Duration::from_secs(3600);
    let (a1, a2, b1) = (
        conn("a1-Ls2bPH3=="),
        conn("a2-Ls2bPH4=="),
        conn("b1-Ls2bPH5=="),
    );
    for (c, u) in [(&a1, &alice), (&a2, &alice), (&b1, &bob)] {
        connections.connect(c, u, until).await.unwrap();
        probe.connected(c).await;
    }
    assert_eq!(
        connections.connections_of(&alice).await.unwrap(),
        vec![a1.clone(), a2.clone()]
    );

    let fan_out = notifier.notify(&alice, &ready("f-1")).await.unwrap();
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 2,
            gone: 0,
            failed: 0
        }
    );
    let expected = vec![r#"{"type":"file_ready","file_id":"f-1"}"#.to_owned()];
    assert_eq!(probe.received(&a1).await, expected);
    assert_eq!(probe.received(&a2).await, expected);
    assert!(
        probe.received(&b1).await.is_empty(),
        "none of Alice's events reach Bob"
    );

    // A connection that is gone is forgotten during the fan-out.
    probe.make_gone(&a2).await;
    let fan_out = notifier.notify(&alice, &ready("f-2")).await.unwrap();
    assert_eq!((fan_out.delivered, fan_out.gone), (1, 1));
    assert_eq!(
        connections.connections_of(&alice).await.unwrap(),
        vec![a1.clone()]
    );
    assert_eq!(probe.received(&a1).await.len(), 1);

    connections.disconnect(&a1).await.unwrap();
    connections.disconnect(&conn("never-seen")).await.unwrap();
    assert!(connections.connections_of(&alice).await.unwrap().is_empty());
    assert_eq!(connections.connections_of(&bob).await.unwrap(), vec![b1]);
    let nobody = notifier.notify(&alice, &ready("f-3")).await.unwrap();
    assert_eq!(nobody, FanOut::default());

    // An expired record (a missed `$disconnect`) is not a connection.
    let past = OffsetDateTime::now_utc() - Duration::from_secs(60);
    connections
        .connect(&conn("stale"), &alice, past)
        .await
        .unwrap();
    assert!(connections.connections_of(&alice).await.unwrap().is_empty());
}

struct HubProbe {
    hub: Arc<LocalLiveHub>,
    receivers: Mutex<HashMap<ConnectionId, Receiver<String>>>,
}

#[async_trait::async_trait]
impl Probe for HubProbe {
    async fn connected(&self, connection: &ConnectionId) {
        let receiver = self.hub.take_receiver(connection).unwrap();
        self.receivers
            .lock()
            .unwrap()
            .insert(connection.clone(), receiver);
    }
    async fn received(&self, connection: &ConnectionId) -> Vec<String> {
        let mut receivers = self.receivers.lock().unwrap();
        let receiver = receivers.get_mut(connection).unwrap();
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }
    async fn make_gone(&self, connection: &ConnectionId) {
        // The socket task ends: its receiving end goes.
        self.receivers.lock().unwrap().remove(connection);
    }
}

#[tokio::test]
async fn live_local_hub_meets_the_fan_out_contract() {
    let hub = Arc::new(LocalLiveHub::new());
    let probe = HubProbe {
        hub: hub.clone(),
        receivers: Mutex::default(),
    };
    fan_out_contract(hub.clone(), hub.clone(), &probe).await;
}

/// API Gateway's management API as far as posting goes: records posts, answers `410
/// GoneException` for connections that closed.
#[derive(Clone, Default)]
struct FakeManagementApi {
    posts: Arc<Mutex<Vec<(String, String)>>>,
    gone: Arc<Mutex<HashSet<String>>>,
}

async fn post_to_connection(
    State(api): State<FakeManagementApi>,
    Path(id): Path<String>,
    body: String,
) -> axum::response::Response {
    if api.gone.lock().unwrap().contains(&id) {
        return (
            AxumStatus::GONE,
            [("x-amzn-errortype", "GoneException")],
            r#"{"message":null}"#,
        )
            .into_response();
    }
    api.posts.lock().unwrap().push((id, body));
    AxumStatus::OK.into_response()
}

#[async_trait::async_trait]
impl Probe for FakeManagementApi {
    async fn connected(&self, _: &ConnectionId) {}
    async fn received(&self, connection: &ConnectionId) -> Vec<String> {
        let mut posts = self.posts.lock().unwrap();
        let (mine, rest) = posts
            .drain(..)
            .partition::<Vec<_>, _>(|(id, _)| id == connection.as_str());
        *posts = rest;
        mine.into_iter().map(|(_, body)| body).collect()
    }
    async fn make_gone(&self, connection: &ConnectionId) {
        self.gone
            .lock()
            .unwrap()
            .insert(connection.as_str().to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_dynamodb_connections_and_management_api_meet_the_fan_out_contract() {
    let Some(moto) = Moto::start("live_dynamodb_connections_meet_the_fan_out_contract").await
    else {
        return;
    };
    let client = moto.dynamodb().await;
    let table = unique_name("ferry-live");
    create_table(&client, &table).await.unwrap();

    let fake = FakeManagementApi::default();
    let app = axum::Router::new()
        .route(
            "/live/@connections/{id}",
            axum::routing::post(post_to_connection),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/live", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let push = ManagementApiPush::new(&moto.sdk_config().await, &endpoint);
    let connections = DynamoConnections::new(client, table);
    fan_out_contract(Arc::new(connections), Arc::new(push), &fake).await;
    server.abort();
}

fn live_function(stack: &LocalStack, client_id: &str, hub: Arc<LocalLiveHub>) -> LiveFunction {
    let origin = stack.url();
    LiveFunction {
        tokens: Arc::new(
            JwksVerifier::new(
                &origin,
                format!("{origin}/.well-known/jwks.json"),
                client_id,
            )
            .unwrap(),
        ),
        connections: hub,
        clock: Arc::new(SystemClock),
    }
}

#[tokio::test]
async fn live_lambda_connect_checks_the_token_and_disconnect_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(now - Duration::from_secs(3 * 3600)));
    let stack = start_on_clock(dir.path(), Limits::default(), clock.clone()).await;
    let expired = sign_up_and_in(&stack, "ada@example.com").await;
    clock.set(now);
    let valid = sign_in(&stack, "ada@example.com").await;
    let sub = alice_sub(&valid);
    let hub = Arc::new(LocalLiveHub::new());
    let function = live_function(&stack, &stack.config.client_id, hub.clone());
    let connection = "L0SM9cOFvHcCIhw=";
    let connect = |header: &str| {
        fixture(
            "apigw_websocket_connect.json",
            &[
                ("__PROTOCOL_HEADER__", header),
                ("__CONNECTION__", connection),
            ],
        )
    };

    for (header, why) in [
        ("", "no subprotocol"),
        (r#""Sec-WebSocket-Protocol": "ferry.v1","#, "no token"),
        (
            &format!(r#""Sec-WebSocket-Protocol": "ferry.v1, bearer.{expired}","#),
            "an expired token",
        ),
    ] {
        let response = function.handle(connect(header)).await.unwrap();
        assert_eq!(response["statusCode"], 401, "{why}: {response}");
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(
            !response.to_string().contains(&expired),
            "the token is not echoed"
        );
    }
    // A token of another app client of the same pool.
    let other_client = live_function(&stack, "another-app-client", hub.clone());
    let offered = format!(r#""Sec-WebSocket-Protocol": "ferry.v1, bearer.{valid}","#);
    let response = other_client.handle(connect(&offered)).await.unwrap();
    assert_eq!(response["statusCode"], 401, "{response}");
    assert!(hub.is_empty());

    let response = function.handle(connect(&offered)).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["Sec-WebSocket-Protocol"], "ferry.v1");
    assert_eq!(
        hub.connections_of(&user(&sub)).await.unwrap(),
        vec![conn(connection)]
    );

    let message = fixture(
        "apigw_websocket_default.json",
        &[("__CONNECTION__", connection)],
    );
    let response = function.handle(message).await.unwrap();
    assert_eq!(response["statusCode"], 200);

    let disconnect = fixture(
        "apigw_websocket_disconnect.json",
        &[("__CONNECTION__", connection)],
    );
    let response = function.handle(disconnect).await.unwrap();
    assert_eq!(response["statusCode"], 200);
    assert!(hub.is_empty());
    assert!(
        function
            .handle(json!({"requestContext": {}}))
            .await
            .is_err()
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn live_stream_records_become_the_owners_events() {
    let dir = tempfile::tempdir().unwrap();
    let (_s3, objects) = embedded_s3::start(dir.path().join("s3")).await;
    let meta = Arc::new(LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap());
    let ctx = EventContext {
        objects,
        meta,
        limits: Arc::new(Limits::default()),
        images: Arc::new(WorkGate::for_images()),
    };
    let hub = Arc::new(LocalLiveHub::new());
    let (owner, stranger) = (user("owner-sub-1"), user("stranger-sub"));
    let until = OffsetDateTime::now_utc() + Duration::from_secs(3600);
    hub.connect(&conn("owner-tab"), &owner, until)
        .await
        .unwrap();
    hub.connect(&conn("stranger-tab"), &stranger, until)
        .await
        .unwrap();
    let mut tab = hub.take_receiver(&conn("owner-tab")).unwrap();
    let mut strangers = hub.take_receiver(&conn("stranger-tab")).unwrap();
    let function =
        EventsFunction::new(ctx, None).with_live(LiveNotifier::new(hub.clone(), hub.clone()));

    let id = "0190f5b2-7c1e-7000-8000-000000000001";
    let (token, token2) = ("AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBA");
    let event = fixture(
        "dynamodb_stream_live.json",
        &[
            ("__SUB__", owner.as_str()),
            ("__ID__", id),
            ("__TOKEN__", token),
            ("__TOKEN2__", token2),
        ],
    );
    let response = function.handle(event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let received: Vec<LiveEvent> = std::iter::from_fn(|| tab.try_recv().ok())
        .map(|text| serde_json::from_str(&text).unwrap())
        .collect();
    assert_eq!(
        received,
        vec![
            ready(id),
            LiveEvent::ShareDownloaded {
                token: token.into(),
                file_id: id.into(),
                downloads: 1
            },
            LiveEvent::ShareEnded {
                token: token.into(),
                reason: EndReason::Exhausted
            },
            LiveEvent::ShareEnded {
                token: token2.into(),
                reason: EndReason::Expired
            },
        ]
    );
    assert!(strangers.try_recv().is_err(), "nothing for another user");
}

#[tokio::test]
async fn live_local_stack_tells_the_owner_when_a_link_expires() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let stack = start_on_clock(dir.path(), Limits::default(), clock.clone()).await;
    let owner = Api::new_user(&stack, "expiring@example.com").await;
    let (id, _) = owner.upload("brief.txt", &sample(64)).await;
    owner.wait_until(&id, "ready").await;
    let (status, share) = owner
        .call(
            reqwest::Method::POST,
            &format!("/api/files/{id}/shares"),
            Some(json!({"expires_in_seconds": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    let token = share["token"].as_str().unwrap().to_owned();
    let mut tab = connect_as(&stack, &owner.token).await;

    clock.advance(Duration::from_secs(61));
    assert_eq!(
        next_event(&mut tab).await,
        LiveEvent::ShareEnded {
            token,
            reason: EndReason::Expired
        }
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn live_local_stack_counts_an_archive_of_a_transfer_as_one_download_event() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let owner = Api::new_user(&stack, "transfer@example.com").await;
    let mut ids = Vec::new();
    for name in ["a.txt", "b.txt"] {
        let (id, _) = owner.upload(name, &sample(32)).await;
        owner.wait_until(&id, "ready").await;
        ids.push(id);
    }
    let (status, share) = owner
        .call(
            reqwest::Method::POST,
            "/api/shares",
            Some(json!({"file_ids": ids})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    let token = share["token"].as_str().unwrap().to_owned();
    let mut tab = connect_as(&stack, &owner.token).await;

    let archive = http()
        .post(format!("{}/api/public/shares/{token}/archive", stack.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), StatusCode::OK);
    assert_eq!(
        next_event(&mut tab).await,
        LiveEvent::ShareDownloaded {
            token,
            file_id: ids[0].clone(),
            downloads: 1
        }
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn live_local_endpoint_answers_a_plain_request_with_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let res = http()
        .get(format!("{}/live", stack.url()))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");
    stack.shutdown().await;
}

#[tokio::test]
async fn live_local_stack_tells_the_owner_when_a_guest_file_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(dir.path(), Limits::default()).await;
    let alice = Api::new_user(&stack, "alice@example.com").await;
    let mut tab = connect_as(&stack, &alice.token).await;
    let (status, request) = alice
        .call(
            reqwest::Method::POST,
            "/api/requests",
            Some(json!({"title": "Scans", "max_files": 2, "max_bytes": 10_000})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let token = request["token"].as_str().unwrap().to_owned();
    let base = format!("{}/api/public/requests/{token}", stack.url());
    let session: Value = http()
        .post(format!("{base}/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = session["guest_key"].as_str().unwrap();
    let ticket: Value = http()
        .post(format!("{base}/uploads"))
        .header("x-ferry-guest", key)
        .json(&json!({"name": "scan.pdf", "size": 100}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ticket["file"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        next_event(&mut tab).await,
        LiveEvent::GuestFileArrived {
            file_id: id.clone(),
            request: token.clone()
        }
    );
    let put = crate::support::local::presigned(&ticket["upload"])
        .body(sample(100))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    assert_eq!(next_event(&mut tab).await, ready(&id));
    stack.shutdown().await;
}

#[test]
fn a_stream_insert_of_a_guest_file_is_an_arrival_and_the_owners_own_are_not() {
    use ferry::domain::requests::{GuestId, GuestMark};
    use ferry::domain::{ContentType, FileName, FileRecord, ShareToken};
    let now = OffsetDateTime::now_utc();
    let mut file = FileRecord {
        name: FileName::parse("a.txt").unwrap(),
        content_type: ContentType::parse("text/plain").unwrap(),
        ..pending_file(&user("owner-1"), 1, now, now)
    };
    assert!(ferry::live::file_events(None, Some(&file)).is_empty());
    let request = ShareToken::generate();
    file.guest = Some(GuestMark {
        request: request.clone(),
        title: "T".into(),
        guest: GuestId::of_key("AAAAAAAAAAAAAAAAAAAAAA").unwrap(),
        name: None,
        note: None,
    });
    assert_eq!(
        ferry::live::file_events(None, Some(&file)),
        vec![LiveEvent::GuestFileArrived {
            file_id: file.id.to_string(),
            request: request.to_string()
        }]
    );
}
