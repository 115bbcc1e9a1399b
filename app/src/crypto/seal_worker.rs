//! The sealing workers: the page hands each encrypted part to a Web Worker running
//! `/ferry-seal.js` (`app/src/crypto/ferry-seal.js`, plain JavaScript, no wasm), which reads the
//! plaintext, encrypts the records, hashes the ciphertext and answers the part as a `Blob` to
//! send. The page's main thread only schedules: the bytes never pass through it.
//!
//! The format stays here: [`super::sealing`] works out the part's span and every record's
//! nonce, the worker only places bytes. The workers start when an encrypted file is prepared for
//! upload ([`warm`]; the files page's first load fetches nothing of them) and are kept for the
//! page's life.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CryptoKey, MessageEvent, Worker};

use super::CryptoError;

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

/// Started workers and the answers they owe (a few at a time: a scan is all it takes).
struct Pool {
    workers: Vec<Worker>,
    pending: Rc<RefCell<Vec<Owed>>>,
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

impl Pool {
    fn start() -> Result<Rc<Self>, CryptoError> {
        let pending: Rc<RefCell<Vec<Owed>>> = Rc::default();
        let on_message = {
            let pending = pending.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let id = Reflect::get(&data, &"id".into())
                    .ok()
                    .and_then(|id| id.as_f64());
                let owed = {
                    let mut pending = pending.borrow_mut();
                    let at = pending.iter().position(|o| Some(f64::from(o.0)) == id);
                    at.map(|at| pending.swap_remove(at))
                };
                let Some((_, _, resolve, reject)) = owed else {
                    return;
                };
                let error = Reflect::get(&data, &"error".into()).unwrap_or(JsValue::UNDEFINED);
                let _ = if error.is_undefined() {
                    resolve.call1(&JsValue::NULL, &data)
                } else {
                    reject.call1(&JsValue::NULL, &error)
                };
            })
        };
        // A worker's script did not load (or threw): everything owed fails, and the next part
        // starts the workers afresh.
        let on_error = {
            let pending = pending.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
                let lost = std::mem::take(&mut *pending.borrow_mut());
                let stop = JsValue::from_str("the encryption worker stopped");
                for (_, _, _, reject) in lost {
                    let _ = reject.call1(&JsValue::NULL, &stop);
                }
                if let Some(pool) = POOL.with_borrow_mut(Option::take) {
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
}

/// Starts the workers ahead of the first part (an encrypted upload begins), so the first part
/// does not wait for them.
pub fn warm() {
    let _ = Pool::shared();
}

/// Seals `job` in a worker: the part's ciphertext as a `Blob` and its SHA-256 digest.
pub async fn seal(job: Job<'_>) -> Result<(Blob, Vec<u8>), CryptoError> {
    let pool = Pool::shared()?;
    // The worker with the fewest parts in hand.
    let index = (0..pool.workers.len())
        .min_by_key(|&w| pool.pending.borrow().iter().filter(|o| o.1 == w).count())
        .unwrap_or(0);
    let worker = pool
        .workers
        .get(index)
        .cloned()
        .ok_or_else(|| CryptoError::Backend("no encryption worker".into()))?;
    let id = pool.next_id.get().wrapping_add(1);
    pool.next_id.set(id);

    let request = Object::new();
    let set = |name: &str, value: &JsValue| Reflect::set(&request, &name.into(), value);
    set("id", &id.into()).map_err(failed)?;
    set("key", job.key).map_err(failed)?;
    set("file", job.file).map_err(failed)?;
    set("start", &(job.plaintext.0 as f64).into()).map_err(failed)?;
    set("end", &(job.plaintext.1 as f64).into()).map_err(failed)?;
    set("nonces", &Uint8Array::from(job.nonces)).map_err(failed)?;
    set("dataLen", &(job.data_len as f64).into()).map_err(failed)?;
    set("partLen", &(job.part_len as f64).into()).map_err(failed)?;
    set("endsFile", &job.ends_file.into()).map_err(failed)?;

    let answer = Promise::new(&mut |resolve, reject| {
        pool.pending.borrow_mut().push((id, index, resolve, reject));
    });
    if let Err(err) = worker.post_message(&request) {
        pool.pending.borrow_mut().retain(|o| o.0 != id);
        return Err(failed(err));
    }
    drop(pool);
    let answer = JsFuture::from(answer).await.map_err(failed)?;
    // The sealed bytes are moved here, not copied, and left to this thread's heap once the
    // part's `Blob` holds them: their size is what makes its garbage collector run and free the
    // Blobs of sent parts in time (ferry-seal.js says why they are not recycled).
    let sealed = Reflect::get(&answer, &"part".into()).map_err(failed)?;
    let part = Blob::new_with_buffer_source_sequence(&Array::of1(&sealed)).map_err(failed)?;
    let digest = Reflect::get(&answer, &"sha256".into()).map_err(failed)?;
    Ok((part, Uint8Array::new(&digest).to_vec()))
}
