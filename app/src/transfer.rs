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
pub(crate) fn browser_owned(name: &str) -> bool {
    ["content-length", "host", "connection", "expect"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// How a send ended: the response's `ETag` (if storage exposed one) or the HTTP status of the
/// refusal (0 when the connection failed).
pub type Outcome = Result<Option<String>, u16>;

/// The outcome of a response with `status`: stored (with its `etag`) on any 2xx, else refused.
pub(crate) fn outcome(status: u16, etag: impl FnOnce() -> Option<String>) -> Outcome {
    if (200..300).contains(&status) {
        Ok(etag())
    } else {
        Err(status)
    }
}

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
                finish(outcome(status, || {
                    xhr.get_response_header("ETag").ok().flatten()
                }));
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

#[cfg(all(test, target_arch = "wasm32"))]
pub(crate) mod browser_tests {
    //! Against wasm-bindgen-test-runner's own HTTP server, the page's origin: it answers any
    //! method on the files it serves (`run.js` among them) with 200 and an `ETag`, 304 when
    //! `If-None-Match` names that ETag, and 404 for a path it has no file for. The sealing
    //! workers' sends are tested with the same helpers (`crypto::seal_worker`'s browser tests).

    use std::cell::{Cell, RefCell};

    use js_sys::{Array, Promise, Uint8Array};
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::Blob;

    use super::*;

    pub(crate) const SERVED: &str = "/run.js";

    fn body(len: usize) -> Blob {
        let parts = Array::of1(&Uint8Array::from(&vec![7u8; len][..]));
        Blob::new_with_u8_array_sequence(&parts).expect("the browser makes a blob")
    }

    pub(crate) fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    /// What one send reported.
    pub(crate) struct Report {
        pub progress: Vec<u64>,
        pub outcome: Outcome,
    }

    /// Starts a send with `start`, handing it the listeners for its progress and its
    /// completion, and waits for the completion it reports.
    pub(crate) async fn reported<S>(
        start: impl FnOnce(Box<dyn Fn(u64)>, Box<dyn FnOnce(Outcome)>) -> Result<S, JsValue>,
    ) -> Report {
        let progress = Rc::new(RefCell::new(Vec::new()));
        let outcome = Rc::new(RefCell::new(None));
        let mut resolve = None;
        let finished = Promise::new(&mut |done, _| resolve = Some(done));
        let resolve = resolve.expect("a promise runs its executor at once");
        let sending = start(
            Box::new({
                let progress = progress.clone();
                move |loaded| progress.borrow_mut().push(loaded)
            }),
            Box::new({
                let outcome = outcome.clone();
                move |result| {
                    *outcome.borrow_mut() = Some(result);
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }),
        )
        .expect("the request starts");
        JsFuture::from(finished)
            .await
            .expect("the promise resolves");
        drop(sending);
        Report {
            progress: progress.take(),
            outcome: outcome.take().expect("a completion was reported"),
        }
    }

    /// Sends `body` and waits for the completion it reports.
    async fn send(method: &str, url: &str, headers: &[Header], body: &Blob) -> Report {
        reported(|progress, done| XhrUpload::start(method, url, headers, body, progress, done))
            .await
    }

    /// The `ETag` the server gives `SERVED`, read without the code under test.
    pub(crate) async fn served_etag() -> String {
        let response = gloo_net::http::Request::get(SERVED)
            .send()
            .await
            .expect("the test server answers");
        response
            .headers()
            .get("ETag")
            .expect("the server sends an ETag")
    }

    #[wasm_bindgen_test]
    async fn a_stored_body_reports_the_etag_and_its_whole_length() {
        let report = send("PUT", SERVED, &[], &body(100_000)).await;
        assert_eq!(report.outcome, Ok(Some(served_etag().await)));
        assert_eq!(
            report.progress.last(),
            Some(&100_000),
            "{:?}",
            report.progress
        );
        assert!(report.progress.windows(2).all(|w| w[0] <= w[1]));
    }

    #[wasm_bindgen_test]
    async fn a_refusal_reports_its_status() {
        let report = send("PUT", "/no-such-object", &[], &body(10)).await;
        assert_eq!(report.outcome, Err(404));
    }

    #[wasm_bindgen_test]
    async fn signed_headers_are_sent_as_given_and_browser_owned_ones_left_out() {
        let etag = served_etag().await;
        let headers = [
            header("Content-Length", "1"),
            header("Host", "example.com"),
            header("If-None-Match", &etag),
        ];
        // The server saw our condition: it answers "not modified" instead of storing.
        let report = send("PUT", SERVED, &headers, &body(10)).await;
        assert_eq!(report.outcome, Err(304));
    }

    #[wasm_bindgen_test]
    async fn a_failed_connection_reports_status_0() {
        // Port 1 is one browsers never connect to.
        let report = send("PUT", "http://127.0.0.1:1/bucket/key", &[], &body(10)).await;
        assert_eq!(report.outcome, Err(0));
    }

    #[wasm_bindgen_test]
    fn a_request_the_browser_refuses_is_an_error_and_never_completes() {
        let completed = Rc::new(Cell::new(false));
        for (method, url, headers) in [
            ("CONNECT", SERVED, vec![]),
            ("PUT", "http://[", vec![]),
            ("PUT", SERVED, vec![header("bad name", "1")]),
        ] {
            let started = XhrUpload::start(method, url, &headers, &body(1), |_| {}, {
                let completed = completed.clone();
                move |_| completed.set(true)
            });
            assert!(started.is_err(), "{method} {url} {headers:?}");
        }
        assert!(!completed.get());
    }

    #[wasm_bindgen_test]
    async fn abort_stops_the_send_and_reports_nothing() {
        let completed = Rc::new(Cell::new(false));
        let upload = XhrUpload::start("PUT", SERVED, &[], &body(100_000), |_| {}, {
            let completed = completed.clone();
            move |_| completed.set(true)
        })
        .expect("the browser starts the request");
        upload.abort();
        assert_eq!(upload.xhr.ready_state(), XmlHttpRequest::UNSENT);
        assert!(upload.xhr.onload().is_none() && upload.xhr.onerror().is_none());
        // A send started after it completes; the aborted one still has said nothing.
        let later = send("PUT", SERVED, &[], &body(10)).await;
        assert!(later.outcome.is_ok());
        assert!(!completed.get());
    }
}
