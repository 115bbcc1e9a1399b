//! The browser half of signing in: remembers the PKCE attempt and the session in
//! `sessionStorage` (tokens live as long as the tab), talks to the token endpoint, refreshes
//! silently before the access token expires, and signs out by revoking the refresh token and
//! leaving through the hosted UI.

use std::time::Duration;

use ferry_api::SiteConfig;
use gloo_net::http::Request;
use leptos::prelude::*;
use leptos::task::spawn_local;

pub use super::browser::now_ms;
use super::browser::{
    PENDING_KEY, SESSION_KEY, forget, load, start_sign_in, store, stored_session,
};
use super::{
    PendingSignIn, Session, TokenResponse, code_exchange_body, logout_url, refresh_body,
    revoke_body, revoke_url, token_url,
};
use crate::api_client::ApiError;

/// The current path with its query, to come back to after signing in.
pub fn current_path() -> String {
    let location = window().location();
    let path = location.pathname().unwrap_or_else(|_| "/".to_owned());
    let search = location.search().unwrap_or_default();
    format!("{path}{search}")
}

/// The sign-in state of this tab; `Copy`, provided as context at the root.
#[derive(Clone, Copy)]
pub struct Auth {
    config: StoredValue<SiteConfig>,
    session: RwSignal<Option<Session>>,
    timer: StoredValue<Option<TimeoutHandle>>,
}

impl Auth {
    /// Picks up the session this tab already has, if any, and keeps it fresh.
    pub fn new(config: SiteConfig) -> Self {
        let session = stored_session();
        let auth = Self {
            config: StoredValue::new(config),
            session: RwSignal::new(session),
            timer: StoredValue::new(None),
        };
        auth.schedule_refresh();
        auth
    }

    pub fn config(&self) -> SiteConfig {
        self.config.get_value()
    }

    /// Reactive: whether someone is signed in.
    pub fn signed_in(&self) -> bool {
        self.session.with(Option::is_some)
    }

    /// Reactive: who, for the header.
    pub fn email(&self) -> Option<String> {
        self.session
            .with(|s| s.as_ref().and_then(|s| s.email.clone()))
    }

    fn set_session(&self, session: Option<Session>) {
        match &session {
            Some(s) => store(SESSION_KEY, s),
            None => forget(SESSION_KEY),
        }
        self.session.set(session);
        self.schedule_refresh();
    }

    fn schedule_refresh(&self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        let delay = self.session.with_untracked(|s| {
            s.as_ref()
                .filter(|s| s.refresh_token.is_some())
                .map(|s| s.refresh_delay_ms(now_ms()))
        });
        let handle = delay.and_then(|ms| {
            let auth = *self;
            set_timeout_with_handle(
                move || {
                    spawn_local(async move {
                        // On failure the token is used until it expires, then sign-in is asked for.
                        let _ = auth.refresh().await;
                    })
                },
                Duration::from_millis(ms.max(0) as u64),
            )
            .ok()
        });
        self.timer.set_value(handle);
    }

    /// Leaves for the hosted UI; comes back to `/callback`, then to `return_to`.
    pub fn sign_in(&self, return_to: &str) {
        start_sign_in(&self.config.get_value(), return_to);
    }

    /// Finishes a sign-in at `/callback`: checks `state`, exchanges the code, and returns the
    /// page to go back to.
    pub async fn complete_sign_in(&self, code: &str, state: &str) -> Result<String, String> {
        let pending: PendingSignIn = load(PENDING_KEY).ok_or_else(|| {
            "This sign-in was already completed or started in another tab.".to_owned()
        })?;
        forget(PENDING_KEY);
        if !pending.state_matches(state) {
            return Err(
                "The answer from the sign-in page did not match this tab's request, so it \
                        was ignored for your safety."
                    .to_owned(),
            );
        }
        let config = self.config.get_value();
        let body = code_exchange_body(&config, code, &pending.verifier);
        let tokens = post_token(&config, body).await.map_err(|e| e.message)?;
        self.set_session(Some(Session::from_tokens(tokens, now_ms(), None)));
        Ok(pending.return_to)
    }

