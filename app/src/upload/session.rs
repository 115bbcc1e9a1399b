//! One multipart upload running in this page: the file, its part scheduler, the part URLs at
//! hand, the sends on their way and the timer that wakes it. Browser-side state; the rules it
//! follows live in [`super::schedule`] and [`super::decisions`].

use std::cell::RefCell;
use std::rc::Rc;

use ferry_api::PartUrl;
use leptos::prelude::TimeoutHandle;

use super::decisions::{CompletionBudget, Throttle};
use super::queue::Attempt;
use super::resume::{FileIdentity, ResumeRecord};
use super::schedule::{PartScheduler, SEALED_READ_AHEAD};
use super::sending::{Body, Sending};
use super::vec_map::VecMap;
use crate::auth::flow::now_ms;
use crate::crypto::seal_worker::SealedPart;
use crate::crypto::sealing::SealedFile;

/// The progress bar redraws at most this often (parts report many times a second each).
const PROGRESS_EVERY_MS: i64 = 100;
/// The resume record is rewritten at most this often while parts arrive (so a reload loses
/// little of this browser's count; object storage's list is the authority anyway).
const SAVE_EVERY_MS: i64 = 250;

pub(super) struct Session {
    pub file: web_sys::File,
    pub identity: FileIdentity,
    pub file_id: String,
    pub account_email: String,
    pub sample_sha256: String,
    pub sched: PartScheduler,
    /// End-to-end encrypted: how its parts are sealed. The scheduler's layout is then over the
    /// ciphertext ([`SealedFile::cipher_size`]).
    pub sealed: Option<Rc<SealedFile>>,
    /// Sealed parts between their hash and their storage (at most the scheduler's read-ahead
    /// plus its sends), held by the sealing workers: what is sent is exactly what was hashed,
    /// and nothing else is held.
    pub ciphertext: VecMap<u32, SealedPart>,
    /// The queue's try that drives the session now; reports of older tries are dropped.
    pub attempt: Attempt,
    pub urls: VecMap<u32, PartUrl>,
    pub sends: VecMap<u32, Sending>,
    pub wake: Option<TimeoutHandle>,
    pub progress_every: Throttle,
    pub save_every: Throttle,
    pub completion: CompletionBudget,
}

/// A session as the runner's callbacks share it.
pub(super) type Shared = Rc<RefCell<Session>>;

/// How a picked file (of `folder`, if it came in one) presents itself before any byte is read.
pub(super) fn identity_of(file: &web_sys::File, folder: Option<String>) -> FileIdentity {
    FileIdentity {
        name: file.name(),
        folder,
        size: file.size() as u64,
        last_modified: file.last_modified() as i64,
    }
}

/// The picked file a session reads: its folder in the drop and, when the upload is encrypted end
/// to end, its sealing.
pub struct Source {
    pub file: web_sys::File,
    pub folder: Option<String>,
    pub sealed: Option<Rc<SealedFile>>,
}

impl Session {
    /// A session of the upload `file_id` (new, or found again through a resume record) that
    /// `attempt` drives.
    pub fn start(
        Source {
            file,
            folder,
            sealed,
        }: Source,
        sample_sha256: String,
        file_id: String,
        account_email: String,
        sched: PartScheduler,
        attempt: Attempt,
    ) -> Shared {
        Rc::new(RefCell::new(Self {
            identity: identity_of(&file, folder),
            file,
            file_id,
            account_email,
            sample_sha256,
            sched: match sealed {
                Some(_) => sched.reading_ahead(SEALED_READ_AHEAD),
                None => sched,
            },
            sealed,
            ciphertext: VecMap::new(),
            attempt,
            urls: VecMap::new(),
            sends: VecMap::new(),
            wake: None,
            progress_every: Throttle::every(PROGRESS_EVERY_MS),
            save_every: Throttle::every(SAVE_EVERY_MS),
            completion: CompletionBudget::default(),
        }))
    }

    /// Carries on under a new try of the queue (after a pause or a failure in this page).
    pub fn restart(&mut self, attempt: Attempt) {
        self.attempt = attempt;
        self.sched.resume();
        self.completion = CompletionBudget::default();
    }

    /// What this browser should remember of the upload now.
    pub fn record(&self) -> ResumeRecord {
        let mut record = ResumeRecord::of_upload(
            &self.account_email,
            &self.file_id,
            &self.identity,
            &self.sample_sha256,
            self.sched.plan(),
            self.sched.completed_parts(),
            now_ms(),
        );
        record.encrypted = self.sealed.is_some();
        record
    }

    /// Stops every send and timer (pause, failure, cancel).
    pub fn halt(&mut self) {
        for (_, send) in self.sends.drain() {
            send.abort();
        }
        if let Some(wake) = self.wake.take() {
            wake.clear();
        }
    }

    /// What part `number` sends: the plain file's slice, or the part as sealed when it was
    /// hashed (`None` when it must be sealed again: [`super::drive`] does that).
    pub fn body(&self, number: u32) -> Option<Body<'_>> {
        match self.sealed {
            Some(_) => self.ciphertext.get(&number).map(Body::Sealed),
            None => self.slice(number).map(Body::Slice),
        }
    }

    /// The bytes of part `number`, as a slice the browser streams from disk.
    pub fn slice(&self, number: u32) -> Option<web_sys::Blob> {
        let (start, end) = self.sched.plan().range(number)?;
        self.file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .ok()
    }
}
