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

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::future::BoxFuture;
use http::Method;
use http::header::{self, HeaderName, HeaderValue};
use percent_encoding::percent_decode_str;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::path::S3Path;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::net::TcpListener;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

mod checksums;
mod gate;
mod part_files;
mod part_ledger;

use crate::domain::parts::{composite_sha256, decode_sha256};
use crate::serve_loop::{self, ServeLimits, Server};
use checksums::{Algorithm, Tap, checksum_field_mut, decode_md5};
use gate::AllowedHosts;
use part_files::{Destination, Piece, ReceiveError, TempFile};
use part_ledger::{PartEntry, PartLedger, UploadEntry};

/// Held while one part's bytes and ledger entry are written.
type PartLock = Arc<tokio::sync::Mutex<()>>;

/// What the endpoint keeps in memory about one multipart upload's assembly file (the ledger
/// keeps the rest).
#[derive(Debug, Default)]
struct Assembly {
    /// Held shared while a part is written (by the writing thread, which may outlive its
    /// request), alone by a completion that finishes the object in the file, so the file is
    /// never cut or moved under a write. Completion never waits for it: when a part is being
    /// written (or a connection hangs mid-part) it copies the parts out instead.
    gate: Arc<tokio::sync::RwLock<()>>,
    /// Slots being written now: another copy of the same part meanwhile goes elsewhere.
    writing: std::sync::Mutex<HashSet<i32>>,
    /// Serialises the stride's claim.
    stride: tokio::sync::Mutex<()>,
    /// Writers of the assembly file take turns (see [`Destination::Slot`]).
    turns: Arc<std::sync::Mutex<()>>,
}

/// A slot of the assembly file that one request is writing; let go when dropped.
struct SlotClaim {
    assembly: Arc<Assembly>,
    number: i32,
}

impl Drop for SlotClaim {
    fn drop(&mut self) {
        self.assembly
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.number);
    }
}

/// S3's smallest part, except the last (CompleteMultipartUpload answers `EntityTooSmall`).
const MIN_PART_BYTES: u64 = 5 << 20;
/// S3's largest object: no slot reaches past it (its part could not complete anyway).
const MAX_OBJECT_BYTES: u64 = 5 << 40;
/// Parts per ListParts page when the request does not say (S3's default and maximum).
const LIST_PARTS_MAX: i32 = 1000;

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

/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

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
    check_bucket_name(&config.bucket)?;
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
    let mut builder = S3ServiceBuilder::new(FerryS3 {
        fs,
        ledger: PartLedger::new(root.clone()),
        root,
        part_locks: std::sync::Mutex::default(),
        assemblies: std::sync::Mutex::default(),
        bucket: bucket.clone(),
        on_created,
        key_locks: std::sync::Mutex::default(),
    });
    builder.set_auth(SimpleAuth::from_single(
        config.access_key.clone(),
        config.secret_key.clone(),
    ));
    builder.set_access(BucketPolicy { bucket });
    let s3 = builder.build();

    let service = tower::ServiceBuilder::new()
        .layer(cors(&config.allowed_origins)?)
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

/// Bucket names become directory names: keep them to S3's own alphabet.
fn check_bucket_name(bucket: &str) -> anyhow::Result<()> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['.', '-'])
        && !bucket.contains("..");
    anyhow::ensure!(valid, "invalid bucket name {bucket:?}");
    Ok(())
}

fn cors(allowed_origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = allowed_origins
        .iter()
        .map(|o| HeaderValue::from_str(o).with_context(|| format!("invalid CORS origin {o:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(AllowMethods::list([
            Method::GET,
            Method::PUT,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
        ]))
        // Like an S3 CORS rule with `AllowedHeaders: ["*"]`: whatever the signed request carries
        // (content-type, x-amz-*) is allowed, and the signature decides whether it is accepted.
        .allow_headers(AllowHeaders::mirror_request())
        // Multipart uploads from the browser need each part's ETag to complete the upload.
        .expose_headers(ExposeHeaders::list([header::ETAG]))
        .max_age(PREFLIGHT_MAX_AGE))
}

/// Who may do what, checked by s3s after the signature: signed requests only, to the one
/// bucket, with every `x-amz-*` header of a presigned URL covered by its signature.
struct BucketPolicy {
    bucket: Arc<str>,
}

#[async_trait::async_trait]
impl S3Access for BucketPolicy {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        }
        match cx.s3_path() {
            S3Path::Root => {
                return Err(s3_error!(
                    AccessDenied,
                    "this endpoint serves one bucket only"
                ));
            }
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => {
                if **bucket != *self.bucket {
                    return Err(s3_error!(NoSuchBucket));
                }
            }
        }
        if let S3Path::Object { key, .. } = cx.s3_path() {
            check_key(key)?;
        }
        if let Some(query) = cx.uri().query()
            && let Some(signed) = query_value(query, "X-Amz-SignedHeaders")
        {
            let signed: Vec<&str> = signed.split(';').collect();
            let unsigned = cx
                .headers()
                .keys()
                .map(HeaderName::as_str)
                .filter(|name| name.starts_with("x-amz-"))
                // s3s checks this one against the body itself.
                .filter(|name| *name != "x-amz-content-sha256")
                .find(|name| !signed.contains(name));
            if let Some(name) = unsigned {
                return Err(s3_error!(
                    AccessDenied,
                    "There were headers present in the request which were not signed: {name}"
                ));
            }
        }
        Ok(())
    }
}