    /// Swaps the refresh token for a fresh access token.
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let previous = self
            .session
            .get_untracked()
            .ok_or_else(ApiError::unauthorized)?;
        let refresh_token = previous
            .refresh_token
            .clone()
            .ok_or_else(ApiError::unauthorized)?;
        let config = self.config.get_value();
        let tokens = post_token(&config, refresh_body(&config, &refresh_token)).await?;
        self.set_session(Some(Session::from_tokens(
            tokens,
            now_ms(),
            Some(&previous),
        )));
        Ok(())
    }

    /// A usable access token, refreshed first when it is about to expire.
    pub async fn bearer(&self) -> Result<String, ApiError> {
        let session = self
            .session
            .get_untracked()
            .ok_or_else(ApiError::unauthorized)?;
        if session.needs_refresh(now_ms()) && self.refresh().await.is_err() {
            if !session.is_valid(now_ms()) {
                self.session_ended();
                return Err(ApiError::unauthorized());
            }
            return Ok(session.access_token);
        }
        self.session
            .with_untracked(|s| s.as_ref().map(|s| s.access_token.clone()))
            .ok_or_else(ApiError::unauthorized)
    }

    /// The API refused the tokens: forget them (private pages then ask to sign in again).
    pub fn session_ended(&self) {
        self.set_session(None);
    }

    /// Forgets the tokens, revokes the refresh token (so a copy of it is worthless), then ends
    /// the hosted-UI session too. The signal keeps its value: the page is being left, and
    /// private pages must not start a new sign-in meanwhile.
    pub fn sign_out(&self) {
        forget(SESSION_KEY);
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        let config = self.config.get_value();
        let refresh_token = self
            .session
            .with_untracked(|s| s.as_ref().and_then(|s| s.refresh_token.clone()));
        spawn_local(async move {
            if let Some(token) = refresh_token {
                // Best effort: a failed revocation does not keep anyone signed in here.
                let _ = post_revoke(&config, &token).await;
            }
            let _ = window().location().assign(&logout_url(&config));
        });
    }
}

async fn post_revoke(config: &SiteConfig, refresh_token: &str) -> Result<(), gloo_net::Error> {
    Request::post(&revoke_url(config))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(revoke_body(config, refresh_token))?
        .send()
        .await
        .map(drop)
}

