//! Configuration: one typed struct, read from environment variables once at start.
//!
//! Every variable has a safe default for the local stack. README lists them.

use std::time::Duration;

/// Requests carry small JSON documents only; file bytes go straight to object storage. Here, not
/// in `routes`, because the error mapping quotes it too.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Limits and lifetimes the API enforces.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted file, in bytes (`FERRY_MAX_FILE_SIZE`, default 5 GiB).
    pub max_file_size: u64,
    /// Bytes one user may hold (`FERRY_USER_QUOTA`, default 10 GiB).
    pub user_quota: u64,
    /// Lifetime of presigned upload URLs (`FERRY_UPLOAD_URL_TTL_SECS`, default 15 min).
    pub upload_url_ttl: Duration,
    /// Lifetime of presigned download URLs (`FERRY_DOWNLOAD_URL_TTL_SECS`, default 5 min).
    pub download_url_ttl: Duration,
    /// How long a pending upload may stay unfinished before it is swept
    /// (`FERRY_PENDING_TTL_SECS`, default 24 h).
    pub pending_ttl: Duration,
    /// Share lifetime when none is asked for (`FERRY_DEFAULT_SHARE_TTL_SECS`, default 7 days).
    pub default_share_ttl: Duration,
    /// Longest share lifetime (`FERRY_MAX_SHARE_TTL_SECS`, default 30 days).
    pub max_share_ttl: Duration,
    /// Largest image that gets a thumbnail (`FERRY_THUMBNAIL_MAX_BYTES`, default 20 MiB).
    pub thumbnail_max_bytes: u64,
    /// Files above this size upload in parts (`FERRY_MULTIPART_THRESHOLD`, default 64 MiB). The
    /// app reads it from `/config.json`; the API accepts either flow for any size.
    pub multipart_threshold: u64,
    /// Uploads one user may have announced and not yet finished (`FERRY_MAX_PENDING_UPLOADS`,
    /// default 100).
    pub max_pending_uploads: u64,
    /// Files one link may cover, and one batch delete may name (`FERRY_MAX_SHARE_FILES`,
    /// default 1,000, at most [`MAX_SHARE_FILES_CEILING`]).
    pub max_share_files: u32,
    /// Not a limit but the app's default for new uploads, served in `/config.json`: "Encrypt
    /// end to end" starts on (`FERRY_ENCRYPT_BY_DEFAULT`: `true` or `false`, default false).
    pub encrypt_by_default: bool,
}

/// The most `FERRY_MAX_SHARE_FILES` may be: the ids of a link's files must fit in one request
/// body (64 KiB, ≈ 39 bytes an id) and stay far below DynamoDB's 400 KB item limit.
pub const MAX_SHARE_FILES_CEILING: u32 = 1_500;

impl Default for Limits {
    fn default() -> Self {
        const GIB: u64 = 1 << 30;
        Self {
            max_file_size: 5 * GIB,
            user_quota: 10 * GIB,
            upload_url_ttl: Duration::from_secs(15 * 60),
            download_url_ttl: Duration::from_secs(5 * 60),
            pending_ttl: Duration::from_secs(24 * 3600),
            default_share_ttl: Duration::from_secs(7 * 86_400),
            max_share_ttl: Duration::from_secs(30 * 86_400),
            thumbnail_max_bytes: 20 << 20,
            multipart_threshold: ferry_api::parts::DEFAULT_MULTIPART_THRESHOLD,
            max_pending_uploads: 100,
            max_share_files: ferry_api::transfer::DEFAULT_MAX_SHARE_FILES,
            encrypt_by_default: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// Environment variables the API reads, with [`Limits`] (used by the infra test that compares
/// them with what the template sets).
pub const LIMIT_VARS: &[&str] = &[
    "FERRY_MAX_FILE_SIZE",
    "FERRY_USER_QUOTA",
    "FERRY_UPLOAD_URL_TTL_SECS",
    "FERRY_DOWNLOAD_URL_TTL_SECS",
    "FERRY_PENDING_TTL_SECS",
    "FERRY_DEFAULT_SHARE_TTL_SECS",
    "FERRY_MAX_SHARE_TTL_SECS",
    "FERRY_THUMBNAIL_MAX_BYTES",
    "FERRY_MULTIPART_THRESHOLD",
    "FERRY_MAX_PENDING_UPLOADS",
    "FERRY_MAX_SHARE_FILES",
];

impl Limits {
    /// Defaults overridden by whichever `FERRY_*` limit variables are set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let num = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError {
                        name,
                        problem: format!("expected a positive whole number, got {v:?}"),
                    }),
            }
        };
        let secs = |name, default: Duration| num(name, default.as_secs()).map(Duration::from_secs);
        Ok(Self {
            max_file_size: num("FERRY_MAX_FILE_SIZE", d.max_file_size)?,
            user_quota: num("FERRY_USER_QUOTA", d.user_quota)?,
            upload_url_ttl: secs("FERRY_UPLOAD_URL_TTL_SECS", d.upload_url_ttl)?,
            download_url_ttl: secs("FERRY_DOWNLOAD_URL_TTL_SECS", d.download_url_ttl)?,
            pending_ttl: secs("FERRY_PENDING_TTL_SECS", d.pending_ttl)?,
            default_share_ttl: secs("FERRY_DEFAULT_SHARE_TTL_SECS", d.default_share_ttl)?,
            max_share_ttl: secs("FERRY_MAX_SHARE_TTL_SECS", d.max_share_ttl)?,
            thumbnail_max_bytes: num("FERRY_THUMBNAIL_MAX_BYTES", d.thumbnail_max_bytes)?,
            multipart_threshold: num("FERRY_MULTIPART_THRESHOLD", d.multipart_threshold)?,
            max_pending_uploads: num("FERRY_MAX_PENDING_UPLOADS", d.max_pending_uploads)?,
            max_share_files: num("FERRY_MAX_SHARE_FILES", d.max_share_files.into())?
                .try_into()
                .ok()
                .filter(|n| *n <= MAX_SHARE_FILES_CEILING)
                .ok_or(ConfigError {
                    name: "FERRY_MAX_SHARE_FILES",
                    problem: format!("at most {MAX_SHARE_FILES_CEILING}"),
                })?,
            encrypt_by_default: match get(ENCRYPT_BY_DEFAULT).as_deref().map(str::trim) {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError {
                        name: ENCRYPT_BY_DEFAULT,
                        problem: format!("expected true or false, got {other:?}"),
                    });
                }
            },
        })
    }
}

