//! The sealing workers: the page hands each encrypted part to a Web Worker running
//! `/ferry-seal.js` (`app/src/crypto/ferry-seal.js`, plain JavaScript, no wasm), which reads the
//! plaintext, encrypts the records, hashes the ciphertext, keeps the sealed part and, when asked,
//! sends it to its presigned URL. The page holds a [`SealedPart`] (a number; dropping it lets the
//! worker forget the bytes) and a [`WorkerSend`] while it goes. Plain parts are hashed there too
//! ([`hash`]). No part's bytes enter the page, so their memory is freed by the workers, which
//! reuse their read buffers and collect often, instead of by the page's collector, which runs
//! rarely (ferry-seal.js says why that matters).
//!
//! The format stays here: [`super::sealing`] works out the part's span and every record's
//! nonce, the worker only places bytes. The workers start with the first upload that needs them
//! ([`warm`] when an encrypted file is prepared; the files page's first load fetches nothing of
//! them) and are kept for the page's life.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use ferry_api::Header;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CryptoKey, MessageEvent, Worker};

use super::CryptoError;
use crate::transfer::{Outcome, browser_owned, outcome};

/// Where the site serves the worker (`index.html` copies it there); the browser tests' server
/// serves the app crate's directory.
const SCRIPT: &str = if cfg!(test) {
    "/src/crypto/ferry-seal.js"
} else {
    "/ferry-seal.js"
};

/// Workers sealing at once: the upload engine seals two parts at a time
/// ([`crate::upload::schedule::HASH_PARALLEL`]), each in its own worker, so on two cores both
/// run beside the main thread.
const WORKERS: usize = 2;

/// What one part asks of a worker.
pub struct Job<'a> {
    pub key: &'a CryptoKey,
    pub file: &'a Blob,
    /// The plaintext bytes of `file` the part's records hold.
    pub plaintext: (u64, u64),
    /// Every record's nonce, in order, 12 bytes each.
    pub nonces: &'a [u8],
    /// Data bytes of a full record.
    pub data_len: u64,
    /// The part's ciphertext bytes.
    pub part_len: u64,
    /// The part's last record is the file's last.
    pub ends_file: bool,
}

/// A request a worker has yet to answer: its id, the worker's index, and its promise's
/// `resolve` and `reject`.
type Owed = (u32, usize, Function, Function);

/// A send's id and listeners: its progress, and its end (the entry is removed when it comes).
type Listening = (u32, Rc<dyn Fn(u64)>, Box<dyn FnOnce(Outcome)>);

/// Started workers, the answers they owe and the sends they run (a few at a time: a scan is all
/// it takes).
struct Pool {
    workers: Vec<Worker>,
    pending: Rc<RefCell<Vec<Owed>>>,
    sends: Rc<RefCell<Vec<Listening>>>,
    /// A worker failed: the pool is gone, and the parts its workers held with it.
    stopped: Rc<Cell<bool>>,
    next_id: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

thread_local! {
    static POOL: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
}

fn failed(err: JsValue) -> CryptoError {
    CryptoError::Backend(
        err.as_string()
            .or_else(|| {
                err.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| "the encryption worker failed".into()),
    )
}

fn field(data: &JsValue, name: &str) -> JsValue {
    Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

/// Hands a worker's message to whoever waits for it: a send's progress or end, else the answer
/// to a `seal` or `peek`.
fn answered(pending: &RefCell<Vec<Owed>>, sends: &RefCell<Vec<Listening>>, data: &JsValue) {
    let Some(id) = field(data, "id").as_f64() else {
        return;
    };
    if let Some(sent) = field(data, "sent").as_f64() {
        let progress = sends
            .borrow()
            .iter()
            .find(|l| f64::from(l.0) == id)
            .map(|l| l.1.clone());
        if let Some(progress) = progress {
            progress(sent as u64);
        }
        return;
    }
    if let Some(status) = field(data, "status").as_f64() {
        let done = {
            let mut sends = sends.borrow_mut();
            let at = sends.iter().position(|l| f64::from(l.0) == id);
            at.map(|at| sends.swap_remove(at).2)
        };
        if let Some(done) = done {
            done(outcome(status as u16, || field(data, "etag").as_string()));
        }
        return;
    }
    let owed = {
        let mut pending = pending.borrow_mut();
        let at = pending.iter().position(|o| f64::from(o.0) == id);
        at.map(|at| pending.swap_remove(at))
    };
    let Some((_, _, resolve, reject)) = owed else {
        return;
    };
    let error = field(data, "error");
    let _ = if error.is_undefined() {
        resolve.call1(&JsValue::NULL, data)
    } else {
        reject.call1(&JsValue::NULL, &error)
    };
}

impl Pool {
    fn start() -> Result<Rc<Self>, CryptoError> {
        let pending: Rc<RefCell<Vec<Owed>>> = Rc::default();
        let sends: Rc<RefCell<Vec<Listening>>> = Rc::default();
        let stopped = Rc::new(Cell::new(false));
        let on_message = {
            let (pending, sends) = (pending.clone(), sends.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                answered(&pending, &sends, &event.data());
            })
        };
        // A worker's script did not load (or threw): everything owed fails, every send ends as
        // unanswered (status 0, so the upload tries again with parts sealed afresh), and the
        // next part starts the workers afresh.
        let on_error = {
            let (pending, sends, stopped) = (pending.clone(), sends.clone(), stopped.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
                stopped.set(true);
                let pool = POOL.with_borrow_mut(Option::take);
                let lost = std::mem::take(&mut *pending.borrow_mut());
                let stop = JsValue::from_str("the encryption worker stopped");
                for (_, _, _, reject) in lost {
                    let _ = reject.call1(&JsValue::NULL, &stop);
                }
                let cut = std::mem::take(&mut *sends.borrow_mut());
                for (_, _, done) in cut {
                    done(Err(0));
                }
                if let Some(pool) = pool {
                    // Not while this closure, which the pool owns, runs.
                    wasm_bindgen_futures::spawn_local(async move {
                        for worker in &pool.workers {
                            worker.terminate();
                        }
                    });
                }
            })
        };
        let mut workers = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let worker = Worker::new(SCRIPT).map_err(failed)?;
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            workers.push(worker);
        }
        Ok(Rc::new(Self {
            workers,
            pending,
            sends,
            stopped,
            next_id: Cell::new(0),
            _on_message: on_message,
            _on_error: on_error,
        }))
    }

