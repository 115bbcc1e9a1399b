//! The local stack's embedded Cognito-compatible identity provider: the hosted UI (sign-in and
//! sign-up pages, `/oauth2/authorize` with PKCE, `/oauth2/token`, `/logout`), OIDC discovery
//! and JWKS, and the Cognito JSON API (`SignUp`, `ConfirmSignUp`, `InitiateAuth`, `GetUser`) so
//! the SPA, boto3, the AWS CLI and aws-sdk-rust all work against it unchanged.
//!
//! Tokens are RS256 with Cognito's claims; the same [`JwksVerifier`] that checks real Cognito
//! tokens checks these.

mod cognito_api;
mod hosted_ui;
mod keys;
mod oauth;
mod pages;
mod pkce;
mod policy;
mod users;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::json;
use time::OffsetDateTime;

pub use keys::SigningKey;
pub use policy::{PasswordError, check_password, normalize_email};

use crate::adapters::jwks::JwksVerifier;
use crate::domain::share::{hash_password, verify_password};
use crate::ports::{Identity, TokenVerifier};
use users::{RefreshRecord, UserDb, UserRecord};

/// How long an authorization code can be redeemed.
const CODE_TTL: Duration = Duration::from_secs(300);
/// Cognito's default refresh-token validity.
const REFRESH_TTL: Duration = Duration::from_secs(30 * 86_400);
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
    #[error("User pool client {0} does not exist.")]
    UnknownClient(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

const BAD_CREDENTIALS: &str = "Incorrect username or password.";

/// The tokens of one successful authentication or refresh.
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub access_token: String,
    pub id_token: String,
    /// Only when authenticating with a password; refreshing keeps the old one.
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

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

/// What a redeemed code or refresh token grants.
struct Session<'a> {
    user: &'a UserRecord,
    scope: &'a str,
    nonce: Option<&'a str>,
    auth_time: i64,
}

pub struct LocalIdp {
    config: IdpConfig,
    key: SigningKey,
    /// Checks the IdP's own access tokens (`/oauth2/userInfo`, `GetUser`).
    verifier: JwksVerifier,
    users: UserDb,
    /// Codes live minutes, so memory is enough: a restart only invalidates in-flight sign-ins.
    codes: Mutex<HashMap<String, PendingCode>>,
}

impl LocalIdp {
    /// Opens (or creates) the identity provider's state in `config.data_dir`: `idp.redb` for
    /// users and refresh tokens, `idp-signing-key.der` for the RSA key.
    pub fn open(config: IdpConfig) -> anyhow::Result<Arc<LocalIdp>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let key = SigningKey::load_or_create(&config.data_dir.join("idp-signing-key.der"))?;
        let users = UserDb::open(&config.data_dir.join("idp.redb"))?;
        let verifier = JwksVerifier::from_jwks(&config.issuer, &config.client_id, key.jwks())?;
        Ok(Arc::new(LocalIdp {
            config,
            key,
            verifier,
            users,
            codes: Mutex::new(HashMap::new()),
        }))
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

    /// Creates an account; returns the user (confirmed at once when `auto_confirm`).
    pub(crate) fn sign_up(&self, email: &str, password: &str) -> Result<UserRecord, IdpError> {
        let email = normalize_email(email)
            .ok_or_else(|| IdpError::InvalidParameter("Invalid email address format.".into()))?;
        check_password(password).map_err(IdpError::InvalidPassword)?;
        // Cheap check first so a duplicate does not cost a hash; the insert re-checks atomically.
        if self.users.user(&email)?.is_some() {
            return Err(IdpError::UsernameExists);
        }
        let confirmation_code = (!self.config.auto_confirm)
            .then(|| format!("{:06}", rand::rng().next_u32() % 1_000_000));
        let user = UserRecord {
            sub: uuid::Uuid::new_v4().to_string(),
            email,
            password_hash: hash_password(password)
                .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?,
            confirmed: self.config.auto_confirm,
            confirmation_code,
            created_at: OffsetDateTime::now_utc().unix_timestamp(),
        };
        if !self.users.insert_user(&user)? {
            return Err(IdpError::UsernameExists);
        }
        if let Some(code) = &user.confirmation_code {
            // The local stand-in for Cognito's email: whoever runs the stack reads the console.
            tracing::info!(email = %user.email, code = %code, "local IdP: confirmation code");
        }
        Ok(user)
    }

