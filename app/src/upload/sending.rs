//! What a send carries and the send on its way: a plain file's bytes as a slice of the picked
//! file, which the page's `XMLHttpRequest` streams from disk ([`crate::transfer`]), or an
//! encrypted part, which the sealing worker that holds it sends itself
//! ([`crate::crypto::seal_worker`]), so its bytes never enter the page.

use ferry_api::Header;
use wasm_bindgen::JsValue;

use crate::crypto::seal_worker::{SealedPart, WorkerSend};
use crate::transfer::{Outcome, XhrUpload};

/// The bytes of one request.
pub(super) enum Body<'a> {
    Slice(web_sys::Blob),
    Sealed(&'a SealedPart),
}

/// A send on its way. Keep it until it reports; [`Self::abort`] stops it silently.
pub(super) enum Sending {
    Page(XhrUpload),
    Worker(WorkerSend),
}

impl Body<'_> {
    /// Starts sending to `url` with `headers` exactly as given (they are signed): `on_progress`
    /// hears the bytes sent so far, `on_done` the outcome, once. Fails only when the request
    /// cannot start.
    pub fn start(
        &self,
        method: &str,
        url: &str,
        headers: &[Header],
        on_progress: impl Fn(u64) + 'static,
        on_done: impl FnOnce(Outcome) + 'static,
    ) -> Result<Sending, JsValue> {
        match self {
            Self::Slice(blob) => XhrUpload::start(method, url, headers, blob, on_progress, on_done)
                .map(Sending::Page),
            Self::Sealed(part) => part
                .send(method, url, headers, on_progress, on_done)
                .map(Sending::Worker),
        }
    }
}

impl Sending {
    pub fn abort(&self) {
        match self {
            Self::Page(xhr) => xhr.abort(),
            Self::Worker(send) => send.abort(),
        }
    }
}