    fn shared() -> Result<Rc<Self>, CryptoError> {
        if let Some(pool) = POOL.with_borrow(|pool| pool.clone()) {
            return Ok(pool);
        }
        let pool = Self::start()?;
        POOL.with_borrow_mut(|slot| *slot = Some(pool.clone()));
        Ok(pool)
    }

    /// The worker with the fewest parts in hand.
    fn least_busy(&self) -> usize {
        (0..self.workers.len())
            .min_by_key(|&w| self.pending.borrow().iter().filter(|o| o.1 == w).count())
            .unwrap_or(0)
    }

    fn next_id(&self) -> u32 {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        id
    }

    fn post(&self, worker: usize, message: &JsValue) -> Result<(), JsValue> {
        match self.workers.get(worker) {
            Some(worker) if !self.stopped.get() => worker.post_message(message),
            _ => Err(JsValue::from_str("the encryption worker stopped")),
        }
    }

    /// Posts `request` (whose id is `id`) to worker `worker` and waits for its answer.
    async fn ask(&self, worker: usize, id: u32, request: &JsValue) -> Result<JsValue, CryptoError> {
        let answer = Promise::new(&mut |resolve, reject| {
            self.pending
                .borrow_mut()
                .push((id, worker, resolve, reject));
        });
        if let Err(err) = self.post(worker, request) {
            self.pending.borrow_mut().retain(|o| o.0 != id);
            return Err(failed(err));
        }
        JsFuture::from(answer).await.map_err(failed)
    }
}

/// A request with `fields` set.
fn message(fields: &[(&str, &JsValue)]) -> Result<JsValue, JsValue> {
    let request = Object::new();
    for (name, value) in fields {
        Reflect::set(&request, &(*name).into(), value)?;
    }
    Ok(request.into())
}

/// Starts the workers ahead of the first part (an encrypted upload begins), so the first part
/// does not wait for them.
pub fn warm() {
    let _ = Pool::shared();
}

/// A part sealed and kept by a worker until this is dropped.
pub struct SealedPart {
    pool: Rc<Pool>,
    worker: usize,
    part: u32,
}

/// Seals `job` in a worker: the part, which the worker keeps, and its ciphertext's SHA-256.
pub async fn seal(job: Job<'_>) -> Result<(SealedPart, Vec<u8>), CryptoError> {
    let pool = Pool::shared()?;
    let worker = pool.least_busy();
    let id = pool.next_id();
    // Made before asking, so a part whose sealing nobody awaits any more is let go of as well.
    let part = SealedPart {
        pool: pool.clone(),
        worker,
        part: id,
    };
    let request = message(&[
        ("op", &"seal".into()),
        ("id", &id.into()),
        ("key", job.key),
        ("file", job.file),
        ("start", &(job.plaintext.0 as f64).into()),
        ("end", &(job.plaintext.1 as f64).into()),
        ("nonces", &Uint8Array::from(job.nonces)),
        ("dataLen", &(job.data_len as f64).into()),
        ("partLen", &(job.part_len as f64).into()),
        ("endsFile", &job.ends_file.into()),
    ])
    .map_err(failed)?;
    let answer = pool.ask(worker, id, &request).await?;
    Ok((part, digest_of(&answer)?))
}

