//! The page of a link with many files: every file listed by folder with its own download
//! button, and "Download all" as one ZIP written in the browser ([`crate::archive`]). The list is
//! built once as escaped markup (`ferry_app::public_transfer`), so 1,000 rows cost one parse.
//! An end-to-end encrypted link's names are decrypted first, and its downloads decrypt as they
//! stream (both in the download module, loaded then).

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::{FileStatus, PublicDownload, PublicFile, PublicFilesQuery, PublicShare};
use ferry_app::api_client::ApiError;
use ferry_app::format::{parse_rfc3339, relative_time};
use ferry_app::public_share::{downloads_left_text, is_unusable};
use ferry_app::public_transfer::{COUNTING_NOTE, list_markup, progress_text, summary};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{AbortController, Element, HtmlElement};

use crate::dom::{Icon, add, attr, clear, el, on, set_title, text};
use crate::zipper::{self, Event, Failure};
use crate::{http, page, show_unusable};

/// The password the visitor typed, or better the `access` key `unlock` gave for it.
#[derive(Clone, Debug, Default)]
pub struct Key {
    pub password: Option<String>,
    pub access: Option<String>,
    /// An encrypted link's fragment (its key): stays in this browser.
    pub secret: Option<String>,
}

impl Key {
    fn download(&self, file_id: Option<String>) -> PublicDownload {
        PublicDownload {
            password: self
                .access
                .is_none()
                .then(|| self.password.clone())
                .flatten(),
            access: self.access.clone(),
            file_id,
        }
    }
}

struct Transfer {
    token: String,
    key: Key,
    share: PublicShare,
    files: Vec<PublicFile>,
    downloads_left: Option<u32>,
    zipping: bool,
    /// Bytes and files of the ZIP being written.
    zip: (u64, usize),
    /// Stops the running "Download all" (its fetches at once).
    cancel: Option<AbortController>,
    facts: Element,
    list: Element,
    all: Element,
    progress: Element,
    bar: Element,
    progress_line: Element,
    error: Element,
    status: Element,
}

type Shared = Rc<RefCell<Transfer>>;

/// Replaces the page with the link's files (after loading their list).
pub async fn show(share: PublicShare, token: String, mut key: Key) {
    if share.encrypted {
        key.secret = crate::link_secret();
    }
    let query = |cursor| PublicFilesQuery {
        password: key.access.is_none().then(|| key.password.clone()).flatten(),
        access: key.access.clone(),
        cursor,
        limit: Some(ferry_api::transfer::MAX_PUBLIC_PAGE),
    };
    let mut files = match all_files(&token, &query).await {
        Ok(files) => files,
        Err(err) => return crate::failed_to_open(err, token),
    };
    if let Some(secret) = key.secret.as_deref().filter(|_| share.encrypted)
        && let Err(reason) = open_names(secret, &mut files).await
    {
        let page = page();
        set_title("Link unavailable");
        let card = el("section", "state-card");
        attr(&card, "role", "alert");
        Icon::Warning.add_to(&card);
        add(&card, &text("h1", "", "These files cannot be opened"));
        add(&card, &text("p", "", &reason));
        clear(&page);
        add(&page, &card);
        return;
    }
    // An encrypted file's thumbnail is sealed: never put in an <img> as is.
    for file in files.iter_mut().filter(|f| f.encrypted.is_some()) {
        file.thumbnail_url = None;
    }
    render(share, token, key, files);
}

/// Replaces each encrypted file's stored name, folder, type and size with what its sealed
/// metadata says, then orders them as the link does (folders, then names). Fails, in words,
/// when the key opens none of them.
async fn open_names(secret: &str, files: &mut [PublicFile]) -> Result<(), String> {
    let mut opened = 0;
    let mut last_error = None;
    for file in files.iter_mut() {
        let Some(sealed) = &file.encrypted else {
            continue;
        };
        match zipper::open_meta(secret, &sealed.meta).await {
            Ok(secrets) => {
                file.name = secrets.name;
                file.folder = secrets.folder.filter(|f| !f.is_empty());
                file.content_type = secrets.content_type;
                file.size = secrets.size;
                opened += 1;
            }
            Err(Failure::Said(reason)) => {
                file.name = "Encrypted file (its name could not be decrypted)".into();
                last_error = Some(reason);
            }
            Err(Failure::Api(err)) => last_error = Some(err.message),
        }
    }
    if let (0, Some(reason)) = (opened, last_error) {
        return Err(format!(
            "The key in this link does not open its files ({reason}). Ask the sender for the \
             whole link."
        ));
    }
    files.sort_by(|a, b| (&a.folder, &a.name).cmp(&(&b.folder, &b.name)));
    Ok(())
}