/// Keys become paths under the bucket directory: refuse the ones that would leave it or alias
/// another key.
fn check_key(key: &str) -> S3Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\0')
        || key
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    if bad {
        return Err(s3_error!(InvalidArgument, "unsupported object key"));
    }
    Ok(())
}

/// The decoded value of a query parameter.
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}

/// s3s-fs for the operations Ferry uses; everything else answers NotImplemented (the trait's
/// default).
struct FerryS3 {
    fs: s3s_fs::FileSystem,
    /// s3s-fs's root directory (absolute), where it keeps parts and object metadata.
    root: PathBuf,
    ledger: PartLedger,
    /// One lock per part being written, so the part's bytes and its ledger entry always describe
    /// the same upload of it even when a retry races the original.
    part_locks: std::sync::Mutex<HashMap<(Uuid, i32), PartLock>>,
    /// Uploads with a request in flight.
    assemblies: std::sync::Mutex<HashMap<Uuid, Arc<Assembly>>>,
    bucket: Arc<str>,
    on_created: ObjectCreatedHook,
    /// Held by a conditional write (`If-None-Match: *`) from its check until its object is in
    /// place, so two such writes of one key cannot both pass the check.
    key_locks: std::sync::Mutex<HashMap<String, PartLock>>,
}

impl FerryS3 {
    fn object_created(&self, bucket: &str, key: String) {
        if bucket != &*self.bucket {
            return;
        }
        tracing::debug!(%key, "object created");
        tokio::spawn((self.on_created)(key));
    }
}

