//! The local stack's embedded Cognito-compatible identity provider: the hosted UI (sign-in and
//! sign-up pages, `/oauth2/authorize` with PKCE, `/oauth2/token`, `/oauth2/revoke`, `/logout`),
//! OIDC discovery and JWKS, and the Cognito JSON API (`SignUp`, `ConfirmSignUp`,
//! `InitiateAuth`, `GetUser`, `RevokeToken`) so the SPA, boto3, the AWS CLI and aws-sdk-rust
//! all work against it unchanged.
//!
//! Tokens are RS256 with Cognito's claims; the same [`JwksVerifier`] that checks real Cognito
//! tokens checks these.

mod accounts;
mod cognito_api;
mod hosted_ui;
mod keys;
mod oauth;
mod pages;
mod passwords;
mod pkce;
mod policy;
mod throttle;
mod tokens;
mod users;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use time::OffsetDateTime;

pub use keys::SigningKey;
pub use policy::{PasswordError, check_password, normalize_email};

use crate::adapters::jwks::JwksVerifier;
use crate::ports::{Clock, Identity, SystemClock, TokenVerifier};
use crate::site::origin_of;
use crate::work_gate::WorkGate;
use passwords::Passwords;
use tokens::{Session, Tokens};
use users::{UserDb, UserRecord};

/// How long an authorization code can be redeemed.
const CODE_TTL: Duration = Duration::from_secs(300);
/// How often expired refresh tokens and forgotten sign-in failures are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(15 * 60);
/// Scope of tokens from the JSON API, as Cognito issues them.
const API_SCOPE: &str = "aws.cognito.signin.user.admin";
const KNOWN_SCOPES: [&str; 5] = ["openid", "email", "profile", "phone", API_SCOPE];

#[derive(Clone, Debug)]
pub struct IdpConfig {
    pub data_dir: PathBuf,
    /// The `iss` of every token, e.g. `http://127.0.0.1:8080`; also the hosted-UI base URL.
    pub issuer: String,
    pub region: String,
    pub user_pool_id: String,
    /// The one (public) app client.
    pub client_id: String,
    /// Allowed callback and logout URLs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Confirm sign-ups at once; otherwise a code is logged to the console.
    pub auto_confirm: bool,
    pub access_token_ttl: Duration,
}

/// What the identity provider shares with the rest of its process.
#[derive(Clone)]
pub struct IdpShared {
    /// Bounds argon2 work. `ferry serve` passes the API's gate, so one process bounds all its
    /// password hashing.
    pub password_work: Arc<WorkGate>,
    /// Lockouts, token times and expiry read it (tests move it).
    pub clock: Arc<dyn Clock>,
}

impl Default for IdpShared {
    fn default() -> Self {
        Self {
            password_work: Arc::new(WorkGate::for_passwords()),
            clock: Arc::new(SystemClock),
        }
    }
}

