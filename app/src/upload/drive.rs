//! Driving a multipart upload: asks the scheduler what to do next and does it (hash or seal a
//! part in a worker, ask for part URLs, send a part with [`crate::transfer`] or from the worker
//! that holds it sealed, complete), then reports back, until the upload completes, pauses or
//! fails.

use std::time::Duration;

use ferry_api::{CompleteUpload, PartChecksum, PartUrlsRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::decisions::{AfterRefusal, report_part};
use super::error::{UploadError, upload_gone};
use super::queue::{Attempt, UploadId};
use super::runner::Uploader;
use super::schedule::{SendFailure, Step};
use super::session::{Session, Shared};
use crate::auth::flow::now_ms;
use crate::checksum;
use crate::crypto::seal_worker::{self, SealedPart};
use crate::transfer::Outcome;

impl Uploader {
    /// Asks the scheduler what to do and does it. Called after every report.
    pub(super) fn drive(self, id: UploadId) {
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
    pub(super) fn report(
        self,
        session: &Shared,
        attempt: Attempt,
        report: impl FnOnce(&mut Session),
    ) {
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

    pub(super) async fn hash_part(self, session: Shared, attempt: Attempt, number: u32) {
        if session.borrow().sealed.is_some() {
            // Encrypted: the part is sealed on its own, then its ciphertext hashed; the sealed
            // part waits for its send.
            let sealed = self.seal_part(&session, number).await;
            return self.report(&session, attempt, |s| match sealed {
                Some((part, sha)) => {
                    s.ciphertext.insert(number, part);
                    s.sched.hashed(number, sha);
                }
                None => s.sched.unreadable(),
            });
        }
        let (file, range) = {
            let s = session.borrow();
            (s.file.clone(), s.sched.plan().range(number))
        };
        let Some((start, end)) = range else {
            return self.report(&session, attempt, |s| s.sched.unreadable());
        };
        // Read and hashed in a worker: the part's bytes never enter the page.
        let result = seal_worker::hash(&file, start, end).await;
        let result = result.map(|digest| checksum::encode(&digest));
        self.report(&session, attempt, |s| match result {
            Ok(sha) => s.sched.hashed(number, sha),
            Err(_) => s.sched.unreadable(),
        });
    }

    pub(super) async fn request_urls(
        self,
        session: Shared,
        attempt: Attempt,
        parts: Vec<(u32, String)>,
    ) {
        let file_id = session.borrow().file_id.clone();
        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
        let request = PartUrlsRequest {
            parts: parts
                .into_iter()
                .map(|(number, sha256)| PartChecksum { number, sha256 })
                .collect(),
        };
        let answer = self.target.part_urls(&file_id, &request).await;
        if let Err(err) = &answer
            && upload_gone(err)
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

    /// Part `number` of an encrypted session sealed (the same bytes every time: the keys and
    /// nonces are fixed by the file's salt and the part's records) with its SHA-256.
    async fn seal_part(self, session: &Shared, number: u32) -> Option<(SealedPart, String)> {
        let (sealed, file, range) = {
            let s = session.borrow();
            (
                s.sealed.clone()?,
                s.file.clone(),
                s.sched.plan().range(number)?,
            )
        };
        sealed
            .part_with_checksum(&file, range.0, range.1)
            .await
            .ok()
    }

    pub(super) fn send_part(self, session: &Shared, number: u32, part_attempt: u32) {
        let needs_sealing = {
            let s = session.borrow();
            s.sealed.is_some() && !s.ciphertext.get(&number).is_some_and(SealedPart::is_live)
        };
        if needs_sealing {
            // Hashed in an earlier try of this page and let go since (or held by a worker that
            // stopped): seal it again.
            let session = session.clone();
            return spawn_local(async move {
                let attempt = session.borrow().attempt;
                let sealed = self.seal_part(&session, number).await;
                let mut s = session.borrow_mut();
                if s.attempt != attempt {
                    return;
                }
                match sealed {
                    Some((part, _)) => {
                        s.ciphertext.insert(number, part);
                        drop(s);
                        self.send_part(&session, number, part_attempt);
                    }
                    None => {
                        s.sched.unreadable();
                        drop(s);
                        self.drive(attempt.id);
                    }
                }
            });
        }
        let mut s = session.borrow_mut();
        let attempt = s.attempt;
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
        let url = s.urls.get(&number).cloned();
        let started = match (url, s.body(number)) {
            (Some(url), Some(body)) => {
                Some(body.start("PUT", &url.url, &url.headers, progress, done))
            }
            _ => None,
        };
        let failure = match started {
            Some(Ok(send)) => return s.sends.insert(number, send),
            Some(Err(_)) => SendFailure::Status(0),
            // No URL at hand: ask for one as if it had lapsed.
            None => SendFailure::Status(403),
        };
        s.sched.send_failed(number, part_attempt, failure, now_ms());
        drop(s);
        set_timeout(move || self.drive(attempt.id), Duration::ZERO);
    }

    pub(super) fn part_sent(
        self,
        session: &Shared,
        attempt: Attempt,
        number: u32,
        part_attempt: u32,
        outcome: Outcome,
    ) {
        // The request's callbacks are running right now: drop it afterwards.
        let finished = session.borrow_mut().sends.remove(&number);
        set_timeout(move || drop(finished), Duration::ZERO);
        let mut save = false;
        self.report(session, attempt, |s| {
            let now = now_ms();
            let report = report_part(&mut s.sched, number, part_attempt, outcome, now);
            if report.url_refused {
                s.urls.remove(&number);
            }
            if report.stored {
                s.ciphertext.remove(&number);
            }
            save = report.stored && s.save_every.ready(now, false);
        });
        if save {
            self.remember(&session.borrow());
        }
    }

    /// Puts the scheduler's progress on the bar, at most every so often unless `force`d (a
    /// part finished or failed).
    pub(super) fn show_progress(self, session: &Shared, force: bool) {
        let Ok(mut s) = session.try_borrow_mut() else {
            return;
        };
        let now = now_ms();
        if !s.progress_every.ready(now, force) {
            return;
        }
        let (attempt, sent) = (s.attempt, s.sched.progress_bytes());
        drop(s);
        self.queue.try_update(|q| q.progress(attempt, sent, now));
    }

    pub(super) async fn complete(self, session: Shared, attempt: Attempt) {
        let (file_id, parts) = {
            let s = session.borrow();
            (s.file_id.clone(), s.sched.completed_parts())
        };
        let request = CompleteUpload { parts };
        self.show_progress(&session, true);
        let answer = self.target.complete_upload(&file_id, &request).await;
        if session.borrow().attempt != attempt || !self.is_current(attempt) {
            return;
        }
        match answer {
            Ok(file) => {
                let landed = {
                    let s = session.borrow();
                    s.sealed.is_some().then(|| s.file.clone())
                };
                if let Some(plain) = landed {
                    self.sealed_file_landed(&file_id, &plain);
                }
                self.forget(&file_id);
                self.sessions.update_value(|s| {
                    s.remove(&attempt.id);
                });
                self.target.show_landed(file);
                self.finished(attempt);
                self.pump();
            }
            Err(err) => {
                let next = session.borrow_mut().completion.after_refusal(&err);
                match next {
                    AfterRefusal::Lost => self.lost(&session, attempt),
                    AfterRefusal::Reconcile => {
                        // Storage lacks or disagrees on some part: ask what it has, send the
                        // rest.
                        let listed = self.target.uploaded_parts(&file_id).await;
                        self.report(&session, attempt, |s| {
                            s.sched.completion_refused();
                            match listed {
                                Ok(listed) => {
                                    let known = s.sched.completed_parts();
                                    s.sched.reconcile(&listed.parts, &known);
                                }
                                Err(err) => {
                                    s.sched.completion_failed(UploadError::from_api(&err));
                                }
                            }
                        });
                    }
                    AfterRefusal::RetryIn(wait) => set_timeout(
                        move || self.report(&session, attempt, |s| s.sched.completion_refused()),
                        wait,
                    ),
                    AfterRefusal::Fail(error) => {
                        self.report(&session, attempt, |s| s.sched.completion_failed(error));
                    }
                }
            }
        }
    }

    /// The server no longer has the upload (abandoned and cleaned up, or deleted elsewhere):
    /// forget it, so a retry starts afresh.
    pub(super) fn lost(self, session: &Shared, attempt: Attempt) {
        let file_id = {
            let mut s = session.borrow_mut();
            s.halt();
            s.file_id.clone()
        };
        self.forget(&file_id);
        self.target.hide(&file_id);
        self.records.update(|r| {
            r.remove(&attempt.id);
        });
        self.sessions.update_value(|s| {
            s.remove(&attempt.id);
        });
        self.fail(attempt, UploadError::cleaned_up());
    }
}
