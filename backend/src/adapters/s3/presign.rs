//! Presigned requests for browsers: the signing window on the store's clock, and the signed
//! headers a browser must send (those it sets itself are left out).

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::{PresignedRequest as SdkPresignedRequest, PresigningConfig};
use time::OffsetDateTime;

use crate::ports::{Clock, PresignedRequest, StorageError};

/// Headers a browser computes itself and refuses to let scripts set (`fetch`/XHR treat them as
/// forbidden request headers). They are still covered by the signature, so the request only
/// verifies when the browser sends exactly the signed values — which it does for `host`, and for
/// `content-length` as long as the body has the announced size.
const BROWSER_SET_HEADERS: [&str; 2] = ["host", "content-length"];

/// A presigning config starting at the clock's now, and the instant it stops being valid.
pub(super) fn presigning(
    clock: &dyn Clock,
    expires_in: Duration,
) -> Result<(PresigningConfig, OffsetDateTime), StorageError> {
    let start = SystemTime::from(clock.now());
    let config = PresigningConfig::builder()
        .start_time(start)
        .expires_in(expires_in)
        .build()
        .map_err(|e| StorageError::Backend(format!("invalid presigning lifetime: {e}")))?;
    let expires_at = OffsetDateTime::from(start + expires_in);
    Ok((config, expires_at))
}

pub(super) fn to_port(
    request: &SdkPresignedRequest,
    expires_at: OffsetDateTime,
) -> PresignedRequest {
    let headers = request
        .headers()
        .filter(|(name, _)| {
            !BROWSER_SET_HEADERS
                .iter()
                .any(|set| name.eq_ignore_ascii_case(set))
        })
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    PresignedRequest {
        method: request.method().to_owned(),
        url: request.uri().to_owned(),
        headers,
        expires_at,
    }
}