/// The site's default for "Encrypt end to end" (read by `ferry serve`; on AWS `/config.json` is
/// written from the stack's `EncryptByDefault` output instead, so no Lambda reads it).
pub const ENCRYPT_BY_DEFAULT: &str = "FERRY_ENCRYPT_BY_DEFAULT";

/// Variables the `ferry-api` Lambda reads (besides [`LIMIT_VARS`] and the runtime's own
/// `AWS_*`/`RUST_LOG`). The infrastructure template must set exactly these.
pub const API_LAMBDA_VARS: &[&str] = &[
    "FERRY_BUCKET",
    "FERRY_TABLE",
    "FERRY_COGNITO_ISSUER",
    "FERRY_COGNITO_CLIENT_ID",
    "FERRY_PUBLIC_BASE_URL",
];

/// Variables the `ferry-events` Lambda reads.
pub const EVENTS_LAMBDA_VARS: &[&str] = &[
    "FERRY_BUCKET",
    "FERRY_TABLE",
    "FERRY_THUMBNAIL_MAX_BYTES",
    "FERRY_LIVE_ENDPOINT",
];

/// Variables the `ferry-live` Lambda (the WebSocket API's routes) reads.
pub const LIVE_LAMBDA_VARS: &[&str] = &[
    "FERRY_BUCKET",
    "FERRY_TABLE",
    "FERRY_COGNITO_ISSUER",
    "FERRY_COGNITO_CLIENT_ID",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let limits = Limits::from_lookup(|_| None).unwrap();
        assert_eq!(limits.max_file_size, 5 << 30);
        assert_eq!(limits.user_quota, 10 << 30);
        assert_eq!(limits.multipart_threshold, 64 << 20);
        assert_eq!(limits.max_pending_uploads, 100);
        assert_eq!(limits.max_share_files, 1000);
    }

    #[test]
    fn links_are_capped_below_what_a_request_and_an_item_hold() {
        let set = |v: &'static str| move |n: &str| (n == "FERRY_MAX_SHARE_FILES").then(|| v.into());
        assert_eq!(
            Limits::from_lookup(set("1500")).unwrap().max_share_files,
            1500
        );
        let err = Limits::from_lookup(set("1501")).unwrap_err();
        assert_eq!(err.name, "FERRY_MAX_SHARE_FILES");
        assert!(Limits::from_lookup(set("99999999999")).is_err());
    }

    #[test]
    fn variables_override_and_bad_values_are_named() {
        let limits =
            Limits::from_lookup(|n| (n == "FERRY_USER_QUOTA").then(|| "100".into())).unwrap();
        assert_eq!(limits.user_quota, 100);
        let err = Limits::from_lookup(|n| (n == "FERRY_MAX_FILE_SIZE").then(|| "lots".into()))
            .unwrap_err();
        assert_eq!(err.name, "FERRY_MAX_FILE_SIZE");
        assert!(Limits::from_lookup(|n| (n == "FERRY_USER_QUOTA").then(|| "0".into())).is_err());
    }

    #[test]
    fn the_encryption_default_is_off_unless_set_to_true() {
        assert!(!Limits::from_lookup(|_| None).unwrap().encrypt_by_default);
        let set = |v: &'static str| move |n: &str| (n == ENCRYPT_BY_DEFAULT).then(|| v.into());
        assert!(Limits::from_lookup(set("true")).unwrap().encrypt_by_default);
        assert!(
            !Limits::from_lookup(set("false"))
                .unwrap()
                .encrypt_by_default
        );
        let err = Limits::from_lookup(set("yes")).unwrap_err();
        assert_eq!(err.name, ENCRYPT_BY_DEFAULT);
        let config = crate::site_server::site_config(
            crate::site_server::SignIn::default(),
            "http://x",
            &Limits::from_lookup(set("true")).unwrap(),
        );
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["encrypt_by_default"], true);
    }
}
