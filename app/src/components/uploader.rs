//! Runs the upload queue in the browser. Files up to the site's multipart threshold go in one
//! checked `PUT` (SHA-256 of the file, then the API ticket, then the XHR); larger ones go in
//! parts through [`crate::multipart::PartScheduler`]: each part hashed with WebCrypto, its URL
//! asked for in batches, several parts sent at once, retried and renewed, then completed.
//!
//! A multipart upload pauses and resumes, and survives a reload: its record lives in
//! `localStorage` ([`crate::resume`]) and the same file, picked again, carries on with the parts
//! object storage lacks.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ferry_api::parts::DEFAULT_MULTIPART_THRESHOLD;
use ferry_api::{
    CompleteUpload, FileStatus, PartChecksum, PartLayout, PartUrl, PartUrlsRequest, codes,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::library::Library;
use crate::api_client::{Api, ApiError, NewUpload};
use crate::auth::flow::{Auth, now_ms};
use crate::checksum;
use crate::multipart::{PARALLEL_PARTS, PartScheduler, SendFailure, Step, backoff_ms};
use crate::resume::{self, FileIdentity, ResumeRecord};
use crate::transfer::XhrUpload;
use crate::upload::{Attempt, ErrorKind, UploadError, UploadId, UploadQueue};

/// Finished rows leave the panel after this long (the file list shows them from then on).
const DONE_LINGER: Duration = Duration::from_secs(4);
/// How soon after its upload a file is asked about (then every 2 s while it is pending).
const READY_CHECK: Duration = Duration::from_millis(300);
/// The progress bar redraws at most this often (parts report many times a second each).
const PROGRESS_EVERY_MS: i64 = 100;
/// The resume record is rewritten at most this often while parts arrive (so a reload loses
/// little of this browser's count; object storage's list is the authority anyway).
const SAVE_EVERY_MS: i64 = 250;
/// Completion tries when the API cannot be reached, and reconciliations when it is refused.
const MAX_COMPLETE_TRIES: u32 = 5;
const MAX_RECONCILES: u32 = 2;

/// One multipart upload in this page: the file, the scheduler and the sends on their way.
struct Session {
    file: web_sys::File,
    file_id: String,
    account_email: String,
    sample_sha256: String,
    sched: PartScheduler,
    /// The queue's try that drives the session now; reports of older tries are dropped.
    attempt: Attempt,
    urls: VecMap<u32, PartUrl>,
    sends: VecMap<u32, XhrUpload>,
    wake: Option<TimeoutHandle>,
    last_progress_ms: i64,
    last_saved_ms: i64,
    reconciles: u32,
    complete_tries: u32,
}

impl Session {
    fn record(&self) -> ResumeRecord {
        let plan = self.sched.plan();
        ResumeRecord {
            account_email: self.account_email.clone(),
            file_id: self.file_id.clone(),
            name: self.file.name(),
            size: plan.size,
            last_modified: self.file.last_modified() as i64,
            sample_sha256: self.sample_sha256.clone(),
            part_size: plan.part_size,
            part_count: plan.part_count,
            parts: self.sched.completed_parts(),
            saved_at_ms: now_ms(),
        }
    }

    /// Stops every send and timer (pause, failure, cancel).
    fn halt(&mut self) {
        for (_, send) in self.sends.drain() {
            send.abort();
        }
        if let Some(wake) = self.wake.take() {
            wake.clear();
        }
    }

    fn slice(&self, number: u32) -> Option<web_sys::Blob> {
        let (start, end) = self.sched.plan().range(number)?;
        self.file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .ok()
    }
}

type Shared = Rc<RefCell<Session>>;

/// A map kept as a list: it holds a handful of entries (uploads in the queue, parts on their
/// way), and each `HashMap` type costs ~1 KB of wasm for its hashing and probing.
struct VecMap<K, V>(Vec<(K, V)>);

impl<K: Copy + PartialEq, V> VecMap<K, V> {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn insert(&mut self, key: K, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.swap_remove(at).1)
    }

    fn drain(&mut self) -> std::vec::Drain<'_, (K, V)> {
        self.0.drain(..)
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// Where a multipart try starts from.
enum Start {
    Fresh,
    Resumed(Shared),
    /// An earlier try completed the upload already.
    AlreadyDone(ferry_api::File),
}

/// `Copy` handle, created once for the app so uploads survive page changes.
#[derive(Clone, Copy)]
pub struct Uploader {
    pub queue: RwSignal<UploadQueue>,
    /// What this browser remembers of unfinished multipart uploads (every account).
    pub resumable: RwSignal<Vec<ResumeRecord>>,
    /// The pending file record each upload created.
    records: RwSignal<VecMap<UploadId, String>>,
    /// The files picked, kept for retries.
    sources: StoredValue<VecMap<UploadId, web_sys::File>, LocalStorage>,
    running: StoredValue<VecMap<UploadId, XhrUpload>, LocalStorage>,
    sessions: StoredValue<VecMap<UploadId, Shared>, LocalStorage>,
    api: Api,
    auth: Auth,
    library: Library,
}

impl Uploader {
    pub fn new(api: Api, auth: Auth, library: Library) -> Self {
        Self {
            queue: RwSignal::new(UploadQueue::default()),
            resumable: RwSignal::new(resume::load()),
            records: RwSignal::new(VecMap::new()),
            sources: StoredValue::new_local(VecMap::new()),
            running: StoredValue::new_local(VecMap::new()),
            sessions: StoredValue::new_local(VecMap::new()),
            api,
            auth,
            library,
        }
    }

    fn threshold(&self) -> u64 {
        self.auth
            .config()
            .multipart_threshold
            .unwrap_or(DEFAULT_MULTIPART_THRESHOLD)
    }

    /// The signed-in account's e-mail, which resume records are kept under.
    fn account_email(&self) -> String {
        self.auth.email().unwrap_or_default()
    }

    pub fn add(&self, files: Vec<web_sys::File>) {
        for file in files {
            let size = file.size() as u64;
            if let Some(id) = self.queue.try_update(|q| q.add(file.name(), size)) {
                self.sources.update_value(|s| {
                    s.insert(id, file);
                });
            }
        }
        self.pump();
    }

    fn pump(&self) {
        let started = self
            .queue
            .try_update(|q| q.start_next(now_ms()))
            .unwrap_or_default();
        for attempt in started {
            let this = *self;
            spawn_local(async move { this.run(attempt).await });
        }
    }

    fn is_current(&self, attempt: Attempt) -> bool {
        self.queue.with_untracked(|q| {
            q.get(attempt.id)
                .is_some_and(|u| u.attempts == attempt.number && u.phase.is_active())
        })
    }

    fn fail(&self, attempt: Attempt, error: UploadError) {
        self.queue.try_update(|q| q.fail(attempt, error));
        self.pump();
    }

    async fn run(self, attempt: Attempt) {
        let Some(file) = self.sources.with_value(|s| s.get(&attempt.id).cloned()) else {
            return;
        };
        if file.size() as u64 > self.threshold() {
            self.run_multipart(attempt, file).await;
        } else {
            self.run_single(attempt, file).await;
        }
    }

    fn new_upload(file: &web_sys::File, sha256: Option<String>) -> NewUpload {
        let content_type = file.type_();
        NewUpload {
            name: file.name(),
            size: file.size() as u64,
            content_type: (!content_type.is_empty()).then_some(content_type),
            sha256,
        }
    }

    // ---------------------------------------------------------------------------------------
    // One checked PUT.

    async fn run_single(self, attempt: Attempt, file: web_sys::File) {
        // WebCrypto has no streaming digest: below the multipart threshold the file is read
        // into memory once to hash it.
        self.queue.try_update(|q| {
            q.note(attempt, Some("Computing checksum…".to_owned()));
        });
        let sha256 = match checksum::sha256(&file).await {
            Ok(sha) => sha,
            Err(_) => return self.fail(attempt, unreadable()),
        };
        if !self.is_current(attempt) {
            return;
        }
        self.queue.try_update(|q| q.note(attempt, None));
        let ticket = match self
            .api
            .create_upload(&Self::new_upload(&file, Some(sha256)))
            .await
        {
            Ok(ticket) => ticket,
            Err(err) => return self.fail(attempt, UploadError::from_api(&err)),
        };
        if !self.is_current(attempt) {
            // Cancelled while asking: give the reserved space back.
            let api = self.api;
            spawn_local(async move {
                let _ = api.delete_file(&ticket.file.id).await;
            });
            return;
        }
        self.library.upsert(ticket.file.clone());
        self.records.update(|r| {
            r.insert(attempt.id, ticket.file.id.clone());
        });
        self.queue.try_update(|q| q.sending(attempt, now_ms()));
        let queue = self.queue;
        let this = self;
        let started = XhrUpload::start(
            &ticket.upload.method,
            &ticket.upload.url,
            &ticket.upload.headers,
            &file,
            move |sent| {
                queue.try_update(|q| q.progress(attempt, sent, now_ms()));
            },
            move |outcome| {
                this.single_done(
                    attempt,
                    outcome.map(drop).map_err(UploadError::from_storage_status),
                )
            },
        );
        match started {
            Ok(xhr) => self.running.update_value(|r| {
                r.insert(attempt.id, xhr);
            }),
            Err(_) => self.single_done(attempt, Err(UploadError::network())),
        }
    }

    fn single_done(self, attempt: Attempt, result: Result<(), UploadError>) {
        let id = attempt.id;
        // The request's callbacks are running right now: drop it afterwards.
        set_timeout(
            move || {
                self.running.try_update_value(|r| r.remove(&id));
            },
            Duration::ZERO,
        );
        match result {
            Ok(()) => self.finished(attempt),
            Err(err) => {
                self.queue.try_update(|q| q.fail(attempt, err));
                self.discard_record(id);
            }
        }
        self.pump();
    }

    /// Storage has every byte: the row says so, then leaves.
    fn finished(self, attempt: Attempt) {
        let id = attempt.id;
        if self
            .queue
            .try_update(|q| q.finish(attempt, now_ms()))
            .unwrap_or(false)
        {
            self.records.update(|r| {
                r.remove(&id);
            });
            self.sources.update_value(|s| {
                s.remove(&id);
            });
            set_timeout(move || self.dismiss(id), DONE_LINGER);
            // Storage's event marks the file ready moments after its bytes are in: ask then,
            // rather than at the file list's next regular poll.
            let library = self.library;
            set_timeout(move || spawn_local(library.refresh_pending()), READY_CHECK);
        }
    }

    /// The pending record of an upload that will not complete: remove it everywhere.
    fn discard_record(&self, id: UploadId) {
        let Some(file_id) = self.records.try_update(|r| r.remove(&id)).flatten() else {
            return;
        };
        self.forget(&file_id);
        self.library.remove(&file_id);
        let api = self.api;
        spawn_local(async move {
            let _ = api.delete_file(&file_id).await;
        });
    }

    // ---------------------------------------------------------------------------------------
    // Multipart.

    async fn run_multipart(self, attempt: Attempt, file: web_sys::File) {
        self.queue.try_update(|q| q.multipart(attempt));
        let id = attempt.id;
        let session = match self.sessions.with_value(|s| s.get(&id).cloned()) {
            // Resumed after a pause or a failure in this page.
            Some(session) => {
                let mut s = session.borrow_mut();
                s.attempt = attempt;
                s.sched.resume();
                s.reconciles = 0;
                s.complete_tries = 0;
                drop(s);
                session
            }
            None => match self.open_session(attempt, file).await {
                Ok(Some(session)) => session,
                Ok(None) => return,
                Err(err) => return self.fail(attempt, err),
            },
        };
        if !self.is_current(attempt) {
            return;
        }
        let stored = session.borrow().sched.stored_bytes();
        self.queue
            .try_update(|q| q.sending_from(attempt, stored, now_ms()));
        self.drive(id);
    }

    /// Finds the file's earlier upload (this browser's record, checked against object
    /// storage) or starts a new one. `Ok(None)` when there is nothing left to do.
    async fn open_session(
        self,
        attempt: Attempt,
        file: web_sys::File,
    ) -> Result<Option<Shared>, UploadError> {
        let id = attempt.id;
        let size = file.size() as u64;
        self.queue.try_update(|q| {
            q.note(attempt, Some("Checking for an earlier upload…".to_owned()));
        });
        let sample = checksum::sha256_of_ranges(&file, &resume::sample_ranges(size))
            .await
            .map_err(|_| unreadable())?;
        let account_email = self.account_email();
        let identity = FileIdentity {
            name: file.name(),
            size,
            last_modified: file.last_modified() as i64,
        };
        let attached: Vec<String> = self
            .records
            .with_untracked(|r| r.values().cloned().collect());
        let earlier = self.resumable.with_untracked(|all| {
            all.iter()
                .find(|r| {
                    r.is_for(&account_email, &identity)
                        && r.sample_sha256 == sample
                        && !attached.contains(&r.file_id)
                })
                .cloned()
        });
        let start = match earlier {
            Some(record) => self.reopen(attempt, &file, &record).await?,
            None => Start::Fresh,
        };
        if !self.is_current(attempt) {
            return Ok(None);
        }
        let session = match start {
            Start::AlreadyDone(done) => {
                self.forget(&done.id);
                self.library.upsert(done);
                self.finished(attempt);
                self.pump();
                return Ok(None);
            }
            Start::Resumed(session) => session,
            Start::Fresh => {
                self.queue.try_update(|q| q.note(attempt, None));
                let ticket = self
                    .api
                    .create_multipart_upload(&Self::new_upload(&file, None))
                    .await
                    .map_err(|e| UploadError::from_api(&e))?;
                let Some(plan) = PartLayout::announced(size, ticket.part_size, ticket.part_count)
                else {
                    let api = self.api;
                    spawn_local(async move {
                        let _ = api.delete_file(&ticket.file.id).await;
                    });
                    return Err(odd_answer());
                };
                if !self.is_current(attempt) {
                    let api = self.api;
                    spawn_local(async move {
                        let _ = api.delete_file(&ticket.file.id).await;
                    });
                    return Ok(None);
                }
                self.library.upsert(ticket.file.clone());
                Rc::new(RefCell::new(Session {
                    file,
                    file_id: ticket.file.id,
                    account_email,
                    sample_sha256: sample,
                    sched: PartScheduler::new(plan, PARALLEL_PARTS),
                    attempt,
                    urls: VecMap::new(),
                    sends: VecMap::new(),
                    wake: None,
                    last_progress_ms: 0,
                    last_saved_ms: 0,
                    reconciles: 0,
                    complete_tries: 0,
                }))
            }
        };
        let file_id = session.borrow().file_id.clone();
        self.records.update(|r| {
            r.insert(id, file_id);
        });
        self.remember(&session.borrow());
        self.sessions.update_value(|s| {
            s.insert(id, session.clone());
        });
        Ok(Some(session))
    }

    /// Asks object storage what it holds of an earlier upload of this file.
    async fn reopen(
        self,
        attempt: Attempt,
        file: &web_sys::File,
        record: &ResumeRecord,
    ) -> Result<Start, UploadError> {
        match self.api.uploaded_parts(&record.file_id).await {
            Ok(listed) => {
                let Some(plan) =
                    PartLayout::announced(record.size, listed.part_size, listed.part_count)
                else {
                    self.forget(&record.file_id);
                    return Ok(Start::Fresh);
                };
                let mut sched = PartScheduler::new(plan, PARALLEL_PARTS);
                let done = sched.reconcile(&listed.parts, &record.parts);
                self.queue.try_update(|q| {
                    q.note(
                        attempt,
                        Some(format!(
                            "Resuming — {done} of {} parts already uploaded",
                            plan.part_count
                        )),
                    );
                });
                Ok(Start::Resumed(Rc::new(RefCell::new(Session {
                    file: file.clone(),
                    file_id: record.file_id.clone(),
                    account_email: record.account_email.clone(),
                    sample_sha256: record.sample_sha256.clone(),
                    sched,
                    attempt,
                    urls: VecMap::new(),
                    sends: VecMap::new(),
                    wake: None,
                    last_progress_ms: 0,
                    last_saved_ms: 0,
                    reconciles: 0,
                    complete_tries: 0,
                }))))
            }
            Err(err) if err.code == codes::UPLOAD_CLOSED => {
                // Completed (the page closed before it heard back) or failed.
                match self.api.get_file(&record.file_id).await {
                    Ok(done) if done.status != FileStatus::Failed => Ok(Start::AlreadyDone(done)),
                    _ => {
                        self.forget(&record.file_id);
                        Ok(Start::Fresh)
                    }
                }
            }
            Err(err) if gone(&err) => {
                self.forget(&record.file_id);
                Ok(Start::Fresh)
            }
            Err(err) => Err(UploadError::from_api(&err)),
        }
    }

    fn session(&self, id: UploadId) -> Option<Shared> {
        self.sessions.with_value(|s| s.get(&id).cloned())
    }

    /// Asks the scheduler what to do and does it. Called after every report.
    fn drive(self, id: UploadId) {
        let Some(session) = self.session(id) else {
            return;
        };
        let (attempt, steps, failure) = {
            let mut s = session.borrow_mut();
            if !self.is_current(s.attempt) {
                return;
            }
            let steps = s.sched.poll(now_ms());
            (s.attempt, steps, s.sched.failure().cloned())
        };
        if let Some(error) = failure {
            let mut s = session.borrow_mut();
            s.halt();
            self.remember(&s);
            drop(s);
            return self.fail(attempt, error);
        }
        for step in steps {
            match step {
                Step::Hash(number) => spawn_local(self.hash_part(session.clone(), attempt, number)),
                Step::RequestUrls(parts) => {
                    spawn_local(self.request_urls(session.clone(), attempt, parts));
                }
                Step::Send { number, attempt: a } => self.send_part(&session, number, a),
                Step::Complete => spawn_local(self.complete(session.clone(), attempt)),
                Step::WakeAt(at) => {
                    let mut s = session.borrow_mut();
                    if let Some(wake) = s.wake.take() {
                        wake.clear();
                    }
                    let wait = Duration::from_millis((at - now_ms()).max(0) as u64);
                    s.wake = set_timeout_with_handle(move || self.drive(id), wait).ok();
                }
            }
        }
    }

    /// Runs `report` on the session if `attempt` still drives it, then carries on.
    fn report(self, session: &Shared, attempt: Attempt, report: impl FnOnce(&mut Session)) {
        {
            let mut s = session.borrow_mut();
            if s.attempt != attempt {
                return;
            }
            report(&mut s);
        }
        self.show_progress(session, true);
        self.drive(attempt.id);
    }

    async fn hash_part(self, session: Shared, attempt: Attempt, number: u32) {
        let Some(slice) = session.borrow().slice(number) else {
            return self.report(&session, attempt, |s| s.sched.unreadable());
        };
        let result = checksum::sha256(&slice).await;
        self.report(&session, attempt, |s| match result {
            Ok(sha) => s.sched.hashed(number, sha),
            Err(_) => s.sched.unreadable(),
        });
    }

    async fn request_urls(self, session: Shared, attempt: Attempt, parts: Vec<(u32, String)>) {
        let file_id = session.borrow().file_id.clone();
        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
        let request = PartUrlsRequest {
            parts: parts
                .into_iter()
                .map(|(number, sha256)| PartChecksum { number, sha256 })
                .collect(),
        };
        let answer = self.api.part_urls(&file_id, &request).await;
        if let Err(err) = &answer
            && gone(err)
        {
            return self.lost(&session, attempt);
        }
        self.report(&session, attempt, |s| match answer {
            Ok(issued) => {
                for url in issued.parts {
                    s.urls.insert(url.number, url);
                }
                s.sched.urls_issued(&numbers);
            }
            Err(err) => s
                .sched
                .urls_refused(&numbers, UploadError::from_api(&err), now_ms()),
        });
    }

    fn send_part(self, session: &Shared, number: u32, part_attempt: u32) {
        let mut s = session.borrow_mut();
        let attempt = s.attempt;
        let (Some(url), Some(slice)) = (s.urls.get(&number).cloned(), s.slice(number)) else {
            // No URL at hand: ask for one as if it had lapsed.
            s.sched
                .send_failed(number, part_attempt, SendFailure::Status(403), now_ms());
            drop(s);
            return set_timeout(move || self.drive(attempt.id), Duration::ZERO);
        };
        let progress = {
            let session = session.clone();
            move |sent: u64| {
                let Ok(mut s) = session.try_borrow_mut() else {
                    return;
                };
                if s.attempt == attempt {
                    s.sched.progress(number, part_attempt, sent);
                    drop(s);
                    self.show_progress(&session, false);
                }
            }
        };
        let done = {
            let session = session.clone();
            move |outcome| self.part_sent(&session, attempt, number, part_attempt, outcome)
        };
        match XhrUpload::start("PUT", &url.url, &url.headers, &slice, progress, done) {
            Ok(xhr) => {
                s.sends.insert(number, xhr);
            }
            Err(_) => {
                s.sched
                    .send_failed(number, part_attempt, SendFailure::Status(0), now_ms());
                drop(s);
                set_timeout(move || self.drive(attempt.id), Duration::ZERO);
            }
        }
    }

    fn part_sent(
        self,
        session: &Shared,
        attempt: Attempt,
        number: u32,
        part_attempt: u32,
        outcome: crate::transfer::Outcome,
    ) {
        // The request's callbacks are running right now: drop it afterwards.
        let finished = session.borrow_mut().sends.remove(&number);
        set_timeout(move || drop(finished), Duration::ZERO);
        let mut save = false;
        self.report(session, attempt, |s| {
            let now = now_ms();
            match outcome {
                Ok(Some(etag)) => {
                    s.sched.sent(number, part_attempt, etag);
                    save = now - s.last_saved_ms >= SAVE_EVERY_MS;
                }
                Ok(None) => s.sched.stop(UploadError {
                    kind: ErrorKind::Other,
                    message: "Storage did not show the part's ETag (a CORS setting); \
                              the upload cannot be completed."
                        .to_owned(),
                }),
                Err(status) => {
                    if status == 403 {
                        s.urls.remove(&number);
                    }
                    s.sched
                        .send_failed(number, part_attempt, SendFailure::Status(status), now);
                }
            }
        });
        if save {
            let mut s = session.borrow_mut();
            s.last_saved_ms = now_ms();
            self.remember(&s);
        }
    }

    /// Puts the scheduler's progress on the bar, at most every [`PROGRESS_EVERY_MS`] unless
    /// `force`d (a part finished or failed).
    fn show_progress(self, session: &Shared, force: bool) {
        let Ok(mut s) = session.try_borrow_mut() else {
            return;
        };
        let now = now_ms();
        if !force && now - s.last_progress_ms < PROGRESS_EVERY_MS {
            return;
        }
        s.last_progress_ms = now;
        let (attempt, sent) = (s.attempt, s.sched.progress_bytes());
        drop(s);
        self.queue.try_update(|q| q.progress(attempt, sent, now));
    }

    async fn complete(self, session: Shared, attempt: Attempt) {
        let (file_id, parts) = {
            let s = session.borrow();
            (s.file_id.clone(), s.sched.completed_parts())
        };
        let request = CompleteUpload { parts };
        self.show_progress(&session, true);
        let answer = self.api.complete_upload(&file_id, &request).await;
        if session.borrow().attempt != attempt || !self.is_current(attempt) {
            return;
        }
        match answer {
            Ok(file) => {
                self.forget(&file_id);
                self.sessions.update_value(|s| {
                    s.remove(&attempt.id);
                });
                self.library.upsert(file);
                self.finished(attempt);
                self.pump();
            }
            Err(err) if gone(&err) => self.lost(&session, attempt),
            Err(err)
                if (err.code == codes::PART_MISSING || err.code == codes::PART_MISMATCH)
                    && session.borrow().reconciles < MAX_RECONCILES =>
            {
                // Storage lacks or disagrees on some part: ask what it has, send the rest.
                session.borrow_mut().reconciles += 1;
                let listed = self.api.uploaded_parts(&file_id).await;
                self.report(&session, attempt, |s| {
                    s.sched.completion_refused();
                    match listed {
                        Ok(listed) => {
                            let known = s.sched.completed_parts();
                            s.sched.reconcile(&listed.parts, &known);
                        }
                        Err(err) => s.sched.completion_failed(UploadError::from_api(&err)),
                    }
                });
            }
            Err(err) if err.is_network() || err.status >= 500 => {
                let tries = {
                    let mut s = session.borrow_mut();
                    s.complete_tries += 1;
                    s.complete_tries
                };
                if tries >= MAX_COMPLETE_TRIES {
                    return self.report(&session, attempt, |s| {
                        s.sched.completion_failed(UploadError::from_api(&err))
                    });
                }
                set_timeout(
                    move || {
                        self.report(&session, attempt, |s| s.sched.completion_refused());
                    },
                    Duration::from_millis(backoff_ms(tries) as u64),
                );
            }
            Err(err) => self.report(&session, attempt, |s| {
                s.sched.completion_failed(UploadError::from_api(&err))
            }),
        }
    }

    /// The server no longer has the upload (abandoned and cleaned up, or deleted elsewhere):
    /// forget it, so a retry starts afresh.
    fn lost(self, session: &Shared, attempt: Attempt) {
        let file_id = {
            let mut s = session.borrow_mut();
            s.halt();
            s.file_id.clone()
        };
        self.forget(&file_id);
        self.library.remove(&file_id);
        self.records.update(|r| {
            r.remove(&attempt.id);
        });
        self.sessions.update_value(|s| {
            s.remove(&attempt.id);
        });
        self.fail(
            attempt,
            UploadError {
                kind: ErrorKind::Other,
                message: "The unfinished upload was cleaned up on the server. Retry to send the \
                          file again."
                    .to_owned(),
            },
        );
    }

    fn remember(&self, session: &Session) {
        let record = session.record();
        self.resumable.update(|all| resume::upsert(all, record));
        self.resumable.with_untracked(|all| resume::save(all));
    }

    fn forget(&self, file_id: &str) {
        self.resumable.update(|all| resume::remove(all, file_id));
        self.resumable.with_untracked(|all| resume::save(all));
    }

    // ---------------------------------------------------------------------------------------
    // What the buttons do.

    pub fn pause(&self, id: UploadId) {
        let Some(session) = self.session(id) else {
            // Still finding or creating its upload: that try stops where it is.
            if self.queue.try_update(|q| q.pause(id)).flatten().is_some() {
                self.pump();
            }
            return;
        };
        let mut s = session.borrow_mut();
        // Parts on their way are dropped: the bar shows what storage holds.
        let (attempt, stored) = (s.attempt, s.sched.stored_bytes());
        let paused = self.queue.try_update(|q| {
            q.progress(attempt, stored, now_ms());
            q.pause(id)
        });
        if paused.flatten().is_none() {
            return;
        }
        s.sched.pause();
        s.halt();
        self.remember(&s);
        drop(s);
        self.pump();
    }

    pub fn resume(&self, id: UploadId) {
        if self.queue.try_update(|q| q.resume(id)).unwrap_or(false) {
            self.pump();
        }
    }

    pub fn cancel(&self, id: UploadId) {
        if self.queue.try_update(|q| q.cancel(id)).flatten().is_some()
            && let Some(xhr) = self.running.try_update_value(|r| r.remove(&id)).flatten()
        {
            xhr.abort();
        }
        self.drop_session(id);
        self.discard_record(id);
        self.pump();
    }

    fn drop_session(&self, id: UploadId) {
        if let Some(session) = self.sessions.try_update_value(|s| s.remove(&id)).flatten() {
            session.borrow_mut().halt();
        }
    }

    pub fn retry(&self, id: UploadId) {
        if self.queue.try_update(|q| q.retry(id)).unwrap_or(false) {
            self.pump();
        }
    }

    pub fn dismiss(&self, id: UploadId) {
        self.queue.try_update(|q| q.dismiss(id));
        if self.queue.with_untracked(|q| q.get(id).is_none()) {
            self.sources.try_update_value(|s| s.remove(&id));
            // A failed multipart upload dismissed is given up: its parts go too.
            if self.session(id).is_some() {
                self.drop_session(id);
                self.discard_record(id);
            }
        }
    }

    pub fn clear_finished(&self) {
        let finished: Vec<UploadId> = self.queue.with_untracked(|q| {
            q.ids()
                .into_iter()
                .filter(|id| q.get(*id).is_some_and(|u| u.phase.is_finished()))
                .collect()
        });
        for id in finished {
            self.dismiss(id);
        }
    }

    /// The signed-in person's unfinished uploads from earlier visits, not running now.
    pub fn resumable_here(&self) -> Vec<ResumeRecord> {
        let account_email = self.account_email();
        let running: Vec<String> = self.records.with(|r| r.values().cloned().collect());
        self.resumable.with(|all| {
            all.iter()
                .filter(|r| r.account_email == account_email && !running.contains(&r.file_id))
                .cloned()
                .collect()
        })
    }

    /// Gives up an unfinished upload from an earlier visit: its parts and record go.
    pub fn discard(&self, file_id: String) {
        self.forget(&file_id);
        self.library.remove(&file_id);
        let api = self.api;
        spawn_local(async move {
            let _ = api.delete_file(&file_id).await;
        });
    }
}

/// The server no longer knows the upload.
fn gone(err: &ApiError) -> bool {
    err.status == 404 || err.code == codes::UPLOAD_EXPIRED || err.code == codes::NOT_MULTIPART
}

fn unreadable() -> UploadError {
    UploadError {
        kind: ErrorKind::Other,
        message: "The file could not be read. It may have been moved or changed; pick it again."
            .to_owned(),
    }
}

fn odd_answer() -> UploadError {
    UploadError {
        kind: ErrorKind::Other,
        message: "Ferry answered with a part layout that does not fit the file. Retry in a moment."
            .to_owned(),
    }
}
