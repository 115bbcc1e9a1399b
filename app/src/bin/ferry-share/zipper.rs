//! "Download all" lives in a module of its own (`/ferry-zip.js`, the `ferry-zip` binary), loaded
//! on first use through a small module script (a dynamic `import()` would need a wasm-bindgen
//! snippet, which trunk preloads on every page), so the page's first load carries none of it. This starts it and turns what it
//! reports into calls on the page.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use ferry_app::api_client::ApiError;

/// Beside the site's other files, unhashed (the page names it), revalidated on every load: a
/// small module script that imports `/ferry-zip.js`, starts it and sets `window.ferryZip`.
const LOADER: &str = "/ferry-zip-loader.js";

/// The module's namespace, once its loader has run (the page adds the loader at most once).
async fn module() -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let ready = Reflect::get(&window, &"ferryZip".into())?;
    if ready.is_undefined() {
        let document = window.document().ok_or("no document")?;
        let script = document.create_element("script")?;
        script.set_attribute("type", "module")?;
        script.set_attribute("src", LOADER)?;
        let loaded = Promise::new(&mut |resolve, reject| {
            let on = |event: &str, f: Function| {
                let _ = script.add_event_listener_with_callback(event, &f);
            };
            on("load", resolve);
            on("error", reject);
        });
        document.head().ok_or("no head")?.append_child(&script)?;
        JsFuture::from(loaded).await?;
    }
    JsFuture::from(Reflect::get(&window, &"ferryZip".into())?.dyn_into::<Promise>()?).await
}

/// Why "Download all" did not finish.
pub enum Failure {
    /// The API refused (the link may be used up, expired, …).
    Api(ApiError),
    /// Anything else, in words.
    Said(String),
}

/// What the module reports while it works.
pub enum Event {
    /// The API counted the download.
    Counted,
    Start {
        name: String,
        total: u64,
        files: usize,
        pending: u32,
    },
    Progress {
        done: u64,
        file: usize,
    },
}

/// The module's function `name`.
async fn function(name: &str) -> Result<Function, Failure> {
    let module = module()
        .await
        .map_err(|e| said("The ZIP writer could not be loaded", &e))?;
    Reflect::get(&module, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Failure::Said("The ZIP writer could not be loaded.".into()))
}

/// Calls the module's `name` with `args` and waits for its promise.
async fn call(name: &str, args: &js_sys::Array) -> Result<JsValue, Failure> {
    let run = function(name)
        .await?
        .apply(&JsValue::NULL, args)
        .and_then(|p| p.dyn_into::<Promise>());
    let result = match run {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    result.map_err(|e| failure(&e))
}

/// Opens an encrypted file's sealed metadata with the link's key (the fragment, which stays in
/// this browser): its name, folder, type and plaintext size.
pub async fn open_meta(secret: &str, meta: &str) -> Result<Secrets, Failure> {
    let args = js_sys::Array::of2(&secret.into(), &meta.into());
    let opened = call("open_meta", &args).await?;
    // `[name, folder, content_type, size]`: plain values, so this page needs no JSON decoder.
    let at = |i: u32| Reflect::get_u32(&opened, i).unwrap_or(JsValue::UNDEFINED);
    Ok(Secrets {
        name: at(0)
            .as_string()
            .ok_or_else(|| Failure::Said("The file's name could not be read.".into()))?,
        folder: at(1).as_string(),
        content_type: at(2).as_string().unwrap_or_default(),
        size: at(3).as_f64().unwrap_or_default() as u64,
    })
}

/// What an encrypted file's metadata says.
pub struct Secrets {
    pub name: String,
    pub folder: Option<String>,
    pub content_type: String,
    pub size: u64,
}

/// Downloads one encrypted file, decrypted as it streams, under its decrypted name.
pub async fn download_file(
    token: &str,
    key: (Option<String>, Option<String>),
    file_id: &str,
    meta: &str,
    secret: &str,
    cancel: &AbortSignal,
) -> Result<(), Failure> {
    let (password, access) = key;
    let args = js_sys::Array::new();
    for value in [
        token.into(),
        password.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        access.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        file_id.into(),
        meta.into(),
        secret.into(),
        cancel.into(),
    ] {
        args.push(&value);
    }
    call("download_file", &args).await.map(|_| ())
}

/// Loads the module (once per page) and runs "Download all" with the visitor's key (and, for
/// an encrypted link, the link's key).
pub async fn download_all(
    token: &str,
    password: Option<String>,
    access: Option<String>,
    mut on_event: impl FnMut(Event) + 'static,
    cancel: &AbortSignal,
    secret: Option<String>,
) -> Result<(), Failure> {
    let events = Closure::<dyn FnMut(String, JsValue, JsValue, JsValue, JsValue)>::new(
        move |kind: String, a: JsValue, b: JsValue, c: JsValue, d: JsValue| {
            let n = |v: &JsValue| v.as_f64().unwrap_or_default();
            on_event(match kind.as_str() {
                "counted" => Event::Counted,
                "start" => Event::Start {
                    name: a.as_string().unwrap_or_default(),
                    total: n(&b) as u64,
                    files: n(&c) as usize,
                    pending: n(&d) as u32,
                },
                _ => Event::Progress {
                    done: n(&a) as u64,
                    file: n(&b) as usize,
                },
            })
        },
    );
    let args = js_sys::Array::of5(
        &token.into(),
        &password.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        &access.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
        events.as_ref(),
        cancel,
    );
    args.push(&secret.map(JsValue::from).unwrap_or(JsValue::UNDEFINED));
    call("download_all", &args).await.map(|_| ())
}

/// The module's rejection: the API's error, or the reason in words.
fn failure(e: &JsValue) -> Failure {
    match Reflect::get(e, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
    {
        Some(code) => Failure::Api(ApiError {
            status: Reflect::get(e, &"status".into())
                .ok()
                .and_then(|s| s.as_f64())
                .unwrap_or_default() as u16,
            code,
            message: Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_default(),
        }),
        None => Failure::Said(text(e)),
    }
}

fn said(what: &str, e: &JsValue) -> Failure {
    Failure::Said(format!("{what} ({}).", text(e)))
}

/// A thrown JavaScript value, or the module's reason, as text.
fn text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
