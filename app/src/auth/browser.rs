//! The parts of signing in that need a browser but not Leptos: the tab's `sessionStorage`
//! (the session and the PKCE attempt, under the keys `/callback` reads) and leaving for the
//! hosted UI. The app's [`super::flow::Auth`] and the light landing page (`ferry-landing`)
//! both start a sign-in here, so a sign-in begun on either is completed by the app's
//! `/callback`.

use ferry_api::SiteConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CodeVerifier, PendingSignIn, Session, authorize_url};
use crate::checksum;

pub const SESSION_KEY: &str = "ferry.session";
pub const PENDING_KEY: &str = "ferry.sign-in";

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub(crate) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

pub fn store<T: Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(value)) {
        // A full or disabled storage only costs the session on reload.
        let _ = storage.set_item(key, &text);
    }
}

pub fn forget(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// The session this tab already has, if it can still be used (a valid access token, or a
/// refresh token to get one): what makes the app count someone as signed in.
pub fn stored_session() -> Option<Session> {
    load::<Session>(SESSION_KEY).filter(|s| s.is_valid(now_ms()) || s.refresh_token.is_some())
}

fn warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

/// Leaves for the hosted UI; comes back to `/callback`, then to `return_to`.
pub fn start_sign_in(config: &SiteConfig, return_to: &str) {
    let mut random = [0u8; 48];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
    if !filled {
        // Without a CSPRNG there is no safe PKCE; this browser cannot sign in.
        warn("crypto.getRandomValues is unavailable");
        return;
    }
    let pending = PendingSignIn::new(&random, return_to);
    store(PENDING_KEY, &pending);
    let config = config.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match code_challenge(&pending.verifier).await {
            Ok(challenge) => {
                if let Some(window) = web_sys::window() {
                    let _ = window
                        .location()
                        .assign(&authorize_url(&config, &pending, &challenge));
                }
            }
            // Like the uploads' checksums, PKCE needs WebCrypto (a secure context).
            Err(_) => warn("crypto.subtle is unavailable"),
        }
    });
}

/// PKCE's `code_challenge` for `verifier`, hashed with WebCrypto.
pub async fn code_challenge(verifier: &CodeVerifier) -> Result<String, String> {
    let digest = checksum::sha256_digest(verifier.as_str().as_bytes()).await?;
    Ok(CodeVerifier::challenge(&digest))
}
