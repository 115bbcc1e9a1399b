//! Live updates on the local server: `GET /live` upgrades to a WebSocket with the protocol of
//! the AWS WebSocket API (the access token offered as the `bearer.{token}` subprotocol beside
//! `ferry.v1`, which alone is echoed), so the app cannot tell the two apart; and the expiry of
//! connected users' links, which in AWS arrives as DynamoDB's TTL removing them.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header::SEC_WEBSOCKET_PROTOCOL};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ferry_api::live::{LOCAL_PATH, PROTOCOL};
use ferry_api::{ErrorBody, ErrorDetail, codes};

use crate::adapters::local::live::LocalLiveHub;
use crate::live::{LiveNotifier, accept_connection, share_events};
use crate::live_ports::{ConnectionId, LiveConnections};
use crate::ports::{Clock, MetadataStore, TokenVerifier};

/// How often the local server looks for connected users' links that expired.
pub const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(2);

/// The local server's live updates: its connections and the notifier over them.
#[derive(Clone)]
pub struct LocalLive {
    pub hub: Arc<LocalLiveHub>,
    pub notifier: LiveNotifier,
    tokens: Arc<dyn TokenVerifier>,
    clock: Arc<dyn Clock>,
}

impl LocalLive {
    pub fn new(tokens: Arc<dyn TokenVerifier>, clock: Arc<dyn Clock>) -> Self {
        let hub = Arc::new(LocalLiveHub::new());
        Self {
            notifier: LiveNotifier::new(hub.clone(), hub.clone()),
            hub,
            tokens,
            clock,
        }
    }

    /// Every `every`, tells each connected user which of their links expired since the last
    /// look (by the stack's clock). Only connected users are asked about: a page that opens
    /// later loads the links as they are.
    pub fn watch_expiry(
        &self,
        meta: Arc<dyn MetadataStore>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let live = self.clone();
        tokio::spawn(async move {
            let mut since = live.clock.now();
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                let now = live.clock.now();
                for user in live.hub.users() {
                    let shares = match meta.list_shares(&user).await {
                        Ok(shares) => shares,
                        Err(error) => {
                            tracing::warn!(%error, "links not checked for expiry");
                            continue;
                        }
                    };
                    let events: Vec<_> = shares
                        .iter()
                        .filter(|s| s.expires_at > since && s.expires_at <= now)
                        .flat_map(|s| share_events(Some(s), None, true))
                        .collect();
                    live.notifier.notify_logged(&user, &events).await;
                }
                since = since.max(now);
            }
        })
    }

    /// `GET /live` (to merge into the site's routes).
    pub fn router(&self) -> Router {
        Router::new()
            .route(LOCAL_PATH, get(upgrade))
            .with_state(self.clone())
    }
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
        },
    };
    (status, axum::Json(body)).into_response()
}

async fn upgrade(
    State(live): State<LocalLive>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return refused(
                rejection.status(),
                codes::INVALID_REQUEST,
                "Live updates need a WebSocket upgrade request.",
            );
        }
    };
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let Some(id) = ConnectionId::parse(&uuid::Uuid::new_v4().simple().to_string()) else {
        return refused(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "no id");
    };
    let accepted = accept_connection(
        live.tokens.as_ref(),
        live.hub.as_ref(),
        &id,
        offered,
        live.clock.now(),
    )
    .await;
    if let Err(refusal) = accepted {
        tracing::info!(reason = %refusal, "live connection refused");
        return match refusal.status() {
            401 => refused(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "Live updates need a valid access token.",
            ),
            _ => refused(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::BUSY,
                "Live updates are not available right now.",
            ),
        };
    }
    let Some(messages) = live.hub.take_receiver(&id) else {
        return refused(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "lost");
    };
    let hub = live.hub.clone();
    let gone = id.clone();
    ws.protocols([PROTOCOL])
        .on_failed_upgrade(move |_| {
            let hub = hub.clone();
            tokio::spawn(async move { hub.disconnect(&gone).await });
        })
        .on_upgrade(move |socket| serve(socket, live.hub, id, messages))
}

/// Forwards the connection's messages until either side closes; whatever the browser sends is
/// read (so pings are answered and a close is noticed) and ignored.
async fn serve(
    mut socket: WebSocket,
    hub: Arc<LocalLiveHub>,
    id: ConnectionId,
    mut messages: tokio::sync::mpsc::Receiver<String>,
) {
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Some(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                // The hub forgot this connection (the server is stopping).
                None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            received = socket.recv() => match received {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = hub.disconnect(&id).await;
}
