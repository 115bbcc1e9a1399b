//! "Download all" of the recipients' page, as a module of its own (`/ferry-zip.js` and
//! `/ferry-zip_bg.wasm`, unhashed and revalidated): the page loads it only when the button is
//! clicked, so a link's first load carries none of it. One call:
//!
//! `download_all(token, password, access, events, cancel)` picks where the ZIP goes (the
//! download worker, else a file picked with the File System Access API, else it rejects saying
//! so), asks the API for the files (`POST …/archive`, counted as one download), then fetches
//! each file in turn and writes the ZIP. `events` hears `("counted")` once the API has counted
//! the download, `("start", name, total_bytes, files, pending)` and now and then
//! `("progress", done_bytes, file_number)`; aborting `cancel` (an `AbortSignal`) stops it at once. It resolves
//! once the ZIP is complete and rejects with the API's error (`{status, code, message}`) or
//! with the reason in words, after making the download fail rather than complete.
//!
//! For an end-to-end encrypted link the page also passes the link's fragment (`secret`, its
//! key; it never leaves the browser): the ZIP then holds the decrypted files under their
//! decrypted paths. `open_meta(secret, meta)` opens one file's sealed metadata for the page's
//! list, and `download_file(…)` saves one encrypted file, decrypted as it streams ([`single`]).
//! Loaded on such a page, the module also draws the list's sealed thumbnails by itself (`main`).

mod archive;
mod decrypt;
#[allow(dead_code)]
#[path = "../ferry-share/http.rs"]
mod http;
mod save;
mod single;

use ferry_api::{ArchiveGrant, PublicArchive};
use ferry_app::api_client::ApiError;
use ferry_app::crypto::link::TransferKey;
use ferry_app::crypto::thumb_rows;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use decrypt::Opener;
use save::Sink;

/// On an end-to-end encrypted link's page, once loaded (as it is to open the names), the module
/// draws the list's sealed thumbnails as their rows come into view, opened with the key in the
/// link's fragment ([`ferry_app::crypto::thumb_rows`]): the page makes no call for it, so its
/// first load carries nothing of it. Without a key (a plain link), nothing.
fn main() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let key = window
        .location()
        .hash()
        .ok()
        .and_then(|hash| TransferKey::from_fragment(&hash).ok());
    if let (Some(key), Some(body)) = (key, window.document().and_then(|d| d.body())) {
        // A thumbnail is a nicety: without one, a row keeps its icon.
        let _ = thumb_rows::show(&body, key);
    }
}

/// Why "Download all" stopped.
enum Stop {
    Api(ApiError),
    Said(String),
}

impl Stop {
    fn because(what: &str, e: &JsValue) -> Stop {
        Stop::Said(format!("{what} ({}).", archive::js_text(e)))
    }

    fn into_js(self) -> JsValue {
        match self {
            Stop::Said(reason) => JsValue::from_str(&reason),
            Stop::Api(err) => {
                let object = Object::new();
                let _ = Reflect::set(&object, &"status".into(), &err.status.into());
                let _ = Reflect::set(&object, &"code".into(), &err.code.into());
                let _ = Reflect::set(&object, &"message".into(), &err.message.into());
                object.into()
            }
        }
    }
}

/// Everything behind the link as one ZIP, counted as one download (see the module's words).
#[wasm_bindgen]
pub async fn download_all(
    token: String,
    password: Option<String>,
    access: Option<String>,
    events: Function,
    cancel: AbortSignal,
    secret: Option<String>,
) -> Result<(), JsValue> {
    let opener = match secret.as_deref().map(Opener::new).transpose() {
        Ok(opener) => opener,
        Err(why) => return Err(JsValue::from_str(&why)),
    };
    let body = PublicArchive { password, access };
    run(&token, body, &events, &cancel, opener.as_ref())
        .await
        .map_err(Stop::into_js)
}

