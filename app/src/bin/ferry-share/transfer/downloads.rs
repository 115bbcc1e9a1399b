//! The link's downloads: one file (counted, then saved from its presigned GET, or decrypted as
//! it streams), or every ready file as one ZIP (the `ferry-zip` module's work).

use ferry_api::{FileStatus, PublicDownload};
use ferry_app::api_client::ApiError;
use ferry_app::public_share::is_unusable;
use ferry_app::public_transfer::progress_text;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{AbortController, HtmlElement};

use super::Shared;
use crate::dom::{attr, set_title};
use crate::zipper::{self, Event, Failure};
use crate::{http, page, show_unusable};

/// One file alone: counts one download, then the browser saves it from its presigned GET (an
/// encrypted file through the download module, which decrypts it as it streams).
pub(super) fn download_one(transfer: &Shared, index: usize) {
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
pub(super) fn download_all(transfer: &Shared) {
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