#[async_trait::async_trait]
impl S3 for FerryS3 {
    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        // s3s-fs checks `If-None-Match: *` and then writes: hold the key in between.
        let _exclusive = match &req.input.if_none_match {
            Some(condition) if condition.is_any() => Some(self.key_lock(&key).lock_owned().await),
            _ => None,
        };
        let verdict = checksums::check_put_body(&mut req)?;
        let (body, broke_off) = part_files::watch(req.input.body.take());
        req.input.body = body;
        let mut response = match self.fs.put_object(req).await {
            Ok(response) => response,
            Err(_) if verdict.mismatched() => return Err(checksums::bad_digest()),
            Err(e) if broke_off.load(std::sync::atomic::Ordering::Acquire) => {
                return Err(body_broke_off(&e));
            }
            Err(e) => return Err(e),
        };
        let from_trailer = verdict.trailer_sums();
        if !from_trailer.is_empty() {
            self.store_object_checksums(&bucket, &key, &from_trailer)
                .await
                .map_err(io_error)?;
            for (alg, sum) in from_trailer {
                *checksum_field_mut!(alg, response.output) = Some(sum);
            }
        }
        self.object_created(&bucket, key);
        Ok(response)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let (algorithm, full_object) = checksums::for_new_upload(&req.input)?;
        let sha256 = algorithm == Some(Algorithm::Sha256);
        let entry = UploadEntry {
            bucket: req.input.bucket.clone(),
            key: req.input.key.clone(),
            sha256,
            algorithm: algorithm
                .filter(|alg| *alg != Algorithm::Sha256)
                .map(|alg| alg.name().to_owned()),
            full_object,
        };
        let mut response = self.fs.create_multipart_upload(req).await?;
        let upload_id = response
            .output
            .upload_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| s3_error!(InternalError, "s3s-fs issued no upload id"))?;
        self.ledger
            .open(&upload_id, &entry)
            .await
            .map_err(io_error)?;
        if let Some(alg) = algorithm {
            response.output.checksum_algorithm = Some(alg.to_dto());
            response.output.checksum_type = Some(checksums::type_dto(full_object));
        }
        Ok(response)
    }

    /// Receives a part in one pass: its bytes go to their slot of the upload's assembly file
    /// (or, when the slot cannot take them, to a temporary file) while their SHA-256 is computed
    /// (and their MD5, only when the client sent `Content-MD5`); a part whose digest differs from
    /// `x-amz-checksum-sha256` is refused and the previous copy of it, if any, stays.
    ///
    /// The part's ETag is its MD5 when `Content-MD5` was sent (and checked), else the first 16
    /// bytes of its SHA-256 in hex — same form, one hash less: MD5 was half the endpoint's CPU.
    /// ETags are opaque to S3 clients (S3's own are not MD5s under SSE-KMS); clients echo them
    /// in CompleteMultipartUpload, which checks them against the ledger.
    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = &req.input;
        let (upload_id, upload) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let number = input.part_number;
        if !(1..=10_000).contains(&number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        if let Some(value) = &input.checksum_sha256
            && decode_sha256(value).is_none()
        {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-sha256 header is invalid."
            ));
        }
        let upload_alg = upload.algorithm.as_deref().and_then(Algorithm::from_name);
        let (header_claims, tapped) = checksums::part_claims(input, upload_alg);
        let trailers = req.trailing_headers.take();
        let content_md5 = match &input.content_md5 {
            Some(value) => Some(decode_md5(value).ok_or_else(|| {
                s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid.")
            })?),
            None => None,
        };
        let content_length = input.content_length;
        let (bucket, key, raw_id) = (
            input.bucket.clone(),
            input.key.clone(),
            input.upload_id.clone(),
        );
        let body = req
            .input
            .body
            .take()
            .ok_or_else(|| s3_error!(IncompleteBody))?;
        let (body, tap) = Tap::new(body, tapped);

        let assembly = self.assembly(upload_id);
        let open = Arc::clone(&assembly.gate).read_owned().await;
        // Completed or aborted while this request waited for the gate, or sealed by a
        // completion that did not finish?
        self.open_upload(&bucket, &key, &raw_id).await?;
        if self
            .ledger
            .sealed(&upload_id)
            .await
            .map_err(io_error)?
            .is_some()
        {
            return Err(no_such_upload());
        }
        let slot = self
            .claim_slot(&assembly, &upload_id, number, content_length)
            .await
            .map_err(io_error)?;
        let (dest, tmp, offset, claim) = match slot {
            Some((claim, offset, len)) => (
                Destination::Slot {
                    path: self.ledger.assembly_path(&upload_id),
                    offset,
                    len,
                    turns: Arc::clone(&assembly.turns),
                },
                None,
                Some(offset),
                Some(claim),
            ),
            None => {
                let tmp = TempFile::new(self.ledger.temp_path(&upload_id));
                (
                    Destination::File(tmp.path().to_path_buf()),
                    Some(tmp),
                    None,
                    None,
                )
            }
        };
        // The writing thread holds the gate and the slot until it stops writing.
        let receiving = part_files::receive(body, dest, content_md5.is_some(), (open, claim));
        let (received, held) = match receiving.await {
            Ok(received) => received,
            Err(ReceiveError::Body(e)) => return Err(body_broke_off(&*e)),
            Err(ReceiveError::TooLong) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "The part is longer than the length its request declared."
                ));
            }
            // The assembly file went with a completion or an abort meanwhile.
            Err(ReceiveError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(no_such_upload());
            }
            Err(ReceiveError::Io(e)) => return Err(io_error(e)),
        };
        let claims =
            checksums::verify_part(header_claims, trailers, tap.finish(), &received.sha256)?;
        let claimed = |wanted: Algorithm| {
            claims
                .iter()
                .find(|(alg, _)| *alg == wanted)
                .map(|(_, v)| v.clone())
        };
        let sha256 = claimed(Algorithm::Sha256);
        let checksum = upload_alg.and_then(claimed);
        if (upload.sha256 && sha256.is_none()) || (upload_alg.is_some() && checksum.is_none()) {
            return Err(s3_error!(
                InvalidRequest,
                "This upload requires the checksum of its algorithm on every part."
            ));
        }
        if content_md5.is_some() && content_md5 != received.md5 {
            return Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ));
        }
        let etag = match received.md5 {
            Some(md5) => hex::encode(md5),
            None => hex::encode(&received.sha256[..16]),
        };

        // The part's bytes and its ledger entry change together, so they always describe the
        // same upload of it even when a retry races the original.
        let lock = self.part_lock(upload_id, number);
        let _guard = lock.lock().await;
        // A completion or an abort that did not wait for this part has forgotten the upload.
        self.open_upload(&bucket, &key, &raw_id).await?;
        if let Some(tmp) = tmp {
            tokio::fs::rename(tmp.path(), self.ledger.data_path(&upload_id, number))
                .await
                .map_err(io_error)?;
            tmp.keep();
        }
        let part = PartEntry {
            number,
            size: received.size,
            etag: etag.clone(),
            sha256: sha256.clone(),
            checksum: checksum.clone(),
            offset,
        };
        self.ledger
            .record_part(&upload_id, &part)
            .await
            .map_err(io_error)?;
        // Recorded, so the slot may be let go: the next copy of this part goes elsewhere.
        drop(held);
        let mut output = UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            checksum_sha256: sha256,
            ..Default::default()
        };
        if let Some(alg) = upload_alg {
            *checksum_field_mut!(alg, output) = checksum;
        }
        Ok(S3Response::new(output))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let (upload_id, upload) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let after = input.part_number_marker.unwrap_or(0);
        let max = input
            .max_parts
            .filter(|n| *n > 0)
            .unwrap_or(LIST_PARTS_MAX)
            .min(LIST_PARTS_MAX);
        let all = self.ledger.parts(&upload_id).await.map_err(io_error)?;
        let mut remaining = all.into_iter().filter(|p| p.number > after).peekable();
        let mut parts = Vec::new();
        while parts.len() < max as usize
            && let Some(part) = remaining.next()
        {
            let mut listed = Part {
                part_number: Some(part.number),
                size: Some(i64::try_from(part.size).unwrap_or(i64::MAX)),
                e_tag: Some(ETag::Strong(part.etag)),
                checksum_sha256: part.sha256,
                ..Default::default()
            };
            if let Some(alg) = upload.algorithm.as_deref().and_then(Algorithm::from_name) {
                *checksum_field_mut!(alg, listed) = part.checksum;
            }
            parts.push(listed);
        }
        let truncated = remaining.peek().is_some();
        let output = ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: Some(after),
            next_part_number_marker: parts.last().and_then(|p| p.part_number),
            max_parts: Some(max),
            is_truncated: Some(truncated),
            checksum_algorithm: upload_algorithm(&upload).map(Algorithm::to_dto),
            checksum_type: upload_algorithm(&upload)
                .map(|_| checksums::type_dto(upload.full_object)),
            parts: Some(parts),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    /// Checks the part list against the ledger, then makes the object: when the parts are laid
    /// out in the assembly file as the list says (every part one stride long but the last) and
    /// no part is being written, by copying in the few received elsewhere, sealing the upload,
    /// cutting the file to length and renaming it to the key; otherwise by writing the parts one
    /// after the other into a temporary file with in-kernel copies and renaming that. The object
    /// is complete or absent, and until it is in place every recorded part is untouched, so a
    /// failed or interrupted completion can be retried (a sealed one whose file is already the
    /// object just finishes). `If-None-Match: *` (create only) is checked here; other
    /// conditional requests (`If-Match`, `If-None-Match: <etag>`) go through s3s-fs.
    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        let (upload_id, upload) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let stored = self.ledger.parts(&upload_id).await.map_err(io_error)?;
        check_completion(&upload, listed, &stored)?;
        let create_only = input.if_none_match.as_ref().is_some_and(|c| c.is_any());
        if input.if_match.is_some() || (input.if_none_match.is_some() && !create_only) {
            return self
                .complete_through_s3s_fs(req, upload_id, upload, stored)
                .await;
        }
        // `If-None-Match: *`: S3's conditional write, checked here and held until the object is
        // in place. A sealed upload already put its object there; retrying it finishes it.
        let _exclusive = if create_only {
            let guard = self.key_lock(&input.key).lock_owned().await;
            let object_path = self.root.join(&input.bucket).join(&input.key);
            let sealed = self.ledger.sealed(&upload_id).await.map_err(io_error)?;
            if sealed.is_none()
                && tokio::fs::try_exists(&object_path)
                    .await
                    .map_err(io_error)?
            {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
            Some(guard)
        } else {
            None
        };

        // Hold every part (in ascending order, as no other holder takes more than one), so no
        // retry of a part replaces it while it is copied; then look again, as a concurrent
        // completion may have finished meanwhile.
        let mut guards = Vec::with_capacity(listed.len());
        for lock in self.part_locks(upload_id, listed.len()) {
            guards.push(lock.lock_owned().await);
        }
        let (upload_id, upload) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let stored = self.ledger.parts(&upload_id).await.map_err(io_error)?;
        let digests = check_completion(&upload, listed, &stored)?;
        // `check_completion` found parts 1..=n in the ledger (sorted, one entry per number).
        let held = &stored[..listed.len()];
        debug_assert!(held.iter().zip(1..).all(|(p, n)| p.number == n));

        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let object_path = self.root.join(&bucket).join(&key);
        let size: u64 = held.iter().map(|p| p.size).sum();
        let stride = self.ledger.stride(&upload_id).await.map_err(io_error)?;
        let assembly = self.assembly(upload_id);
        let started = std::time::Instant::now();
        let assembly_path = self.ledger.assembly_path(&upload_id);
        let sealed = self.ledger.sealed(&upload_id).await.map_err(io_error)?;
        // Parts being written now (or a connection hanging mid-part) keep the file as it is:
        // then the parts are copied out instead, and the late ones find the upload gone.
        let exclusive = assembly.gate.try_write().ok();
        let plan = exclusive
            .as_ref()
            .and_then(|_| in_place_patches(stride, held, &stored));
        let in_place = match plan {
            // A completion renamed the file to the object, then failed before it was done
            // (or the process died): the object is in place; finish the rest.
            _ if sealed == Some(size) && !assembly_path.exists() => {
                let object = tokio::fs::metadata(&object_path).await.map_err(io_error)?;
                if object.len() != size {
                    return Err(io_error(std::io::Error::other(format!(
                        "the sealed upload's object holds {} bytes, not {size}",
                        object.len()
                    ))));
                }
                true
            }
            Some(patches) => {
                let placed_until = held
                    .iter()
                    .filter_map(|p| p.offset.map(|offset| offset.saturating_add(p.size)))
                    .max()
                    .unwrap_or(0);
                let patches = patches
                    .into_iter()
                    .map(|(part, offset)| (self.piece(&upload_id, part), offset))
                    .collect();
                self.ledger.seal(&upload_id, size).await.map_err(io_error)?;
                part_files::finish_in_place(
                    assembly_path,
                    patches,
                    size,
                    placed_until,
                    object_path.clone(),
                )
                .await
                .map_err(io_error)?;
                true
            }
            None => {
                let pieces = held.iter().map(|p| self.piece(&upload_id, p)).collect();
                let tmp = TempFile::new(self.ledger.temp_path(&upload_id));
                part_files::assemble(pieces, tmp, object_path.clone())
                    .await
                    .map_err(io_error)?;
                false
            }
        };
        tracing::debug!(%key, size, parts = held.len(), in_place, elapsed = ?started.elapsed(), "object assembled");

        // S3's multipart ETag: the MD5 of the parts' binary ETags, then `-{parts}`.
        let mut md5 = Md5::new();
        for part in held {
            match hex::decode(&part.etag) {
                Ok(bytes) => md5.update(&bytes),
                Err(_) => md5.update(part.etag.as_bytes()),
            }
        }
        let e_tag = format!("{}-{}", hex::encode(md5.finalize()), held.len());
        let checksum = match (upload_algorithm(&upload), upload.sha256) {
            (_, true) => Some((Algorithm::Sha256, composite_sha256(&digests))),
            (Some(alg), _) if upload.full_object => Some((
                alg,
                checksums::of_file(alg, object_path)
                    .await
                    .map_err(io_error)?,
            )),
            (Some(alg), _) => {
                let sums: Option<Vec<&str>> = held.iter().map(|p| p.checksum.as_deref()).collect();
                let sum = sums
                    .and_then(|sums| checksums::composite(alg, &sums))
                    .ok_or_else(|| s3_error!(InternalError, "a part's checksum is unreadable"))?;
                Some((alg, sum))
            }
            (None, false) => None,
        };
        self.finish_object(&bucket, &key, &upload_id, &e_tag, checksum.as_ref())
            .await
            .map_err(io_error)?;
        if let Err(e) = self.ledger.forget(&upload_id).await {
            tracing::warn!(error = %e, %upload_id, "could not remove the completed upload's parts");
        }
        drop((guards, exclusive));
        self.forget_s3s_fs_upload(&upload_id).await;
        self.object_created(&bucket, key.clone());
        let mut output = CompleteMultipartUploadOutput {
            bucket: Some(bucket),
            key: Some(key),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        };
        if let Some((alg, sum)) = checksum {
            *checksum_field_mut!(alg, output) = Some(sum);
            output.checksum_type = Some(checksums::type_dto(upload.full_object));
        }
        Ok(S3Response::new(output))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = &req.input;
        let (upload_id, _) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        // Parts still being written find the upload gone when they are done.
        let response = self.fs.abort_multipart_upload(req).await?;
        self.ledger.forget(&upload_id).await.map_err(io_error)?;
        Ok(response)
    }
}

