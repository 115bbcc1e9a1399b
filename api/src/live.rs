//! Live updates: the messages the backend pushes to a signed-in browser over a WebSocket (the
//! API Gateway WebSocket API in AWS, `/live` on the local server), and how the browser proves
//! who it is when it connects.
//!
//! Messages carry ids and states only, and only ever the connected user's own: the browser
//! already knows names and sizes, or asks the HTTP API for them.

use serde::{Deserialize, Serialize};

/// The subprotocol of this message set. The browser offers it first; the server echoes it back
/// (and only it) when it accepts the connection.
pub const PROTOCOL: &str = "ferry.v1";

/// Browsers cannot set `Authorization` on a WebSocket, so the Cognito access token travels as a
/// second offered subprotocol, `bearer.{access token}` (a JWT's characters are all valid in a
/// subprotocol token). It is never echoed back, and never logged.
pub const BEARER_PREFIX: &str = "bearer.";

/// The local server's path of the live endpoint (`SiteConfig::live_url` says where it is).
pub const LOCAL_PATH: &str = "/live";

/// Why a link stopped working on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Its expiry passed (in AWS: when DynamoDB's TTL removes it, which can be later).
    Expired,
    /// Its download limit is used up.
    Exhausted,
}

/// One thing that happened to the connected user's files or links.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// An upload was checked and is now `ready`.
    FileReady { file_id: String },
    /// An upload's bytes did not match what was announced; it is now `failed`.
    FileFailed { file_id: String },
    /// Someone downloaded through a link (one file, or all as an archive); `downloads` is the
    /// link's new count, `file_id` its first file (empty once every file left it).
    ShareDownloaded {
        token: String,
        file_id: String,
        downloads: u32,
    },
    /// A link stopped working on its own.
    ShareEnded { token: String, reason: EndReason },
    /// A guest sent a file through one of the user's file requests (`request`, its token): it
    /// is among their files now, `pending` until its bytes arrive (then `file_ready` follows).
    GuestFileArrived { file_id: String, request: String },
}

/// The `Sec-WebSocket-Protocol` entries a browser offers: [`PROTOCOL`] and the bearer token.
pub fn offered_protocols(access_token: &str) -> [String; 2] {
    [
        PROTOCOL.to_owned(),
        format!("{BEARER_PREFIX}{access_token}"),
    ]
}

/// The access token among offered subprotocols (a comma-separated header value, or several),
/// when [`PROTOCOL`] is offered too; `None` otherwise.
pub fn bearer_from_protocols<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut speaks = false;
    let mut token = None;
    for entry in offered
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
    {
        if entry == PROTOCOL {
            speaks = true;
        } else if let Some(rest) = entry.strip_prefix(BEARER_PREFIX) {
            token = Some(rest).filter(|t| !t.is_empty());
        }
    }
    token.filter(|_| speaks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_type_in_snake_case() {
        let event = LiveEvent::ShareDownloaded {
            token: "t".into(),
            file_id: "f".into(),
            downloads: 3,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "share_downloaded", "token": "t", "file_id": "f", "downloads": 3})
        );
        let ended: LiveEvent =
            serde_json::from_str(r#"{"type":"share_ended","token":"t","reason":"exhausted"}"#)
                .unwrap();
        assert_eq!(
            ended,
            LiveEvent::ShareEnded {
                token: "t".into(),
                reason: EndReason::Exhausted
            }
        );
        let ready = serde_json::to_string(&LiveEvent::FileReady {
            file_id: "f".into(),
        })
        .unwrap();
        assert_eq!(ready, r#"{"type":"file_ready","file_id":"f"}"#);
    }

    #[test]
    fn the_token_is_found_only_next_to_the_protocol() {
        let [p, b] = offered_protocols("a.b.c");
        assert_eq!(
            bearer_from_protocols([p.as_str(), b.as_str()]),
            Some("a.b.c")
        );
        assert_eq!(
            bearer_from_protocols(["ferry.v1, bearer.x.y.z"]),
            Some("x.y.z")
        );
        assert_eq!(bearer_from_protocols(["bearer.x.y.z"]), None);
        assert_eq!(bearer_from_protocols(["ferry.v1"]), None);
        assert_eq!(bearer_from_protocols(["ferry.v1, bearer."]), None);
        assert_eq!(bearer_from_protocols(std::iter::empty()), None);
    }
}
