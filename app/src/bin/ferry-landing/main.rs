//! `/`, the landing page, as an entry of its own (`landing.html`): the page is static HTML, and
//! this small binary (web-sys, no Leptos) only gives its two sign-in buttons the app's own
//! sign-in and sends someone who already has a session in this tab on to `/files`, as the
//! app's landing page offers. A first visit so never downloads the app.
//!
//! The buttons are forms that `GET /files` (the app, which sends a signed-out visitor to sign
//! in and back to `/files`), so a click before this wasm has loaded, or when it cannot run,
//! still signs in. Once the configuration is known, the wasm takes the submit over and leaves
//! for the hosted UI at once with `ferry_app::auth::browser::start_sign_in`: the same PKCE
//! attempt, under the same storage keys, that the app's `/callback` completes.

use ferry_api::SiteConfig;
use ferry_app::auth::browser::{start_sign_in, stored_session};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{Event, Response};

/// Where both buttons lead once signed in (the app's landing page signs in to `/files` too).
const AFTER_SIGN_IN: &str = "/files";
/// The forms `landing.html` marks as the way in.
const SIGN_IN_FORMS: [&str; 2] = ["sign-in-header", "sign-in-hero"];

fn main() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if stored_session().is_some() {
        // Signed in already: the app's landing page would only offer "Go to your files".
        let _ = window.location().replace(AFTER_SIGN_IN);
        return;
    }
    spawn_local(async move {
        // Without the configuration the forms keep their plain GET, and the app says why it
        // cannot start.
        if let Some(config) = config().await {
            take_over_sign_in(&window, config);
        }
    });
}

/// `/config.json`, on the browser's `fetch` (no HTTP crate: the page stays small).
async fn config() -> Option<SiteConfig> {
    let window = web_sys::window()?;
    let response: Response = JsFuture::from(window.fetch_with_str("/config.json"))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if !response.ok() {
        return None;
    }
    let text = JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}

/// Each sign-in form starts the app's sign-in instead of loading the app first.
fn take_over_sign_in(window: &web_sys::Window, config: SiteConfig) {
    let Some(document) = window.document() else {
        return;
    };
    let submit = Closure::<dyn Fn(Event)>::new(move |event: Event| {
        event.prevent_default();
        start_sign_in(&config, AFTER_SIGN_IN);
    });
    for id in SIGN_IN_FORMS {
        if let Some(form) = document.get_element_by_id(id) {
            let _ =
                form.add_event_listener_with_callback("submit", submit.as_ref().unchecked_ref());
        }
    }
    // The listeners live as long as the page.
    submit.forget();
}