async fn all_files(
    token: &str,
    query: &impl Fn(Option<String>) -> PublicFilesQuery,
) -> Result<Vec<PublicFile>, ApiError> {
    let mut files = Vec::new();
    let mut cursor = None;
    loop {
        let page = http::files(token, &query(cursor)).await?;
        files.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(files),
        }
    }
}

fn render(share: PublicShare, token: String, key: Key, files: Vec<PublicFile>) {
    let count = files.len();
    let total: u64 = files.iter().map(|f| f.size).sum();
    set_title(&summary(count, total));
    let section = el("section", "share-card transfer");
    attr(&section, "aria-labelledby", "shared-name");
    let shared = if count == 1 {
        "Someone shared a file with you".to_owned()
    } else {
        format!("Someone shared {count} files with you")
    };
    add(&section, &text("p", "eyebrow", &shared));
    let heading = text("h1", "share-name", &summary(count, total));
    attr(&heading, "id", "shared-name");
    add(&section, &heading);
    let facts = el("ul", "share-facts");
    add(&section, &facts);
    if share.encrypted {
        add(&section, &encrypted_note());
    }

    let actions = el("div", "transfer-actions");
    let all = el("button", "button primary large");
    attr(&all, "type", "button");
    Icon::Download.add_to(&all);
    let _ = all.insert_adjacent_text("beforeend", "Download all (ZIP)");
    add(&actions, &all);
    add(&actions, &text("p", "muted small", COUNTING_NOTE));
    add(&section, &actions);

    let progress = el("div", "zip-progress");
    attr(&progress, "hidden", "");
    let bar = el("progress", "");
    attr(&bar, "aria-label", "Download all");
    let progress_line = el("p", "muted small");
    attr(&progress_line, "aria-live", "polite");
    let cancel = text("button", "button small", "Cancel");
    attr(&cancel, "type", "button");
    add(&progress, &bar);
    add(&progress, &progress_line);
    add(&progress, &cancel);
    add(&section, &progress);

    let error = el("p", "form-error");
    attr(&error, "role", "alert");
    let status = el("p", "muted small");
    attr(&status, "aria-live", "polite");
    add(&section, &error);
    add(&section, &status);

    let list = el("div", "transfer-list");
    list.set_inner_html(&list_markup(&files));
    add(&section, &list);

    let transfer: Shared = Rc::new(RefCell::new(Transfer {
        token,
        key,
        downloads_left: share.downloads_left,
        share,
        files,
        zipping: false,
        zip: (0, 0),
        cancel: None,
        facts,
        list: list.clone(),
        all: all.clone(),
        progress,
        bar,
        progress_line,
        error,
        status,
    }));
    transfer.borrow().render_facts();
    on(&list, "click", {
        let transfer = transfer.clone();
        move |event| {
            let index = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest("button[data-i]").ok().flatten())
                .and_then(|b| b.get_attribute("data-i"))
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(index) = index {
                download_one(&transfer, index);
            }
        }
    });
    on(&all, "click", {
        let transfer = transfer.clone();
        move |_| download_all(&transfer)
    });
    on(&cancel, "click", {
        let transfer = transfer.clone();
        move |_| {
            if let Some(cancel) = &transfer.borrow().cancel {
                cancel.abort();
            }
        }
    });
    crate::dom::every(30_000, {
        let transfer = transfer.clone();
        move || transfer.borrow().render_facts()
    });
    if transfer
        .borrow()
        .files
        .iter()
        .any(|f| f.status != FileStatus::Ready)
    {
        watch_arrivals(&transfer);
    }
    let page = page();
    clear(&page);
    add(&page, &section);
}

