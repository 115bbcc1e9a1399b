//! The ports of live updates: who is connected ([`LiveConnections`]) and how a message reaches a
//! connection ([`LivePush`]). In AWS the connections are items in the table and messages go
//! through API Gateway's management API; locally both are an in-process registry of the
//! server's WebSocket connections.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::UserId;

/// A WebSocket connection's id as the gateway names it (API Gateway's `connectionId`, or the
/// local server's own).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Ids are opaque, but they name items and URL paths: printable ASCII, 1 to 128 bytes.
    pub fn parse(raw: &str) -> Option<Self> {
        let fits = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'#');
        fits.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("live updates failed: {0}")]
pub struct LiveError(pub String);

/// What posting one message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// The connection no longer exists (API Gateway's 410 `GoneException`): forget it.
    Gone,
}

/// The open connections of each user.
#[async_trait]
pub trait LiveConnections: Send + Sync {
    /// Records that `connection` belongs to `user` until it closes, or at the latest `until`
    /// (the longest a gateway keeps a connection open).
    async fn connect(
        &self,
        connection: &ConnectionId,
        user: &UserId,
        until: OffsetDateTime,
    ) -> Result<(), LiveError>;

    /// Forgets a connection; forgetting an unknown one succeeds.
    async fn disconnect(&self, connection: &ConnectionId) -> Result<(), LiveError>;

    /// Every open connection of `user` (none of anybody else's).
    async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>, LiveError>;
}

/// Sends one text message to one connection.
#[async_trait]
pub trait LivePush: Send + Sync {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<Delivery, LiveError>;
}