/// What went wrong in an identity operation; each front (JSON API, hosted UI, token endpoint)
/// words it its own way.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdpError {
    #[error("An account with the given email already exists.")]
    UsernameExists,
    #[error("{0}")]
    NotAuthorized(&'static str),
    #[error("User is not confirmed.")]
    UserNotConfirmed,
    #[error("{0}")]
    InvalidPassword(PasswordError),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Invalid verification code provided, please try again.")]
    CodeMismatch,
    /// The code died of too many wrong guesses.
    #[error("Invalid code provided, please request a code again.")]
    ExpiredCode,
    /// The password-work gate is full.
    #[error("Too many requests, please try again in a moment.")]
    Busy,
    #[error("User pool client {0} does not exist.")]
    UnknownClient(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

const BAD_CREDENTIALS: &str = "Incorrect username or password.";

/// An authorization code waiting to be redeemed at the token endpoint.
struct PendingCode {
    sub: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    nonce: Option<String>,
    auth_time: i64,
    expires: Instant,
}

pub struct LocalIdp {
    config: IdpConfig,
    key: SigningKey,
    /// Checks the IdP's own access tokens (`/oauth2/userInfo`, `GetUser`).
    verifier: JwksVerifier,
    users: UserDb,
    passwords: Passwords,
    clock: Arc<dyn Clock>,
    /// Origins whose pages may post the hosted UI's forms: its own and the client's.
    form_origins: Vec<String>,
    /// Codes live minutes, so memory is enough: a restart only invalidates in-flight sign-ins.
    codes: Mutex<HashMap<String, PendingCode>>,
}

impl LocalIdp {
    /// Opens (or creates) the identity provider's state in `config.data_dir`: `idp.redb` for
    /// users and refresh tokens, `idp-signing-key.der` for the RSA key. Password work gets a
    /// gate of its own; see [`LocalIdp::open_with`].
    pub fn open(config: IdpConfig) -> anyhow::Result<Arc<LocalIdp>> {
        Self::open_with(config, IdpShared::default())
    }

    /// Like [`LocalIdp::open`], with the process's password-work gate and clock. Drops expired
    /// refresh tokens now and, inside a Tokio runtime, every [`PRUNE_EVERY`] while it lives.
    pub fn open_with(config: IdpConfig, shared: IdpShared) -> anyhow::Result<Arc<LocalIdp>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let key = SigningKey::load_or_create(&config.data_dir.join("idp-signing-key.der"))?;
        let users = UserDb::open(&config.data_dir.join("idp.redb"))?;
        let verifier = JwksVerifier::from_jwks(&config.issuer, &config.client_id, key.jwks())?;
        let form_origins = std::iter::once(config.issuer.as_str())
            .chain(config.redirect_uris.iter().map(String::as_str))
            .filter_map(origin_of)
            .collect();
        let idp = Arc::new(LocalIdp {
            config,
            key,
            verifier,
            users,
            passwords: Passwords::new(shared.password_work),
            clock: shared.clock,
            form_origins,
            codes: Mutex::new(HashMap::new()),
        });
        idp.prune()?;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(prune_periodically(Arc::downgrade(&idp)));
        }
        Ok(idp)
    }

    /// Drops expired refresh tokens (and revocations) and forgotten sign-in failures.
    pub fn prune(&self) -> anyhow::Result<()> {
        let (tokens, failures) = self
            .users
            .prune(self.now().unix_timestamp(), self.now_ms())?;
        if tokens + failures > 0 {
            tracing::debug!(tokens, failures, "local IdP: pruned expired records");
        }
        Ok(())
    }

    /// How many refresh tokens are stored (expired ones included until pruned).
    pub fn stored_refresh_tokens(&self) -> anyhow::Result<u64> {
        self.users.refresh_count()
    }

    /// How many argon2 verifications sign-ins have run, for tests: every attempt costs one,
    /// whatever its outcome, except while locked out (none).
    pub fn password_verifications(&self) -> u64 {
        self.passwords.verifications()
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    pub fn config(&self) -> &IdpConfig {
        &self.config
    }

    /// The public signing key as `/.well-known/jwks.json` serves it.
    pub fn jwks(&self) -> serde_json::Value {
        self.key.jwks()
    }

    /// For tests: signs arbitrary claims with the IdP's key (header `alg: RS256` and its `kid`),
    /// so tests can mint tokens that are good, expired, for another client, and so on.
    pub fn sign_claims(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        self.key.sign(claims)
    }

    /// Every endpoint, at the paths Cognito uses, to merge into the local server at the root.
    ///
    /// `/` only answers `POST` (the JSON API); a server that also serves a page at `GET /`
    /// must route it explicitly (a `.route("/", get(..))` merges with this one), because a
    /// router's fallback does not see requests whose path matched a route.
    pub fn router(self: Arc<Self>) -> Router {
        let cors = tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([http::Method::GET, http::Method::POST])
            // Mirrored rather than `*`: a wildcard does not cover `Authorization` (userInfo).
            .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
            .max_age(Duration::from_secs(600));
        // Called cross-origin by the SPA and by browser SDKs: no cookies involved, so `*` is safe.
        let apis = Router::new()
            .route("/", post(cognito_api::handle))
            .route("/oauth2/token", post(oauth::token))
            .route("/oauth2/revoke", post(oauth::revoke))
            .route(
                "/oauth2/userInfo",
                get(oauth::user_info).post(oauth::user_info),
            )
            .route(
                "/.well-known/openid-configuration",
                get(oauth::openid_configuration),
            )
            .route("/.well-known/jwks.json", get(oauth::jwks))
            .layer(cors);
        let pages = Router::new()
            .route("/oauth2/authorize", get(hosted_ui::authorize))
            .route("/login", get(hosted_ui::authorize).post(hosted_ui::login))
            .route(
                "/signup",
                get(hosted_ui::signup_page).post(hosted_ui::signup),
            )
            .route("/confirm", post(hosted_ui::confirm))
            .route("/logout", get(hosted_ui::logout));
        apis.merge(pages).with_state(self)
    }

    fn client_ok(&self, client_id: &str) -> Result<(), IdpError> {
        if client_id == self.config.client_id {
            Ok(())
        } else {
            Err(IdpError::UnknownClient(client_id.to_owned()))
        }
    }

    fn redirect_allowed(&self, uri: &str) -> bool {
        self.config
            .redirect_uris
            .iter()
            .any(|allowed| allowed == uri)
    }

    /// Whether a page at `origin` may post the hosted UI's forms.
    fn form_origin_allowed(&self, origin: &str) -> bool {
        self.form_origins.iter().any(|allowed| allowed == origin)
    }

    /// Tokens for a refresh token (JSON API or token endpoint).
    pub(crate) fn refresh(&self, token: &str, client_id: &str) -> Result<Tokens, IdpError> {
        const INVALID: IdpError = IdpError::NotAuthorized("Invalid Refresh Token");
        let record = self.users.refresh(token)?.ok_or(INVALID)?;
        if record.expires_at <= self.now().unix_timestamp() {
            self.users.remove_refresh(token, None)?;
            return Err(INVALID);
        }
        if record.client_id != client_id {
            return Err(INVALID);
        }
        let user = self.users.user_by_sub(&record.sub)?.ok_or(INVALID)?;
        let session = Session {
            user: &user,
            scope: &record.scope,
            nonce: None,
            auth_time: record.auth_time,
            origin_jti: record.origin_jti.as_deref(),
        };
        self.issue(&session, false)
    }

    /// Revokes a refresh token and the access tokens of its authentication (`/oauth2/revoke`,
    /// `RevokeToken`). Unknown tokens are not an error (RFC 7009 §2.2); another client's
    /// token is left alone.
    pub(crate) fn revoke(&self, token: &str, client_id: &str) -> Result<(), IdpError> {
        let Some(record) = self.users.refresh(token)? else {
            return Ok(());
        };
        if record.client_id != client_id {
            return Ok(());
        }
        // Access tokens of this authentication live at most one lifetime from now.
        let until = self
            .now()
            .unix_timestamp()
            .saturating_add(self.access_ttl_secs());
        self.users.remove_refresh(token, Some(until))?;
        Ok(())
    }

    /// Remembers a code for a hosted-UI sign-in and returns it.
    fn new_code(&self, user: &UserRecord, request: &hosted_ui::AuthRequest) -> String {
        let code = random_token();
        let pending = PendingCode {
            sub: user.sub.clone(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            auth_time: self.now().unix_timestamp(),
            expires: Instant::now() + CODE_TTL,
        };
        let mut codes = self
            .codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        codes.retain(|_, c| c.expires > Instant::now());
        codes.insert(code.clone(), pending);
        code
    }

    /// Redeems an authorization code: single use (any attempt consumes it), unexpired, for the
    /// same client and redirect URI, and the PKCE verifier must match the challenge.
    pub(crate) fn redeem_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Tokens, IdpError> {
        const INVALID: IdpError = IdpError::NotAuthorized("invalid_grant");
        let pending = {
            let mut codes = self
                .codes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            codes.remove(code)
        };
        let pending = pending.ok_or(INVALID)?;
        let ok = pending.expires > Instant::now()
            && pending.client_id == client_id
            && pending.redirect_uri == redirect_uri
            && pkce::verify_s256(verifier, &pending.code_challenge);
        if !ok {
            return Err(INVALID);
        }
        let user = self.users.user_by_sub(&pending.sub)?.ok_or(INVALID)?;
        let session = Session {
            user: &user,
            scope: &pending.scope,
            nonce: pending.nonce.as_deref(),
            auth_time: pending.auth_time,
            origin_jti: None,
        };
        self.issue(&session, true)
    }

    /// Verifies one of the IdP's own access tokens and loads its user.
    pub(crate) async fn user_for_access_token(
        &self,
        token: &str,
    ) -> Result<(Identity, UserRecord), IdpError> {
        let identity = self.verifier.verify(token).await.map_err(|err| match err {
            crate::ports::AuthError::Expired => IdpError::NotAuthorized("Access Token has expired"),
            _ => IdpError::NotAuthorized("Invalid Access Token"),
        })?;
        let revoked = match origin_jti(token) {
            Some(origin) => self.users.revoked(&origin)?,
            None => false,
        };
        if revoked {
            return Err(IdpError::NotAuthorized("Access Token has been revoked"));
        }
        let user = self
            .users
            .user_by_sub(identity.user.as_str())?
            .ok_or(IdpError::NotAuthorized("Invalid Access Token"))?;
        Ok((identity, user))
    }
}

/// Runs blocking identity work (password hashing, database commits) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    idp: &Arc<LocalIdp>,
    work: impl FnOnce(&LocalIdp) -> Result<T, IdpError> + Send + 'static,
) -> Result<T, IdpError> {
    let idp = Arc::clone(idp);
    tokio::task::spawn_blocking(move || work(&idp))
        .await
        .map_err(|e| IdpError::Internal(anyhow::anyhow!("identity task failed: {e}")))?
}

/// Runs identity work that hashes or verifies a password: waits for a slot of the password
/// gate (or answers [`IdpError::Busy`] when its line is full), then runs like [`blocking`].
pub(crate) async fn hashing<T: Send + 'static>(
    idp: &Arc<LocalIdp>,
    work: impl FnOnce(&LocalIdp, &crate::work_gate::WorkPermit) -> Result<T, IdpError> + Send + 'static,
) -> Result<T, IdpError> {
    let slot = idp.passwords.slot().await?;
    blocking(idp, move |idp| work(idp, &slot)).await
}

