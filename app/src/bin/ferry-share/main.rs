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

mod dom;
mod http;
mod transfer;
mod zipper;

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::{PublicDownload, PublicShare, codes};
use ferry_app::api_client::ApiError;
use ferry_app::checksum::verify_hint;
use ferry_app::format::{parse_rfc3339, relative_time};
use ferry_app::public_share::{
    button_label, downloads_left_text, file_meta, is_unusable, started_text, type_badge,
    unusable_message,
};
use wasm_bindgen::{JsCast, UnwrapThrowExt};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, HtmlElement, HtmlInputElement};

use dom::{Icon, add, attr, clear, el, on, set_title, text};

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
            Card::show(&page, share, token);
        }
        Err(err) => failed_to_open(err, token),
    }
}

/// The location's fragment (without `#`): an encrypted link's key. Read here and handed to the
/// download module only; never sent.
pub fn link_secret() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let fragment = hash.strip_prefix('#').unwrap_or(&hash);
    (!fragment.is_empty()).then(|| fragment.to_owned())
}

/// Whether the link lacks its key (`k=…` in the fragment), in words. A damaged key is found
/// by the download module, which says so when it cannot open the names: the page carries no
/// decoding of its own, to stay small.
fn link_key_problem() -> Option<String> {
    let secret = link_secret().unwrap_or_default();
    let has_key = secret
        .split('&')
        .any(|pair| pair.strip_prefix("k=").is_some_and(|k| !k.is_empty()));
    (!has_key).then(|| ferry_app::crypto::link::LinkKeyError::Missing.to_string())
}

/// An encrypted link whose files may be listed (not waiting for its password).
fn encrypted_and_open(share: &PublicShare) -> bool {
    share.encrypted && share.file_count.is_some()
}