/// The SHA-256 of `file`'s bytes `start..end`, read and hashed in a worker (a plain part's
/// checksum: its bytes never enter the page, whose collector would keep them long after).
pub async fn hash(file: &Blob, start: u64, end: u64) -> Result<Vec<u8>, CryptoError> {
    let pool = Pool::shared()?;
    let worker = pool.least_busy();
    let id = pool.next_id();
    let request = message(&[
        ("op", &"hash".into()),
        ("id", &id.into()),
        ("file", file),
        ("start", &(start as f64).into()),
        ("end", &(end as f64).into()),
    ])
    .map_err(failed)?;
    let answer = pool.ask(worker, id, &request).await?;
    digest_of(&answer)
}

/// The `sha256` a worker answered.
fn digest_of(answer: &JsValue) -> Result<Vec<u8>, CryptoError> {
    let digest = field(answer, "sha256");
    if !digest.is_instance_of::<js_sys::ArrayBuffer>() {
        return Err(CryptoError::Backend(
            "the encryption worker gave no checksum".into(),
        ));
    }
    Ok(Uint8Array::new(&digest).to_vec())
}

impl SealedPart {
    /// The worker holding the part still runs (else the part must be sealed again).
    pub fn is_live(&self) -> bool {
        !self.pool.stopped.get()
    }

    /// Sends the part to `url` with `headers` exactly as given (they are signed), from its
    /// worker. Reports like [`crate::transfer::XhrUpload`]: the bytes sent so far, then the
    /// outcome, once. Fails only when the worker cannot take the request.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[Header],
        on_progress: impl Fn(u64) + 'static,
        on_done: impl FnOnce(Outcome) + 'static,
    ) -> Result<WorkerSend, JsValue> {
        let headers: Array = headers
            .iter()
            .filter(|h| !browser_owned(&h.name))
            .map(|h| Array::of2(&h.name.as_str().into(), &h.value.as_str().into()))
            .collect();
        let id = self.pool.next_id();
        let request = message(&[
            ("op", &"send".into()),
            ("id", &id.into()),
            ("part", &self.part.into()),
            ("method", &method.into()),
            ("url", &url.into()),
            ("headers", &headers),
        ])?;
        self.pool
            .sends
            .borrow_mut()
            .push((id, Rc::new(on_progress), Box::new(on_done)));
        if let Err(err) = self.pool.post(self.worker, &request) {
            self.pool.sends.borrow_mut().retain(|l| l.0 != id);
            return Err(err);
        }
        Ok(WorkerSend {
            pool: self.pool.clone(),
            worker: self.worker,
            id,
        })
    }

    /// The sealed bytes, as the worker holds them.
    #[cfg(test)]
    pub async fn blob(&self) -> Result<Blob, CryptoError> {
        let id = self.pool.next_id();
        let request = message(&[
            ("op", &"peek".into()),
            ("id", &id.into()),
            ("part", &self.part.into()),
        ])
        .map_err(failed)?;
        let answer = self.pool.ask(self.worker, id, &request).await?;
        field(&answer, "blob")
            .dyn_into::<Blob>()
            .map_err(|_| CryptoError::Backend("the worker holds no such part".into()))
    }
}

impl Drop for SealedPart {
    fn drop(&mut self) {
        if let Ok(release) = message(&[("op", &"release".into()), ("part", &self.part.into())]) {
            let _ = self.pool.post(self.worker, &release);
        }
    }
}

/// A part on its way from its worker. Dropping it stops it, as [`Self::abort`] does.
pub struct WorkerSend {
    pool: Rc<Pool>,
    worker: usize,
    id: u32,
}

impl WorkerSend {
    /// Stops sending (if it still goes); no completion is reported.
    pub fn abort(&self) {
        let listening = {
            let mut sends = self.pool.sends.borrow_mut();
            let before = sends.len();
            sends.retain(|l| l.0 != self.id);
            sends.len() != before
        };
        if listening && let Ok(abort) = message(&[("op", &"abort".into()), ("id", &self.id.into())])
        {
            let _ = self.pool.post(self.worker, &abort);
        }
    }
}

impl Drop for WorkerSend {
    fn drop(&mut self) {
        self.abort();
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
