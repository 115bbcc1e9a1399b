//! What the runner reports back to a [`PartScheduler`]: a part hashed, URLs issued or refused,
//! a send's progress, success or failure, pause and resume, and how completion went. Each
//! report moves parts between states; [`PartScheduler::poll`] decides what follows.

use super::{
    MAX_PART_ATTEMPTS, MAX_RENEWALS, Part, PartScheduler, SendFailure, State, Then, backoff_ms,
};
use crate::upload::error::{ErrorKind, UploadError};

impl PartScheduler {
    pub fn hashed(&mut self, number: u32, sha256: String) {
        if let Some(part) = self.part(number).filter(|p| p.state == State::Hashing) {
            part.sha256 = Some(sha256);
            part.state = State::Hashed;
        }
    }

    /// Stops the upload with `error` (e.g. storage answered without an ETag).
    pub fn stop(&mut self, error: UploadError) {
        self.fail(error);
    }

    /// The file could not be read (moved, changed or deleted on disk): nothing to retry.
    pub fn unreadable(&mut self) {
        self.fail(UploadError {
            kind: ErrorKind::Other,
            message: "The file could not be read any more. It may have been moved or changed; \
                      pick it again to resume."
                .to_owned(),
        });
    }

    /// The API issued URLs for these parts (the runner keeps them).
    pub fn urls_issued(&mut self, numbers: &[u32]) {
        self.url_request_open = false;
        for &number in numbers {
            if let Some(part) = self.part(number).filter(|p| p.state == State::AwaitingUrl) {
                part.state = State::Ready;
            }
        }
    }

    /// `POST /parts` failed: retry after a backoff if it can help, else stop.
    pub fn urls_refused(&mut self, numbers: &[u32], error: UploadError, now_ms: i64) {
        self.url_request_open = false;
        let mut gave_up = error.kind != ErrorKind::Network;
        for &number in numbers {
            let Some(part) = self.part(number).filter(|p| p.state == State::AwaitingUrl) else {
                continue;
            };
            part.failures += 1;
            gave_up |= part.failures >= MAX_PART_ATTEMPTS;
            part.state = State::Backoff {
                until_ms: now_ms + backoff_ms(part.failures),
                then: Then::AskUrl,
            };
        }
        if gave_up {
            self.fail(error);
        }
    }

    pub fn progress(&mut self, number: u32, attempt: u32, sent: u64) {
        if let Some(Part {
            state:
                State::Sending {
                    attempt: a,
                    sent: s,
                },
            ..
        }) = self.part(number)
            && *a == attempt
        {
            *s = sent;
        }
    }

    /// Object storage stored the part and answered its ETag.
    pub fn sent(&mut self, number: u32, attempt: u32, etag: String) {
        if let Some(part) = self.part(number)
            && matches!(part.state, State::Sending { attempt: a, .. } if a == attempt)
        {
            part.state = State::Done { etag };
            part.failures = 0;
            part.renewals = 0;
        }
    }

    /// A send failed: a refused (lapsed) URL is renewed, anything else is retried after a
    /// backoff, a few times.
    pub fn send_failed(&mut self, number: u32, attempt: u32, failure: SendFailure, now_ms: i64) {
        let Some(part) = self
            .part(number)
            .filter(|p| matches!(p.state, State::Sending { attempt: a, .. } if a == attempt))
        else {
            return;
        };
        let SendFailure::Status(status) = failure;
        let error = match status {
            403 => {
                part.renewals += 1;
                if part.renewals <= MAX_RENEWALS {
                    part.state = State::Hashed;
                    return;
                }
                UploadError::from_storage_status(403)
            }
            // The bytes did not match their checksum (the file changed?): read them again.
            400 => {
                part.failures += 1;
                part.state = State::Backoff {
                    until_ms: now_ms + backoff_ms(part.failures),
                    then: Then::Hash,
                };
                if part.failures < MAX_PART_ATTEMPTS {
                    return;
                }
                UploadError {
                    kind: ErrorKind::Other,
                    message: format!(
                        "Storage kept refusing part {number} as corrupted. \
                         Has the file changed? Retry to send it again."
                    ),
                }
            }
            _ => {
                part.failures += 1;
                part.state = State::Backoff {
                    until_ms: now_ms + backoff_ms(part.failures),
                    then: Then::Send,
                };
                if part.failures < MAX_PART_ATTEMPTS {
                    return;
                }
                UploadError::from_storage_status(status)
            }
        };
        self.fail(error);
    }

    /// Stops handing out work; parts on their way go back to waiting (their URLs may lapse
    /// meanwhile, so they are asked for again). The runner aborts the sends.
    pub fn pause(&mut self) {
        self.paused = true;
        self.reset_unfinished();
    }

    fn reset_unfinished(&mut self) {
        self.url_request_open = false;
        self.completing = false;
        for part in &mut self.parts {
            part.state = match &part.state {
                State::Done { .. } => continue,
                State::Todo | State::Hashing => State::Todo,
                _ if part.sha256.is_some() => State::Hashed,
                _ => State::Todo,
            };
        }
    }

    /// Carries on after a pause or a failure, with fresh retry budgets.
    pub fn resume(&mut self) {
        self.paused = false;
        self.failure = None;
        self.reset_unfinished();
        for part in &mut self.parts {
            part.failures = 0;
            part.renewals = 0;
        }
    }

    /// Completion was refused (`part_missing`/`part_mismatch`): reconcile with storage's list.
    pub fn completion_refused(&mut self) {
        self.completing = false;
    }

    /// Completion could not be reached; the runner retries it after a backoff.
    pub fn completion_failed(&mut self, error: UploadError) {
        self.completing = false;
        self.fail(error);
    }
}