/// What end-to-end encryption means for the recipient, in plain words.
fn encrypted_note() -> Element {
    let note = el("div", "e2ee-note");
    attr(&note, "role", "note");
    let title = el("p", "");
    Icon::Lock.add_to(&title);
    add(&title, &text("strong", "", "End-to-end encrypted"));
    add(&note, &title);
    add(
        &note,
        &text(
            "p",
            "muted small",
            "These files and their names were encrypted in the sender's browser. Ferry and AWS \
             store only scrambled data and cannot read them. The key is the part of the link \
             after #, which your browser never sends to a server; the files are decrypted here, \
             on your device, as they download.",
        ),
    );
    note
}

impl Transfer {
    fn render_facts(&self) {
        clear(&self.facts);
        let now = js_sys::Date::now() as i64;
        let fact = |icon: Icon, words: &str| {
            let item = el("li", "");
            icon.add_to(&item);
            add(&item, &text("span", "", words));
            add(&self.facts, &item);
        };
        if let Some(at) = parse_rfc3339(&self.share.expires_at) {
            fact(
                Icon::Clock,
                &format!("Link expires {}", relative_time(at, now)),
            );
        }
        if let Some(left) = downloads_left_text(self.downloads_left) {
            fact(Icon::Download, &left);
        }
        if self.share.requires_password {
            fact(Icon::Lock, "Password protected");
        }
        let arriving = self
            .files
            .iter()
            .filter(|f| f.status != FileStatus::Ready)
            .count();
        if arriving > 0 {
            fact(
                Icon::Clock,
                &format!("{arriving} still arriving: they can be downloaded once they are in"),
            );
        }
    }

    fn say(&self, error: Option<&str>, status: &str) {
        self.error.set_text_content(error);
        self.status.set_text_content(Some(status));
    }

    fn used_one(&mut self) {
        self.downloads_left = self.downloads_left.map(|n| n.saturating_sub(1));
        self.render_facts();
    }
}

/// One file alone: counts one download, then the browser saves it from its presigned GET (an
/// encrypted file through the download module, which decrypts it as it streams).
fn download_one(transfer: &Shared, index: usize) {
    let (token, body, sealed) = {
        let t = transfer.borrow();
        let Some(file) = t.files.get(index).filter(|f| f.status == FileStatus::Ready) else {
            return;
        };
        t.say(None, &format!("Preparing “{}”…", file.name));
        let sealed = file.encrypted.as_ref().map(|s| s.meta.clone());
        (
            t.token.clone(),
            t.key.download(Some(file.id.clone())),
            sealed,
        )
    };
    if let Some(meta) = sealed {
        return download_decrypted(transfer, token, body, meta);
    }
    let transfer = transfer.clone();
    spawn_local(async move {
        match http::download(&token, body).await {
            Ok(link) => {
                transfer.borrow_mut().used_one();
                transfer.borrow().say(None, "Your download has started.");
                if let Some(window) = web_sys::window() {
                    let _ = window.location().assign(&link.url);
                }
            }
            Err(err) => refused(&transfer, err),
        }
    });
}

/// One encrypted file, decrypted as it streams into the download (the download module's work).
fn download_decrypted(transfer: &Shared, token: String, body: PublicDownload, meta: String) {
    let Some(secret) = transfer.borrow().key.secret.clone() else {
        return;
    };
    let Ok(cancel) = AbortController::new() else {
        return;
    };
    let file_id = body.file_id.clone().unwrap_or_default();
    let transfer = transfer.clone();
    spawn_local(async move {
        let key = (body.password, body.access);
        let signal = cancel.signal();
        transfer
            .borrow()
            .say(None, "Decrypting and saving the file…");
        let result = zipper::download_file(&token, key, &file_id, &meta, &secret, &signal).await;
        match result {
            Ok(()) => {
                transfer.borrow_mut().used_one();
                transfer.borrow().say(None, "The file is saved.");
            }
            Err(Failure::Api(err)) => refused(&transfer, err),
            Err(Failure::Said(reason)) => {
                transfer
                    .borrow()
                    .say(Some(&reason), "The file was not saved.");
            }
        }
    });
}

