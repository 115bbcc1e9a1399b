//! [`ObjectStore`] on aws-sdk-s3: the one adapter for Amazon S3 and for the local stack's
//! embedded S3-compatible endpoint (see [`local_client`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};

use crate::ports::{
    Clock, ObjectInfo, ObjectStore, PartToComplete, PresignedRequest, StorageError, StoredPart,
    SystemClock,
};

/// Parts per ListParts page (S3's maximum).
const LIST_PARTS_PAGE: i32 = 1000;

mod presign;
mod sdk_errors;

use presign::{presigning, to_port};
use sdk_errors::{backend_error, error_code, is_no_such_upload, is_not_found, length, part_number};

/// Object storage in one bucket, through aws-sdk-s3.
#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    /// When presigned requests start (their `X-Amz-Date`).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for S3ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3ObjectStore")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3ObjectStore {
    /// The client should be built once at start (it holds the connection pool and credentials
    /// cache). For presigned PUTs that browsers can send, it should compute request checksums
    /// only when required (see [`local_client`]); otherwise the SDK may add checksum headers the
    /// browser does not know about.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Presigns with `clock`'s time instead of the system's.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A client for an S3-compatible endpoint with a static key pair, such as the local stack's
/// embedded endpoint.
///
/// Path-style addressing, because `http://127.0.0.1:9000` has no per-bucket host names.
/// Checksums only when an operation requires them: by default the SDK sends PutObject bodies as
/// `aws-chunked` with a CRC trailer, which simpler S3 implementations do not all understand,
/// and validates response checksums the endpoint may not produce.
pub fn local_client(
    endpoint_url: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> Client {
    let credentials = Credentials::new(access_key, secret_key, None, None, "ferry-local");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint_url)
        .credentials_provider(credentials)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        content_length: u64,
        content_type: &str,
        sha256: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let length = length(content_length)?;
        let (config, expires_at) = presigning(self.clock.as_ref(), expires_in)?;
        // Setting these makes the presigner put them in X-Amz-SignedHeaders: S3 then refuses a
        // body of any other length, type or checksum. `If-None-Match: *` makes the URL create
        // the object only: replayed once the file is stored, it answers 412 and changes nothing.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(length)
            .content_type(content_type)
            .if_none_match("*")
            .set_checksum_sha256(sha256.map(str::to_owned))
            .presigned(config)
            .await
            .map_err(|e| backend_error("presign put", key, &e))?;
        Ok(to_port(&request, expires_at))
    }

    async fn presign_get(
        &self,
        key: &str,
        content_disposition: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let (config, expires_at) = presigning(self.clock.as_ref(), expires_in)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition)
            .presigned(config)
            .await
            .map_err(|e| backend_error("presign get", key, &e))?;
        Ok(to_port(&request, expires_at))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(backend_error("head", key, &e)),
        };
        let size = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| StorageError::Backend(format!("head {key}: no content length")))?;
        Ok(Some(ObjectInfo {
            size,
            content_type: output.content_type().map(str::to_owned),
            etag: output.e_tag().map(str::to_owned),
            sha256: output.checksum_sha256().map(str::to_owned),
        }))
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Bytes>, StorageError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(backend_error("get", key, &e)),
        };
        let announced = output.content_length().and_then(|n| u64::try_from(n).ok());
        if announced.is_some_and(|n| n > max_bytes) {
            return Err(StorageError::TooLarge { limit: max_bytes });
        }
        // The announced length is checked again while reading, so a body longer than its
        // header (or one without a length) never grows past the limit in memory.
        let capacity = announced.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut buffer = BytesMut::with_capacity(capacity);
        let mut body: ByteStream = output.body;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StorageError::Backend(format!("get {key}: reading body: {e}")))?
        {
            if (buffer.len() + chunk.len()) as u64 > max_bytes {
                return Err(StorageError::TooLarge { limit: max_bytes });
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(Some(buffer.freeze()))
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StorageError> {
        let length = i64::try_from(body.len()).map_err(|_| StorageError::TooLarge {
            limit: i64::MAX as u64,
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| backend_error("put", key, &e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // S3 itself answers 204 for a missing key; other implementations may not.
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(backend_error("delete", key, &e)),
        }
    }

    async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| backend_error("create multipart upload", key, &e))?;
        output
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::Backend(format!("create multipart upload {key}: no id")))
    }

    async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        content_length: u64,
        sha256: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let (config, expires_at) = presigning(self.clock.as_ref(), expires_in)?;
        // Content-Length and x-amz-checksum-sha256 are signed: S3 refuses another length, and
        // bytes whose digest differs (BadDigest).
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number(number)?)
            .content_length(length(content_length)?)
            .checksum_sha256(sha256)
            .presigned(config)
            .await
            .map_err(|e| backend_error("presign upload part", key, &e))?;
        Ok(to_port(&request, expires_at))
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let result = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .max_parts(LIST_PARTS_PAGE)
                .set_part_number_marker(marker.take())
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                Err(e) if is_no_such_upload(&e) || is_not_found(&e) => {
                    return Err(StorageError::NoSuchUpload);
                }
                Err(e) => return Err(backend_error("list parts", key, &e)),
            };
            for part in output.parts() {
                let (Some(number), Some(size), Some(etag)) =
                    (part.part_number(), part.size(), part.e_tag())
                else {
                    return Err(StorageError::Backend(format!(
                        "list parts {key}: a part without number, size or ETag"
                    )));
                };
                let (Ok(number), Ok(size)) = (u32::try_from(number), u64::try_from(size)) else {
                    return Err(StorageError::Backend(format!(
                        "list parts {key}: part {number} of size {size}"
                    )));
                };
                parts.push(StoredPart {
                    number,
                    size,
                    etag: etag.to_owned(),
                    sha256: part.checksum_sha256().map(str::to_owned),
                });
            }
            match output.next_part_number_marker() {
                Some(next) if output.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        parts.dedup_by_key(|p| p.number);
        Ok(parts)
    }

    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartToComplete],
    ) -> Result<Option<String>, StorageError> {
        let completed = parts
            .iter()
            .map(|part| {
                Ok(CompletedPart::builder()
                    .part_number(part_number(part.number)?)
                    .e_tag(&part.etag)
                    .checksum_sha256(&part.sha256)
                    .build())
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            // Like the single PUT: a stored object is never replaced.
            .if_none_match("*")
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.checksum_sha256().map(str::to_owned)),
            Err(e) if is_no_such_upload(&e) => Err(StorageError::NoSuchUpload),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some(
                        "InvalidPart"
                            | "InvalidPartOrder"
                            | "EntityTooSmall"
                            | "BadDigest"
                            | "InvalidRequest"
                    )
                ) =>
            {
                Err(StorageError::InvalidParts(format!(
                    "{}",
                    DisplayErrorContext(&e)
                )))
            }
            Err(e) => Err(backend_error("complete multipart upload", key, &e)),
        }
    }

    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_upload(&e) || is_not_found(&e) => Ok(()),
            Err(e) => Err(backend_error("abort multipart upload", key, &e)),
        }
    }
}
