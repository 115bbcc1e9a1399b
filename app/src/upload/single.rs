//! One checked `PUT`, for files up to the multipart threshold: the file's SHA-256, then the
//! API's ticket, then the bytes through [`crate::transfer`] (sealed: from the sealing worker).

use std::time::Duration;

use leptos::prelude::*;

use super::encryption;
use super::error::UploadError;
use super::queue::Attempt;
use super::runner::Uploader;
use super::sending::Body;
use crate::auth::flow::now_ms;
use crate::checksum;
use crate::crypto::seal_worker::{self, SealedPart};

impl Uploader {
    pub(super) async fn run_single(self, attempt: Attempt, file: web_sys::File) {
        // WebCrypto has no streaming digest: below the multipart threshold the file is read
        // into memory once to hash it, in a worker (and, encrypted, to seal it: the worker
        // sends the sealed copy).
        self.queue.try_update(|q| {
            q.note(attempt, Some("Computing checksum…".to_owned()));
        });
        let key = self.key_of(attempt.id);
        let prepared = match &key {
            Some(key) => self
                .seal_single(attempt, key, &file)
                .await
                .map(|(part, announcement)| (Some(part), announcement)),
            None => match seal_worker::hash(&file, 0, file.size() as u64).await {
                Ok(digest) => Ok((
                    None,
                    self.new_upload(attempt.id, &file, Some(checksum::encode(&digest))),
                )),
                Err(_) => Err(UploadError::unreadable()),
            },
        };
        let (sealed, announcement) = match prepared {
            Ok(prepared) => prepared,
            Err(err) => return self.fail(attempt, err),
        };
        if !self.is_current(attempt) {
            return;
        }
        self.queue.try_update(|q| q.note(attempt, None));
        let ticket = match self.target.create_upload(&announcement).await {
            Ok(ticket) => ticket,
            Err(err) => return self.fail(attempt, UploadError::from_api(&err)),
        };
        if let Some(key) = &key {
            self.remember_key(&ticket.file.id, key);
        }
        if !self.is_current(attempt) {
            // Cancelled while asking: give the reserved space back.
            self.target.delete_in_background(ticket.file.id);
            return;
        }
        self.target.show(ticket.file.clone());
        self.attach_record(attempt.id, ticket.file.id.clone());
        self.queue.try_update(|q| q.sending(attempt, now_ms()));
        let file_id = ticket.file.id.clone();
        let queue = self.queue;
        let this = self;
        // Sealed, the worker that holds the part sends it (and forgets it once it is sent).
        let body = match &sealed {
            Some(part) => Body::Sealed(part),
            None => Body::Slice(web_sys::Blob::from(file.clone())),
        };
        let started = body.start(
            &ticket.upload.method,
            &ticket.upload.url,
            &ticket.upload.headers,
            move |sent| {
                queue.try_update(|q| q.progress(attempt, sent, now_ms()));
            },
            move |outcome| {
                let result = outcome.map(drop).map_err(UploadError::from_storage_status);
                if result.is_ok() && key.is_some() {
                    this.sealed_file_landed(&file_id, &file);
                }
                this.single_done(attempt, result)
            },
        );
        match started {
            Ok(xhr) => self.running.update_value(|r| {
                r.insert(attempt.id, xhr);
            }),
            Err(_) => self.single_done(attempt, Err(UploadError::network())),
        }
    }

    /// The whole small file sealed (one span of records) and the SHA-256 of its ciphertext.
    async fn seal_single(
        self,
        attempt: Attempt,
        key: &crate::crypto::link::TransferKey,
        file: &web_sys::File,
    ) -> Result<(SealedPart, crate::api_client::NewUpload), UploadError> {
        let folder = self.folder_of(attempt.id);
        let sealed = encryption::seal_new(key, file, folder.as_deref()).await?;
        let (body, sha) = sealed
            .part_with_checksum(file, 0, sealed.cipher_size)
            .await
            .map_err(|e| encryption::unsealable(&e))?;
        Ok((body, sealed.announcement(Some(sha))))
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
