//! Who may call the endpoint, and from where: bucket and key names that stay inside the data
//! directory, CORS for the site, and the access check s3s runs after the signature.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::Method;
use http::header::{self, HeaderName, HeaderValue};
use percent_encoding::percent_decode_str;
use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Bucket names become directory names: keep them to S3's own alphabet.
pub fn check_bucket_name(bucket: &str) -> anyhow::Result<()> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['.', '-'])
        && !bucket.contains("..");
    anyhow::ensure!(valid, "invalid bucket name {bucket:?}");
    Ok(())
}

pub fn cors(allowed_origins: &[String]) -> anyhow::Result<CorsLayer> {
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
pub struct BucketPolicy {
    pub bucket: Arc<str>,
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
}
