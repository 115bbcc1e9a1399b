//! Sends a file's bytes straight to its presigned URL with `XMLHttpRequest`, which (unlike
//! `fetch`) reports upload progress. Browser-only; the rules about what to do with the events
//! live in [`crate::upload`].

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::PresignedRequest;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{ProgressEvent, XmlHttpRequest};

use crate::upload::UploadError;

/// Headers the browser sets itself and refuses from scripts (it would log an error).
fn browser_owned(name: &str) -> bool {
    ["content-length", "host", "connection", "expect"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

type Done = Box<dyn FnOnce(Result<(), UploadError>)>;

/// A running PUT. Keep it until it reports completion; dropping it early stops its callbacks.
pub struct XhrUpload {
    xhr: XmlHttpRequest,
    _progress: Closure<dyn FnMut(ProgressEvent)>,
    _load: Closure<dyn FnMut(ProgressEvent)>,
    _error: Closure<dyn FnMut(ProgressEvent)>,
}

impl XhrUpload {
    /// Starts sending `file` as `request` says, with its headers exactly as given.
    pub fn start(
        request: &PresignedRequest,
        file: &web_sys::File,
        on_progress: impl Fn(u64) + 'static,
        on_done: impl FnOnce(Result<(), UploadError>) + 'static,
    ) -> Result<Self, UploadError> {
        let xhr = XmlHttpRequest::new().map_err(|_| UploadError::network())?;
        xhr.open(&request.method, &request.url)
            .map_err(|_| UploadError::network())?;
        for header in request.headers.iter().filter(|h| !browser_owned(&h.name)) {
            xhr.set_request_header(&header.name, &header.value)
                .map_err(|_| UploadError::network())?;
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
                    Ok(())
                } else {
                    Err(UploadError::from_storage_status(status))
                });
            })
        };
        let error = Closure::<dyn FnMut(ProgressEvent)>::new(move |_event: ProgressEvent| {
            finish(Err(UploadError::network()));
        });

        let upload = xhr.upload().map_err(|_| UploadError::network())?;
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        xhr.set_onload(Some(load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(error.as_ref().unchecked_ref()));
        xhr.set_ontimeout(Some(error.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(file))
            .map_err(|_| UploadError::network())?;
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
