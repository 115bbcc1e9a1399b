//! The page of a link with many files: every file listed by folder with its own download
//! button, and "Download all" as one ZIP written in the browser ([`crate::archive`]). The list is
//! built once as escaped markup (`ferry_app::public_transfer`), so 1,000 rows cost one parse.
//! An end-to-end encrypted link's names are decrypted first (`crate::encrypted`), its sealed
//! thumbnails drawn as their rows come into view (the list's markup holds their URLs; the
//! download module, once loaded, draws them with no call from here) and its downloads decrypt as
//! they stream (all in the download module, loaded then). The downloads
//! are in `downloads`, the wait for files still arriving in `arrivals`.

mod arrivals;
mod downloads;

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::{FileStatus, PublicDownload, PublicFile, PublicFilesQuery, PublicShare};
use ferry_app::api_client::ApiError;
use ferry_app::format::{parse_rfc3339, relative_time};
use ferry_app::public_share::downloads_left_text;
use ferry_app::public_transfer::{COUNTING_NOTE, list_markup, summary};
use wasm_bindgen::JsCast;
use web_sys::{AbortController, Element};

use crate::dom::{Icon, add, attr, clear, el, on, set_title, text};
use crate::encrypted::{encrypted_note, open_names, show_unopenable};
use crate::{http, page};
use arrivals::watch_arrivals;
use downloads::{download_all, download_one};

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
        key.secret = crate::encrypted::link_secret();
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
        return show_unopenable(&reason);
    }
    render(share, token, key, files);
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
