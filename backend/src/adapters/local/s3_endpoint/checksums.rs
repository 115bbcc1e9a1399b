//! The checksum algorithms S3 accepts on uploads (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), for
//! the embedded endpoint's multipart uploads: which ones a part claims (in headers, or in the
//! trailer of an `aws-chunked` body, as current AWS CLIs and SDKs send them by default), computing
//! them while the part streams in, and the object's checksum at completion — composite (the
//! checksum of the parts' checksums, `-N` appended) or of the full object. The hashes are s3s's
//! own (`s3s::crypto`), the ones s3s-fs uses for PutObject.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::TryStreamExt as _;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::dto::{ChecksumAlgorithm, ChecksumType, StreamingBlob};
use s3s::dto::{CompletedPart, CreateMultipartUploadInput, UploadPartInput};
use s3s::{S3Result, TrailingHeaders, s3_error};

use crate::domain::parts::decode_sha256;
use put_body::in_trailers;

/// One of S3's checksum algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// S3's name, as in `ChecksumAlgorithm` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => ChecksumAlgorithm::CRC32,
            Self::Crc32c => ChecksumAlgorithm::CRC32C,
            Self::Crc64Nvme => ChecksumAlgorithm::CRC64NVME,
            Self::Sha1 => ChecksumAlgorithm::SHA1,
            Self::Sha256 => ChecksumAlgorithm::SHA256,
        }
    }

    pub fn to_dto(self) -> ChecksumAlgorithm {
        ChecksumAlgorithm::from_static(self.name())
    }

    /// The header (or trailer) that carries it: `x-amz-checksum-crc32`, …
    pub fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }

    /// The key s3s-fs keeps it under in an object's internal metadata.
    pub fn info_key(self) -> String {
        format!("checksum_{}", self.name().to_ascii_lowercase())
    }

    /// Whether an object checksum of this algorithm may be of the full object (CRCs combine;
    /// SHA digests do not).
    pub fn can_be_full_object(self) -> bool {
        matches!(self, Self::Crc32 | Self::Crc32c | Self::Crc64Nvme)
    }

    /// Whether it may be composite (CRC64NVME is full-object only).
    pub fn can_be_composite(self) -> bool {
        self != Self::Crc64Nvme
    }

    /// The raw digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Crc32 => Crc32::checksum(data).to_vec(),
            Self::Crc32c => Crc32c::checksum(data).to_vec(),
            Self::Crc64Nvme => Crc64Nvme::checksum(data).to_vec(),
            Self::Sha1 => Sha1::checksum(data).as_ref().to_vec(),
            Self::Sha256 => Sha256::checksum(data).as_ref().to_vec(),
        }
    }

    fn enable(self, hasher: &mut ChecksumHasher) {
        match self {
            Self::Crc32 => hasher.crc32 = Some(Crc32::new()),
            Self::Crc32c => hasher.crc32c = Some(Crc32c::new()),
            Self::Crc64Nvme => hasher.crc64nvme = Some(Crc64Nvme::new()),
            Self::Sha1 => hasher.sha1 = Some(Sha1::new()),
            Self::Sha256 => hasher.sha256 = Some(Sha256::new()),
        }
    }
}