async fn prune_periodically(idp: std::sync::Weak<LocalIdp>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate, and `open_with` has just pruned.
    every.tick().await;
    loop {
        every.tick().await;
        // Holds the IdP only while pruning, so dropping it closes the database.
        let Some(idp) = idp.upgrade() else { return };
        let pruned = tokio::task::spawn_blocking(move || idp.prune()).await;
        if let Ok(Err(err)) = pruned {
            tracing::warn!(error = %err, "local IdP: pruning failed");
        }
    }
}

/// The `origin_jti` claim of a JWT whose signature was already checked.
fn origin_jti(token: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    claims.get("origin_jti")?.as_str().map(str::to_owned)
}

/// The requested scopes Cognito would grant, in a stable order; `openid` when none are known.
fn granted_scope(requested: Option<&str>) -> String {
    let requested: Vec<&str> = requested.unwrap_or("").split_whitespace().collect();
    let granted: Vec<&str> = KNOWN_SCOPES
        .iter()
        .copied()
        .filter(|scope| requested.contains(scope))
        .collect();
    if granted.is_empty() {
        "openid".to_owned()
    } else {
        granted.join(" ")
    }
}

/// 256 random bits, URL-safe: authorization codes and refresh tokens.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path, auto_confirm: bool) -> Arc<LocalIdp> {
        LocalIdp::open(IdpConfig {
            data_dir: dir.to_path_buf(),
            issuer: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            user_pool_id: "us-east-1_test".into(),
            client_id: "client".into(),
            redirect_uris: vec![],
            auto_confirm,
            access_token_ttl: Duration::from_secs(60),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn sign_ups_need_the_logged_code_unless_confirmed_automatically() {
        let dir = tempfile::tempdir().unwrap();
        let idp = open(dir.path(), false);
        let slot = idp.passwords.slot().await.unwrap();
        let user = idp.sign_up(&slot, "Ada@Example.com", "password1").unwrap();
        assert!(!user.confirmed);
        let code = user.confirmation_code.clone().unwrap();
        assert_eq!(code.len(), 6);
        assert!(matches!(
            idp.authenticate(&slot, "ada@example.com", "password1"),
            Err(IdpError::UserNotConfirmed)
        ));
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert!(matches!(
            idp.confirm_sign_up("ada@example.com", wrong),
            Err(IdpError::CodeMismatch)
        ));
        assert!(matches!(
            idp.confirm_sign_up("bob@example.com", &code),
            Err(IdpError::CodeMismatch)
        ));
        idp.confirm_sign_up("ADA@example.com", &code).unwrap();
        assert_eq!(
            idp.authenticate(&slot, "ada@example.com", "password1")
                .unwrap()
                .sub,
            user.sub
        );
        // Wrong passwords and unknown users look alike.
        assert!(
            matches!(idp.authenticate(&slot, "ada@example.com", "password2"), Err(IdpError::NotAuthorized(m)) if m == BAD_CREDENTIALS)
        );
        assert!(
            matches!(idp.authenticate(&slot, "eve@example.com", "password1"), Err(IdpError::NotAuthorized(m)) if m == BAD_CREDENTIALS)
        );
        drop(idp);

        let auto_dir = tempfile::tempdir().unwrap();
        let auto = open(auto_dir.path(), true);
        assert!(
            auto.sign_up(&slot, "bob@example.com", "password1")
                .unwrap()
                .confirmed
        );
        auto.confirm_sign_up("bob@example.com", "anything").unwrap();
    }

    #[tokio::test]
    async fn a_code_dies_after_five_wrong_guesses_and_the_password_brings_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let idp = open(dir.path(), false);
        let slot = idp.passwords.slot().await.unwrap();
        let user = idp.sign_up(&slot, "ada@example.com", "password1").unwrap();
        let code = user.confirmation_code.unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        for _ in 0..throttle::MAX_CODE_ATTEMPTS {
            assert!(matches!(
                idp.confirm_sign_up("ada@example.com", wrong),
                Err(IdpError::CodeMismatch)
            ));
        }
        // Dead: even the right code no longer works.
        assert!(matches!(
            idp.confirm_sign_up("ada@example.com", &code),
            Err(IdpError::ExpiredCode)
        ));
        // A wrong password brings nothing; the right one a new code (logged to the console).
        assert!(
            idp.authenticate(&slot, "ada@example.com", "password2")
                .is_err()
        );
        let stored = idp.users.user("ada@example.com").unwrap().unwrap();
        assert_eq!(stored.confirmation_code, None);
        assert!(matches!(
            idp.authenticate(&slot, "ada@example.com", "password1"),
            Err(IdpError::UserNotConfirmed)
        ));
        let renewed = idp.users.user("ada@example.com").unwrap().unwrap();
        let new_code = renewed.confirmation_code.unwrap();
        assert_eq!(renewed.code_attempts, 0);
        idp.confirm_sign_up("ada@example.com", &new_code).unwrap();
        assert!(
            idp.authenticate(&slot, "ada@example.com", "password1")
                .is_ok()
        );
    }

    #[test]
    fn only_known_scopes_are_granted() {
        assert_eq!(granted_scope(None), "openid");
        assert_eq!(
            granted_scope(Some("email openid admin:all")),
            "openid email"
        );
        assert_eq!(granted_scope(Some("  ")), "openid");
    }
}
