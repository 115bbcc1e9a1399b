//! A link to one file: its card (the file, or a lock until the password is given), the facts
//! about the link, and the one form that unlocks it or downloads the file.

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::{PublicDownload, PublicShare};
use ferry_app::api_client::ApiError;
use ferry_app::checksum::verify_hint;
use ferry_app::format::{parse_rfc3339, relative_time};
use ferry_app::public_share::{
    button_label, downloads_left_text, file_meta, is_unusable, started_text, type_badge,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, HtmlElement, HtmlInputElement};

use crate::dom::{self, Icon, add, attr, clear, el, on, set_title, text};
use crate::{http, page, show_unusable, transfer};

/// The link's card: the file (or a lock until the password is given), its facts, and one form
/// whose button unlocks or downloads. Updated in place, so focus and typed text stay put.
pub struct Card {
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
    pub fn show(page: &Element, share: PublicShare, token: String) {
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