async fn post_token(config: &SiteConfig, body: String) -> Result<TokenResponse, ApiError> {
    let response = Request::post(&token_url(config))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .map_err(ApiError::network)?
        .send()
        .await
        .map_err(ApiError::network)?;
    let status = response.status();
    if !(200..300).contains(&status) {
        // OAuth errors look like `{"error":"invalid_grant"}`, not the API's shape.
        return Err(ApiError {
            status,
            code: ferry_api::codes::UNAUTHORIZED.to_owned(),
            message: "Signing in did not complete. Please try again.".to_owned(),
        });
    }
    response
        .json::<TokenResponse>()
        .await
        .map_err(ApiError::network)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use super::*;
    use crate::auth::CodeVerifier;
    use crate::auth::browser::{code_challenge, storage};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn config(auth_base: &str) -> SiteConfig {
        SiteConfig {
            api_base: "/api".to_owned(),
            cognito_region: "us-east-1".to_owned(),
            user_pool_id: "us-east-1_test".to_owned(),
            client_id: "client".to_owned(),
            auth_base: auth_base.to_owned(),
            redirect_uri: format!("{}/callback", origin()),
            logout_uri: format!("{}/", origin()),
            cognito_endpoint: None,
            multipart_threshold: None,
            max_share_files: None,
            live_url: None,
            encrypt_by_default: false,
        }
    }

    /// The test page's origin: wasm-bindgen-test-runner's server, which has no
    /// `/oauth2/token` (404) but serves the files under `app/`.
    fn origin() -> String {
        window()
            .location()
            .origin()
            .expect("the page has an origin")
    }

    fn stored(key: &str) -> Option<String> {
        storage()
            .expect("sessionStorage")
            .get_item(key)
            .expect("sessionStorage is readable")
    }

    /// RFC 7636, Appendix B, through WebCrypto as `sign_in` computes it.
    #[wasm_bindgen_test]
    async fn the_code_challenge_matches_rfc_7636_appendix_b() {
        let verifier = CodeVerifier::from_random(&[
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ]);
        assert_eq!(
            verifier.as_str(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert_eq!(
            code_challenge(&verifier).await.as_deref(),
            Ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
    }

    #[wasm_bindgen_test]
    fn a_pending_sign_in_stays_in_session_storage_until_forgotten() {
        let pending = PendingSignIn::new(&[3; 48], "/links");
        store(PENDING_KEY, &pending);
        let text = stored(PENDING_KEY).expect("the attempt is stored");
        assert!(text.contains(&pending.state), "{text}");
        assert_eq!(load::<PendingSignIn>(PENDING_KEY), Some(pending));
        // Whatever else is found under the key reads as no attempt.
        storage()
            .expect("sessionStorage")
            .set_item(PENDING_KEY, "{\"state\":")
            .expect("sessionStorage is writable");
        assert_eq!(load::<PendingSignIn>(PENDING_KEY), None);
        forget(PENDING_KEY);
        assert_eq!(stored(PENDING_KEY), None);
    }

    #[wasm_bindgen_test]
    async fn a_callback_needs_this_tabs_attempt_and_its_state() {
        forget(PENDING_KEY);
        forget(SESSION_KEY);
        let auth = Auth::new(config(&origin()));
        let refused = auth.complete_sign_in("code", "state").await;
        assert!(refused.is_err_and(|e| e.contains("already completed")));

        let pending = PendingSignIn::new(&[5; 48], "/links");
        store(PENDING_KEY, &pending);
        let refused = auth.complete_sign_in("code", "forged").await;
        assert!(refused.is_err_and(|e| e.contains("did not match")));
        // The attempt is spent: a wrong state cannot be followed by the right one.
        assert_eq!(stored(PENDING_KEY), None);
        let refused = auth.complete_sign_in("code", &pending.state).await;
        assert!(refused.is_err_and(|e| e.contains("already completed")));
        assert!(!auth.signed_in());
        assert_eq!(stored(SESSION_KEY), None);
    }

    #[wasm_bindgen_test]
    async fn a_refused_code_exchange_signs_nobody_in() {
        forget(SESSION_KEY);
        let auth = Auth::new(config(&origin()));
        let pending = PendingSignIn::new(&[6; 48], "/links");
        store(PENDING_KEY, &pending);
        let refused = auth.complete_sign_in("code", &pending.state).await;
        assert!(refused.is_err_and(|e| e.starts_with("Signing in did not complete")));
        assert!(!auth.signed_in());
        assert_eq!(stored(SESSION_KEY), None);
        assert_eq!(stored(PENDING_KEY), None);
    }

    #[wasm_bindgen_test]
    async fn a_completed_sign_in_keeps_the_session_for_the_tab() {
        forget(SESSION_KEY);
        // `app/testdata/oauth2/token` holds a token endpoint's answer.
        let config = config(&format!("{}/testdata", origin()));
        let auth = Auth::new(config.clone());
        let pending = PendingSignIn::new(&[9; 48], "/links?x=1");
        store(PENDING_KEY, &pending);
        assert_eq!(
            auth.complete_sign_in("code", &pending.state).await,
            Ok("/links?x=1".to_owned())
        );
        assert!(auth.signed_in());
        assert_eq!(auth.email().as_deref(), Some("ada@example.com"));
        let session: Session = load(SESSION_KEY).expect("the session is stored");
        assert_eq!(session.access_token, "access-1");
        assert_eq!(session.refresh_token.as_deref(), Some("refresh-1"));

        // A reload of the tab finds it.
        let reloaded = Auth::new(config);
        assert!(reloaded.signed_in());
        assert_eq!(reloaded.bearer().await, Ok("access-1".to_owned()));
        reloaded.session_ended();
        auth.session_ended();
        assert_eq!(stored(SESSION_KEY), None);
    }

    #[wasm_bindgen_test]
    async fn a_session_whose_refresh_fails_is_used_until_it_expires_then_ended() {
        // The test server has no token endpoint, so every refresh fails.
        let config = config(&origin());
        let session = |expires_at_ms| Session {
            access_token: "old".to_owned(),
            refresh_token: Some("refresh-0".to_owned()),
            expires_at_ms,
            email: None,
        };

        // Inside the refresh margin but still valid: the token is used as it is.
        store(
            SESSION_KEY,
            &session(now_ms() + crate::auth::REFRESH_MARGIN_MS / 2),
        );
        let auth = Auth::new(config.clone());
        assert_eq!(auth.bearer().await, Ok("old".to_owned()));
        assert!(auth.signed_in());

        // Expired: the tab is signed out, so private pages ask to sign in again.
        store(SESSION_KEY, &session(now_ms() - 1));
        let auth = Auth::new(config);
        assert!(auth.signed_in());
        assert_eq!(auth.bearer().await.map_err(|e| e.status), Err(401));
        assert!(!auth.signed_in());
        assert_eq!(stored(SESSION_KEY), None);
    }
}
