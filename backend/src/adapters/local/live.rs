//! The local server's live connections: an in-process registry of its WebSocket connections,
//! playing both API Gateway's part (posting to a connection, `410 Gone` once it closed) and the
//! table's (who is connected). A connection's socket task takes its receiving end; messages wait
//! in a small bounded queue, so one stalled browser cannot grow the server's memory.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::domain::UserId;
use crate::live_ports::{ConnectionId, Delivery, LiveConnections, LiveError, LivePush};

/// Messages that may wait for one connection before further ones are dropped.
const QUEUE: usize = 32;
/// Open connections one user may hold (tabs, windows): the bound per client.
pub const MAX_CONNECTIONS_PER_USER: usize = 32;

struct Connection {
    user: UserId,
    until: OffsetDateTime,
    sender: mpsc::Sender<String>,
    /// Until the socket task takes it.
    receiver: Option<mpsc::Receiver<String>>,
}

/// Cheap to share behind an `Arc`; one per local server.
#[derive(Default)]
pub struct LocalLiveHub {
    connections: Mutex<HashMap<ConnectionId, Connection>>,
}

impl LocalLiveHub {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionId, Connection>> {
        // Every update is a single insert or remove: a panic cannot leave the map half written.
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The messages of a connection accepted by [`LiveConnections::connect`]; `None` if it is
    /// unknown or already taken. Dropping the receiver makes the connection gone.
    pub fn take_receiver(&self, connection: &ConnectionId) -> Option<mpsc::Receiver<String>> {
        self.lock()
            .get_mut(connection)
            .and_then(|c| c.receiver.take())
    }

    /// Every user with an open connection, once each.
    pub fn users(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.lock().values().map(|c| c.user.clone()).collect();
        users.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        users.dedup();
        users
    }

    /// How many connections are open (all users).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every connection; their sockets close (the server is stopping).
    pub fn close_all(&self) {
        self.lock().clear();
    }
}

#[async_trait]
impl LiveConnections for LocalLiveHub {
    async fn connect(
        &self,
        connection: &ConnectionId,
        user: &UserId,
        until: OffsetDateTime,
    ) -> Result<(), LiveError> {
        let mut connections = self.lock();
        let open = connections.values().filter(|c| &c.user == user).count();
        if open >= MAX_CONNECTIONS_PER_USER {
            return Err(LiveError(format!(
                "at most {MAX_CONNECTIONS_PER_USER} connections per user"
            )));
        }
        let (sender, receiver) = mpsc::channel(QUEUE);
        connections.insert(
            connection.clone(),
            Connection {
                user: user.clone(),
                until,
                sender,
                receiver: Some(receiver),
            },
        );
        Ok(())
    }

    async fn disconnect(&self, connection: &ConnectionId) -> Result<(), LiveError> {
        self.lock().remove(connection);
        Ok(())
    }

    async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>, LiveError> {
        let now = OffsetDateTime::now_utc();
        let mut ids: Vec<_> = self
            .lock()
            .iter()
            .filter(|(_, c)| &c.user == user && c.until > now)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

#[async_trait]
impl LivePush for LocalLiveHub {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<Delivery, LiveError> {
        let sender = match self.lock().get(connection) {
            Some(c) => c.sender.clone(),
            None => return Ok(Delivery::Gone),
        };
        match sender.try_send(message.to_owned()) {
            Ok(()) => Ok(Delivery::Delivered),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(Delivery::Gone),
            Err(mpsc::error::TrySendError::Full(_)) => Err(LiveError(format!(
                "connection {connection} is {QUEUE} messages behind; message dropped"
            ))),
        }
    }
}
