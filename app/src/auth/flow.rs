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
