//! Receiving multipart uploads' parts (UploadPart) and listing them (ListParts): each part is
//! verified while it streams to disk, into its slot of the upload's assembly file when it fits,
//! and recorded in the ledger (see [`super::part_ledger`]).

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, TrailingHeaders, s3_error};
use uuid::Uuid;

use super::checksums::{self, Algorithm, Tap, checksum_field_mut, decode_md5};
use super::completion::MIN_PART_BYTES;
use super::locks::{Assembly, SlotClaim};
use super::part_files::{self, Destination, Piece, ReceiveError, Received, TempFile};
use super::part_ledger::{PartEntry, UploadEntry};
use super::service::{FerryS3, body_broke_off, io_error, no_such_upload, upload_algorithm};
use crate::domain::parts::decode_sha256;

/// S3's largest object: no slot reaches past it (its part could not complete anyway).
const MAX_OBJECT_BYTES: u64 = 5 << 40;
/// Parts per ListParts page when the request does not say (S3's default and maximum).
const LIST_PARTS_MAX: i32 = 1000;

/// An UploadPart request, checked before its body is read.
struct PartRequest {
    upload_id: Uuid,
    upload: UploadEntry,
    number: i32,
    /// The upload's checksum algorithm other than SHA-256.
    upload_alg: Option<Algorithm>,
    content_md5: Option<[u8; 16]>,
    content_length: Option<i64>,
    bucket: String,
    key: String,
    raw_id: String,
}

/// A part's body on its way through the checksum tap, and the checksums it claims.
struct PartBody {
    body: StreamingBlob,
    tap: Tap,
    header_claims: Vec<(Algorithm, String)>,
    trailers: Option<TrailingHeaders>,
}

/// Where a part's bytes go: its slot of the assembly file (with the claim on it), or a
/// temporary file renamed to the part's own file once the part is verified.
struct Target {
    dest: Destination,
    tmp: Option<TempFile>,
    offset: Option<u64>,
    claim: Option<SlotClaim>,
}