/// A DTO's checksum field for `alg`, by reference: `checksum_field!(alg, &input)`. Every S3 DTO
/// that carries checksums names the five fields alike.
macro_rules! checksum_field {
    ($alg:expr, $dto:expr) => {
        match $alg {
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc32 => {
                &$dto.checksum_crc32
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc32c => {
                &$dto.checksum_crc32c
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc64Nvme => {
                &$dto.checksum_crc64nvme
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Sha1 => &$dto.checksum_sha1,
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Sha256 => {
                &$dto.checksum_sha256
            }
        }
    };
}

/// The same field, mutable: `*checksum_field_mut!(alg, output) = Some(value)`.
macro_rules! checksum_field_mut {
    ($alg:expr, $dto:expr) => {
        match $alg {
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc32 => {
                &mut $dto.checksum_crc32
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc32c => {
                &mut $dto.checksum_crc32c
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Crc64Nvme => {
                &mut $dto.checksum_crc64nvme
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Sha1 => {
                &mut $dto.checksum_sha1
            }
            $crate::adapters::local::s3_endpoint::checksums::Algorithm::Sha256 => {
                &mut $dto.checksum_sha256
            }
        }
    };
}

pub(crate) use checksum_field_mut;

/// The checksum type of a new multipart upload with `alg`: as asked, else S3's default
/// (composite, but full-object for CRC64NVME). `None`: a combination S3 refuses.
pub fn upload_type(alg: Algorithm, asked: Option<&ChecksumType>) -> Option<bool> {
    let full_object = match asked.map(ChecksumType::as_str) {
        None => !alg.can_be_composite(),
        Some(ChecksumType::FULL_OBJECT) => true,
        Some(ChecksumType::COMPOSITE) => false,
        Some(_) => return None,
    };
    let allowed = if full_object {
        alg.can_be_full_object()
    } else {
        alg.can_be_composite()
    };
    allowed.then_some(full_object)
}

pub fn type_dto(full_object: bool) -> ChecksumType {
    ChecksumType::from_static(if full_object {
        ChecksumType::FULL_OBJECT
    } else {
        ChecksumType::COMPOSITE
    })
}

/// Checksums of a body computed while it is read (SHA-256 is computed by the part writer).
#[derive(Clone)]
pub struct Tap {
    algorithms: Vec<Algorithm>,
    hasher: Arc<Mutex<ChecksumHasher>>,
}

impl Tap {
    /// `body`, feeding every chunk to the hashes of `algorithms` on its way.
    pub fn new(body: StreamingBlob, algorithms: Vec<Algorithm>) -> (StreamingBlob, Self) {
        let mut hasher = ChecksumHasher::default();
        for alg in &algorithms {
            alg.enable(&mut hasher);
        }
        let hasher = Arc::new(Mutex::new(hasher));
        let tap = Self {
            algorithms,
            hasher: Arc::clone(&hasher),
        };
        if tap.algorithms.is_empty() {
            return (body, tap);
        }
        let body = StreamingBlob::wrap(body.map_err(std::io::Error::other).inspect_ok(
            move |chunk| {
                hasher
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .update(chunk);
            },
        ));
        (body, tap)
    }

    /// The base64 checksums of the bytes read, by algorithm.
    pub fn finish(self) -> Vec<(Algorithm, String)> {
        let hasher =
            std::mem::take(&mut *self.hasher.lock().unwrap_or_else(PoisonError::into_inner));
        let sums = hasher.finalize();
        self.algorithms
            .into_iter()
            .filter_map(|alg| checksum_field!(alg, sums).clone().map(|sum| (alg, sum)))
            .collect()
    }
}

/// The checksums a DTO's headers claim.
fn header_claims<T>(fields: [(Algorithm, &Option<T>); 5]) -> Vec<(Algorithm, String)>
where
    T: AsRef<str>,
{
    fields
        .into_iter()
        .filter_map(|(alg, value)| value.as_ref().map(|v| (alg, v.as_ref().to_owned())))
        .collect()
}

macro_rules! all_fields {
    ($dto:expr) => {
        Algorithm::ALL.map(|alg| (alg, checksum_field!(alg, $dto)))
    };
}

mod put_body;

pub use put_body::{bad_digest, check_put_body, decode_md5};

/// The checksum algorithm and type (`true`: full object) of a new multipart upload, as S3
/// allows them.
pub fn for_new_upload(input: &CreateMultipartUploadInput) -> S3Result<(Option<Algorithm>, bool)> {
    let Some(asked) = &input.checksum_algorithm else {
        return Ok((None, false));
    };
    let alg = Algorithm::from_name(asked.as_str())
        .ok_or_else(|| s3_error!(InvalidRequest, "Unsupported checksum algorithm."))?;
    let full_object = upload_type(alg, input.checksum_type.as_ref()).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "The checksum type is not supported with the {} checksum algorithm.",
            alg.name()
        )
    })?;
    Ok((Some(alg), full_object))
}

/// The checksums a part's headers claim, and the algorithms to compute while it streams in
/// (SHA-256 is computed anyway): those, the upload's, and one announced for a trailer.
pub fn part_claims(
    input: &UploadPartInput,
    upload_alg: Option<Algorithm>,
) -> (Vec<(Algorithm, String)>, Vec<Algorithm>) {
    let claims = header_claims(all_fields!(input));
    let mut tapped: Vec<Algorithm> = claims.iter().map(|(alg, _)| *alg).collect();
    tapped.extend(upload_alg);
    tapped.extend(
        input
            .checksum_algorithm
            .as_ref()
            .and_then(|alg| Algorithm::from_name(alg.as_str())),
    );
    tapped.retain(|alg| *alg != Algorithm::Sha256);
    tapped.sort_by_key(|alg| alg.name());
    tapped.dedup();
    (claims, tapped)
}

/// Checks a received part against every checksum claimed for it (headers, then its trailer);
/// returns the claims, verified.
pub fn verify_part(
    mut claims: Vec<(Algorithm, String)>,
    trailers: Option<TrailingHeaders>,
    computed: Vec<(Algorithm, String)>,
    sha256: &[u8; 32],
) -> S3Result<Vec<(Algorithm, String)>> {
    if let Some(trailers) = trailers.and_then(|t| t.take()) {
        claims.extend(in_trailers(&trailers));
    }
    for (_, claimed) in &mut claims {
        *claimed = claimed.trim().to_owned();
    }
    for (alg, claimed) in &claims {
        let matches = match alg {
            Algorithm::Sha256 => decode_sha256(claimed).as_ref() == Some(sha256),
            _ => computed
                .iter()
                .any(|(done, sum)| done == alg && sum == claimed),
        };
        if !matches {
            return Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                alg.name()
            ));
        }
    }
    Ok(claims)
}

/// Checks a part listed in CompleteMultipartUpload against the checksum it was received with,
/// for an upload created with `alg` (not SHA-256, which the caller checks itself).
pub fn check_listed_part(
    alg: Algorithm,
    full_object: bool,
    part: &CompletedPart,
    held: Option<&str>,
    number: i32,
) -> S3Result<()> {
    match (checksum_field!(alg, part), held) {
        (Some(given), Some(held)) if given.trim() != held => Err(s3_error!(
            BadDigest,
            "The {} you specified for part {number} did not match what we received.",
            alg.name()
        )),
        // A full-object checksum does not need the parts' own.
        (None, _) if !full_object => Err(s3_error!(
            InvalidRequest,
            "The upload was created using a {} checksum. The complete request must include the checksum for each part.",
            alg.name()
        )),
        _ => Ok(()),
    }
}

/// S3's composite checksum: the checksum of the parts' raw checksums, then `-{parts}`. `None`
/// when a part's value is not valid base64.
pub fn composite(alg: Algorithm, parts: &[&str]) -> Option<String> {
    let mut raw = Vec::new();
    for part in parts {
        raw.extend(STANDARD.decode(part).ok()?);
    }
    Some(format!(
        "{}-{}",
        STANDARD.encode(alg.digest(&raw)),
        parts.len()
    ))
}

/// The checksum of the whole file at `path` (a completed object), read once.
pub async fn of_file(alg: Algorithm, path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut hasher = ChecksumHasher::default();
        alg.enable(&mut hasher);
        let mut file = std::fs::File::open(&path)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let sums = hasher.finalize();
        checksum_field!(alg, sums)
            .clone()
            .ok_or_else(|| std::io::Error::other("checksum not computed"))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(
                Algorithm::from_name(&alg.name().to_ascii_lowercase()),
                Some(alg)
            );
        }
        assert_eq!(Algorithm::Crc64Nvme.header(), "x-amz-checksum-crc64nvme");
        assert_eq!(Algorithm::Crc32c.info_key(), "checksum_crc32c");
        assert_eq!(Algorithm::from_name("MD5"), None);
    }

    #[test]
    fn known_digests() {
        // The standard check value of each CRC: the digest of "123456789".
        let check = b"123456789";
        assert_eq!(Algorithm::Crc32.digest(check), 0xCBF4_3926u32.to_be_bytes());
        assert_eq!(
            Algorithm::Crc32c.digest(check),
            0xE306_9283u32.to_be_bytes()
        );
        assert_eq!(
            Algorithm::Crc64Nvme.digest(check),
            0xAE8B_1486_0A79_9888u64.to_be_bytes()
        );
        assert_eq!(
            hex::encode(Algorithm::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        let parts = [b"first part".as_slice(), b"second".as_slice()];
        let sums: Vec<String> = parts
            .iter()
            .map(|p| STANDARD.encode(Algorithm::Crc32.digest(p)))
            .collect();
        let mut raw = Algorithm::Crc32.digest(parts[0]);
        raw.extend(Algorithm::Crc32.digest(parts[1]));
        let expected = format!("{}-2", STANDARD.encode(Algorithm::Crc32.digest(&raw)));
        let refs: Vec<&str> = sums.iter().map(String::as_str).collect();
        assert_eq!(composite(Algorithm::Crc32, &refs), Some(expected));
        assert_eq!(composite(Algorithm::Crc32, &["not base64!"]), None);
    }

    #[test]
    fn upload_types_follow_s3() {
        let full = ChecksumType::from_static(ChecksumType::FULL_OBJECT);
        let comp = ChecksumType::from_static(ChecksumType::COMPOSITE);
        assert_eq!(upload_type(Algorithm::Crc32, None), Some(false));
        assert_eq!(upload_type(Algorithm::Crc64Nvme, None), Some(true));
        assert_eq!(upload_type(Algorithm::Crc32c, Some(&full)), Some(true));
        assert_eq!(upload_type(Algorithm::Sha256, Some(&full)), None);
        assert_eq!(upload_type(Algorithm::Crc64Nvme, Some(&comp)), None);
        assert_eq!(upload_type(Algorithm::Sha1, Some(&comp)), Some(false));
    }
}
