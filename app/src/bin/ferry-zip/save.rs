//! Where a "Download all" ZIP goes while it is written: a stream the download worker
//! (`/sw.js`, scope `/__ferry/`) answers a hidden frame's request with, so the browser saves it
//! as a normal download; else a file picked with the File System Access API; else nothing, and
//! the page says so. Either way only the chunk in flight is held.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Element, MessageChannel, MessageEvent, MessagePort, RegistrationOptions, ServiceWorker,
    ServiceWorkerRegistration, ServiceWorkerState, WritableStream, WritableStreamDefaultWriter,
};

/// The worker's script and the only paths it answers.
const WORKER: &str = "/sw.js";
const SCOPE: &str = "/__ferry/";

/// Whether this browser can have the download worker at all.
pub fn worker_possible() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    window.is_secure_context()
        && Reflect::has(&window.navigator(), &"serviceWorker".into()).unwrap_or(false)
        && Reflect::has(&window, &"ReadableStream".into()).unwrap_or(false)
}

/// Whether the File System Access API can save a file.
pub fn picker_possible() -> bool {
    web_sys::window()
        .and_then(|w| Reflect::get(&w, &"showSaveFilePicker".into()).ok())
        .is_some_and(|f| f.is_function())
}

/// Registers the download worker (again: registering is idempotent) and waits until it runs.
pub async fn worker() -> Result<ServiceWorker, JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let options = RegistrationOptions::new();
    options.set_scope(SCOPE);
    let registration: ServiceWorkerRegistration = JsFuture::from(
        window
            .navigator()
            .service_worker()
            .register_with_options(WORKER, &options),
    )
    .await?
    .dyn_into()?;
    if let Some(active) = registration.active() {
        return Ok(active);
    }
    let starting = registration
        .installing()
        .or_else(|| registration.waiting())
        .ok_or("the download worker did not start")?;
    let settled = Promise::new(&mut |resolve, _reject| {
        let worker = starting.clone();
        let check = Closure::<dyn FnMut()>::new(move || {
            if matches!(
                worker.state(),
                ServiceWorkerState::Activated | ServiceWorkerState::Redundant
            ) {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        starting.set_onstatechange(Some(check.as_ref().unchecked_ref()));
        let _ = check
            .as_ref()
            .unchecked_ref::<Function>()
            .call0(&JsValue::NULL);
        check.forget();
    });
    JsFuture::from(settled).await?;
    registration
        .active()
        .ok_or_else(|| "the download worker stopped".into())
}

/// An open destination for the ZIP's bytes.
pub struct Sink {
    to: To,
    /// Swallows the rejections of writes that an abort leaves behind (they are reported once,
    /// through `ready`), so the console stays clean.
    ignore: Closure<dyn FnMut(JsValue)>,
    frame: Option<Element>,
    keep_alive: Option<(i32, Closure<dyn FnMut()>)>,
}

enum To {
    /// A picked file's stream.
    Writer(WritableStreamDefaultWriter),
    /// The download worker's stream, fed chunk by chunk as it asks (see `sw.js`).
    Worker(Port),
}

/// The page's end of the channel to the worker's stream. Each chunk's buffer is transferred,
/// not copied, and only as many are sent as the worker asked for (`pull`), so the browser's
/// pace of saving sets the pace of fetching.
struct Port {
    port: MessagePort,
    state: Rc<RefCell<Credit>>,
    _listen: Closure<dyn FnMut(MessageEvent)>,
}

#[derive(Default)]
struct Credit {
    /// Chunks the worker asked for and has not had yet.
    wanted: u32,
    /// Wakes a write that waits for `wanted`.
    waiting: Option<Function>,
    /// The worker's stream was cancelled (the download stopped in the browser).
    cancelled: Option<String>,
    /// The worker has set up the stream.
    ready: bool,
}

impl Port {
    fn new(port: MessagePort) -> Port {
        let state = Rc::new(RefCell::new(Credit::default()));
        let seen = state.clone();
        let listen = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let mut credit = seen.borrow_mut();
            match data.as_string().as_deref() {
                Some("pull") => credit.wanted += 1,
                Some("ready") => credit.ready = true,
                _ => {
                    let reason = Reflect::get(&data, &"cancel".into()).ok();
                    credit.cancelled = Some(
                        reason
                            .and_then(|r| r.as_string())
                            .unwrap_or_else(|| "cancelled".into()),
                    );
                }
            }
            if let Some(wake) = credit.waiting.take() {
                let _ = wake.call0(&JsValue::NULL);
            }
        });
        port.set_onmessage(Some(listen.as_ref().unchecked_ref()));
        Port {
            port,
            state,
            _listen: listen,
        }
    }

    /// Waits until `ready(credit)` holds (or the stream was cancelled).
    async fn until(&self, ready: impl Fn(&Credit) -> bool) -> Result<(), JsValue> {
        loop {
            let wait = {
                let mut credit = self.state.borrow_mut();
                if let Some(reason) = &credit.cancelled {
                    return Err(JsValue::from_str(&format!(
                        "the download was cancelled ({reason})"
                    )));
                }
                if ready(&credit) {
                    return Ok(());
                }
                Promise::new(&mut |resolve, _| credit.waiting = Some(resolve))
            };
            JsFuture::from(wait).await?;
        }
    }

    async fn write(&self, bytes: &Uint8Array) -> Result<(), JsValue> {
        self.until(|c| c.wanted > 0).await?;
        self.state.borrow_mut().wanted -= 1;
        let message = Object::new();
        Reflect::set(&message, &"chunk".into(), bytes)?;
        self.port
            .post_message_with_transferable(&message, &Array::of1(&bytes.buffer()))
    }

    fn send(&self, key: &str, value: &JsValue) {
        let message = Object::new();
        let _ = Reflect::set(&message, &key.into(), value);
        let _ = self.port.post_message(&message);
    }
}

