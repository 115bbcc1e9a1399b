//! Live updates as use cases: who may connect (`$connect`), what a change to a file or link
//! means to its owner's open pages, and the fan-out of one event to every connection of its
//! owner, forgetting connections that are gone.
//!
//! Live updates are best-effort: a message that cannot be sent is logged and dropped, never
//! failing the upload or download that caused it. The app refreshes its lists when it
//! reconnects and polls while it cannot connect.

use std::sync::Arc;
use std::time::Duration;

use ferry_api::FileStatus;
use ferry_api::live::{EndReason, LiveEvent, bearer_from_protocols};
use time::OffsetDateTime;

use crate::domain::{FileRecord, ShareRecord, UserId, parse_file_object_key};
use crate::live_ports::{ConnectionId, Delivery, LiveConnections, LiveError, LivePush};
use crate::ports::{AuthError, TokenVerifier};
use crate::upload_events::Outcome;

/// The longest API Gateway keeps a WebSocket open; a connection record outlives it by nothing.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// Why a connection attempt was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No `ferry.v1` subprotocol with a `bearer.{token}` beside it.
    #[error("no access token offered")]
    NoToken,
    /// The token did not verify (bad signature, another app client, expired).
    #[error("access token refused: {0}")]
    Unauthorized(AuthError),
    /// The token could not be checked now (signing keys unavailable) or the connection not
    /// recorded.
    #[error("live updates unavailable: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// The HTTP status of the refused upgrade.
    pub fn status(&self) -> u16 {
        match self {
            Self::NoToken | Self::Unauthorized(_) => 401,
            Self::Unavailable(_) => 503,
        }
    }
}

/// `$connect`: verifies the access token among the offered subprotocols and records the
/// connection under its user. The caller answers with [`ferry_api::live::PROTOCOL`] only.
pub async fn accept_connection<'a>(
    tokens: &dyn TokenVerifier,
    connections: &dyn LiveConnections,
    connection: &ConnectionId,
    offered: impl IntoIterator<Item = &'a str>,
    now: OffsetDateTime,
) -> Result<UserId, Refusal> {
    let token = bearer_from_protocols(offered).ok_or(Refusal::NoToken)?;
    let identity = tokens.verify(token).await.map_err(|err| match err {
        AuthError::Keys(detail) => Refusal::Unavailable(detail),
        other => Refusal::Unauthorized(other),
    })?;
    connections
        .connect(connection, &identity.user, now + CONNECTION_LIFETIME)
        .await
        .map_err(|err| Refusal::Unavailable(err.0))?;
    Ok(identity.user)
}

/// How one event's fan-out went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FanOut {
    pub delivered: usize,
    /// Connections found gone and forgotten.
    pub gone: usize,
    pub failed: usize,
}

/// Sends events to every open connection of their owner.
#[derive(Clone)]
pub struct LiveNotifier {
    connections: Arc<dyn LiveConnections>,
    push: Arc<dyn LivePush>,
}

impl LiveNotifier {
    pub fn new(connections: Arc<dyn LiveConnections>, push: Arc<dyn LivePush>) -> Self {
        Self { connections, push }
    }

    pub fn connections(&self) -> &dyn LiveConnections {
        self.connections.as_ref()
    }

    /// Posts `event` to each of `user`'s connections (concurrently); a connection found gone is
    /// forgotten.
    pub async fn notify(&self, user: &UserId, event: &LiveEvent) -> Result<FanOut, LiveError> {
        let message = serde_json::to_string(event).map_err(|e| LiveError(e.to_string()))?;
        let targets = self.connections.connections_of(user).await?;
        let message = message.as_str();
        let sends = targets.iter().map(|connection| async move {
            let delivery = self.push.push(connection, message).await;
            (connection, delivery)
        });
        let mut fan_out = FanOut::default();
        for (connection, delivery) in futures::future::join_all(sends).await {
            match delivery {
                Ok(Delivery::Delivered) => fan_out.delivered += 1,
                Ok(Delivery::Gone) => {
                    fan_out.gone += 1;
                    if let Err(error) = self.connections.disconnect(connection).await {
                        tracing::warn!(%error, "gone connection not forgotten");
                    }
                }
                Err(error) => {
                    fan_out.failed += 1;
                    tracing::warn!(%error, "live message not sent");
                }
            }
        }
        Ok(fan_out)
    }

