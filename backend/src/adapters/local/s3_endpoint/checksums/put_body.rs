//! Checking a body against the checksums its request claims (headers, `Content-MD5`, or the
//! trailer of an `aws-chunked` body) while it streams in, so a PutObject whose bytes do not
//! match ends in an error before s3s-fs stores it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt as _;
use http::HeaderMap;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{PutObjectInput, StreamingBlob};
use s3s::{S3Request, S3Result, TrailingHeaders, s3_error};

use super::{Algorithm, header_claims};

/// The algorithms a request announces for its trailer (`x-amz-trailer: x-amz-checksum-crc32`).
pub fn announced_in(headers: &HeaderMap) -> Vec<Algorithm> {
    headers
        .get_all("x-amz-trailer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| name.trim().strip_prefix("x-amz-checksum-"))
        .filter_map(Algorithm::from_name)
        .collect()
}

/// What [`verify_at_end`] found.
#[derive(Clone, Default)]
pub struct Verdict {
    /// A checksum (or `Content-MD5`) differed: the body ended in an error instead.
    pub mismatch: Arc<AtomicBool>,
    /// The trailer's checksums, once verified.
    pub from_trailer: Arc<Mutex<Vec<(Algorithm, String)>>>,
}

struct EndCheck {
    body: StreamingBlob,
    hasher: ChecksumHasher,
    md5: Option<(Md5, Vec<u8>)>,
    claims: Vec<(Algorithm, String)>,
    trailers: Option<TrailingHeaders>,
    verdict: Verdict,
}

/// `body`, with the checksums the request claims (in headers, `Content-MD5`, or the trailer of
/// an `aws-chunked` body, whose algorithms are `announced`) checked when it ends: on a mismatch
/// it ends in an error instead of ending, so whoever writes it out (s3s-fs, which checks only
/// after it has put the object in place) never commits the bytes.
pub fn verify_at_end(
    body: StreamingBlob,
    claims: Vec<(Algorithm, String)>,
    announced: &[Algorithm],
    content_md5: Option<Vec<u8>>,
    trailers: Option<TrailingHeaders>,
) -> (StreamingBlob, Verdict) {
    let verdict = Verdict::default();
    let mut hasher = ChecksumHasher::default();
    for alg in claims.iter().map(|(alg, _)| alg).chain(announced) {
        alg.enable(&mut hasher);
    }
    let state = EndCheck {
        body,
        hasher,
        md5: content_md5.map(|expected| (Md5::new(), expected)),
        claims,
        trailers,
        verdict: verdict.clone(),
    };
    let stream = futures::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        match state.body.next().await {
            Some(Ok(chunk)) => {
                state.hasher.update(&chunk);
                if let Some((md5, _)) = &mut state.md5 {
                    md5.update(&chunk);
                }
                Some((Ok(chunk), Some(state)))
            }
            Some(Err(e)) => Some((Err(std::io::Error::other(e)), None)),
            None => state.finish().map(|e| (Err(e), None)),
        }
    });
    (StreamingBlob::wrap(stream), verdict)
}

impl EndCheck {
    /// `None` when every claim holds, else the error the body ends with.
    fn finish(mut self) -> Option<std::io::Error> {
        let from_trailer = self
            .trailers
            .and_then(|t| t.take())
            .map(|t| in_trailers(&t))
            .unwrap_or_default();
        let sums = std::mem::take(&mut self.hasher).finalize();
        let md5_holds = self
            .md5
            .is_none_or(|(md5, expected)| md5.finalize().as_ref() == expected.as_slice());
        let holds = md5_holds
            && self
                .claims
                .iter()
                .chain(&from_trailer)
                .all(|(alg, claimed)| {
                    checksum_field!(*alg, sums).as_deref() == Some(claimed.trim())
                });
        if holds {
            *self
                .verdict
                .from_trailer
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = from_trailer;
            None
        } else {
            self.verdict.mismatch.store(true, Ordering::Release);
            Some(std::io::Error::other(
                "the body does not match its checksum",
            ))
        }
    }
}

impl Verdict {
    pub fn mismatched(&self) -> bool {
        self.mismatch.load(Ordering::Acquire)
    }

    pub fn trailer_sums(&self) -> Vec<(Algorithm, String)> {
        self.from_trailer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub fn bad_digest() -> s3s::S3Error {
    s3_error!(
        BadDigest,
        "The checksum you specified did not match the calculated checksum."
    )
}

/// A `Content-MD5` header's digest.
pub fn decode_md5(value: &str) -> Option<[u8; 16]> {
    let bytes = STANDARD.decode(value.trim()).ok()?;
    bytes.try_into().ok()
}

/// Wraps a PutObject's body so its checksums (headers, `Content-MD5`, trailer) are checked
/// before s3s-fs, which checks only after it has put the object in place, can store it.
pub fn check_put_body(req: &mut S3Request<PutObjectInput>) -> S3Result<Verdict> {
    let claims = header_claims(all_fields!(req.input));
    let mut announced = announced_in(&req.headers);
    announced.extend(
        req.input
            .checksum_algorithm
            .as_ref()
            .and_then(|alg| Algorithm::from_name(alg.as_str())),
    );
    let content_md5 = match &req.input.content_md5 {
        Some(value) => Some(decode_md5(value).ok_or_else(|| {
            s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid.")
        })?),
        None => None,
    };
    let trailers = req.trailing_headers.take();
    if trailers.is_some() {
        // The trailer is checked here; s3s-fs would want it after it has taken the object.
        req.input.checksum_algorithm = None;
    }
    let Some(body) = req.input.body.take() else {
        return Ok(Verdict::default());
    };
    let (body, verdict) = verify_at_end(
        body,
        claims,
        &announced,
        content_md5.map(Vec::from),
        trailers,
    );
    req.input.body = Some(body);
    Ok(verdict)
}

/// The checksums a request claims in `trailers` (sent after an `aws-chunked` body).
pub fn in_trailers(trailers: &HeaderMap) -> Vec<(Algorithm, String)> {
    Algorithm::ALL
        .into_iter()
        .filter_map(|alg| {
            let value = trailers.get(alg.header())?.to_str().ok()?;
            Some((alg, value.trim().to_owned()))
        })
        .collect()
}