/// Every ready file as one ZIP, counted as one download (the `ferry-zip` module's work).
fn download_all(transfer: &Shared) {
    let Ok(cancel) = AbortController::new() else {
        return;
    };
    let (token, key) = {
        let mut t = transfer.borrow_mut();
        if t.zipping {
            return;
        }
        t.zipping = true;
        t.cancel = Some(cancel.clone());
        attr(&t.all, "disabled", "");
        t.say(None, "Preparing the ZIP…");
        (t.token.clone(), t.key.clone())
    };
    let shown = transfer.clone();
    let on_event = move |event: Event| {
        let mut t = shown.borrow_mut();
        let t = &mut *t;
        match event {
            Event::Counted => t.used_one(),
            Event::Start {
                name,
                total,
                files,
                pending,
            } => {
                t.zip = (total, files);
                let _ = t.progress.remove_attribute("hidden");
                attr(&t.bar, "max", &total.max(1).to_string());
                attr(&t.bar, "value", "0");
                let note = if pending > 0 {
                    format!("Saving {name}. {pending} files still arriving are not in it.")
                } else {
                    format!("Saving {name}.")
                };
                t.say(None, &note);
            }
            Event::Progress { done, file } => {
                attr(&t.bar, "value", &done.to_string());
                let (total, files) = t.zip;
                t.progress_line
                    .set_text_content(Some(&progress_text(done, total, file, files)));
            }
        }
    };
    let transfer = transfer.clone();
    spawn_local(async move {
        let password = key.access.is_none().then(|| key.password.clone()).flatten();
        let signal = cancel.signal();
        let secret = key.secret.clone();
        let access = key.access.clone();
        let result =
            zipper::download_all(&token, password, access, on_event, &signal, secret).await;
        let mut t = transfer.borrow_mut();
        t.zipping = false;
        t.cancel = None;
        let _ = t.all.remove_attribute("disabled");
        attr(&t.progress, "hidden", "");
        match result {
            Ok(()) => t.say(None, "The ZIP is saved."),
            Err(Failure::Api(err)) => {
                drop(t);
                refused(&transfer, err);
            }
            Err(Failure::Said(reason)) => {
                t.say(Some(&reason), "The ZIP was not saved.");
                let _ = t.all.unchecked_ref::<HtmlElement>().focus();
            }
        }
    });
}

/// A refused download: an unusable link replaces the page, anything else is said above the list.
fn refused(transfer: &Shared, err: ApiError) {
    if is_unusable(&err) {
        set_title("Link unavailable");
        show_unusable(&page(), &err);
    } else {
        transfer.borrow().say(Some(&err.message), "");
    }
}

/// While files are still arriving, asks again every 15 seconds and lists those that came in.
fn watch_arrivals(transfer: &Shared) {
    let transfer = transfer.clone();
    let tick = wasm_bindgen::closure::Closure::once_into_js(move || {
        spawn_local(async move {
            let (token, query) = {
                let t = transfer.borrow();
                let key = &t.key;
                let query = move |cursor| PublicFilesQuery {
                    password: key.access.is_none().then(|| key.password.clone()).flatten(),
                    access: key.access.clone(),
                    cursor,
                    limit: Some(ferry_api::transfer::MAX_PUBLIC_PAGE),
                };
                (t.token.clone(), query(None))
            };
            let files = http::files(&token, &query).await.ok();
            let mut waiting = true;
            if let Some(page) = files.filter(|p| p.next_cursor.is_none()) {
                let mut t = transfer.borrow_mut();
                let before: Vec<_> = t.files.iter().map(|f| f.status).collect();
                let after: Vec<_> = page.items.iter().map(|f| f.status).collect();
                if before != after && page.items.len() == t.files.len() {
                    if t.share.encrypted {
                        // Keep the decrypted names: only the statuses change.
                        for item in page.items {
                            if let Some(file) = t.files.iter_mut().find(|f| f.id == item.id) {
                                file.status = item.status;
                            }
                        }
                    } else {
                        t.files = page.items;
                    }
                    t.list.set_inner_html(&list_markup(&t.files));
                    t.render_facts();
                }
                waiting = t.files.iter().any(|f| f.status != FileStatus::Ready);
            }
            if waiting {
                watch_arrivals(&transfer);
            }
        });
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(tick.unchecked_ref(), 15_000);
    }
}