    /// [`LiveNotifier::notify`] for each event, logging instead of failing.
    pub async fn notify_logged(&self, user: &UserId, events: &[LiveEvent]) {
        for event in events {
            match self.notify(user, event).await {
                Ok(fan_out) => tracing::debug!(?fan_out, "live event sent"),
                Err(error) => tracing::warn!(%error, "live event not sent"),
            }
        }
    }
}

/// What a change of a file record means to its owner: an upload that settled.
pub fn file_events(before: Option<&FileRecord>, after: Option<&FileRecord>) -> Vec<LiveEvent> {
    if let (None, Some(after)) = (before, after)
        && let Some(event) = guest_arrival(after)
    {
        return vec![event];
    }
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    let file_id = after.id.to_string();
    match (before.status, after.status) {
        (FileStatus::Pending, FileStatus::Ready) => vec![LiveEvent::FileReady { file_id }],
        (FileStatus::Pending, FileStatus::Failed) => vec![LiveEvent::FileFailed { file_id }],
        _ => Vec::new(),
    }
}

/// A guest's new file, as its owner hears of it; `None` for the owner's own files.
fn guest_arrival(file: &FileRecord) -> Option<LiveEvent> {
    let mark = file.guest.as_ref()?;
    Some(LiveEvent::GuestFileArrived {
        file_id: file.id.to_string(),
        request: mark.request.to_string(),
    })
}

/// Tells the owner that a guest's file arrived (when live updates run in-process; in AWS the
/// stream's insert of the file record does, through [`file_events`]).
pub async fn guest_file_arrived(live: Option<&LiveNotifier>, file: &FileRecord) {
    if let (Some(live), Some(event)) = (live, guest_arrival(file)) {
        live.notify_logged(&file.owner, &[event]).await;
    }
}

/// What a change of a share record means to its owner: a download counted (and the limit
/// reached), or the link removed by expiry (`expired_removal`: DynamoDB's TTL removed it, not
/// a person).
pub fn share_events(
    before: Option<&ShareRecord>,
    after: Option<&ShareRecord>,
    expired_removal: bool,
) -> Vec<LiveEvent> {
    match (before, after) {
        (Some(before), Some(after)) if after.downloads > before.downloads => {
            let mut events = vec![LiveEvent::ShareDownloaded {
                token: after.token.to_string(),
                file_id: after
                    .file_ids
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                downloads: after.downloads,
            }];
            let used_up = |s: &ShareRecord| s.max_downloads.is_some_and(|max| s.downloads >= max);
            if used_up(after) && !used_up(before) {
                events.push(LiveEvent::ShareEnded {
                    token: after.token.to_string(),
                    reason: EndReason::Exhausted,
                });
            }
            events
        }
        (Some(before), None) if expired_removal && !before.revoked => {
            vec![LiveEvent::ShareEnded {
                token: before.token.to_string(),
                reason: EndReason::Expired,
            }]
        }
        _ => Vec::new(),
    }
}

/// The events of a download just counted on `counted` (the share as it is after counting).
pub fn download_events(counted: &ShareRecord) -> Vec<LiveEvent> {
    let before = ShareRecord {
        downloads: counted.downloads.saturating_sub(1),
        ..counted.clone()
    };
    share_events(Some(&before), Some(counted), false)
}

/// Tells the owner of a link that a download was counted (when live updates run in-process).
pub async fn after_download(live: Option<&LiveNotifier>, counted: &ShareRecord) {
    if let Some(live) = live {
        live.notify_logged(&counted.owner, &download_events(counted))
            .await;
    }
}

/// Tells the owner of an upload how its object-created event settled it (the local stack,
/// whose store has no change stream).
pub async fn after_object_created(live: Option<&LiveNotifier>, key: &str, outcome: Outcome) {
    let (Some(live), Some((owner, id))) = (live, parse_file_object_key(key)) else {
        return;
    };
    let file_id = id.to_string();
    let event = match outcome {
        Outcome::Ready => LiveEvent::FileReady { file_id },
        Outcome::Rejected => LiveEvent::FileFailed { file_id },
        _ => return,
    };
    live.notify_logged(&owner, &[event]).await;
}
