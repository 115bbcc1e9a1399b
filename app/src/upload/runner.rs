//! The upload runner: the handle the pages hold ([`Uploader`]), what the buttons do (pause,
//! resume, cancel, retry, dismiss, discard) and what every kind of upload shares (starting tries
//! from the queue, finishing, forgetting). One checked `PUT` is in [`super::single`], a
//! multipart upload opens in [`super::opening`] and runs in [`super::drive`].

use std::time::Duration;

use ferry_api::parts::DEFAULT_MULTIPART_THRESHOLD;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::batch::Batch;
use super::encryption;
use super::error::UploadError;
use super::queue::{Attempt, UploadId, UploadQueue};
use super::resume::{self, ResumeRecord};
use super::sending::Sending;
use super::session::{Session, Shared};
use super::target::Target;
use super::vec_map::VecMap;
use crate::api_client::{Api, NewUpload};
use crate::auth::flow::{Auth, now_ms};
use crate::crypto::link::TransferKey;
use crate::library::Library;

/// Finished rows leave the panel after this long (the file list shows them from then on).
const DONE_LINGER: Duration = Duration::from_secs(4);
/// How soon after its upload a file is asked about (then every 2 s while it is pending).
const READY_CHECK: Duration = Duration::from_millis(300);

/// `Copy` handle, created once for the app so uploads survive page changes.
#[derive(Clone, Copy)]
pub struct Uploader {
    pub queue: RwSignal<UploadQueue>,
    /// What this browser remembers of unfinished multipart uploads (every account).
    pub resumable: RwSignal<Vec<ResumeRecord>>,
    /// The pending file record each upload created.
    pub(super) records: RwSignal<VecMap<UploadId, String>>,
    /// The files picked, kept for retries.
    pub(super) sources: StoredValue<VecMap<UploadId, web_sys::File>, LocalStorage>,
    pub(super) running: StoredValue<VecMap<UploadId, Sending>, LocalStorage>,
    pub(super) sessions: StoredValue<VecMap<UploadId, Shared>, LocalStorage>,
    /// "Encrypt end to end" for the next drop or pick (the owner's toggle; never for a guest).
    pub encrypt: RwSignal<bool>,
    /// The transfer key of each encrypted upload: one per drop, shared by its files.
    /// (Or why none could be made: those uploads fail rather than go up unencrypted.)
    pub(super) keys: StoredValue<VecMap<UploadId, Result<TransferKey, UploadError>>, LocalStorage>,
    /// The files of the last drop or pick of several files (or a folder), which one link can
    /// cover ("Share these 12 files").
    pub batch: RwSignal<Option<Batch>>,
    /// System files (`.DS_Store`, …) the last drop or pick left out.
    pub skipped: RwSignal<usize>,
    /// Whose routes the uploads go to.
    pub(super) target: Target,
    auth: Auth,
}

impl Uploader {
    pub fn new(api: Api, auth: Auth, library: Library) -> Self {
        let this = Self::with_target(Target::Owner { api, library }, auth);
        this.encrypt.set(encryption::initial_choice(
            stored_choice().as_deref(),
            auth.config().encrypt_by_default,
        ));
        this
    }