    /// Confirms a sign-up. With `auto_confirm` any code is accepted (clients may confirm
    /// unconditionally).
    pub(crate) fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), IdpError> {
        let email = normalize_email(email).ok_or(IdpError::NotAuthorized(BAD_CREDENTIALS))?;
        let auto = self.config.auto_confirm;
        let accepted = self.users.confirm_user(&email, |user| {
            auto || user.confirmed
                || user.confirmation_code.as_deref().is_some_and(|expected| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(
                        expected.as_bytes(),
                        code.trim().as_bytes(),
                    )
                    .is_ok()
                })
        })?;
        match accepted {
            Some(true) => Ok(()),
            Some(false) => Err(IdpError::CodeMismatch),
            // Cognito's "user existence errors" protection answers like a wrong code.
            None => Err(IdpError::CodeMismatch),
        }
    }

    /// Checks an email and password. Unknown users cost a hash too, so timing does not reveal
    /// which addresses have accounts.
    pub(crate) fn authenticate(&self, email: &str, password: &str) -> Result<UserRecord, IdpError> {
        let user = normalize_email(email)
            .map(|e| self.users.user(&e))
            .transpose()?
            .flatten();
        let Some(user) = user else {
            verify_password(password, dummy_hash());
            return Err(IdpError::NotAuthorized(BAD_CREDENTIALS));
        };
        if password.chars().count() > policy::MAX_PASSWORD_CHARS
            || !verify_password(password, &user.password_hash)
        {
            return Err(IdpError::NotAuthorized(BAD_CREDENTIALS));
        }
        if !user.confirmed {
            return Err(IdpError::UserNotConfirmed);
        }
        Ok(user)
    }

    /// Tokens for a password sign-in through the JSON API (`USER_PASSWORD_AUTH`).
    pub(crate) fn password_tokens(&self, user: &UserRecord) -> Result<Tokens, IdpError> {
        let session = Session {
            user,
            scope: API_SCOPE,
            nonce: None,
            auth_time: now(),
        };
        self.issue(&session, true)
    }

    /// Tokens for a refresh token (JSON API or token endpoint).
    pub(crate) fn refresh(&self, token: &str, client_id: &str) -> Result<Tokens, IdpError> {
        const INVALID: IdpError = IdpError::NotAuthorized("Invalid Refresh Token");
        let record = self.users.refresh(token)?.ok_or(INVALID)?;
        if record.client_id != client_id || record.expires_at <= now() {
            return Err(INVALID);
        }
        let user = self.users.user_by_sub(&record.sub)?.ok_or(INVALID)?;
        let session = Session {
            user: &user,
            scope: &record.scope,
            nonce: None,
            auth_time: record.auth_time,
        };
        self.issue(&session, false)
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
            auth_time: now(),
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
        let user = self
            .users
            .user_by_sub(identity.user.as_str())?
            .ok_or(IdpError::NotAuthorized("Invalid Access Token"))?;
        Ok((identity, user))
    }

    /// Signs an access and an ID token (and, with `with_refresh`, stores a new refresh token).
    fn issue(&self, session: &Session<'_>, with_refresh: bool) -> Result<Tokens, IdpError> {
        let user = session.user;
        let iat = now();
        let ttl = self.config.access_token_ttl.as_secs().max(1);
        let exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        // Cognito links the tokens of one authentication through `origin_jti`.
        let origin_jti = uuid::Uuid::new_v4().to_string();
        let access = json!({
            "sub": user.sub,
            "iss": self.config.issuer,
            "client_id": self.config.client_id,
            "origin_jti": origin_jti,
            "event_id": uuid::Uuid::new_v4().to_string(),
            "token_use": "access",
            "scope": session.scope,
            "auth_time": session.auth_time,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
            // A pool whose username attribute is the email names users by their `sub`.
            "username": user.sub,
            "email": user.email,
        });
        let mut id = json!({
            "sub": user.sub,
            "aud": self.config.client_id,
            "email_verified": true,
            "token_use": "id",
            "auth_time": session.auth_time,
            "iss": self.config.issuer,
            "cognito:username": user.sub,
            "origin_jti": origin_jti,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
            "email": user.email,
        });
        if let Some(nonce) = session.nonce {
            id["nonce"] = json!(nonce);
        }
        let refresh_token = if with_refresh {
            let token = random_token();
            let refresh_ttl = i64::try_from(REFRESH_TTL.as_secs()).unwrap_or(i64::MAX);
            self.users.insert_refresh(
                &token,
                &RefreshRecord {
                    sub: user.sub.clone(),
                    client_id: self.config.client_id.clone(),
                    auth_time: session.auth_time,
                    scope: session.scope.to_owned(),
                    expires_at: iat.saturating_add(refresh_ttl),
                },
            )?;
            Some(token)
        } else {
            None
        };
        Ok(Tokens {
            access_token: self.key.sign(&access)?,
            id_token: self.key.sign(&id)?,
            refresh_token,
            expires_in: ttl,
        })
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

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A hash of a password nobody knows, verified against for unknown users.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        hash_password(&random_token()).unwrap_or_else(|_| "$argon2id$invalid".to_owned())
    })
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

    #[test]
    fn sign_ups_need_the_logged_code_unless_confirmed_automatically() {
        let dir = tempfile::tempdir().unwrap();
        let idp = open(dir.path(), false);
        let user = idp.sign_up("Ada@Example.com", "password1").unwrap();
        assert!(!user.confirmed);
        let code = user.confirmation_code.clone().unwrap();
        assert_eq!(code.len(), 6);
        assert!(matches!(
            idp.authenticate("ada@example.com", "password1"),
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
            idp.authenticate("ada@example.com", "password1")
                .unwrap()
                .sub,
            user.sub
        );
        // Wrong passwords and unknown users look alike.
        assert!(
            matches!(idp.authenticate("ada@example.com", "password2"), Err(IdpError::NotAuthorized(m)) if m == BAD_CREDENTIALS)
        );
        assert!(
            matches!(idp.authenticate("eve@example.com", "password1"), Err(IdpError::NotAuthorized(m)) if m == BAD_CREDENTIALS)
        );
        drop(idp);

        let auto_dir = tempfile::tempdir().unwrap();
        let auto = open(auto_dir.path(), true);
        assert!(
            auto.sign_up("bob@example.com", "password1")
                .unwrap()
                .confirmed
        );
        auto.confirm_sign_up("bob@example.com", "anything").unwrap();
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
