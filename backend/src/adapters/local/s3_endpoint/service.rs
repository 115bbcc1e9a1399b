//! The S3 operations Ferry uses, answered by s3s-fs with what it lacks added around it:
//! conditional writes that hold the key, checksums of trailers, and multipart uploads whose
//! parts are verified and recorded here ([`super::multipart`], [`super::completion`]).
//! Everything else answers NotImplemented (the trait's default).

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::ObjectCreatedHook;
use super::checksums::{self, Algorithm, checksum_field_mut};
use super::layout::S3sFsLayout;
use super::locks::Locks;
use super::part_files;
use super::part_ledger::{PartLedger, UploadEntry};

/// s3s-fs and what the endpoint keeps beside it.
pub struct FerryS3 {
    pub fs: s3s_fs::FileSystem,
    /// s3s-fs's files, under its root directory (absolute).
    pub layout: S3sFsLayout,
    pub ledger: PartLedger,
    pub locks: Locks,
    bucket: Arc<str>,
    on_created: ObjectCreatedHook,
}

impl FerryS3 {
    pub fn new(
        fs: s3s_fs::FileSystem,
        layout: S3sFsLayout,
        bucket: Arc<str>,
        on_created: ObjectCreatedHook,
    ) -> Self {
        Self {
            fs,
            ledger: PartLedger::new(layout.clone()),
            layout,
            locks: Locks::default(),
            bucket,
            on_created,
        }
    }

    pub fn object_created(&self, bucket: &str, key: String) {
        if bucket != &*self.bucket {
            return;
        }
        tracing::debug!(%key, "object created");
        tokio::spawn((self.on_created)(key));
    }

    /// The upload `raw_id` of `bucket`/`key`, or S3's `NoSuchUpload`.
    pub async fn open_upload(
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

    /// Puts the object's checksums where s3s-fs keeps object metadata, so HeadObject and
    /// GetObject report them (s3s-fs writes that file itself only for PutObject, and without
    /// the checksums of a trailer it did not see).
    pub async fn store_object_checksums(
        &self,
        bucket: &str,
        key: &str,
        sums: &[(Algorithm, String)],
    ) -> std::io::Result<()> {
        let path = self.layout.object_info(bucket, key);
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
            Some(condition) if condition.is_any() => Some(self.locks.key(&key).lock_owned().await),
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

    /// See [`FerryS3::receive_part`].
    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.receive_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.list_received_parts(req).await
    }

    /// See [`FerryS3::complete`].
    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete(req).await
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

pub fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

pub fn io_error(err: std::io::Error) -> s3s::S3Error {
    tracing::error!(error = %err, "s3 endpoint storage");
    s3_error!(InternalError, "storage failed")
}

/// A request body that broke off (the client paused, reloaded or lost its connection): the
/// client's doing, as S3 answers it — not a server error.
pub fn body_broke_off(err: &(dyn std::error::Error + 'static)) -> s3s::S3Error {
    tracing::debug!(error = %err, "s3 endpoint: request body broke off");
    s3_error!(
        IncompleteBody,
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )
}

/// The checksum algorithm an upload was created with.
pub fn upload_algorithm(upload: &UploadEntry) -> Option<Algorithm> {
    if upload.sha256 {
        return Some(Algorithm::Sha256);
    }
    upload.algorithm.as_deref().and_then(Algorithm::from_name)
}
