//! Files still arriving (a transfer sent while its upload runs): asked for again until every
//! one is in, and listed as they come.

use ferry_api::{FileStatus, PublicFilesQuery};
use ferry_app::public_transfer::list_markup;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

use super::Shared;
use crate::http;

/// While files are still arriving, asks again every 15 seconds and lists those that came in.
pub(super) fn watch_arrivals(transfer: &Shared) {
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
                        // Keep the decrypted names: only the statuses (and sealed thumbnails,
                        // which may have come with a file) change.
                        for item in page.items {
                            if let Some(file) = t.files.iter_mut().find(|f| f.id == item.id) {
                                file.status = item.status;
                                file.thumbnail_url = item.thumbnail_url;
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