/// A map of per-upload state shared by the requests in flight, locked, with the entries no
/// request holds any more dropped first: it stays as small as the uploads in flight.
fn pruned<K, V>(
    map: &std::sync::Mutex<HashMap<K, Arc<V>>>,
) -> std::sync::MutexGuard<'_, HashMap<K, Arc<V>>> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.retain(|_, entry| Arc::strong_count(entry) > 1);
    map
}

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn io_error(err: std::io::Error) -> s3s::S3Error {
    tracing::error!(error = %err, "s3 endpoint storage");
    s3_error!(InternalError, "storage failed")
}

/// A request body that broke off (the client paused, reloaded or lost its connection): the
/// client's doing, as S3 answers it — not a server error.
fn body_broke_off(err: &(dyn std::error::Error + 'static)) -> s3s::S3Error {
    tracing::debug!(error = %err, "s3 endpoint: request body broke off");
    s3_error!(
        IncompleteBody,
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )
}

/// The checksum algorithm an upload was created with.
fn upload_algorithm(upload: &UploadEntry) -> Option<Algorithm> {
    if upload.sha256 {
        return Some(Algorithm::Sha256);
    }
    upload.algorithm.as_deref().and_then(Algorithm::from_name)
}

impl FerryS3 {
    /// The upload `raw_id` of `bucket`/`key`, or S3's `NoSuchUpload`.
    async fn open_upload(
        &self,
        bucket: &str,
        key: &str,
        raw_id: &str,
    ) -> S3Result<(Uuid, UploadEntry)> {
        let upload_id = Uuid::parse_str(raw_id).map_err(|_| no_such_upload())?;
        match self.ledger.upload(&upload_id).await.map_err(io_error)? {
            Some(entry) if entry.bucket == bucket && entry.key == key => Ok((upload_id, entry)),
            _ => Err(no_such_upload()),
        }
    }

    /// The in-memory state of `upload_id`'s assembly.
    fn assembly(&self, upload_id: Uuid) -> Arc<Assembly> {
        Arc::clone(pruned(&self.assemblies).entry(upload_id).or_default())
    }

    /// Where part `number` of `content_length` bytes can be written in the assembly file, and
    /// the claim on that slot: `None` when it must go to a file of its own — its length is
    /// unknown or longer than the stride, or its slot is being written or holds a recorded copy
    /// (which must stay until this one is verified). The first part of at least S3's smallest
    /// part length sets the stride.
    async fn claim_slot(
        &self,
        assembly: &Arc<Assembly>,
        upload_id: &Uuid,
        number: i32,
        content_length: Option<i64>,
    ) -> std::io::Result<Option<(SlotClaim, u64, u64)>> {
        let Some(len) = content_length
            .and_then(|len| u64::try_from(len).ok())
            .filter(|len| *len > 0)
        else {
            return Ok(None);
        };
        let stride = {
            let _claiming = assembly.stride.lock().await;
            if len >= MIN_PART_BYTES {
                // The recorded stride, or this part's length recorded as it.
                self.ledger.claim_stride(upload_id, len).await?
            } else {
                match self.ledger.stride(upload_id).await? {
                    Some(stride) => stride,
                    None => return Ok(None),
                }
            }
        };
        // Gone with a completion that renamed it (the part is refused once it is written).
        if !tokio::fs::try_exists(self.ledger.assembly_path(upload_id)).await? {
            return Ok(None);
        }
        let Some(offset) = u64::try_from(number - 1)
            .ok()
            .and_then(|index| index.checked_mul(stride))
            .filter(|offset| len <= stride && offset.saturating_add(len) <= MAX_OBJECT_BYTES)
        else {
            return Ok(None);
        };
        // Claim, then look for a recorded copy: a writer records its copy before it lets go.
        let claimed = assembly
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(number);
        if !claimed {
            return Ok(None);
        }
        let claim = SlotClaim {
            assembly: Arc::clone(assembly),
            number,
        };
        if self.ledger.part(upload_id, number).await?.is_some() {
            return Ok(None);
        }
        Ok(Some((claim, offset, len)))
    }

    /// Where a recorded part's bytes are.
    fn piece(&self, upload_id: &Uuid, part: &PartEntry) -> Piece {
        match part.offset {
            Some(offset) => Piece {
                path: self.ledger.assembly_path(upload_id),
                offset,
                len: part.size,
            },
            None => Piece {
                path: self.ledger.data_path(upload_id, part.number),
                offset: 0,
                len: part.size,
            },
        }
    }

    fn key_lock(&self, key: &str) -> PartLock {
        Arc::clone(pruned(&self.key_locks).entry(key.to_owned()).or_default())
    }

    fn part_lock(&self, upload_id: Uuid, number: i32) -> PartLock {
        Arc::clone(
            pruned(&self.part_locks)
                .entry((upload_id, number))
                .or_default(),
        )
    }

    /// CompleteMultipartUpload by s3s-fs (conditional requests): it reads every part back,
    /// hashes it again and writes it out, and discards the upload if it fails half-way.
    async fn complete_through_s3s_fs(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
        upload_id: Uuid,
        upload: UploadEntry,
        stored: Vec<PartEntry>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let digests = check_completion(&upload, listed, &stored)?;
        // s3s-fs reads every listed part from a file of its own.
        let listed_parts = stored.iter().take(listed.len());
        for part in listed_parts.filter(|p| p.offset.is_some()) {
            let tmp = TempFile::new(self.ledger.temp_path(&upload_id));
            let dest = self.ledger.data_path(&upload_id, part.number);
            part_files::assemble(vec![self.piece(&upload_id, part)], tmp, dest)
                .await
                .map_err(io_error)?;
        }
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let mut response = self.fs.complete_multipart_upload(req).await?;
        if let Some(future) = response.output.future.take() {
            response.output = future.await?;
        }
        if upload.sha256 {
            let checksum = composite_sha256(&digests);
            self.store_object_checksums(&bucket, &key, &[(Algorithm::Sha256, checksum.clone())])
                .await
                .map_err(io_error)?;
            response.output.checksum_sha256 = Some(checksum);
            response.output.checksum_type =
                Some(ChecksumType::from_static(ChecksumType::COMPOSITE));
        }
        if let Err(e) = self.ledger.forget(&upload_id).await {
            tracing::warn!(error = %e, %upload_id, "could not remove the part ledger");
        }
        self.object_created(&bucket, key);
        Ok(response)
    }

    /// What s3s-fs keeps beside a completed object: the attributes given when the upload was
    /// created become the object's, and its ETag and checksum are recorded (replacing whatever
    /// an earlier object under the key had).
    async fn finish_object(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &Uuid,
        e_tag: &str,
        checksum: Option<&(Algorithm, String)>,
    ) -> std::io::Result<()> {
        let object = self.object_file_prefix(bucket, key);
        let attributes = self
            .root
            .join(format!("{object}.upload-{upload_id}.metadata.json"));
        match tokio::fs::rename(
            &attributes,
            self.root.join(format!("{object}.metadata.json")),
        )
        .await
        {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut info = serde_json::Map::new();
        info.insert("e_tag".to_owned(), e_tag.into());
        if let Some((alg, sum)) = checksum {
            info.insert(alg.info_key(), sum.as_str().into());
        }
        let path = self.root.join(format!("{object}.internal.json"));
        let tmp = TempFile::new(self.ledger.temp_path(upload_id));
        tokio::fs::write(tmp.path(), serde_json::to_vec(&info)?).await?;
        tokio::fs::rename(tmp.path(), &path).await?;
        tmp.keep();
        Ok(())
    }

    /// s3s-fs's file-name prefix for what it keeps about an object in its root.
    fn object_file_prefix(&self, bucket: &str, key: &str) -> String {
        use base64::Engine as _;
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(".bucket-{}.object-{}", encode(bucket), encode(key))
    }

    /// Removes s3s-fs's record of an upload (completed here, not by s3s-fs).
    async fn forget_s3s_fs_upload(&self, upload_id: &Uuid) {
        let path = self.root.join(format!(".upload-{upload_id}.json"));
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, %upload_id, "could not remove the completed upload");
            }
            _ => {}
        }
    }

    /// The locks of parts 1..=`count`, in that order.
    fn part_locks(&self, upload_id: Uuid, count: usize) -> Vec<PartLock> {
        let mut locks = pruned(&self.part_locks);
        (1..=i32::try_from(count).unwrap_or(i32::MAX))
            .map(|number| Arc::clone(locks.entry((upload_id, number)).or_default()))
            .collect()
    }

    /// Puts the object's checksums where s3s-fs keeps object metadata, so HeadObject and
    /// GetObject report them (s3s-fs writes that file itself only for PutObject, and without
    /// the checksums of a trailer it did not see).
    async fn store_object_checksums(
        &self,
        bucket: &str,
        key: &str,
        sums: &[(Algorithm, String)],
    ) -> std::io::Result<()> {
        let path = self.root.join(format!(
            "{}.internal.json",
            self.object_file_prefix(bucket, key)
        ));
        let mut info: serde_json::Map<String, serde_json::Value> =
            match tokio::fs::read(&path).await {
                Ok(bytes) => serde_json::from_slice(&bytes)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
                Err(e) => return Err(e),
            };
        for (alg, sum) in sums {
            info.insert(alg.info_key(), sum.as_str().into());
        }
        let tmp = path.with_extension(format!("tmp{}", rand::random::<u64>()));
        tokio::fs::write(&tmp, serde_json::to_vec(&info)?).await?;
        tokio::fs::rename(&tmp, &path).await
    }
}

