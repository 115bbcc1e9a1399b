//! Verifies Cognito-style RS256 access tokens against an issuer's JWKS (Cognito, moto's Cognito,
//! or the local stack's embedded identity provider).
//!
//! The key set is cached. A token signed with a key id the cache does not know triggers one
//! refetch (keys rotate), but refetches are rate-limited so that tokens with made-up key ids
//! cannot turn the verifier into a load generator against the JWKS endpoint.
//!
//! Tokens that verified are remembered for a few minutes ([`verified`]): a browser sends the same
//! token with every request, and an RS256 check costs more than the rest of a typical request.

mod fetcher;
mod verified;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::domain::UserId;
use crate::ports::{AuthError, Identity, TokenVerifier};
use fetcher::Fetcher;
use verified::VerifiedTokens;

/// Tolerated clock skew between the issuer and us when checking `exp` / `nbf`.
const LEEWAY_SECS: u64 = 30;
/// Minimum time between two fetches caused by unknown key ids after a successful fetch.
const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Minimum time from a failed fetch to the next attempt (requests meanwhile fail fast): short,
/// so a blip does not lock users out.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// Keys older than this are refreshed on the next request (a removed key stops being trusted).
const MAX_KEY_AGE: Duration = Duration::from_secs(3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`TokenVerifier`] for access tokens issued by one Cognito user pool (or a compatible
/// identity provider) to one app client.
pub struct JwksVerifier {
    issuer: String,
    client_id: String,
    /// `None` for a fixed key set (tests): nothing is ever fetched.
    fetcher: Option<Fetcher>,
    keys: RwLock<Arc<KeySet>>,
    /// Held for the duration of a fetch (single flight); remembers when the last one began.
    fetch_state: tokio::sync::Mutex<FetchState>,
    /// Fetches finished so far: a request that waited for the lock sees whether one happened.
    fetches: AtomicU64,
    /// Readable without waiting for an in-flight fetch, so requests can fail fast.
    last_failure: Mutex<Option<Failure>>,
    /// [`RETRY_AFTER_FAILURE`]; tests lengthen it so "within the back-off" holds on any machine.
    retry_after_failure: Duration,
    /// Tokens whose signature and claims checked out, until they expire (or a few minutes).
    verified: VerifiedTokens,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, DecodingKey>,
    /// When these keys were fetched; `None` when never fetched (or fixed).
    fetched_at: Option<Instant>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
}

/// The last fetch failed (cleared by the next success).
#[derive(Clone)]
struct Failure {
    at: Instant,
    reason: String,
}

/// A cached key that is not too old to trust without asking the issuer.
fn fresh_key(cached: &KeySet, kid: &str) -> Option<DecodingKey> {
    let stale = cached
        .fetched_at
        .is_some_and(|at| at.elapsed() > MAX_KEY_AGE);
    cached.by_kid.get(kid).filter(|_| !stale).cloned()
}

/// The subset of RFC 7517 we need; other members and key types are ignored.
#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<JwkDoc>,
}

