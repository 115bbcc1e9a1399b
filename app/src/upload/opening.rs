//! Opening a multipart upload: the same file's earlier upload found again (this browser's
//! resume record, checked against what object storage holds) or a new one, then handed to
//! [`super::drive`].

use std::rc::Rc;

use ferry_api::{PartLayout, codes};
use leptos::prelude::*;

use super::encryption::{self, Earlier};
use super::error::{UploadError, upload_gone};
use super::queue::Attempt;
use super::resume::{self, ResumeRecord};
use super::runner::Uploader;
use super::schedule::{PARALLEL_PARTS, PartScheduler};
use super::session::{Session, Shared, Source, identity_of};
use super::target::Landed;
use crate::auth::flow::now_ms;
use crate::checksum;

/// Where a multipart try starts from.
pub(super) enum Start {
    Fresh,
    Resumed(Shared),
    /// An earlier try completed the upload already.
    AlreadyDone(Landed),
}

impl Uploader {
    pub(super) async fn run_multipart(self, attempt: Attempt, file: web_sys::File) {
        self.queue.try_update(|q| q.multipart(attempt));
        let id = attempt.id;
        let session = match self.sessions.with_value(|s| s.get(&id).cloned()) {
            // Resumed after a pause or a failure in this page.
            Some(session) => {
                session.borrow_mut().restart(attempt);
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
    pub(super) async fn open_session(
        self,
        attempt: Attempt,
        file: web_sys::File,
    ) -> Result<Option<Shared>, UploadError> {
        let id = attempt.id;
        let size = file.size() as u64;
        let key = self.key_of(id);
        self.queue.try_update(|q| {
            q.note(attempt, Some("Checking for an earlier upload…".to_owned()));
        });
        let sample = checksum::sha256_of_ranges(&file, &resume::sample_ranges(size))
            .await
            .map_err(|_| UploadError::unreadable())?;
        let account_email = self.account_email();
        let folder = self.folder_of(id);
        let identity = identity_of(&file, folder.clone());
        let attached: Vec<String> = self
            .records
            .with_untracked(|r| r.values().cloned().collect());
        let earlier = self.resumable.with_untracked(|all| {
            resume::find_earlier(all, &account_email, &identity, &sample, &attached).cloned()
        });
        let start = match earlier {
            Some(record) => {
                let held = self.held_key(&record.file_id).is_some();
                match encryption::earlier(&record, key.is_some(), held) {
                    Earlier::Resume => self.reopen(attempt, &file, &record).await?,
                    Earlier::OtherMode => Start::Fresh,
                    Earlier::KeyMissing => return Err(self.give_up_sealed(&record.file_id)),
                }
            }
            None => Start::Fresh,
        };
        if !self.is_current(attempt) {
            return Ok(None);
        }
        let session = match start {
            Start::AlreadyDone(done) => {
                if key.is_some() {
                    self.sealed_file_landed(done.id(), &file);
                }
                self.forget(done.id());
                self.batch_attach(id, done.id().to_owned());
                self.target.show_landed(done);
                self.finished(attempt);
                self.pump();
                return Ok(None);
            }
            Start::Resumed(session) => session,
            Start::Fresh => {
                self.queue.try_update(|q| q.note(attempt, None));
                let sealed = match &key {
                    Some(key) => Some(Rc::new(
                        encryption::seal_new(key, &file, folder.as_deref()).await?,
                    )),
                    None => None,
                };
                let (body, stored) = match &sealed {
                    Some(sealed) => (sealed.announcement(None), sealed.cipher_size),
                    None => (self.new_upload(id, &file, None), size),
                };
                let ticket = self
                    .target
                    .create_multipart_upload(&body)
                    .await
                    .map_err(|e| UploadError::from_api(&e))?;
                if let Some(key) = &key {
                    self.remember_key(&ticket.file.id, key);
                }
                let Some(plan) = PartLayout::announced(stored, ticket.part_size, ticket.part_count)
                else {
                    self.target.delete_in_background(ticket.file.id);
                    return Err(UploadError::odd_layout());
                };
                if !self.is_current(attempt) {
                    self.target.delete_in_background(ticket.file.id);
                    return Ok(None);
                }
                self.target.show(ticket.file.clone());
                Session::start(
                    Source {
                        file,
                        folder,
                        sealed,
                    },
                    sample,
                    ticket.file.id,
                    account_email,
                    PartScheduler::new(plan, PARALLEL_PARTS),
                    attempt,
                )
            }
        };
        let file_id = session.borrow().file_id.clone();
        self.attach_record(id, file_id);
        self.remember(&session.borrow());
        self.sessions.update_value(|s| {
            s.insert(id, session.clone());
        });
        Ok(Some(session))
    }

    /// Asks object storage what it holds of an earlier upload of this file.
    pub(super) async fn reopen(
        self,
        attempt: Attempt,
        file: &web_sys::File,
        record: &ResumeRecord,
    ) -> Result<Start, UploadError> {
        match self.target.uploaded_parts(&record.file_id).await {
            Ok(listed) => {
                let Some(plan) = PartLayout::announced(
                    record.stored_size(),
                    listed.part_size,
                    listed.part_count,
                ) else {
                    self.forget(&record.file_id);
                    return Ok(Start::Fresh);
                };
                let sealed = if record.encrypted {
                    Some(Rc::new(self.reopen_sealed(record).await?))
                } else {
                    None
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
                Ok(Start::Resumed(Session::start(
                    Source {
                        file: file.clone(),
                        folder: record.folder.clone(),
                        sealed,
                    },
                    record.sample_sha256.clone(),
                    record.file_id.clone(),
                    record.account_email.clone(),
                    sched,
                    attempt,
                )))
            }
            Err(err) if err.code == codes::UPLOAD_CLOSED => {
                // Completed (the page closed before it heard back) or failed.
                match self.target.closed_upload(&record.file_id).await {
                    Ok(Some(done)) => Ok(Start::AlreadyDone(done)),
                    _ => {
                        self.forget(&record.file_id);
                        Ok(Start::Fresh)
                    }
                }
            }
            Err(err) if upload_gone(&err) => {
                self.forget(&record.file_id);
                Ok(Start::Fresh)
            }
            Err(err) => Err(UploadError::from_api(&err)),
        }
    }

    /// The sealing of an earlier encrypted upload: the key from this device's ring, the
    /// content salt from the file's own sealed metadata. Without both it cannot go on.
    async fn reopen_sealed(
        self,
        record: &ResumeRecord,
    ) -> Result<crate::crypto::sealing::SealedFile, UploadError> {
        let Some(key) = self.held_key(&record.file_id) else {
            return Err(self.give_up_sealed(&record.file_id));
        };
        let meta = match self.target.sealed_meta(&record.file_id).await {
            Ok(Some(meta)) => meta,
            Ok(None) => return Err(self.give_up_sealed(&record.file_id)),
            Err(err) => return Err(UploadError::from_api(&err)),
        };
        match crate::crypto::sealing::SealedFile::resume(&key, &meta, record.size).await {
            Ok(sealed) => Ok(sealed),
            Err(_) => Err(self.give_up_sealed(&record.file_id)),
        }
    }

    /// An earlier encrypted upload whose key this device lacks: its parts can never be
    /// continued, so it is given up (a retry starts afresh) and the person is told why.
    fn give_up_sealed(&self, file_id: &str) -> UploadError {
        self.forget(file_id);
        self.target.hide(file_id);
        self.target.delete_in_background(file_id.to_owned());
        encryption::key_missing()
    }
}
