//! Fetching an issuer's key set. The HTTP client is built on the first fetch, not with the
//! verifier: building it reads the system's root certificates, which a Lambda instance would
//! otherwise pay for during init, before its first request, even when that request carries no
//! token (`bench/lambda-coldstart`).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use jsonwebtoken::DecodingKey;

use super::{JwkSetDoc, usable_keys};

/// Fetches the JWKS document at one URL.
pub(super) struct Fetcher {
    pub(super) url: String,
    timeout: Duration,
    http: OnceLock<reqwest::Client>,
}

impl Fetcher {
    pub(super) fn new(url: String, timeout: Duration) -> Self {
        Self {
            url,
            timeout,
            http: OnceLock::new(),
        }
    }

    /// Whether the HTTP client has been built (only the first fetch builds it).
    #[cfg(test)]
    pub(super) fn client_built(&self) -> bool {
        self.http.get().is_some()
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        // Fetches are single flight (the verifier's fetch lock): no other client is being built.
        Ok(self.http.get_or_init(|| client))
    }

    pub(super) async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self
            .client()?
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        let doc: JwkSetDoc = response.json().await.map_err(|e| e.to_string())?;
        Ok(usable_keys(doc))
    }
}
