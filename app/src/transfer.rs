//! Sends a file's bytes (or one part of them, a `Blob.slice`) straight to a presigned URL with
//! `XMLHttpRequest`, which (unlike `fetch`) reports upload progress. The browser streams the
//! blob from disk, so a send holds no copy of the bytes. Browser-only; the rules about what to
//! do with the events live in [`crate::upload`].

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::Header;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ProgressEvent, XmlHttpRequest};

/// Headers the browser sets itself and refuses from scripts (it would log an error).
fn browser_owned(name: &str) -> bool {
    ["content-length", "host", "connection", "expect"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// How a send ended: the response's `ETag` (if storage exposed one) or the HTTP status of the
/// refusal (0 when the connection failed).
pub type Outcome = Result<Option<String>, u16>;

type Done = Box<dyn FnOnce(Outcome)>;

/// A running PUT. Keep it until it reports completion; dropping it early stops its callbacks.
pub struct XhrUpload {
    xhr: XmlHttpRequest,
    _progress: Closure<dyn FnMut(ProgressEvent)>,
    _load: Closure<dyn FnMut(ProgressEvent)>,
    _error: Closure<dyn FnMut(ProgressEvent)>,
}

impl XhrUpload {
    /// Starts sending `body` to `url`, with `headers` exactly as given (they are signed).
    /// Fails only when the browser refuses to start the request.
    pub fn start(
        method: &str,
        url: &str,
        headers: &[Header],
        body: &web_sys::Blob,
        on_progress: impl Fn(u64) + 'static,
        on_done: impl FnOnce(Outcome) + 'static,
    ) -> Result<Self, JsValue> {
        let xhr = XmlHttpRequest::new()?;
        xhr.open(method, url)?;
        for header in headers.iter().filter(|h| !browser_owned(&h.name)) {
            xhr.set_request_header(&header.name, &header.value)?;
        }

        let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(on_done))));
        let finish = {
            let done = done.clone();
            move |result| {
                if let Some(done) = done.borrow_mut().take() {
                    done(result);
                }
            }
        };

        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            on_progress(event.loaded() as u64);
        });
        let load = {
            let finish = finish.clone();
            let xhr = xhr.clone();
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_event: ProgressEvent| {
                let status = xhr.status().unwrap_or(0);
                finish(if (200..300).contains(&status) {
                    Ok(xhr.get_response_header("ETag").ok().flatten())
                } else {
                    Err(status)
                });
            })
        };
        let error = Closure::<dyn FnMut(ProgressEvent)>::new(move |_event: ProgressEvent| {
            finish(Err(0));
        });

        let upload = xhr.upload()?;
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        xhr.set_onload(Some(load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(error.as_ref().unchecked_ref()));
        xhr.set_ontimeout(Some(error.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(body))?;
        Ok(Self {
            xhr,
            _progress: progress,
            _load: load,
            _error: error,
        })
    }

    /// Stops sending; no completion is reported.
    pub fn abort(&self) {
        self.xhr.set_onload(None);
        self.xhr.set_onerror(None);
        self.xhr.set_ontimeout(None);
        if let Ok(upload) = self.xhr.upload() {
            upload.set_onprogress(None);
        }
        let _ = self.xhr.abort();
    }
}
