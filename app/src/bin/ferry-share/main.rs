//! `/s/{token}`, the page anyone with a link opens, as an entry of its own (`share.html`): no
//! Leptos and no router, only web-sys, so the recipients' first load stays small, and the
//! static HTML around it (header, "Opening the link…", footer) paints before the wasm arrives.
//!
//! It behaves as the app's page did: opening the link never uses a download; only the Download
//! button asks the API for the one-time URL. A password-protected link shows nothing about its
//! file until the password is given (`unlock`). The words come from `ferry_app::public_share`.
//!
//! An end-to-end encrypted link (`PublicShare::encrypted`) shows as a list of its files (even
//! one), whose names the download module decrypts with the key in the link's fragment; the
//! fragment never leaves this browser. Without it, the page says what is missing.
//!
//! By job: `card` is the one-file card (password, unlock, download), `encrypted` what only an
//! end-to-end encrypted link needs (its key, its names), `transfer` the list of many files.

mod card;
mod dom;
mod encrypted;
mod http;
mod transfer;
mod zipper;

use std::rc::Rc;

use ferry_api::codes;
use ferry_app::api_client::ApiError;
use ferry_app::public_share::{is_unusable, unusable_message};
use wasm_bindgen::UnwrapThrowExt;
use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

use dom::{Icon, add, attr, clear, el, on, set_title, text};
use encrypted::{encrypted_and_open, link_key_problem, show_key_problem};

fn main() {
    spawn_local(open(token()));
}

/// The token: the path segment after `/s/`.
fn token() -> String {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    token_of(&path).to_owned()
}

fn token_of(path: &str) -> &str {
    path.strip_prefix("/s/")
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
}

/// Where the page's content goes (`share.html` shows "Opening the link…" there until then).
fn page() -> Element {
    dom::document()
        .get_element_by_id("share-page")
        .expect_throw("share.html has #share-page")
}

/// Loads the link and shows it, or says why it cannot be used.
async fn open(token: String) {
    let page = page();
    if page
        .query_selector(".state-card[role=status]")
        .ok()
        .flatten()
        .is_none()
    {
        clear(&page);
        let card = el("section", "state-card");
        attr(&card, "role", "status");
        let spinner = el("span", "spinner");
        attr(&spinner, "aria-hidden", "true");
        add(&card, &spinner);
        add(&card, &text("p", "", "Opening the link…"));
        add(&page, &card);
    }
    match http::share(&token).await {
        Ok(share) if share.encrypted && link_key_problem().is_some() => {
            set_title("The link is missing its key");
            show_key_problem(&page, link_key_problem().unwrap_or_default());
        }
        Ok(share) if share.file_count.unwrap_or(1) > 1 || encrypted_and_open(&share) => {
            transfer::show(share, token, transfer::Key::default()).await;
        }
        Ok(share) => {
            set_title(share.name.as_deref().unwrap_or("Shared file"));
            card::Card::show(&page, share, token);
        }
        Err(err) => failed_to_open(err, token),
    }
}

/// The link could not be loaded: why, and (unless it is unusable) a way to try again.
fn failed_to_open(err: ApiError, token: String) {
    let page = page();
    set_title("Link unavailable");
    if is_unusable(&err) {
        show_unusable(&page, &err);
    } else {
        show_failure(&page, err, token);
    }
}

/// Expired, used up, revoked or unknown: the reason, in words.
fn show_unusable(page: &Element, err: &ApiError) {
    let (title, body) = unusable_message(err);
    let card = state_card();
    let icon = if err.code == codes::SHARE_EXPIRED {
        Icon::Clock
    } else {
        Icon::Warning
    };
    icon.add_to(&card);
    add(&card, &text("h1", "", title));
    add(&card, &text("p", "", &body));
    clear(page);
    add(page, &card);
}

/// Anything else (the network, the API failing): the message and a way to try again.
fn show_failure(page: &Element, err: ApiError, token: String) {
    let card = state_card();
    Icon::Warning.add_to(&card);
    add(&card, &text("h1", "", "This link could not be opened"));
    add(&card, &text("p", "", &err.message));
    let retry = text("button", "button primary", "Try again");
    let token = Rc::new(token);
    on(&retry, "click", move |_| {
        spawn_local(open(token.to_string()))
    });
    add(&card, &retry);
    clear(page);
    add(page, &card);
}

fn state_card() -> Element {
    let card = el("section", "state-card");
    attr(&card, "role", "alert");
    card
}

#[cfg(test)]
mod tests {
    use super::token_of;

    #[test]
    fn the_token_is_the_segment_after_s() {
        assert_eq!(token_of("/s/AbC-_9"), "AbC-_9");
        assert_eq!(token_of("/s/AbC/extra"), "AbC");
        assert_eq!(token_of("/files"), "");
    }
}
