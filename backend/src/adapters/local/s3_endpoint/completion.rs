//! Completing multipart uploads (CompleteMultipartUpload): the part list is checked against
//! the ledger as S3 checks it, then the object is made — in the assembly file itself when the
//! parts fill their slots (a few copies, a seal, a cut and a rename), else by copying the parts
//! out — and s3s-fs's metadata for it is written (see [`super::layout`]).

use std::path::{Path, PathBuf};

use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use super::checksums::{self, Algorithm, checksum_field_mut};
use super::part_files::{self, TempFile};
use super::part_ledger::{PartEntry, UploadEntry};
use super::service::{FerryS3, io_error, upload_algorithm};
use crate::domain::parts::{composite_sha256, decode_sha256};

/// S3's smallest part, except the last (CompleteMultipartUpload answers `EntityTooSmall`).
pub const MIN_PART_BYTES: u64 = 5 << 20;

impl FerryS3 {
    /// Checks the part list against the ledger, then makes the object: when the parts are laid
    /// out in the assembly file as the list says (every part one stride long but the last) and
    /// no part is being written, by copying in the few received elsewhere, sealing the upload,
    /// cutting the file to length and renaming it to the key; otherwise by writing the parts one
    /// after the other into a temporary file with in-kernel copies and renaming that. The object
    /// is complete or absent, and until it is in place every recorded part is untouched, so a
    /// failed or interrupted completion can be retried (a sealed one whose file is already the
    /// object just finishes). `If-None-Match: *` (create only) is checked here; other
    /// conditional requests (`If-Match`, `If-None-Match: <etag>`) go through s3s-fs.
    pub async fn complete(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        let (upload_id, upload) = self
            .open_upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let listed = listed_parts(input);
        let stored = self.ledger.parts(&upload_id).await.map_err(io_error)?;
        check_completion(&upload, listed, &stored)?;
        let create_only = input.if_none_match.as_ref().is_some_and(|c| c.is_any());
        if input.if_match.is_some() || (input.if_none_match.is_some() && !create_only) {
            return self
                .complete_through_s3s_fs(req, upload_id, upload, stored)
                .await;
        }
        let _exclusive = if create_only {
            Some(
                self.hold_new_key(&input.bucket, &input.key, &upload_id)
                    .await?,
            )
        } else {
            None
        };

        // Hold every part (in ascending order, as no other holder takes more than one), so no
        // retry of a part replaces it while it is copied; then look again, as a concurrent
        // completion may have finished meanwhile.
        let mut guards = Vec::with_capacity(listed.len());
        for lock in self.locks.parts(upload_id, listed.len()) {
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
        let object_path = self.layout.object(&bucket, &key);
        let size: u64 = held.iter().map(|p| p.size).sum();
        let assembly = self.locks.assembly(upload_id);
        let started = std::time::Instant::now();
        // Parts being written now (or a connection hanging mid-part) keep the file as it is:
        // then the parts are copied out instead, and the late ones find the upload gone.
        let exclusive = assembly.gate.try_write().ok();
        let in_place = self
            .assemble(&upload_id, held, &stored, exclusive.is_some(), &object_path)
            .await?;
        tracing::debug!(%key, size, parts = held.len(), in_place, elapsed = ?started.elapsed(), "object assembled");

        let e_tag = multipart_etag(held);
        let checksum = object_checksum(&upload, held, &digests, &object_path).await?;
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

    /// `If-None-Match: *`: S3's conditional write, checked here and held until the object is in
    /// place. A sealed upload already put its object there; retrying it finishes it.
    async fn hold_new_key(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &Uuid,
    ) -> S3Result<OwnedMutexGuard<()>> {
        let guard = self.locks.key(key).lock_owned().await;
        let object_path = self.layout.object(bucket, key);
        let sealed = self.ledger.sealed(upload_id).await.map_err(io_error)?;
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
        Ok(guard)
    }

    /// Puts the object of the `held` parts at `object_path`: in the assembly file when `may_cut`
    /// (no part is being written) and the parts fill their slots, else by copying them out.
    /// Returns whether it was done in place.
    async fn assemble(
        &self,
        upload_id: &Uuid,
        held: &[PartEntry],
        stored: &[PartEntry],
        may_cut: bool,
        object_path: &Path,
    ) -> S3Result<bool> {
        let size: u64 = held.iter().map(|p| p.size).sum();
        let stride = self.ledger.stride(upload_id).await.map_err(io_error)?;
        let assembly_path = self.ledger.assembly_path(upload_id);
        let sealed = self.ledger.sealed(upload_id).await.map_err(io_error)?;
        let plan = if may_cut {
            in_place_patches(stride, held, stored)
        } else {
            None
        };
        match plan {
            // A completion renamed the file to the object, then failed before it was done
            // (or the process died): the object is in place; finish the rest.
            _ if sealed == Some(size) && !assembly_path.exists() => {
                check_sealed_object(object_path, size).await?;
            }
            Some(patches) => {
                let placed_until = held
                    .iter()
                    .filter_map(|p| p.offset.map(|offset| offset.saturating_add(p.size)))
                    .max()
                    .unwrap_or(0);
                let patches = patches
                    .into_iter()
                    .map(|(part, offset)| (self.piece(upload_id, part), offset))
                    .collect();
                self.ledger.seal(upload_id, size).await.map_err(io_error)?;
                part_files::finish_in_place(
                    assembly_path,
                    patches,
                    size,
                    placed_until,
                    object_path.to_path_buf(),
                )
                .await
                .map_err(io_error)?;
            }
            None => {
                let pieces = held.iter().map(|p| self.piece(upload_id, p)).collect();
                let tmp = TempFile::new(self.ledger.temp_path(upload_id));
                part_files::assemble(pieces, tmp, object_path.to_path_buf())
                    .await
                    .map_err(io_error)?;
                return Ok(false);
            }
        }
        Ok(true)
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
        let listed = listed_parts(input);
        let digests = check_completion(&upload, listed, &stored)?;
        // s3s-fs reads every listed part from a file of its own.
        let held = stored.iter().take(listed.len());
        for part in held.filter(|p| p.offset.is_some()) {
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
        let attributes = self.layout.upload_attributes(bucket, key, upload_id);
        match tokio::fs::rename(&attributes, self.layout.object_attributes(bucket, key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut info = serde_json::Map::new();
        info.insert("e_tag".to_owned(), e_tag.into());
        if let Some((alg, sum)) = checksum {
            info.insert(alg.info_key(), sum.as_str().into());
        }
        let path = self.layout.object_info(bucket, key);
        let tmp = TempFile::new(self.ledger.temp_path(upload_id));
        tokio::fs::write(tmp.path(), serde_json::to_vec(&info)?).await?;
        tokio::fs::rename(tmp.path(), &path).await?;
        tmp.keep();
        Ok(())
    }

    /// Removes s3s-fs's record of an upload (completed here, not by s3s-fs).
    async fn forget_s3s_fs_upload(&self, upload_id: &Uuid) {
        let path = self.layout.upload_record(upload_id);
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, %upload_id, "could not remove the completed upload");
            }
            _ => {}
        }
    }
}

/// The parts a CompleteMultipartUpload request lists.
fn listed_parts(input: &CompleteMultipartUploadInput) -> &[CompletedPart] {
    input
        .multipart_upload
        .as_ref()
        .and_then(|m| m.parts.as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A sealed upload's object, already renamed into place: it must hold all `size` bytes.
async fn check_sealed_object(object_path: &Path, size: u64) -> S3Result<()> {
    let object = tokio::fs::metadata(object_path).await.map_err(io_error)?;
    if object.len() != size {
        return Err(io_error(std::io::Error::other(format!(
            "the sealed upload's object holds {} bytes, not {size}",
            object.len()
        ))));
    }
    Ok(())
}

/// S3's multipart ETag: the MD5 of the parts' binary ETags, then `-{parts}`.
fn multipart_etag(held: &[PartEntry]) -> String {
    let mut md5 = Md5::new();
    for part in held {
        match hex::decode(&part.etag) {
            Ok(bytes) => md5.update(&bytes),
            Err(_) => md5.update(part.etag.as_bytes()),
        }
    }
    format!("{}-{}", hex::encode(md5.finalize()), held.len())
}

/// The object's checksum in its upload's algorithm, if it has one: composite of the parts'
/// (SHA-256 from their `digests`), or, for a full-object checksum, computed over the object.
async fn object_checksum(
    upload: &UploadEntry,
    held: &[PartEntry],
    digests: &[[u8; 32]],
    object_path: &Path,
) -> S3Result<Option<(Algorithm, String)>> {
    Ok(match (upload_algorithm(upload), upload.sha256) {
        (_, true) => Some((Algorithm::Sha256, composite_sha256(digests))),
        (Some(alg), _) if upload.full_object => Some((
            alg,
            checksums::of_file(alg, PathBuf::from(object_path))
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
    })
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
