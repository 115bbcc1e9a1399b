//! The sealed thumbnails of the recipients' list, drawn as their rows come into view: the list's
//! markup (`public_transfer::list_markup`) keeps an encrypted file's presigned URL in its icon's
//! `data-sealed`, never in an `<img>`; this opens it with the link's key (at most
//! [`OPENING_AT_ONCE`] at a time, [`ThumbQueue`]) and puts the image in the icon's place. One
//! that does not open (tampered, another key, gone) keeps its icon, silently. Started by the
//! download module (`ferry-zip`) once loaded, so the page's first load carries none of it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{
    Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit,
    MutationObserver, MutationObserverInit, MutationRecord,
};

use super::link::TransferKey;
use super::thumb_queue::{Thumb, ThumbQueue, object_of};
use super::thumbnail_browser::open_url;

/// Thumbnails fetched and decrypted at once (each at most 64 KiB).
pub const OPENING_AT_ONCE: usize = 4;

/// The attribute that holds a sealed thumbnail's presigned URL.
pub const SEALED: &str = "data-sealed";

/// Rows this far below (or above) the screen count as in view, so a scroll finds them drawn.
const MARGIN: &str = "200px 0px";

struct Rows {
    /// Where the rows are (the page: the list may come after the module, and be drawn anew).
    root: Element,
    key: TransferKey,
    queue: RefCell<ThumbQueue>,
    /// The icons whose rows came into view, by object, until their thumbnail is known.
    seen: RefCell<HashMap<String, Vec<Element>>>,
    watch: IntersectionObserver,
}

/// Draws the sealed thumbnails under `root` as their rows come into view, for the life of the
/// page: those there now and those of rows added later (the list drawn, or drawn anew as files
/// arrive; one already opened then shows at once).
pub fn show(root: &Element, key: TransferKey) -> Result<(), JsValue> {
    let rows: Rc<RefCell<Option<Rc<Rows>>>> = Rc::default();
    let seen = Closure::<dyn FnMut(Array)>::new({
        let rows = rows.clone();
        move |entries: Array| {
            if let Some(rows) = rows.borrow().as_ref() {
                rows.came_into_view(&entries);
            }
        }
    });
    let options = IntersectionObserverInit::new();
    options.set_root_margin(MARGIN);
    let watch = IntersectionObserver::new_with_options(seen.as_ref().unchecked_ref(), &options)?;
    seen.forget();
    let shown = Rc::new(Rows {
        root: root.clone(),
        key,
        queue: RefCell::new(ThumbQueue::new(OPENING_AT_ONCE)),
        seen: RefCell::default(),
        watch,
    });
    *rows.borrow_mut() = Some(shown.clone());
    let added = Closure::<dyn FnMut(Array)>::new({
        let shown = shown.clone();
        move |records: Array| {
            if records.iter().any(|record| adds_sealed(&record)) {
                shown.attach();
            }
        }
    });
    let changes = MutationObserver::new(added.as_ref().unchecked_ref())?;
    added.forget();
    let options = MutationObserverInit::new();
    options.set_child_list(true);
    options.set_subtree(true);
    changes.observe_with_options(root, &options)?;
    shown.attach();
    Ok(())
}

impl Rows {
    /// The sealed icons under the root (once, and again when rows are added): each one shown
    /// as far as its thumbnail is known, or watched until its row comes into view.
    fn attach(&self) {
        // Rows drawn anew replace the old ones: watch only those there now.
        self.watch.disconnect();
        let Ok(found) = self.root.query_selector_all(&format!("[{SEALED}]")) else {
            return;
        };
        for icon in (0..found.length()).filter_map(|i| found.item(i)?.dyn_into::<Element>().ok()) {
            if !self.show_known(&icon) {
                self.watch.observe(&icon);
            }
        }
    }

    /// Shows `icon`'s thumbnail if it is opened (or, if it failed, drops its URL); whether
    /// it was known.
    fn show_known(&self, icon: &Element) -> bool {
        let Some(url) = icon.get_attribute(SEALED) else {
            return true;
        };
        let known = match self.queue.borrow().state(&url) {
            Some(Thumb::Opened(blob)) => {
                draw(icon, blob);
                true
            }
            Some(Thumb::Failed) => {
                let _ = icon.remove_attribute(SEALED);
                true
            }
            _ => false,
        };
        if known {
            self.watch.unobserve(icon);
        }
        known
    }

    fn came_into_view(self: &Rc<Self>, entries: &Array) {
        for entry in entries.iter() {
            let Ok(entry) = entry.dyn_into::<IntersectionObserverEntry>() else {
                continue;
            };
            let icon = entry.target();
            if !entry.is_intersecting() || self.show_known(&icon) {
                continue;
            }
            if let Some(url) = icon.get_attribute(SEALED) {
                self.queue.borrow_mut().in_view(&url);
                let mut seen = self.seen.borrow_mut();
                let icons = seen.entry(object_of(&url).to_owned()).or_default();
                if !icons.contains(&icon) {
                    icons.push(icon);
                }
            }
        }
        self.open_next();
    }

    /// Starts opening waiting thumbnails while slots are free.
    fn open_next(self: &Rc<Self>) {
        loop {
            let Some((object, url)) = self.queue.borrow_mut().start() else {
                return;
            };
            let rows = self.clone();
            spawn_local(async move {
                // Why one did not open does not matter to a recipient: its icon stays.
                let blob = open_url(&url, &rows.key).await.ok();
                rows.queue.borrow_mut().finish(&object, blob);
                let icons = rows.seen.borrow_mut().remove(&object).unwrap_or_default();
                for icon in icons {
                    rows.show_known(&icon);
                }
                rows.open_next();
            });
        }
    }
}

/// Whether a change to the page added rows with sealed icons (an image drawn in an icon's
/// place, a line of text, … add none).
fn adds_sealed(record: &JsValue) -> bool {
    let Some(record) = record.dyn_ref::<MutationRecord>() else {
        return false;
    };
    let selector = format!("[{SEALED}]");
    let added = record.added_nodes();
    (0..added.length()).any(|i| {
        added
            .item(i)
            .and_then(|node| node.dyn_into::<Element>().ok())
            .is_some_and(|el| {
                el.matches(&selector).unwrap_or(false)
                    || el.query_selector(&selector).ok().flatten().is_some()
            })
    })
}

/// Puts the opened image where the icon was.
fn draw(icon: &Element, blob: &str) {
    let Some(document) = icon.owner_document() else {
        return;
    };
    let Ok(img) = document.create_element("img") else {
        return;
    };
    for (name, value) in [
        ("class", "thumb"),
        ("src", blob),
        ("alt", ""),
        ("width", "40"),
        ("height", "40"),
    ] {
        let _ = img.set_attribute(name, value);
    }
    let _ = icon.replace_with_with_node_1(&img);
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