#[derive(Deserialize)]
struct JwkDoc {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The claims an access token must (or may) carry. Absent members become `None` and are refused
/// below, so a token lacking e.g. `token_use` is never accepted by accident.
#[derive(Deserialize)]
struct AccessClaims {
    sub: Option<String>,
    token_use: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    email: Option<String>,
    /// Checked by `Validation`; read again to know how long the verification may be reused. A
    /// number, possibly fractional (RFC 7519 NumericDate).
    exp: Option<f64>,
}

impl JwksVerifier {
    /// Verifies tokens whose `iss` is exactly `issuer`, fetching keys from `jwks_url` (given
    /// separately because emulators serve their JWKS from their own host while `iss` names AWS).
    /// Nothing is fetched, and no HTTP client built, before the first token arrives.
    pub fn new(
        issuer: impl Into<String>,
        jwks_url: impl Into<String>,
        client_id: impl Into<String>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            fetcher: Some(Fetcher::new(jwks_url.into(), FETCH_TIMEOUT)),
            keys: RwLock::new(Arc::new(KeySet::default())),
            fetch_state: tokio::sync::Mutex::new(FetchState::default()),
            fetches: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            retry_after_failure: RETRY_AFTER_FAILURE,
            verified: VerifiedTokens::default(),
        })
    }

    /// Verifies tokens against a fixed JWKS document; never fetches (for tests and for an
    /// identity provider checking its own tokens).
    pub fn from_jwks(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        jwks: serde_json::Value,
    ) -> anyhow::Result<Self> {
        let doc: JwkSetDoc = serde_json::from_value(jwks)?;
        let by_kid = usable_keys(doc);
        anyhow::ensure!(!by_kid.is_empty(), "the JWKS holds no usable RS256 key");
        Ok(Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            fetcher: None,
            keys: RwLock::new(Arc::new(KeySet {
                by_kid,
                fetched_at: None,
            })),
            fetch_state: tokio::sync::Mutex::new(FetchState::default()),
            fetches: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            retry_after_failure: RETRY_AFTER_FAILURE,
            verified: VerifiedTokens::default(),
        })
    }

    fn current_keys(&self) -> Arc<KeySet> {
        // A poisoned lock only means a writer panicked between two whole-Arc swaps: the value
        // inside is still a complete key set.
        match self.keys.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn store_keys(&self, keys: KeySet) {
        let keys = Arc::new(keys);
        match self.keys.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// The key for `kid`, fetching the key set when it is unknown or stale, within the rate
    /// limits.
    ///
    /// One fetch at a time (single flight): requests that find a fetch in flight wait for its
    /// outcome instead of fetching again. Once a fetch has failed, requests answer from the
    /// cache (or fail) at once until the back-off has passed, and do not queue behind the retry
    /// either, so an issuer that hangs costs one request a timeout, not every request in turn.
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let cached = self.current_keys();
        if let Some(key) = fresh_key(&cached, kid) {
            return Ok(key);
        }
        let Some(fetcher) = &self.fetcher else {
            return Err(AuthError::Invalid("unknown signing key".into()));
        };
        let failure = self.failure();
        if failure
            .as_ref()
            .is_some_and(|f| f.at.elapsed() < self.retry_after_failure)
        {
            return self.answer_from_cache(&cached, kid);
        }
        let seen = self.fetches.load(Ordering::Acquire);
        let mut state = match self.fetch_state.try_lock() {
            Ok(state) => state,
            Err(_) if failure.is_some() => return self.answer_from_cache(&cached, kid),
            Err(_) => self.fetch_state.lock().await,
        };
        let cached = self.current_keys();
        if self.fetches.load(Ordering::Acquire) != seen {
            // A fetch finished while this request waited: its outcome is the answer.
            return self.answer_from_cache(&cached, kid);
        }
        if let Some(key) = fresh_key(&cached, kid) {
            return Ok(key);
        }
        let may_fetch = cached
            .fetched_at
            .is_none_or(|at| at.elapsed() > MAX_KEY_AGE)
            || self.failure().is_some()
            || state
                .last_attempt
                .is_none_or(|at| at.elapsed() >= REFETCH_INTERVAL);
        if !may_fetch {
            return self.answer_from_cache(&cached, kid);
        }

        state.last_attempt = Some(Instant::now());
        let outcome = fetcher.fetch().await;
        let result = match outcome {
            Ok(by_kid) => {
                self.set_failure(None);
                let found = by_kid.get(kid).cloned();
                self.store_keys(KeySet {
                    by_kid,
                    fetched_at: Some(Instant::now()),
                });
                found.ok_or_else(|| AuthError::Invalid("unknown signing key".into()))
            }
            Err(err) => {
                tracing::warn!(url = %fetcher.url, error = %err, "fetching the JWKS failed");
                self.set_failure(Some(Failure {
                    at: Instant::now(),
                    reason: err,
                }));
                // Stale keys beat no keys while the issuer is unreachable.
                self.answer_from_cache(&cached, kid)
            }
        };
        self.fetches.fetch_add(1, Ordering::Release);
        result
    }

    /// What the cache says about `kid` without fetching: its key (even if stale), or why not.
    fn answer_from_cache(&self, cached: &KeySet, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = cached.by_kid.get(kid) {
            return Ok(key.clone());
        }
        match self.failure() {
            Some(failure) => Err(AuthError::Keys(failure.reason)),
            None if cached.fetched_at.is_none() => Err(AuthError::Keys(
                "signing keys unavailable, retrying shortly".into(),
            )),
            None => Err(AuthError::Invalid("unknown signing key".into())),
        }
    }

    fn failure(&self) -> Option<Failure> {
        match self.last_failure.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_failure(&self, failure: Option<Failure>) {
        match self.last_failure.lock() {
            Ok(mut guard) => *guard = failure,
            Err(poisoned) => *poisoned.into_inner() = failure,
        }
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Cognito access tokens carry `client_id` instead of `aud`; it is checked below. ID
        // tokens (which do carry `aud`) are refused by the `token_use` check.
        validation.validate_aud = false;
        validation
    }
}

/// RSA signing keys from a JWKS, by key id. Keys for other algorithms or uses are skipped rather
/// than failing the whole set, so an issuer adding e.g. an EC key does not break us.
fn usable_keys(doc: JwkSetDoc) -> HashMap<String, DecodingKey> {
    doc.keys
        .into_iter()
        .filter(|k| k.kty == "RSA")
        .filter(|k| k.alg.as_deref().is_none_or(|alg| alg == "RS256"))
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
            Some((k.kid?, key))
        })
        .collect()
}