    /// Turns "Encrypt end to end" on or off for the next drops; this device remembers it.
    pub fn set_encrypt(&self, on: bool) {
        self.encrypt.set(on);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(encryption::CHOICE_KEY, if on { "1" } else { "0" });
        }
    }

    /// An uploader of a guest's files into a file request (the guest page's own).
    pub fn for_guest(guest: crate::request_api::GuestApi, auth: Auth) -> Self {
        Self::with_target(Target::Guest(guest), auth)
    }

    fn with_target(target: Target, auth: Auth) -> Self {
        Self {
            queue: RwSignal::new(UploadQueue::default()),
            resumable: RwSignal::new(resume::load()),
            records: RwSignal::new(VecMap::new()),
            sources: StoredValue::new_local(VecMap::new()),
            running: StoredValue::new_local(VecMap::new()),
            sessions: StoredValue::new_local(VecMap::new()),
            encrypt: RwSignal::new(false),
            keys: StoredValue::new_local(VecMap::new()),
            batch: RwSignal::new(None),
            skipped: RwSignal::new(0),
            target,
            auth,
        }
    }

    fn threshold(&self) -> u64 {
        self.auth
            .config()
            .multipart_threshold
            .unwrap_or(DEFAULT_MULTIPART_THRESHOLD)
    }

    /// The signed-in account's e-mail, which resume records are kept under.
    pub(super) fn account_email(&self) -> String {
        self.target.resume_owner(self.auth.email())
    }

    pub(super) fn pump(&self) {
        let started = self
            .queue
            .try_update(|q| q.start_next(now_ms()))
            .unwrap_or_default();
        for attempt in started {
            let this = *self;
            spawn_local(async move { this.run(attempt).await });
        }
    }

    pub(super) fn is_current(&self, attempt: Attempt) -> bool {
        self.queue.with_untracked(|q| {
            q.get(attempt.id)
                .is_some_and(|u| u.attempts == attempt.number && u.phase.is_active())
        })
    }

    pub(super) fn fail(&self, attempt: Attempt, error: UploadError) {
        self.queue.try_update(|q| q.fail(attempt, error));
        self.pump();
    }

    async fn run(self, attempt: Attempt) {
        let Some(file) = self.sources.with_value(|s| s.get(&attempt.id).cloned()) else {
            return;
        };
        if let Some(refused) = self.key_refused(attempt.id) {
            return self.fail(attempt, refused);
        }
        let encrypted = self.key_of(attempt.id).is_some();
        if encryption::stored_size(file.size() as u64, encrypted) > self.threshold() {
            self.run_multipart(attempt, file).await;
        } else {
            self.run_single(attempt, file).await;
        }
    }

    /// The folder upload `id` came in, if it came in one.
    pub(super) fn folder_of(&self, id: UploadId) -> Option<String> {
        self.queue
            .with_untracked(|q| q.get(id).and_then(|u| u.folder.clone()))
    }

    pub(super) fn new_upload(
        &self,
        id: UploadId,
        file: &web_sys::File,
        sha256: Option<String>,
    ) -> NewUpload {
        let content_type = file.type_();
        NewUpload {
            name: file.name(),
            size: file.size() as u64,
            content_type: (!content_type.is_empty()).then_some(content_type),
            sha256,
            folder: self.folder_of(id),
            encrypted: None,
        }
    }

    /// Storage has every byte: the row says so, then leaves.
    pub(super) fn finished(self, attempt: Attempt) {
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
            let target = self.target;
            set_timeout(move || target.refresh_pending(), READY_CHECK);
        }
    }

    /// The pending record of an upload that will not complete: remove it everywhere.
    pub(super) fn discard_record(&self, id: UploadId) {
        let Some(file_id) = self.records.try_update(|r| r.remove(&id)).flatten() else {
            return;
        };
        self.batch_detach(id);
        self.forget(&file_id);
        self.target.hide(&file_id);
        self.target.delete_in_background(file_id);
    }

    pub(super) fn session(&self, id: UploadId) -> Option<Shared> {
        self.sessions.with_value(|s| s.get(&id).cloned())
    }

    pub(super) fn remember(&self, session: &Session) {
        let record = session.record();
        self.resumable.update(|all| resume::upsert(all, record));
        self.resumable.with_untracked(|all| resume::save(all));
    }

    pub(super) fn forget(&self, file_id: &str) {
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

    pub(super) fn drop_session(&self, id: UploadId) {
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
            self.keys.try_update_value(|k| k.remove(&id));
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
        self.resumable
            .with(|all| resume::waiting_for(all, &account_email, &running))
    }

    /// Gives up an unfinished upload from an earlier visit: its parts and record go.
    pub fn discard(&self, file_id: String) {
        self.forget(&file_id);
        self.target.hide(&file_id);
        self.target.delete_in_background(file_id);
    }
}

/// This device's last choice of "Encrypt end to end".
fn stored_choice() -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(encryption::CHOICE_KEY)
        .ok()?
}
