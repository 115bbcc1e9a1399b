//! One checked `PUT`, for files up to the multipart threshold: the file's SHA-256, then the
//! API's ticket, then the bytes through [`crate::transfer`].

use std::time::Duration;

use leptos::prelude::*;

use super::error::UploadError;
use super::queue::Attempt;
use super::runner::Uploader;
use crate::auth::flow::now_ms;
use crate::checksum;
use crate::transfer::XhrUpload;

impl Uploader {
    pub(super) async fn run_single(self, attempt: Attempt, file: web_sys::File) {
        // WebCrypto has no streaming digest: below the multipart threshold the file is read
        // into memory once to hash it.
        self.queue.try_update(|q| {
            q.note(attempt, Some("Computing checksum…".to_owned()));
        });
        let sha256 = match checksum::sha256(&file).await {
            Ok(sha) => sha,
            Err(_) => return self.fail(attempt, UploadError::unreadable()),
        };
        if !self.is_current(attempt) {
            return;
        }
        self.queue.try_update(|q| q.note(attempt, None));
        let ticket = match self
            .target
            .create_upload(&self.new_upload(attempt.id, &file, Some(sha256)))
            .await
        {
            Ok(ticket) => ticket,
            Err(err) => return self.fail(attempt, UploadError::from_api(&err)),
        };
        if !self.is_current(attempt) {
            // Cancelled while asking: give the reserved space back.
            self.target.delete_in_background(ticket.file.id);
            return;
        }
        self.target.show(ticket.file.clone());
        self.attach_record(attempt.id, ticket.file.id.clone());
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

    pub(super) fn single_done(self, attempt: Attempt, result: Result<(), UploadError>) {
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
}
