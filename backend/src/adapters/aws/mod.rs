//! The AWS side: DynamoDB for metadata, S3 through [`super::s3`], Cognito tokens through
//! [`super::jwks`]; their configuration and provisioning. What uses them (the API's state, the
//! event handler, `ferry serve`'s SQS poller) is wired in [`crate::lambda`].
//!
//! The SDK configuration is loaded once (it resolves credentials and region) and the clients are
//! built from it, outside any request handler, so a Lambda reuses them across invocations.

pub mod dynamodb;
pub mod http_client;
mod items;
pub mod live;
pub mod provision;
pub mod stream;

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};

pub use dynamodb::{DynamoMetadataStore, create_table};

use crate::adapters::jwks::JwksVerifier;
use crate::adapters::s3::S3ObjectStore;
use crate::config::ConfigError;
use http_client::LazyTlsClient;

/// Where the AWS resources are, from `FERRY_*` variables. The SDK's own variables
/// (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for an emulator) are read by aws-config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// `FERRY_BUCKET` (required): the files bucket.
    pub bucket: String,
    /// `FERRY_TABLE` (required): the metadata table.
    pub table: String,
    /// `FERRY_COGNITO_ISSUER`: `https://cognito-idp.{region}.amazonaws.com/{pool_id}`.
    pub cognito_issuer: Option<String>,
    /// `FERRY_COGNITO_JWKS_URL`; defaults to `{issuer}/.well-known/jwks.json` (emulators serve it
    /// elsewhere).
    pub cognito_jwks_url: Option<String>,
    /// `FERRY_COGNITO_CLIENT_ID`: the app client whose access tokens are accepted.
    pub cognito_client_id: Option<String>,
    /// `FERRY_PUBLIC_BASE_URL`: the site's origin, for share links.
    pub public_base_url: Option<String>,
    /// `FERRY_EVENTS_QUEUE_URL`: the S3 notification queue `ferry serve` polls in AWS mode.
    pub events_queue_url: Option<String>,
    /// `FERRY_LIVE_ENDPOINT`: the WebSocket API stage's HTTPS URL, where `ferry-events` posts
    /// live updates; unset, none are sent.
    pub live_endpoint: Option<String>,
}

/// Every variable [`AwsSettings`] reads.
pub const AWS_SETTINGS_VARS: &[&str] = &[
    "FERRY_BUCKET",
    "FERRY_TABLE",
    "FERRY_COGNITO_ISSUER",
    "FERRY_COGNITO_JWKS_URL",
    "FERRY_COGNITO_CLIENT_ID",
    "FERRY_PUBLIC_BASE_URL",
    "FERRY_EVENTS_QUEUE_URL",
    "FERRY_LIVE_ENDPOINT",
];

impl AwsSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            optional(name).ok_or(ConfigError {
                name,
                problem: "must be set".to_owned(),
            })
        };
        Ok(Self {
            bucket: required("FERRY_BUCKET")?,
            table: required("FERRY_TABLE")?,
            cognito_issuer: optional("FERRY_COGNITO_ISSUER")
                .map(|v| v.trim_end_matches('/').to_owned()),
            cognito_jwks_url: optional("FERRY_COGNITO_JWKS_URL"),
            cognito_client_id: optional("FERRY_COGNITO_CLIENT_ID"),
            public_base_url: optional("FERRY_PUBLIC_BASE_URL"),
            events_queue_url: optional("FERRY_EVENTS_QUEUE_URL"),
            live_endpoint: optional("FERRY_LIVE_ENDPOINT"),
        })
    }

    /// The JWKS URL: as configured, or Cognito's `{issuer}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> Option<String> {
        self.cognito_jwks_url.clone().or_else(|| {
            self.cognito_issuer
                .as_ref()
                .map(|i| format!("{i}/.well-known/jwks.json"))
        })
    }
}

/// Clients and adapters for one AWS account (or emulator), built once at start.
#[derive(Clone, Debug)]
pub struct AwsAdapters {
    pub settings: AwsSettings,
    pub sdk: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub objects: Arc<S3ObjectStore>,
    pub meta: Arc<DynamoMetadataStore>,
}

impl AwsAdapters {
    /// Settings from `FERRY_*`, SDK configuration from the environment (honours
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, the Lambda role's credentials).
    pub async fn from_env() -> anyhow::Result<Self> {
        let settings = AwsSettings::from_env()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        // The SDK's own client, with TLS set up by the first request rather than by every
        // client built below (a Lambda's init; `http_client.rs`), and shared by them all.
        if let Some(http) = LazyTlsClient::sdk_default(BehaviorVersion::latest()) {
            loader = loader.http_client(http);
        }
        let sdk = loader.load().await;
        Ok(Self::new(&sdk, settings))
    }

    pub fn new(sdk: &SdkConfig, settings: AwsSettings) -> Self {
        // Emulators (an endpoint override) have no per-bucket host names. Checksums only when an
        // operation requires them, so presigned PUTs carry no checksum headers browsers lack.
        let s3_config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(s3_config);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self {
            objects: Arc::new(S3ObjectStore::new(s3.clone(), settings.bucket.clone())),
            meta: Arc::new(DynamoMetadataStore::new(
                dynamodb.clone(),
                settings.table.clone(),
            )),
            settings,
            sdk: sdk.clone(),
            s3,
            dynamodb,
            sqs,
        }
    }

    /// The Cognito access-token verifier (needs the issuer and client id).
    pub fn token_verifier(&self) -> anyhow::Result<JwksVerifier> {
        let missing = |name: &str| anyhow::anyhow!("{name} must be set");
        let issuer = self
            .settings
            .cognito_issuer
            .clone()
            .ok_or_else(|| missing("FERRY_COGNITO_ISSUER"))?;
        let client_id = self
            .settings
            .cognito_client_id
            .clone()
            .ok_or_else(|| missing("FERRY_COGNITO_CLIENT_ID"))?;
        let jwks_url = self
            .settings
            .jwks_url()
            .ok_or_else(|| missing("FERRY_COGNITO_JWKS_URL"))?;
        JwksVerifier::new(issuer, jwks_url, client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_table_are_required_and_jwks_defaults_to_the_issuer() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let err = AwsSettings::from_lookup(vars(&[("FERRY_BUCKET", "b")])).unwrap_err();
        assert_eq!(err.name, "FERRY_TABLE");
        let settings = AwsSettings::from_lookup(vars(&[
            ("FERRY_BUCKET", "b"),
            ("FERRY_TABLE", "t"),
            (
                "FERRY_COGNITO_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/pool/",
            ),
        ]))
        .unwrap();
        assert_eq!(
            settings.jwks_url().as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json")
        );
        let settings = AwsSettings::from_lookup(vars(&[
            ("FERRY_BUCKET", "b"),
            ("FERRY_TABLE", "t"),
            (
                "FERRY_COGNITO_ISSUER",
                "https://cognito-idp.us-east-1.amazonaws.com/pool",
            ),
            (
                "FERRY_COGNITO_JWKS_URL",
                "http://127.0.0.1:5000/pool/.well-known/jwks.json",
            ),
        ]))
        .unwrap();
        assert_eq!(
            settings.jwks_url().as_deref(),
            Some("http://127.0.0.1:5000/pool/.well-known/jwks.json")
        );
    }
}