fn invalid(reason: &str) -> AuthError {
    AuthError::Invalid(reason.to_owned())
}

/// Seconds since the Unix epoch, from the clock `jsonwebtoken` checks `exp` against.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[async_trait]
impl TokenVerifier for JwksVerifier {
    async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let digest = verified::digest(token);
        let now = unix_now();
        if let Some(identity) = self.verified.get(&digest, now) {
            return Ok(identity);
        }
        let (identity, exp) = self.verify_signed(token).await?;
        // `Validation` accepted the token up to `exp` + leeway: exactly as long as it is reused.
        let valid_until = (exp.floor() as i64).saturating_add(LEEWAY_SECS as i64);
        self.verified
            .insert(digest, identity.clone(), valid_until, now);
        Ok(identity)
    }
}

impl JwksVerifier {
    /// Checks the token's signature and claims; its identity and `exp`.
    async fn verify_signed(&self, token: &str) -> Result<(Identity, f64), AuthError> {
        // The header is untrusted until the signature checks out; it only picks the key. The
        // algorithm is pinned to RS256 here and again in `Validation`, so `none` and HMAC
        // tokens (e.g. signed with the public key as a secret) never reach a verifier.
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("unsupported signing algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("token has no key id"))?;
        let key = self.key_for(&kid).await?;

        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &self.validation()).map_err(
            |err| match err.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => invalid("bad signature"),
                ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                ErrorKind::ImmatureSignature => invalid("token not yet valid"),
                ErrorKind::InvalidAlgorithm => invalid("unsupported signing algorithm"),
                ErrorKind::MissingRequiredClaim(claim) => {
                    AuthError::Invalid(format!("missing claim {claim}"))
                }
                _ => invalid("malformed token"),
            },
        )?;
        let claims = data.claims;
        if claims.token_use.as_deref() != Some("access") {
            return Err(invalid("not an access token"));
        }
        if claims.client_id.as_deref() != Some(self.client_id.as_str()) {
            return Err(invalid("token issued to another client"));
        }
        let sub = claims.sub.ok_or_else(|| invalid("missing claim sub"))?;
        let user = UserId::parse(&sub).map_err(|_| invalid("unusable subject"))?;
        let exp = claims
            .exp
            .filter(|exp| exp.is_finite())
            .ok_or_else(|| invalid("missing claim exp"))?;
        let identity = Identity {
            user,
            username: claims.cognito_username.or(claims.username),
            email: claims.email,
        };
        Ok((identity, exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::idp::SigningKey;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";
    const CLIENT: &str = "client-123";
    const SUB: &str = "3f1c2a9e-1111-4222-8333-944455556666";

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn access_claims() -> serde_json::Value {
        json!({
            "sub": SUB, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
            "scope": "openid", "auth_time": now(), "iat": now(), "exp": now() + 600,
            "jti": "j-1", "username": SUB, "email": "ada@example.com",
        })
    }

    fn with(
        mut claims: serde_json::Value,
        key: &str,
        value: serde_json::Value,
    ) -> serde_json::Value {
        claims[key] = value;
        claims
    }

    fn setup() -> (SigningKey, JwksVerifier) {
        let key = SigningKey::generate().unwrap();
        let verifier = JwksVerifier::from_jwks(ISSUER, CLIENT, key.jwks()).unwrap();
        (key, verifier)
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// Serves `answer()` at `/jwks.json` on a loopback port: its URL, the count of requests it
    /// has had, and the server task.
    async fn counting_jwks_server<R>(
        answer: impl Fn() -> R + Clone + Send + Sync + 'static,
    ) -> (
        String,
        Arc<std::sync::atomic::AtomicUsize>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )
    where
        R: axum::response::IntoResponse + Send + 'static,
    {
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = answer();
                async move { response }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/jwks.json"), hits, server)
    }

    async fn refused(verifier: &JwksVerifier, token: &str) -> String {
        match verifier.verify(token).await {
            Err(AuthError::Invalid(reason)) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_access_token_is_accepted() {
        let (key, verifier) = setup();
        let token = key.sign(&access_claims()).unwrap();
        let identity = verifier.verify(&token).await.unwrap();
        assert_eq!(identity.user.as_str(), SUB);
        assert_eq!(identity.username.as_deref(), Some(SUB));
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));

        let named = with(access_claims(), "cognito:username", json!("ada"));
        let identity = verifier.verify(&key.sign(&named).unwrap()).await.unwrap();
        assert_eq!(identity.username.as_deref(), Some("ada"));
    }

    #[tokio::test]
    async fn expired_tokens_are_reported_as_expired() {
        let (key, verifier) = setup();
        let claims = with(access_claims(), "exp", json!(now() - 120));
        let result = verifier.verify(&key.sign(&claims).unwrap()).await;
        assert!(matches!(result, Err(AuthError::Expired)), "{result:?}");
        // Within the leeway a token is still good.
        let claims = with(access_claims(), "exp", json!(now() - 5));
        assert!(verifier.verify(&key.sign(&claims).unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn a_signature_by_another_key_or_over_other_claims_is_refused() {
        let (key, verifier) = setup();
        let token = key.sign(&access_claims()).unwrap();
        // Same kid, other key: the signature cannot match.
        let other = SigningKey::generate().unwrap();
        let forged = other.sign_with_kid(&access_claims(), key.kid()).unwrap();
        assert_eq!(refused(&verifier, &forged).await, "bad signature");
        // Swap the payload of a genuine token.
        let parts: Vec<&str> = token.split('.').collect();
        let evil = b64(&with(access_claims(), "sub", json!("someone-else")));
        let spliced = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(refused(&verifier, &spliced).await, "bad signature");
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let (key, verifier) = setup();
        let header = json!({"alg": "none", "typ": "JWT", "kid": key.kid()});
        for token in [
            format!("{}.{}.", b64(&header), b64(&access_claims())),
            format!("{}.{}", b64(&header), b64(&access_claims())),
        ] {
            assert!(matches!(
                verifier.verify(&token).await,
                Err(AuthError::Invalid(_))
            ));
        }
    }

    #[tokio::test]
    async fn hs256_signed_with_the_public_key_is_refused() {
        use aws_lc_rs::hmac;
        let (key, verifier) = setup();
        // The classic confusion: use the published key material as an HMAC secret.
        let jwks = key.jwks();
        let secrets = [
            serde_json::to_vec(&jwks["keys"][0]).unwrap(),
            URL_SAFE_NO_PAD
                .decode(jwks["keys"][0]["n"].as_str().unwrap())
                .unwrap(),
        ];
        for secret in secrets {
            let header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()});
            let input = format!("{}.{}", b64(&header), b64(&access_claims()));
            let tag = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, &secret),
                input.as_bytes(),
            );
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
            assert_eq!(
                refused(&verifier, &token).await,
                "unsupported signing algorithm"
            );
        }
    }

    #[tokio::test]
    async fn wrong_issuer_client_or_token_use_is_refused() {
        let (key, verifier) = setup();
        let cases = [
            (
                with(access_claims(), "iss", json!("https://evil.example")),
                "wrong issuer",
            ),
            (
                with(access_claims(), "iss", json!(format!("{ISSUER}/"))),
                "wrong issuer",
            ),
            (
                with(access_claims(), "client_id", json!("other-client")),
                "token issued to another client",
            ),
            (
                with(access_claims(), "token_use", json!("id")),
                "not an access token",
            ),
            (
                with(access_claims(), "sub", json!("../etc")),
                "unusable subject",
            ),
        ];
        for (claims, reason) in cases {
            assert_eq!(
                refused(&verifier, &key.sign(&claims).unwrap()).await,
                reason
            );
        }
        // An ID token: `aud` instead of `client_id`, `token_use: id`.
        let mut id = access_claims();
        id["token_use"] = json!("id");
        id["aud"] = json!(CLIENT);
        id.as_object_mut().unwrap().remove("client_id");
        assert!(!refused(&verifier, &key.sign(&id).unwrap()).await.is_empty());
        // Missing token_use or client_id entirely.
        for claim in ["token_use", "client_id", "exp"] {
            let mut claims = access_claims();
            claims.as_object_mut().unwrap().remove(claim);
            assert!(
                verifier.verify(&key.sign(&claims).unwrap()).await.is_err(),
                "{claim}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_key_ids_are_refused() {
        let (key, verifier) = setup();
        let token = key
            .sign_with_kid(&access_claims(), "some-other-kid")
            .unwrap();
        assert_eq!(refused(&verifier, &token).await, "unknown signing key");
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let token = format!("{}.{}.AAAA", b64(&header), b64(&access_claims()));
        assert_eq!(refused(&verifier, &token).await, "token has no key id");
    }

    #[tokio::test]
    async fn unknown_kids_refetch_once_then_are_rate_limited() {
        let key = SigningKey::generate().unwrap();
        let jwks = key.jwks();
        let (url, hits, server) = counting_jwks_server(move || axum::Json(jwks.clone())).await;
        let verifier = JwksVerifier::new(ISSUER, url, CLIENT).unwrap();

        let good = key.sign(&access_claims()).unwrap();
        assert!(verifier.verify(&good).await.is_ok());
        assert!(verifier.verify(&good).await.is_ok());
        assert_eq!(hits.load(Ordering::SeqCst), 1, "keys are cached");

        for i in 0..20 {
            let garbage = key
                .sign_with_kid(&access_claims(), &format!("garbage-{i}"))
                .unwrap();
            assert!(matches!(
                verifier.verify(&garbage).await,
                Err(AuthError::Invalid(_))
            ));
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "unknown kids within the interval do not refetch"
        );
        server.abort();
    }

    #[tokio::test]
    async fn an_unreachable_jwks_endpoint_is_a_key_error() {
        let key = SigningKey::generate().unwrap();
        // Bind and drop to get a port with (very likely) nothing listening.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let verifier =
            JwksVerifier::new(ISSUER, format!("http://{addr}/jwks.json"), CLIENT).unwrap();
        let result = verifier.verify(&key.sign(&access_claims()).unwrap()).await;
        assert!(matches!(result, Err(AuthError::Keys(_))), "{result:?}");
    }

    /// Verifies `n` tokens at once and returns every outcome.
    async fn verify_concurrently(
        verifier: &Arc<JwksVerifier>,
        token: &str,
        n: usize,
    ) -> Vec<Result<Identity, AuthError>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (verifier, token) = (Arc::clone(verifier), token.to_owned());
                tokio::spawn(async move { verifier.verify(&token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hanging_jwks_endpoint_is_fetched_once_for_concurrent_requests() {
        use std::sync::atomic::AtomicUsize;
        let key = SigningKey::generate().unwrap();
        // Accepts connections and never answers: each fetch ends in the client's timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        let verifier = Arc::new(
            JwksVerifier::new(ISSUER, format!("http://{addr}/jwks.json"), CLIENT).unwrap(),
        );
        let token = key.sign(&access_claims()).unwrap();

        let results = verify_concurrently(&verifier, &token, 6).await;

        for result in &results {
            assert!(matches!(result, Err(AuthError::Keys(_))), "{result:?}");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "requests waiting for a fetch share it instead of each fetching in turn"
        );
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_refused_fetch_requests_fail_fast_without_refetching() {
        let key = SigningKey::generate().unwrap();
        let (url, hits, server) =
            counting_jwks_server(|| http::StatusCode::SERVICE_UNAVAILABLE).await;
        let mut verifier = JwksVerifier::new(ISSUER, url, CLIENT).unwrap();
        verifier.retry_after_failure = Duration::from_secs(3600);
        let verifier = Arc::new(verifier);
        let token = key.sign(&access_claims()).unwrap();

        let first = verifier.verify(&token).await;
        assert!(matches!(first, Err(AuthError::Keys(_))), "{first:?}");
        let results = verify_concurrently(&verifier, &token, 16).await;

        for result in &results {
            assert!(matches!(result, Err(AuthError::Keys(_))), "{result:?}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the failure is remembered");
        server.abort();
    }

    #[tokio::test]
    async fn a_verified_token_is_remembered_and_other_tokens_are_checked_afresh() {
        let (key, verifier) = setup();
        let token = key.sign(&access_claims()).unwrap();
        let identity = verifier.verify(&token).await.unwrap();
        assert_eq!(verifier.verified.len(), 1);
        assert_eq!(verifier.verify(&token).await.unwrap(), identity);
        assert_eq!(verifier.verified.len(), 1);
        // The remembered token's signature over other claims is still refused, and refused
        // tokens are not remembered.
        let parts: Vec<&str> = token.split('.').collect();
        let evil = b64(&with(access_claims(), "sub", json!("someone-else")));
        let spliced = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(refused(&verifier, &spliced).await, "bad signature");
        let expired = key
            .sign(&with(access_claims(), "exp", json!(now() - 120)))
            .unwrap();
        assert!(matches!(
            verifier.verify(&expired).await,
            Err(AuthError::Expired)
        ));
        assert_eq!(verifier.verified.len(), 1);
    }

    #[tokio::test]
    async fn the_http_client_is_built_by_the_first_fetch_not_by_the_verifier() {
        let key = SigningKey::generate().unwrap();
        let jwks = key.jwks();
        let (url, hits, server) = counting_jwks_server(move || axum::Json(jwks.clone())).await;
        let verifier = JwksVerifier::new(ISSUER, url, CLIENT).unwrap();
        let fetcher = verifier.fetcher.as_ref().unwrap();
        assert!(
            !fetcher.client_built(),
            "making the verifier builds no client"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);

        let token = key.sign(&access_claims()).unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap().user.as_str(), SUB);
        assert!(fetcher.client_built());
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        server.abort();
    }
}