/// An encrypted link without its key: what is missing, and that nothing can be read without it.
fn show_key_problem(page: &Element, problem: String) {
    let card = state_card();
    Icon::Lock.add_to(&card);
    add(
        &card,
        &text("h1", "", "The key to these files is not in the link"),
    );
    add(&card, &text("p", "", &problem));
    add(
        &card,
        &text(
            "p",
            "muted small",
            "The files behind it are end-to-end encrypted: they can only be opened with the \
             key that comes after # in the link the sender shared. Ferry never has that key.",
        ),
    );
    clear(page);
    add(page, &card);
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

/// The link's card: the file (or a lock until the password is given), its facts, and one form
/// whose button unlocks or downloads. Updated in place, so focus and typed text stay put.
struct Card {
    token: String,
    needs_password: bool,
    expires_ms: Option<i64>,
    /// What the link shows about its file: at once for an open link, after `unlock` for a
    /// protected one.
    details: Option<PublicShare>,
    downloads_left: Option<u32>,
    /// From `unlock`: sent instead of the password afterwards.
    access: Option<String>,
    busy: bool,
    started: bool,
    error: Option<String>,
    file: Element,
    facts: Element,
    form: Element,
    field: Element,
    input: HtmlInputElement,
    error_line: Element,
    button: Element,
    status: Element,
    section: Element,
}

type Shared = Rc<RefCell<Card>>;

impl Card {
    fn show(page: &Element, share: PublicShare, token: String) {
        let section = el("section", "share-card");
        attr(&section, "aria-labelledby", "shared-name");
        add(
            &section,
            &text("p", "eyebrow", "Someone shared a file with you"),
        );
        let file = el("div", "share-file");
        let facts = el("ul", "share-facts");
        let form = el("form", "download-form");
        add(&section, &file);
        add(&section, &facts);
        add(&section, &form);

        let field = el("div", "field");
        let label = text("label", "", "Password");
        attr(&label, "for", "share-password");
        let input = el("input", "input");
        for (name, value) in [
            ("id", "share-password"),
            ("type", "password"),
            ("autocomplete", "current-password"),
            ("required", ""),
        ] {
            attr(&input, name, value);
        }
        add(&field, &label);
        add(&field, &input);
        let error_line = el("p", "form-error");
        attr(&error_line, "role", "alert");
        let button = el("button", "button primary large full");
        attr(&button, "type", "submit");
        let status = el("p", "muted small");
        attr(&status, "aria-live", "polite");
        add(&form, &button);
        add(&form, &status);

        let card = Card {
            token,
            needs_password: share.requires_password,
            expires_ms: parse_rfc3339(&share.expires_at),
            downloads_left: share.downloads_left,
            access: None,
            details: share.name.is_some().then_some(share),
            busy: false,
            started: false,
            error: None,
            file,
            facts,
            form: form.clone(),
            field,
            input: input.unchecked_into(),
            error_line,
            button,
            status,
            section: section.clone(),
        };
        card.render_file();
        card.render();
        let card: Shared = Rc::new(RefCell::new(card));
        on(&form, "submit", {
            let card = card.clone();
            move |event| {
                event.prevent_default();
                submit(&card);
            }
        });
        dom::every(30_000, {
            let card = card.clone();
            move || card.borrow().render_facts()
        });
        clear(page);
        add(page, &section);
    }

    fn locked(&self) -> bool {
        self.details.is_none()
    }

    fn no_more(&self) -> bool {
        self.downloads_left == Some(0)
    }

    /// The file's badge, name and size (or the lock), and how to verify the download: these
    /// change only when the link is unlocked.
    fn render_file(&self) {
        clear(&self.file);
        let badge = el("span", "thumb badge large");
        attr(&badge, "aria-hidden", "true");
        let about = el("div", "");
        let name = match &self.details {
            Some(file) => {
                let name = file.name.clone().unwrap_or_default();
                badge.set_text_content(Some(&type_badge(&name)));
                add(&about, &text("h1", "share-name", &name));
                let meta = file_meta(file.size, file.content_type.clone());
                add(&about, &text("p", "file-meta", &meta));
                name
            }
            None => {
                Icon::Lock.add_to(&badge);
                add(&about, &text("h1", "share-name", "This file is protected"));
                add(
                    &about,
                    &text(
                        "p",
                        "file-meta",
                        "Enter the password to see the file and download it.",
                    ),
                );
                String::new()
            }
        };
        if let Ok(Some(heading)) = about.query_selector("h1") {
            attr(&heading, "id", "shared-name");
        }
        add(&self.file, &badge);
        add(&self.file, &about);

        if let Some(sum) = self.details.as_ref().and_then(|f| f.sha256.clone()) {
            let part_size = self.details.as_ref().and_then(|f| f.part_size);
            let (label, hint) = verify_hint(&sum, part_size, &name);
            let details = el("details", "checksum");
            add(&details, &text("summary", "", "Verify the download"));
            let line = text("p", "muted small", &format!("{label}: "));
            add(&line, &text("code", "mono", &sum));
            add(&details, &line);
            add(&details, &text("p", "muted small", &hint));
            add(&self.section, &details);
        }
    }

    /// Expiry, downloads left and whether a password is needed.
    fn render_facts(&self) {
        clear(&self.facts);
        let now = js_sys::Date::now() as i64;
        let expiry = self
            .expires_ms
            .map(|at| format!("Link expires {}", relative_time(at, now)))
            .unwrap_or_default();
        let fact = |icon: Icon, words: &str| {
            let item = el("li", "");
            icon.add_to(&item);
            add(&item, &text("span", "", words));
            add(&self.facts, &item);
        };
        fact(Icon::Clock, &expiry);
        if let Some(left) = downloads_left_text(self.downloads_left) {
            fact(Icon::Download, &left);
        }
        if self.needs_password {
            fact(Icon::Lock, "Password protected");
        }
    }

    /// Everything that follows the state: facts, the password field, the error, the button.
    fn render(&self) {
        self.render_facts();
        let locked = self.locked();
        if locked && !self.field.is_connected() {
            let _ = self
                .form
                .insert_before(&self.field, self.form.first_child().as_ref());
        } else if !locked {
            self.field.remove();
        }
        match &self.error {
            Some(message) => {
                self.error_line.set_text_content(Some(message));
                let _ = self
                    .form
                    .insert_before(&self.error_line, Some(&self.button));
            }
            None => self.error_line.remove(),
        }
        if self.busy || (self.started && self.no_more()) {
            attr(&self.button, "disabled", "");
        } else {
            let _ = self.button.remove_attribute("disabled");
        }
        clear(&self.button);
        if locked { Icon::Lock } else { Icon::Download }.add_to(&self.button);
        let _ = self
            .button
            .insert_adjacent_text("beforeend", button_label(locked, self.busy));
        let started = if self.started {
            started_text(self.no_more())
        } else {
            ""
        };
        self.status.set_text_content(Some(started));
    }
}

/// The form's one action: unlock a protected link, else download.
fn submit(card: &Shared) {
    let (token, password, unlocking, needs_password, access) = {
        let mut c = card.borrow_mut();
        if c.busy {
            return;
        }
        let password = c.input.value();
        if c.needs_password && password.is_empty() {
            c.error = Some("Enter the password the sender gave you.".to_owned());
            c.render();
            return;
        }
        c.busy = true;
        c.error = None;
        c.render();
        let access = c.access.clone();
        (
            c.token.clone(),
            password,
            c.locked(),
            c.needs_password,
            access,
        )
    };
    let card = card.clone();
    spawn_local(async move {
        if unlocking {
            match http::unlock(&token, password.clone()).await {
                Ok(full) if full.file_count.unwrap_or(1) > 1 || full.encrypted => {
                    let key = transfer::Key {
                        access: full.access.clone(),
                        password: Some(password),
                        secret: None,
                    };
                    transfer::show(full, token, key).await;
                }
                Ok(full) => {
                    let mut c = card.borrow_mut();
                    c.access = full.access.clone();
                    c.downloads_left = full.downloads_left;
                    c.details = Some(full);
                    c.busy = false;
                    c.render_file();
                    c.render();
                }
                Err(err) => failed(&card, err),
            }
            return;
        }
        let body = PublicDownload {
            password: (needs_password && access.is_none()).then_some(password),
            access,
            file_id: None,
        };
        match http::download(&token, body).await {
            Ok(link) => {
                {
                    let mut c = card.borrow_mut();
                    c.started = true;
                    c.downloads_left = c.downloads_left.map(|n| n.saturating_sub(1));
                    c.busy = false;
                    c.render();
                }
                if let Some(window) = web_sys::window() {
                    let _ = window.location().assign(&link.url);
                }
            }
            Err(err) => failed(&card, err),
        }
    });
}

/// A refused unlock or download: an unusable link replaces the card, anything else is said
/// under the form.
fn failed(card: &Shared, err: ApiError) {
    let mut c = card.borrow_mut();
    c.busy = false;
    if is_unusable(&err) {
        set_title("Link unavailable");
        show_unusable(&page(), &err);
    } else {
        c.error = Some(err.message);
        c.render();
        if let Some(input) = c.field.is_connected().then(|| c.input.clone()) {
            let _ = input.unchecked_ref::<HtmlElement>().focus();
        }
    }
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
