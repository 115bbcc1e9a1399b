//! The local stack's S3-compatible endpoint: s3s over a directory (s3s-fs), serving one bucket
//! to one key pair, verifying SigV4 like S3 does, with CORS for the site, and reporting new
//! objects the way S3 event notifications do.
//!
//! What S3 would refuse, this refuses too, because the browser code is tested against it:
//!
//! - unsigned requests and bad signatures (s3s with [`SimpleAuth`]);
//! - expired presigned URLs: s3s 0.14 checks `X-Amz-Date + X-Amz-Expires` against the clock
//!   before verifying the signature (and `X-Amz-Expires` itself is signed);
//! - a body whose length differs from a signed `Content-Length`: the header is in
//!   `X-Amz-SignedHeaders`, hyper holds the body to the header, so another length means another
//!   signature;
//! - a part (UploadPart) or object (PutObject) whose bytes do not match the checksum it carries
//!   (CRC32, CRC32C, CRC64NVME, SHA1 or SHA256, in a header or an `aws-chunked` trailer: 400
//!   `BadDigest`); s3s-fs checks PutObject itself, and parts are checked here while they stream
//!   to disk (see [`checksums`]);
//! - a create-only write (`If-None-Match: *`, which Ferry's presigned PUTs sign) to a key that
//!   exists (412 `PreconditionFailed`);
//! - a `Host` that is not the endpoint's own address (see [`gate`]);
//! - completing a multipart upload with a part that is missing, has another ETag or checksum, or
//!   is too small (s3s-fs would discard the upload on some of these; here nothing changes);
//! - `x-amz-*` headers that a presigned URL did not sign (S3 answers "There were headers
//!   present in the request which were not signed");
//! - any bucket but the configured one.

//!
//! The parts: [`policy`] (names, CORS, the access check) and [`gate`] (the `Host` check) decide
//! who gets in; [`service`] answers the S3 operations over s3s-fs, with multipart uploads in
//! [`multipart`] and [`completion`], their parts kept by [`part_ledger`] and [`part_files`],
//! checked by [`checksums`], under the [`locks`]; [`layout`] names s3s-fs's own files.

mod checksums;
mod completion;
mod gate;
mod layout;
mod locks;
mod multipart;
mod part_files;
mod part_ledger;
mod policy;
mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;
use http::header::{self, HeaderValue};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::serve_loop::{self, ServeLimits, Server};
use gate::AllowedHosts;
use layout::S3sFsLayout;
use policy::BucketPolicy;
use service::FerryS3;

/// How the endpoint is set up.
#[derive(Clone, Debug)]
pub struct S3EndpointConfig {
    /// Where to listen; the local stack uses 127.0.0.1. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// The data directory; the bucket is the directory `root/bucket`.
    pub root: PathBuf,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Origins allowed to call the endpoint from a browser, e.g. `http://127.0.0.1:8080`.
    pub allowed_origins: Vec<String>,
    /// Connection cap and header deadline.
    pub limits: ServeLimits,
}

/// Called with the key of each object created in the bucket (by PutObject or
/// CompleteMultipartUpload), in a task of its own, after the response is decided: like an S3
/// event notification, it is asynchronous and the uploader does not wait for it.
pub type ObjectCreatedHook = Arc<dyn Fn(String) -> BoxFuture<'static, ()> + Send + Sync>;

/// A running endpoint. Dropping it stops the server (connections in flight finish in the
/// background); [`S3Endpoint::shutdown`] also waits for them.
#[derive(Debug)]
pub struct S3Endpoint {
    server: Server,
}

impl S3Endpoint {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The endpoint URL for SDK clients, e.g. `http://127.0.0.1:9000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    /// Stops accepting connections and waits (a few seconds at most) for requests in flight.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts the endpoint, creating the bucket directory if it is missing.
pub async fn start(
    config: S3EndpointConfig,
    on_created: ObjectCreatedHook,
) -> anyhow::Result<S3Endpoint> {
    policy::check_bucket_name(&config.bucket)?;
    let bucket_dir = config.root.join(&config.bucket);
    tokio::fs::create_dir_all(&bucket_dir)
        .await
        .with_context(|| format!("creating bucket directory {}", bucket_dir.display()))?;
    let fs = s3s_fs::FileSystem::new(&config.root)
        .map_err(|e| anyhow::anyhow!("opening {} for s3s-fs: {e:?}", config.root.display()))?;

    let root = config
        .root
        .canonicalize()
        .with_context(|| format!("resolving {}", config.root.display()))?;
    let bucket: Arc<str> = Arc::from(config.bucket.as_str());
    let mut builder = S3ServiceBuilder::new(FerryS3::new(
        fs,
        S3sFsLayout::new(root),
        bucket.clone(),
        on_created,
    ));
    builder.set_auth(SimpleAuth::from_single(
        config.access_key.clone(),
        config.secret_key.clone(),
    ));
    builder.set_access(BucketPolicy { bucket });
    let s3 = builder.build();

    let service = tower::ServiceBuilder::new()
        .layer(policy::cors(&config.allowed_origins)?)
        // Objects are user uploads: never let a browser guess a more dangerous type.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .service(s3);

    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding the S3 endpoint to {}", config.addr))?;
    let local_addr = listener.local_addr()?;
    let service = gate::gate(service, AllowedHosts::for_addr(local_addr));
    let server = serve_loop::spawn("s3", listener, service, config.limits);
    tracing::info!(%local_addr, bucket = %config.bucket, root = %config.root.display(), "s3 endpoint listening");
    Ok(S3Endpoint { server })
}