impl FerryS3 {
    /// Receives a part in one pass: its bytes go to their slot of the upload's assembly file
    /// (or, when the slot cannot take them, to a temporary file) while their SHA-256 is computed
    /// (and their MD5, only when the client sent `Content-MD5`); a part whose digest differs from
    /// `x-amz-checksum-sha256` is refused and the previous copy of it, if any, stays.
    ///
    /// The part's ETag is its MD5 when `Content-MD5` was sent (and checked), else the first 16
    /// bytes of its SHA-256 in hex — same form, one hash less: MD5 was half the endpoint's CPU.
    /// ETags are opaque to S3 clients (S3's own are not MD5s under SSE-KMS); clients echo them
    /// in CompleteMultipartUpload, which checks them against the ledger.
    pub async fn receive_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let (request, body) = self.part_request(req).await?;
        let assembly = self.locks.assembly(request.upload_id);
        let open = Arc::clone(&assembly.gate).read_owned().await;
        self.check_still_open(&request).await?;
        let target = self.part_target(&assembly, &request).await?;
        // The writing thread holds the gate and the slot until it stops writing.
        let md5 = request.content_md5.is_some();
        let receiving = part_files::receive(body.body, target.dest, md5, (open, target.claim));
        let (received, held) = receiving.await.map_err(receive_error)?;
        let claims = checksums::verify_part(
            body.header_claims,
            body.trailers,
            body.tap.finish(),
            &received.sha256,
        )?;
        let part = verified_part(&request, &received, &claims, target.offset)?;
        self.record_received_part(&request, target.tmp, &part, held)
            .await?;
        let mut output = UploadPartOutput {
            e_tag: Some(ETag::Strong(part.etag)),
            checksum_sha256: part.sha256,
            ..Default::default()
        };
        if let Some(alg) = request.upload_alg {
            *checksum_field_mut!(alg, output) = part.checksum;
        }
        Ok(S3Response::new(output))
    }

    /// Checks an UploadPart request's upload, part number and digest headers, and starts its
    /// body through the checksum tap.
    async fn part_request(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<(PartRequest, PartBody)> {
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
        let request = PartRequest {
            upload_id,
            upload,
            number,
            upload_alg,
            content_md5,
            content_length: input.content_length,
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            raw_id: input.upload_id.clone(),
        };
        let body = req
            .input
            .body
            .take()
            .ok_or_else(|| s3_error!(IncompleteBody))?;
        let (body, tap) = Tap::new(body, tapped);
        let body = PartBody {
            body,
            tap,
            header_claims,
            trailers,
        };
        Ok((request, body))
    }

    /// Refuses a part whose upload was completed or aborted while the request waited for the
    /// gate, or sealed by a completion that did not finish.
    async fn check_still_open(&self, request: &PartRequest) -> S3Result<()> {
        self.open_upload(&request.bucket, &request.key, &request.raw_id)
            .await?;
        if self
            .ledger
            .sealed(&request.upload_id)
            .await
            .map_err(io_error)?
            .is_some()
        {
            return Err(no_such_upload());
        }
        Ok(())
    }

    /// Where the part's bytes go: their slot when one can be claimed, else a temporary file.
    async fn part_target(
        &self,
        assembly: &Arc<Assembly>,
        request: &PartRequest,
    ) -> S3Result<Target> {
        let upload_id = request.upload_id;
        let slot = self
            .claim_slot(assembly, &upload_id, request.number, request.content_length)
            .await
            .map_err(io_error)?;
        Ok(match slot {
            Some((claim, offset, len)) => Target {
                dest: Destination::Slot {
                    path: self.ledger.assembly_path(&upload_id),
                    offset,
                    len,
                    turns: Arc::clone(&assembly.turns),
                },
                tmp: None,
                offset: Some(offset),
                claim: Some(claim),
            },
            None => {
                let tmp = TempFile::new(self.ledger.temp_path(&upload_id));
                Target {
                    dest: Destination::File(tmp.path().to_path_buf()),
                    tmp: Some(tmp),
                    offset: None,
                    claim: None,
                }
            }
        })
    }

    /// Puts the part's bytes and its ledger entry in place together, so they always describe
    /// the same upload of it even when a retry races the original; then lets go of what the
    /// writer `held` (the gate and the slot).
    async fn record_received_part<H>(
        &self,
        request: &PartRequest,
        tmp: Option<TempFile>,
        part: &PartEntry,
        held: H,
    ) -> S3Result<()> {
        let lock = self.locks.part(request.upload_id, request.number);
        let _guard = lock.lock().await;
        // A completion or an abort that did not wait for this part has forgotten the upload.
        self.open_upload(&request.bucket, &request.key, &request.raw_id)
            .await?;
        if let Some(tmp) = tmp {
            let path = self.ledger.data_path(&request.upload_id, request.number);
            tokio::fs::rename(tmp.path(), path)
                .await
                .map_err(io_error)?;
            tmp.keep();
        }
        self.ledger
            .record_part(&request.upload_id, part)
            .await
            .map_err(io_error)?;
        // Recorded, so the slot may be let go: the next copy of this part goes elsewhere.
        drop(held);
        Ok(())
    }

    pub async fn list_received_parts(
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
    pub fn piece(&self, upload_id: &Uuid, part: &PartEntry) -> Piece {
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
}

/// The answer to a part that was not received.
fn receive_error(err: ReceiveError) -> s3s::S3Error {
    match err {
        ReceiveError::Body(e) => body_broke_off(&*e),
        ReceiveError::TooLong => s3_error!(
            InvalidRequest,
            "The part is longer than the length its request declared."
        ),
        // The assembly file went with a completion or an abort meanwhile.
        ReceiveError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => no_such_upload(),
        ReceiveError::Io(e) => io_error(e),
    }
}

/// The part as received, once its digests are checked: it carries every checksum its upload
/// requires, and its `Content-MD5`, when sent, matches.
fn verified_part(
    request: &PartRequest,
    received: &Received,
    claims: &[(Algorithm, String)],
    offset: Option<u64>,
) -> S3Result<PartEntry> {
    let claimed = |wanted: Algorithm| {
        claims
            .iter()
            .find(|(alg, _)| *alg == wanted)
            .map(|(_, v)| v.clone())
    };
    let sha256 = claimed(Algorithm::Sha256);
    let checksum = request.upload_alg.and_then(claimed);
    if (request.upload.sha256 && sha256.is_none())
        || (request.upload_alg.is_some() && checksum.is_none())
    {
        return Err(s3_error!(
            InvalidRequest,
            "This upload requires the checksum of its algorithm on every part."
        ));
    }
    if request.content_md5.is_some() && request.content_md5 != received.md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    let etag = match received.md5 {
        Some(md5) => hex::encode(md5),
        None => hex::encode(&received.sha256[..16]),
    };
    Ok(PartEntry {
        number: request.number,
        size: received.size,
        etag,
        sha256,
        checksum,
        offset,
    })
}