impl Sink {
    /// A stream the worker hands to the browser as the download `name` of `size` bytes.
    pub async fn through_worker(
        worker: &ServiceWorker,
        name: &str,
        size: u64,
    ) -> Result<Sink, JsValue> {
        Self::through_worker_as(worker, name, size, "zip").await
    }

    /// As [`Sink::through_worker`], saved as `kind`: `zip` (a ZIP) or `file` (any file, sent
    /// as `application/octet-stream`: its real type came from the sender).
    pub async fn through_worker_as(
        worker: &ServiceWorker,
        name: &str,
        size: u64,
        kind: &str,
    ) -> Result<Sink, JsValue> {
        let channel = MessageChannel::new()?;
        let id = web_sys::window()
            .ok_or("no window")?
            .crypto()?
            .random_uuid();
        let message = Object::new();
        for (key, value) in [
            ("type", JsValue::from_str("ferry-zip")),
            ("id", JsValue::from_str(&id)),
            ("name", JsValue::from_str(name)),
            ("size", JsValue::from_f64(size as f64)),
            ("kind", JsValue::from_str(kind)),
        ] {
            Reflect::set(&message, &key.into(), &value)?;
        }
        let port = Port::new(channel.port1());
        worker.post_message_with_transferable(&message, &Array::of1(&channel.port2()))?;
        port.until(|c| c.ready).await?;

        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let frame = document.create_element("iframe")?;
        for (name, value) in [
            ("hidden", ""),
            ("title", "Download"),
            ("src", &format!("{SCOPE}zip/{id}")),
        ] {
            frame.set_attribute(name, value)?;
        }
        if let Some(body) = document.body() {
            body.append_child(&frame)?;
        }
        // The worker may be stopped when idle; a message now and then keeps it streaming.
        let ping_worker = worker.clone();
        let ping = Closure::<dyn FnMut()>::new(move || {
            let ping = Object::new();
            let _ = Reflect::set(&ping, &"type".into(), &"ferry-ping".into());
            let _ = ping_worker.post_message(&ping);
        });
        let interval = web_sys::window()
            .ok_or("no window")?
            .set_interval_with_callback_and_timeout_and_arguments_0(
                ping.as_ref().unchecked_ref(),
                10_000,
            )?;
        Ok(Sink {
            to: To::Worker(port),
            ignore: Closure::new(|_| {}),
            frame: Some(frame),
            keep_alive: Some((interval, ping)),
        })
    }