/// One file's sealed metadata, opened with the link's key: `[name, folder, type, size]`;
/// rejects with the reason in words.
#[wasm_bindgen]
pub async fn open_meta(secret: String, meta: String) -> Result<js_sys::Array, JsValue> {
    let opener = Opener::new(&secret).map_err(|why| JsValue::from_str(&why))?;
    let sealed = ferry_api::encryption::EncryptedMeta {
        meta,
        version: ferry_api::encryption::META_VERSION,
    };
    match opener.secrets(&sealed).await {
        Ok(secrets) => Ok(decrypt::secrets_array(&secrets)),
        Err(e) => Err(JsValue::from_str(&e.to_string())),
    }
}

/// One encrypted file of the link, decrypted as it downloads (see [`single`]).
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub async fn download_file(
    token: String,
    password: Option<String>,
    access: Option<String>,
    file_id: String,
    meta: String,
    secret: String,
    cancel: AbortSignal,
) -> Result<(), JsValue> {
    let opener = Opener::new(&secret).map_err(|why| JsValue::from_str(&why))?;
    let body = ferry_api::PublicDownload {
        password,
        access,
        file_id: Some(file_id),
    };
    single::download(&token, body, &meta, &opener, &cancel)
        .await
        .map_err(Stop::into_js)
}

async fn run(
    token: &str,
    body: PublicArchive,
    events: &Function,
    cancel: &AbortSignal,
    opener: Option<&Opener>,
) -> Result<(), Stop> {
    let worker = if save::worker_possible() {
        Some(
            save::worker()
                .await
                .map_err(|e| Stop::because("The download could not be prepared", &e))?,
        )
    } else {
        None
    };
    // The picker needs the click's user activation: it opens before the API is asked.
    let picked = match &worker {
        Some(_) => None,
        None if save::picker_possible() => Some(
            Sink::through_picker("files.zip")
                .await
                .map_err(|_| Stop::Said("No file was chosen for the ZIP.".into()))?,
        ),
        None => {
            return Err(Stop::Said(
                "This browser cannot save a ZIP while it is written. Download the files one by \
                 one below, or open this link in a current Chrome, Edge or Firefox."
                    .into(),
            ));
        }
    };
    let grant: ArchiveGrant = match http::archive(token, body).await {
        Ok(grant) => grant,
        Err(err) => {
            if let Some(sink) = picked {
                sink.abort("not started");
            }
            return Err(Stop::Api(err));
        }
    };
    let _ = events.call1(&JsValue::NULL, &"counted".into());
    let items = match archive::items(&grant, opener).await {
        Ok(items) => items,
        Err(reason) => {
            if let Some(sink) = picked {
                sink.abort(&reason);
            }
            return Err(Stop::Said(reason));
        }
    };
    let total: u64 = items.iter().map(|i| i.size).sum();
    let sink = match (worker, picked) {
        (_, Some(sink)) => sink,
        (Some(worker), None) => {
            Sink::through_worker(&worker, &grant.name, archive::zip_size(&items))
                .await
                .map_err(|e| {
                    Stop::because("This browser cannot stream the ZIP to a download", &e)
                })?
        }
        (None, None) => return Err(Stop::Said("No place to save the ZIP.".into())),
    };
    let start = js_sys::Array::of5(
        &"start".into(),
        &grant.name.as_str().into(),
        &JsValue::from_f64(total as f64),
        &JsValue::from_f64(grant.files.len() as f64),
        &JsValue::from_f64(f64::from(grant.pending)),
    );
    let _ = events.apply(&JsValue::NULL, &start);
    let now = js_sys::Date::new_0();
    let local = (now.get_time() / 1000.0 - now.get_timezone_offset() * 60.0) as i64;
    match archive::write_zip(&items, opener, &sink, events, cancel, local).await {
        Ok(()) => sink
            .close()
            .await
            .map_err(|e| Stop::because("The ZIP could not be finished", &e)),
        Err(reason) => {
            sink.abort(&reason);
            Err(Stop::Said(reason))
        }
    }
}
