//! The `ferry-live` function: the routes of the API Gateway WebSocket API. `$connect` verifies
//! the access token offered as a subprotocol and records the connection, `$disconnect` forgets
//! it, `$default` (anything the browser sends, such as a keep-alive) is acknowledged and ignored.
//!
//! The token travels in `Sec-WebSocket-Protocol` and is never logged; only `ferry.v1` is echoed.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use ferry_api::live::PROTOCOL;
use ferry_api::{ErrorBody, ErrorDetail, codes};
use http::header::SEC_WEBSOCKET_PROTOCOL;
use serde_json::{Value, json};

use crate::live::accept_connection;
use crate::live_ports::{ConnectionId, LiveConnections};
use crate::ports::{Clock, TokenVerifier};

#[derive(Debug, thiserror::Error)]
pub enum LiveFunctionError {
    #[error("malformed WebSocket event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("WebSocket event without a connection id or route")]
    Incomplete,
}

/// The function's state, built once per Lambda instance.
#[derive(Clone)]
pub struct LiveFunction {
    pub tokens: Arc<dyn TokenVerifier>,
    pub connections: Arc<dyn LiveConnections>,
    pub clock: Arc<dyn Clock>,
}

fn answer(status: u16, extra: Value) -> Value {
    let mut response = json!({"statusCode": status});
    if let (Some(target), Value::Object(fields)) = (response.as_object_mut(), extra) {
        target.extend(fields);
    }
    response
}

fn refused(status: u16, code: &str, message: &str) -> Value {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
        },
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    answer(
        status,
        json!({"headers": {"Content-Type": "application/json"}, "body": body}),
    )
}

impl LiveFunction {
    /// One WebSocket route invocation; the answer is API Gateway's proxy response.
    pub async fn handle(&self, event: Value) -> Result<Value, LiveFunctionError> {
        let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event)?;
        let context = &event.request_context;
        let id = context
            .connection_id
            .as_deref()
            .and_then(ConnectionId::parse)
            .ok_or(LiveFunctionError::Incomplete)?;
        let route = context
            .route_key
            .as_deref()
            .ok_or(LiveFunctionError::Incomplete)?;
        match route {
            "$connect" => {
                let offered = event
                    .headers
                    .get_all(SEC_WEBSOCKET_PROTOCOL)
                    .iter()
                    .chain(event.multi_value_headers.get_all(SEC_WEBSOCKET_PROTOCOL))
                    .filter_map(|v| v.to_str().ok());
                let accepted = accept_connection(
                    self.tokens.as_ref(),
                    self.connections.as_ref(),
                    &id,
                    offered,
                    self.clock.now(),
                )
                .await;
                Ok(match accepted {
                    Ok(_) => {
                        tracing::info!(connection = %id, "live connection accepted");
                        answer(
                            200,
                            json!({"headers": {"Sec-WebSocket-Protocol": PROTOCOL}}),
                        )
                    }
                    Err(refusal) => {
                        tracing::info!(connection = %id, reason = %refusal, "live connection refused");
                        let status = refusal.status();
                        let code = if status == 401 {
                            codes::UNAUTHORIZED
                        } else {
                            codes::BUSY
                        };
                        refused(status, code, "Live updates need a valid access token.")
                    }
                })
            }
            "$disconnect" => {
                if let Err(error) = self.connections.disconnect(&id).await {
                    // TTL removes the record later; the fan-out skips it when it is gone.
                    tracing::warn!(connection = %id, %error, "connection not forgotten");
                }
                Ok(answer(200, json!({})))
            }
            _ => Ok(answer(200, json!({}))),
        }
    }
}