    /// A file the visitor picks (File System Access API). Must run soon after a click.
    pub async fn through_picker(name: &str) -> Result<Sink, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let pick: Function = Reflect::get(&window, &"showSaveFilePicker".into())?.dyn_into()?;
        let options = Object::new();
        Reflect::set(&options, &"suggestedName".into(), &name.into())?;
        let handle = JsFuture::from(pick.call1(&window, &options)?.dyn_into::<Promise>()?).await?;
        let create: Function = Reflect::get(&handle, &"createWritable".into())?.dyn_into()?;
        let stream: WritableStream = JsFuture::from(create.call0(&handle)?.dyn_into::<Promise>()?)
            .await?
            .dyn_into()?;
        Ok(Sink::new(stream.get_writer()?, None, None))
    }

    fn new(
        writer: WritableStreamDefaultWriter,
        frame: Option<Element>,
        keep_alive: Option<(i32, Closure<dyn FnMut()>)>,
    ) -> Sink {
        let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
        let _ = writer.closed().catch(&ignore);
        Sink {
            to: To::Writer(writer),
            ignore,
            frame,
            keep_alive,
        }
    }

    /// Waits until the reader wants more (backpressure), then queues `bytes` (whose buffer may
    /// be handed over: not to be used after). Fails when the download was stopped on the
    /// browser's side.
    pub async fn write(&self, bytes: &Uint8Array) -> Result<(), JsValue> {
        match &self.to {
            To::Writer(writer) => {
                JsFuture::from(writer.ready()).await?;
                let _ = writer.write_with_chunk(bytes).catch(&self.ignore);
                Ok(())
            }
            To::Worker(port) => port.write(bytes).await,
        }
    }

    /// All bytes written: the download completes.
    pub async fn close(self) -> Result<(), JsValue> {
        let closed = match &self.to {
            To::Writer(writer) => JsFuture::from(writer.close()).await.map(|_| ()),
            To::Worker(port) => {
                port.send("done", &JsValue::TRUE);
                Ok(())
            }
        };
        self.stop();
        closed
    }

    /// Something failed or the visitor cancelled: the download fails instead of completing
    /// (a picked file is discarded).
    pub fn abort(self, reason: &str) {
        match &self.to {
            To::Writer(writer) => {
                let _ = writer
                    .abort_with_reason(&JsValue::from_str(reason))
                    .catch(&self.ignore);
            }
            To::Worker(port) => port.send("error", &JsValue::from_str(reason)),
        }
        self.stop();
    }

    fn stop(self) {
        if let To::Worker(port) = &self.to {
            // Late `pull`s must not reach a listener that is about to be dropped.
            port.port.set_onmessage(None);
            port.port.close();
        }
        if let Some((interval, _ping)) = &self.keep_alive
            && let Some(window) = web_sys::window()
        {
            window.clear_interval_with_handle(*interval);
        }
        if let Some(frame) = &self.frame {
            // Leave the frame a moment: removing it at once can cancel a download Chromium
            // has not yet handed to its download manager.
            let frame = frame.clone();
            let remove = Closure::once_into_js(move || frame.remove());
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    remove.unchecked_ref(),
                    60_000,
                );
            }
        }
        // Outstanding write promises may still settle: their handler must outlive this.
        self.ignore.forget();
    }
}
