//! What the SDK's errors mean to the [`ObjectStore`](crate::ports::ObjectStore) port, and the
//! numeric conversions whose failures become [`StorageError`]s.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::ports::StorageError;

pub(super) fn backend_error<E, R>(what: &str, key: &str, err: &SdkError<E, R>) -> StorageError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StorageError::Backend(format!("{what} {key}: {}", DisplayErrorContext(err)))
}

/// Whether the service answered 404 (HEAD responses carry no error code, so the status is what
/// tells a missing object apart).
pub(super) fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() == 404
                || matches!(service.err().code(), Some("NoSuchKey" | "NotFound"))
        }
        _ => false,
    }
}

/// The service's error code, if it answered with one.
pub(super) fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

pub(super) fn is_no_such_upload<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    error_code(err) == Some("NoSuchUpload")
}

pub(super) fn part_number(number: u32) -> Result<i32, StorageError> {
    i32::try_from(number)
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| StorageError::Backend(format!("part number {number} out of range")))
}

pub(super) fn length(bytes: u64) -> Result<i64, StorageError> {
    i64::try_from(bytes).map_err(|_| StorageError::TooLarge {
        limit: i64::MAX as u64,
    })
}
