//! The one HTTP/1.1 accept loop of the local servers (the site/API port and the embedded S3
//! endpoint): a cap on open connections, a deadline for each request's header, and a graceful
//! drain on shutdown. `axum::serve` has neither of the first two, so a client that opens
//! connections and sends half a header each (slowloris) could hold them open forever.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

/// What one server allows its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections open at once; one more is answered `503` with `Retry-After` and closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's header, from the moment the server starts
    /// reading it (a new connection, or the next request on a kept-alive one). The connection is
    /// closed when it runs out.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for requests in flight before dropping their connections.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            // A browser opens six connections per origin; several tabs and a CLI stay far below.
            max_connections: 512,
            header_read_timeout: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The answer to a connection over the cap, written before the request is read.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Connection: close\r\nContent-Type: text/plain\r\nContent-Length: 30\r\n\r\n\
Too many connections; retry.\r\n";

/// A running server. Dropping it stops accepting (connections in flight finish in the
/// background); [`Server::shutdown`] also waits for them, up to the grace period.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits (the grace period at most) for requests in flight.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "server task ended abnormally");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// A service [`spawn`] can serve: one tower service (an axum app, s3s) hyper runs on every
/// connection. Implemented for every type that fits; named once so the bounds are written once.
pub trait ConnectionService<B>:
    tower::Service<
        Request<Incoming>,
        Response = Response<B>,
        Error: Into<Box<dyn StdError + Send + Sync>>,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> ConnectionService<B> for S
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
{
}

/// The body of a [`ConnectionService`]'s responses.
pub trait ResponseBody:
    hyper::body::Body<Data: Send, Error: Into<Box<dyn StdError + Send + Sync>>> + Send + 'static
{
}

impl<B> ResponseBody for B
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
}

/// Serves `service` on `listener` until the returned [`Server`] is shut down or dropped. `name`
/// tells the servers apart in logs.
pub fn spawn<S, B>(
    name: &'static str,
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
) -> Server
where
    S: ConnectionService<B>,
    B: ResponseBody,
{
    let local_addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(name, listener, service, limits, stopped));
    Server {
        local_addr,
        stop,
        task: Some(task),
    }
}

/// Resolves once the server is told to stop, or its handle is gone.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across the caller's awaits.
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn accept_loop<S, B>(
    name: &'static str,
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
    mut stopped: watch::Receiver<bool>,
) where
    S: ConnectionService<B>,
    B: ResponseBody,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop_requested(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        connections.spawn(serve_connection(
                            stream,
                            service.clone(),
                            limits,
                            stopped.clone(),
                            slot,
                        ));
                    }
                    Err(_) => refuse(name, &stream, peer),
                },
                Err(e) => {
                    // Usually out of file descriptors; retrying at once would spin.
                    tracing::warn!(server = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            server = name,
            remaining = connections.len(),
            "dropped connections at shutdown"
        );
    }
}

/// Answers a connection over the cap and closes it. One non-blocking write into a fresh socket's
/// empty send buffer: nothing here waits for the client.
fn refuse(name: &'static str, stream: &TcpStream, peer: SocketAddr) {
    tracing::debug!(server = name, %peer, "connection refused: too many open");
    let _ = stream.try_write(OVER_CAPACITY);
}

async fn serve_connection<S, B>(
    stream: TcpStream,
    service: S,
    limits: ServeLimits,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    S: ConnectionService<B>,
    B: ResponseBody,
{
    // The peer's address, for limits per client (as `axum::extract::ConnectInfo`).
    let peer = stream.peer_addr().ok();
    let hyper_service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        service.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), hyper_service)
        // WebSocket upgrades (the local server's live updates).
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop_requested(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
