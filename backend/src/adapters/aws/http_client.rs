//! The AWS SDK's own HTTPS client, with its TLS set-up left to the first request that needs it.
//!
//! The SDK builds a TLS connector (the system's root certificates read and parsed into a root
//! store) whenever a service client is *built*, and throws it away: its client does so only to
//! fail early (`HttpClient::validate_base_client_config`). A Lambda instance paid for that once
//! per client (S3, DynamoDB, SQS, and the credential providers' own) during its init, before
//! its first event, even when that event needs no AWS call at all (`GET /api/health`,
//! `bench/lambda-coldstart`). [`LazyTlsClient`] is that same client without the early check: the
//! first request builds the connector, which the client keeps as before. One client serves every
//! SDK client built from the `SdkConfig`, so they also share one connector (one root store, one
//! connection pool) instead of one each. Nothing about the requests changes: same client, same
//! TLS provider, same certificate verification.

use aws_config::BehaviorVersion;
use aws_smithy_runtime::client::defaults::default_http_client_plugin_v2;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
// The SDK's `ConfigBag` (aws-smithy-types), as every service crate re-exports it.
use aws_sdk_dynamodb::config::ConfigBag;

/// An [`HttpClient`] that hands every request to `inner` but skips its build-time connector.
#[derive(Debug)]
pub struct LazyTlsClient {
    inner: SharedHttpClient,
}

impl LazyTlsClient {
    /// The SDK's default HTTPS client for `behavior_version` (what a client built without an
    /// HTTP client of its own gets), minus the connector built with each service client.
    /// `None` when the SDK has no default client (built without its `default-https-client`).
    pub fn sdk_default(behavior_version: BehaviorVersion) -> Option<SharedHttpClient> {
        let plugin = default_http_client_plugin_v2(behavior_version)?;
        let components = plugin.runtime_components(&RuntimeComponentsBuilder::new("ferry"));
        let inner = components.http_client()?;
        Some(SharedHttpClient::new(Self::wrapping(inner)))
    }

    pub fn wrapping(inner: SharedHttpClient) -> Self {
        Self { inner }
    }
}

impl HttpClient for LazyTlsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps the trait's default (nothing to check): the SDK
    // client's own only builds a connector early and drops it.

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};

    use super::*;

    /// What the SDK asked of a [`Counting`] client.
    #[derive(Debug, Default)]
    struct Counts {
        validated: AtomicUsize,
        connectors: AtomicUsize,
        requests: Arc<AtomicUsize>,
    }

    /// An HTTP client that counts what the SDK asks of it and answers every request `{}`.
    #[derive(Debug)]
    struct Counting(Arc<Counts>);

    #[derive(Debug)]
    struct Answer(Arc<AtomicUsize>);

    impl HttpConnector for Answer {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            self.0.fetch_add(1, Ordering::SeqCst);
            let status = 200.try_into().expect("200 is a status");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(status, "{}".into())))
        }
    }

    impl HttpClient for Counting {
        fn http_connector(
            &self,
            _settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0.connectors.fetch_add(1, Ordering::SeqCst);
            SharedHttpConnector::new(Answer(Arc::clone(&self.0.requests)))
        }

        fn validate_base_client_config(
            &self,
            _components: &RuntimeComponentsBuilder,
            _cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.validated.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// Builds a DynamoDB client over `counts`' client, and sends one request if `call`.
    async fn dynamodb_over(counts: &Arc<Counts>, call: bool) {
        let inner = SharedHttpClient::new(Counting(Arc::clone(counts)));
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .http_client(LazyTlsClient::wrapping(inner))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        if call {
            client
                .list_tables()
                .send()
                .await
                .expect("the canned answer");
        }
    }

    #[tokio::test]
    async fn building_a_client_builds_no_connector_and_the_first_request_does() {
        let counts = Arc::new(Counts::default());
        dynamodb_over(&counts, false).await;
        assert_eq!(counts.validated.load(Ordering::SeqCst), 0);
        assert_eq!(counts.connectors.load(Ordering::SeqCst), 0);

        dynamodb_over(&counts, true).await;
        assert_eq!(counts.validated.load(Ordering::SeqCst), 0);
        assert!(counts.connectors.load(Ordering::SeqCst) >= 1);
        assert_eq!(counts.requests.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_sdk_has_a_default_client_to_wrap() {
        let client = LazyTlsClient::sdk_default(BehaviorVersion::latest())
            .expect("the SDK is built with its default HTTPS client");
        assert!(client.connector_metadata().is_some());
    }
}