/// Whether the object can be finished in the assembly file: `held` (parts 1..=n, as listed)
/// fills it slot by slot — every part one stride long but the last, which is no longer — and no
/// other recorded part lives beyond them (cutting the file would lose it). Returns the parts
/// received elsewhere, each with where it belongs.
fn in_place_patches<'a>(
    stride: Option<u64>,
    held: &'a [PartEntry],
    stored: &[PartEntry],
) -> Option<Vec<(&'a PartEntry, u64)>> {
    let stride = stride.filter(|s| *s > 0)?;
    let (last, full) = held.split_last()?;
    if full.iter().any(|p| p.size != stride) || last.size > stride {
        return None;
    }
    let beyond = i32::try_from(held.len()).ok()?;
    if stored
        .iter()
        .any(|p| p.number > beyond && p.offset.is_some())
    {
        return None;
    }
    let mut patches = Vec::new();
    for (index, part) in (0u64..).zip(held) {
        let slot = index.checked_mul(stride)?;
        match part.offset {
            Some(offset) if offset == slot => {}
            Some(_) => return None,
            None => patches.push((part, slot)),
        }
    }
    Some(patches)
}

/// Checks a CompleteMultipartUpload part list against the parts received, as S3 does, before
/// s3s-fs starts assembling (it discards the upload on some failures). Returns the parts'
/// SHA-256 digests in order (empty when the upload has no checksums).
fn check_completion(
    upload: &UploadEntry,
    listed: &[CompletedPart],
    stored: &[PartEntry],
) -> S3Result<Vec<[u8; 32]>> {
    if listed.is_empty() {
        return Err(s3_error!(InvalidPart, "You must specify at least one part"));
    }
    let mut digests = Vec::with_capacity(listed.len());
    for (index, part) in listed.iter().enumerate() {
        // s3s-fs assembles parts 1, 2, 3, …; S3 requires that too when parts carry checksums.
        let expected_number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if part.part_number != Some(expected_number) {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order, or skipped a part number."
            ));
        }
        let invalid = || {
            s3_error!(
                InvalidPart,
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            )
        };
        let held = stored
            .iter()
            .find(|p| p.number == expected_number)
            .ok_or_else(invalid)?;
        let etag_matches = part
            .e_tag
            .as_ref()
            .is_some_and(|etag| etag.value() == held.etag);
        if !etag_matches {
            return Err(invalid());
        }
        if held.size < MIN_PART_BYTES && index + 1 < listed.len() {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed size"
            ));
        }
        if upload.sha256 {
            let (Some(given), Some(held_sha)) = (&part.checksum_sha256, &held.sha256) else {
                return Err(s3_error!(
                    InvalidRequest,
                    "The upload was created using a sha256 checksum. The complete request must include the checksum for each part."
                ));
            };
            if given != held_sha {
                return Err(s3_error!(
                    BadDigest,
                    "The sha256 you specified for part {expected_number} did not match what we received."
                ));
            }
            digests.push(decode_sha256(held_sha).ok_or_else(invalid)?);
        }
        if let Some(alg) = upload.algorithm.as_deref().and_then(Algorithm::from_name) {
            checksums::check_listed_part(
                alg,
                upload.full_object,
                part,
                held.checksum.as_deref(),
                expected_number,
            )?;
        }
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_would_leave_the_bucket_are_refused() {
        assert!(check_key("files/abc/0190").is_ok());
        assert!(check_key("thumbs/abc/0190.webp").is_ok());
        for key in ["", "/etc/passwd", "../x", "files/../../x", "a/./b", "a\0b"] {
            assert!(check_key(key).is_err(), "{key:?} accepted");
        }
    }

    #[test]
    fn bucket_names_are_s3_names() {
        assert!(check_bucket_name("ferry-files").is_ok());
        for bucket in ["", "ab", "../up", "Upper", "a/b", ".hidden", "a..b"] {
            assert!(check_bucket_name(bucket).is_err(), "{bucket:?} accepted");
        }
    }

    #[test]
    fn query_values_are_decoded() {
        let query = "X-Amz-Expires=60&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost";
        assert_eq!(
            query_value(query, "X-Amz-SignedHeaders").as_deref(),
            Some("content-length;content-type;host")
        );
        assert_eq!(query_value(query, "X-Amz-Expires").as_deref(), Some("60"));
        assert_eq!(query_value(query, "X-Amz-Signature"), None);
    }

    fn part(number: i32, size: u64, offset: Option<u64>) -> PartEntry {
        PartEntry {
            number,
            size,
            etag: format!("e{number}"),
            sha256: None,
            checksum: None,
            offset,
        }
    }

    #[test]
    fn objects_are_finished_in_place_only_when_the_parts_fill_their_slots() {
        let numbers = |patches: Option<Vec<(&PartEntry, u64)>>| {
            patches.map(|p| {
                p.iter()
                    .map(|(part, at)| (part.number, *at))
                    .collect::<Vec<_>>()
            })
        };
        let laid_out = [
            part(1, 8, Some(0)),
            part(2, 8, Some(8)),
            part(3, 3, Some(16)),
        ];
        assert_eq!(
            numbers(in_place_patches(Some(8), &laid_out, &laid_out)),
            Some(vec![])
        );
        // A part received elsewhere is copied to its slot.
        let stray = [part(1, 8, Some(0)), part(2, 8, None), part(3, 3, Some(16))];
        assert_eq!(
            numbers(in_place_patches(Some(8), &stray, &stray)),
            Some(vec![(2, 8)])
        );
        // Completing fewer parts than were received: fine, unless one beyond lives in the file.
        let elsewhere_beyond = [laid_out[0].clone(), laid_out[1].clone(), part(3, 8, None)];
        assert_eq!(
            numbers(in_place_patches(Some(8), &laid_out[..2], &elsewhere_beyond)),
            Some(vec![])
        );
        assert_eq!(
            numbers(in_place_patches(Some(8), &laid_out[..2], &laid_out)),
            None
        );
        // No stride, a short part before the last, a last part longer than a slot, a part at
        // another offset: copied out instead.
        assert_eq!(numbers(in_place_patches(None, &laid_out, &laid_out)), None);
        let short = [part(1, 7, Some(0)), part(2, 8, Some(8))];
        assert_eq!(numbers(in_place_patches(Some(8), &short, &short)), None);
        let long_last = [part(1, 8, Some(0)), part(2, 9, None)];
        assert_eq!(
            numbers(in_place_patches(Some(8), &long_last, &long_last)),
            None
        );
        let moved = [part(1, 8, Some(0)), part(2, 8, Some(4))];
        assert_eq!(numbers(in_place_patches(Some(8), &moved, &moved)), None);
        assert_eq!(numbers(in_place_patches(Some(8), &[], &[])), None);
    }
}
