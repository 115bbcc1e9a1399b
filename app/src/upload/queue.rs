//! The upload queue: which files wait, which are sending, which paused, failed or finished.
//!
//! A plain state machine with no browser in sight, so its rules are unit-tested natively. The
//! runner ([`super::Uploader`]) owns one queue in a signal, starts what
//! [`UploadQueue::start_next`] hands out and reports back. Every report carries the [`Attempt`]
//! it belongs to, so late events from a cancelled or superseded attempt change nothing.

use super::error::UploadError;
use super::progress::Transfer;

/// How many files send at once: enough to fill the pipe, few enough that each makes progress.
pub const MAX_ACTIVE: usize = 3;

pub type UploadId = u64;

/// One try at sending one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub id: UploadId,
    pub number: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a free slot.
    Queued,
    /// Asking the API where to send the bytes.
    Preparing,
    /// Bytes on their way to storage.
    Sending,
    /// Stopped by the person; the parts sent so far stay (multipart uploads only).
    Paused,
    /// Storage has every byte; the server checks them and marks the file ready.
    Done,
    Failed(UploadError),
    Cancelled,
}

impl Phase {
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Preparing | Self::Sending)
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Done | Self::Failed(_) | Self::Cancelled)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub id: UploadId,
    pub name: String,
    /// The folder it came in (`Fotos/2026`), for a file of a dropped or picked folder.
    pub folder: Option<String>,
    pub size: u64,
    pub phase: Phase,
    pub transfer: Transfer,
    /// Attempts started so far; the current one is `attempts`.
    pub attempts: u32,
    /// Sent in parts, so it can pause and resume.
    pub multipart: bool,
    /// A line about the current try, e.g. "Resuming — 3 of 128 parts already uploaded".
    pub note: Option<String>,
}

impl Upload {
    fn attempt(&self) -> Attempt {
        Attempt {
            id: self.id,
            number: self.attempts,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UploadQueue {
    items: Vec<Upload>,
    max_active: usize,
    next_id: UploadId,
    /// The latest change worth telling a screen-reader user about.
    announcement: String,
}

impl Default for UploadQueue {
    fn default() -> Self {
        Self::new(MAX_ACTIVE)
    }
}

impl UploadQueue {
    pub fn new(max_active: usize) -> Self {
        Self {
            items: Vec::new(),
            max_active: max_active.max(1),
            next_id: 1,
            announcement: String::new(),
        }
    }

    pub fn add(&mut self, name: impl Into<String>, size: u64) -> UploadId {
        self.add_in(None, name, size)
    }

    /// Adds a file of a folder (`None`: a file on its own).
    pub fn add_in(
        &mut self,
        folder: Option<String>,
        name: impl Into<String>,
        size: u64,
    ) -> UploadId {
        let id = self.next_id;
        self.next_id += 1;
        self.items.push(Upload {
            id,
            name: name.into(),
            folder,
            size,
            phase: Phase::Queued,
            transfer: Transfer::new(size, 0),
            attempts: 0,
            multipart: false,
            note: None,
        });
        id
    }

    pub fn get(&self, id: UploadId) -> Option<&Upload> {
        self.items.iter().find(|u| u.id == id)
    }

    fn get_mut(&mut self, id: UploadId) -> Option<&mut Upload> {
        self.items.iter_mut().find(|u| u.id == id)
    }

    /// The upload, if `attempt` is still its current try.
    fn current(&mut self, attempt: Attempt) -> Option<&mut Upload> {
        self.get_mut(attempt.id)
            .filter(|u| u.attempts == attempt.number)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Upload> {
        self.items.iter()
    }

    pub fn ids(&self) -> Vec<UploadId> {
        self.items.iter().map(|u| u.id).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn active(&self) -> usize {
        self.items.iter().filter(|u| u.phase.is_active()).count()
    }

    pub fn announcement(&self) -> &str {
        &self.announcement
    }

    /// Moves waiting files into free slots, oldest first; the caller starts each returned
    /// attempt.
    pub fn start_next(&mut self, now_ms: i64) -> Vec<Attempt> {
        let free = self.max_active.saturating_sub(self.active());
        let mut started = Vec::new();
        for upload in self
            .items
            .iter_mut()
            .filter(|u| u.phase == Phase::Queued)
            .take(free)
        {
            upload.phase = Phase::Preparing;
            upload.attempts += 1;
            upload.transfer = Transfer::new(upload.size, now_ms);
            upload.note = None;
            started.push(upload.attempt());
        }
        started
    }

    /// The API issued the URL; bytes start flowing.
    pub fn sending(&mut self, attempt: Attempt, now_ms: i64) {
        self.sending_from(attempt, 0, now_ms);
    }

    /// Bytes start flowing, `already` of them stored by an earlier try (a resumed multipart
    /// upload): progress starts there, and speed counts only what this try sends.
    pub fn sending_from(&mut self, attempt: Attempt, already: u64, now_ms: i64) {
        if let Some(u) = self
            .current(attempt)
            .filter(|u| u.phase == Phase::Preparing)
        {
            u.phase = Phase::Sending;
            u.transfer = Transfer::resumed(u.size, already, now_ms);
        }
    }

    /// Marks the upload as sent in parts (it can pause and resume).
    pub fn multipart(&mut self, attempt: Attempt) {
        if let Some(u) = self.current(attempt) {
            u.multipart = true;
        }
    }

    /// Sets the line shown under the current try (`None` clears it).
    pub fn note(&mut self, attempt: Attempt, note: Option<String>) {
        if let Some(u) = self.current(attempt) {
            u.note = note;
        }
    }

    /// Pauses a multipart upload on its way. Returns the attempt whose transfers must stop.
    pub fn pause(&mut self, id: UploadId) -> Option<Attempt> {
        let u = self
            .get_mut(id)
            .filter(|u| u.multipart && u.phase.is_active())?;
        u.phase = Phase::Paused;
        let attempt = u.attempt();
        self.announcement = format!("{} paused.", u.name);
        Some(attempt)
    }

    /// Puts a paused upload back in line. Returns whether it was paused.
    pub fn resume(&mut self, id: UploadId) -> bool {
        let Some(u) = self.get_mut(id).filter(|u| u.phase == Phase::Paused) else {
            return false;
        };
        u.phase = Phase::Queued;
        self.announcement = format!("{} resumed.", u.name);
        true
    }

    pub fn progress(&mut self, attempt: Attempt, sent: u64, now_ms: i64) {
        if let Some(u) = self.current(attempt).filter(|u| u.phase == Phase::Sending) {
            u.transfer.record(sent, now_ms);
        }
    }

    /// Storage accepted every byte. Returns whether this attempt was still current.
    pub fn finish(&mut self, attempt: Attempt, now_ms: i64) -> bool {
        let Some(u) = self.current(attempt).filter(|u| u.phase.is_active()) else {
            return false;
        };
        u.transfer.record(u.size, now_ms);
        u.phase = Phase::Done;
        u.note = None;
        self.announcement = format!("{} uploaded.", u.name);
        true
    }

    pub fn fail(&mut self, attempt: Attempt, error: UploadError) {
        if let Some(u) = self.current(attempt).filter(|u| u.phase.is_active()) {
            let announcement = format!("{} failed: {}", u.name, error.message);
            u.phase = Phase::Failed(error);
            self.announcement = announcement;
        }
    }

    /// Stops a waiting or running upload. Returns the attempt whose transfer must be aborted,
    /// if one was running.
    pub fn cancel(&mut self, id: UploadId) -> Option<Attempt> {
        let u = self.get_mut(id)?;
        let running = u.phase.is_active().then(|| u.attempt());
        if u.phase.is_finished() {
            return None;
        }
        u.phase = Phase::Cancelled;
        self.announcement = format!("{} cancelled.", u.name);
        running
    }

    /// Puts a failed or cancelled upload back in line. Returns whether it was.
    pub fn retry(&mut self, id: UploadId) -> bool {
        let Some(u) = self.get_mut(id) else {
            return false;
        };
        let again = match &u.phase {
            Phase::Failed(err) => err.retryable(),
            Phase::Cancelled => true,
            _ => false,
        };
        if again {
            u.phase = Phase::Queued;
            u.transfer = Transfer::new(u.size, 0);
        }
        again
    }

    /// Forgets finished uploads (the file list shows them from now on).
    pub fn clear_finished(&mut self) {
        self.items.retain(|u| !u.phase.is_finished());
    }

    /// Forgets one finished upload.
    pub fn dismiss(&mut self, id: UploadId) {
        self.items.retain(|u| u.id != id || !u.phase.is_finished());
    }

    /// Overall progress of the uploads not yet finished: `(sent, total)` bytes.
    pub fn totals(&self) -> (u64, u64) {
        self.items
            .iter()
            .filter(|u| !u.phase.is_finished())
            .fold((0, 0), |(s, t), u| (s + u.transfer.sent, t + u.size))
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::codes;

    use super::*;
    use crate::api_client::ApiError;
    use crate::upload::ErrorKind;

    const MB: u64 = 1024 * 1024;

    fn phases(q: &UploadQueue) -> Vec<Phase> {
        q.ids()
            .iter()
            .map(|id| q.get(*id).map(|u| u.phase.clone()).unwrap_or(Phase::Queued))
            .collect()
    }

    #[test]
    fn at_most_three_run_at_once_and_the_rest_wait_in_order() {
        let mut q = UploadQueue::default();
        let ids: Vec<_> = (0..5).map(|i| q.add(format!("f{i}"), MB)).collect();
        let started = q.start_next(0);
        assert_eq!(started.iter().map(|a| a.id).collect::<Vec<_>>(), ids[..3]);
        assert_eq!(q.active(), 3);
        assert!(q.start_next(0).is_empty(), "no slot is free");

        q.sending(started[0], 10);
        assert!(q.finish(started[0], 20));
        let next = q.start_next(30);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].id, ids[3], "the oldest waiting file goes next");
        assert_eq!(q.active(), 3);
    }

    #[test]
    fn cancelling_frees_a_slot_and_ignores_late_events() {
        let mut q = UploadQueue::new(1);
        let a = q.add("a", MB);
        let b = q.add("b", MB);
        let first = q.start_next(0)[0];
        q.sending(first, 0);
        q.progress(first, MB / 2, 1_000);

        assert_eq!(
            q.cancel(a),
            Some(first),
            "a running transfer must be aborted"
        );
        assert_eq!(q.get(a).map(|u| u.phase.clone()), Some(Phase::Cancelled));
        assert!(q.announcement().contains("a cancelled"));

        // The aborted request may still report; nothing changes.
        q.progress(first, MB, 1_100);
        assert!(!q.finish(first, 1_200));
        assert_eq!(q.get(a).map(|u| u.phase.clone()), Some(Phase::Cancelled));

        assert_eq!(
            q.start_next(1_300).iter().map(|x| x.id).collect::<Vec<_>>(),
            vec![b]
        );
        assert_eq!(q.cancel(a), None, "already cancelled");
    }

    #[test]
    fn cancelling_a_waiting_upload_needs_no_abort() {
        let mut q = UploadQueue::new(1);
        q.add("a", MB);
        let b = q.add("b", MB);
        q.start_next(0);
        assert_eq!(q.cancel(b), None);
        assert_eq!(phases(&q)[1], Phase::Cancelled);
        assert!(q.start_next(0).is_empty());
    }

    #[test]
    fn retry_starts_a_new_attempt_and_the_old_one_is_ignored() {
        let mut q = UploadQueue::new(2);
        let a = q.add("a", MB);
        let first = q.start_next(0)[0];
        q.sending(first, 0);
        q.fail(first, UploadError::network());
        assert!(
            matches!(q.get(a).map(|u| &u.phase), Some(Phase::Failed(e)) if e.kind == ErrorKind::Network)
        );
        assert!(q.announcement().starts_with("a failed"));

        assert!(q.retry(a));
        assert_eq!(q.get(a).map(|u| u.phase.clone()), Some(Phase::Queued));
        let second = q.start_next(5)[0];
        assert_eq!(second, Attempt { id: a, number: 2 });

        q.sending(first, 6);
        assert_eq!(
            q.get(a).map(|u| u.phase.clone()),
            Some(Phase::Preparing),
            "stale attempt"
        );
        q.sending(second, 6);
        q.progress(second, MB, 7);
        assert!(q.finish(second, 8));
        assert!(!q.retry(a), "a finished upload is not retried");
    }

    #[test]
    fn files_that_can_never_fit_are_not_retried() {
        let mut q = UploadQueue::default();
        let a = q.add("huge.iso", 10 << 40);
        let at = q.start_next(0)[0];
        let err = ApiError {
            status: 413,
            code: codes::FILE_TOO_LARGE.into(),
            message: "Too big".into(),
        };
        q.fail(at, UploadError::from_api(&err));
        assert!(!q.retry(a));
        let quota = ApiError {
            status: 403,
            code: codes::QUOTA_EXCEEDED.into(),
            message: "Full".into(),
        };
        assert_eq!(UploadError::from_api(&quota).kind, ErrorKind::OverQuota);
        assert!(UploadError::from_api(&quota).retryable());
        assert_eq!(
            UploadError::from_api(&ApiError::network("offline")).kind,
            ErrorKind::Network
        );
        assert_eq!(
            UploadError::from_storage_status(403).kind,
            ErrorKind::Expired
        );
        assert_eq!(UploadError::from_storage_status(0).kind, ErrorKind::Network);
    }

    #[test]
    fn progress_maths_percent_bytes_speed_and_eta() {
        let mut q = UploadQueue::default();
        let a = q.add("video.mp4", 100 * MB);
        let at = q.start_next(0)[0];
        q.sending(at, 1_000);
        let t = |q: &UploadQueue| {
            q.get(a)
                .map(|u| u.transfer.clone())
                .unwrap_or(Transfer::new(0, 0))
        };
        assert_eq!(t(&q).percent(), 0.0);
        assert_eq!(t(&q).eta_seconds(), None, "no pace yet");

        // 10 MB/s steady.
        for s in 1..=6 {
            q.progress(at, s * 10 * MB, 1_000 + s as i64 * 1_000);
        }
        let tr = t(&q);
        assert_eq!(tr.sent, 60 * MB);
        assert!((tr.percent() - 60.0).abs() < 1e-9);
        assert!(
            (tr.speed() - 10.0 * MB as f64).abs() < 1.0,
            "speed {}",
            tr.speed()
        );
        assert_eq!(tr.eta_seconds(), Some(4));
        assert_eq!(tr.describe(), "60 MiB of 100 MiB · 10 MiB/s · 4 s left");

        // The connection slows to 1 MB/s: the window follows within a few seconds.
        for s in 1..=5 {
            q.progress(at, 60 * MB + s * MB, 7_000 + s as i64 * 1_000);
        }
        let tr = t(&q);
        assert!((tr.speed() - MB as f64).abs() < 1.0, "speed {}", tr.speed());
        assert_eq!(tr.eta_seconds(), Some(35));

        // Never more than the total, even if a browser over-reports.
        q.progress(at, 200 * MB, 13_000);
        assert_eq!(t(&q).percent(), 100.0);
        assert!(q.finish(at, 13_000));
        assert_eq!(q.announcement(), "video.mp4 uploaded.");
    }

    #[test]
    fn totals_and_clearing() {
        let mut q = UploadQueue::new(1);
        let a = q.add("a", 10);
        q.add("b", 30);
        let at = q.start_next(0)[0];
        q.sending(at, 0);
        q.progress(at, 5, 1);
        assert_eq!(q.totals(), (5, 40));
        q.finish(at, 2);
        assert_eq!(q.totals(), (0, 30));
        q.dismiss(a);
        assert_eq!(q.ids().len(), 1);
        q.clear_finished();
        assert_eq!(q.ids().len(), 1, "b is still waiting");
        assert!(!q.is_empty());
    }

    #[test]
    fn multipart_uploads_pause_free_their_slot_and_resume_in_line() {
        let mut q = UploadQueue::new(1);
        let a = q.add("big.iso", 100 * MB);
        let b = q.add("small.txt", MB);
        let first = q.start_next(0)[0];
        assert_eq!(q.pause(a), None, "only uploads sent in parts pause");
        q.multipart(first);
        q.sending(first, 0);
        assert_eq!(q.pause(a), Some(first));
        assert_eq!(q.get(a).map(|u| u.phase.clone()), Some(Phase::Paused));
        assert!(q.announcement().contains("paused"));
        assert_eq!(
            q.totals().1,
            101 * MB,
            "a paused upload is still unfinished"
        );
        assert_eq!(
            q.start_next(1).iter().map(|x| x.id).collect::<Vec<_>>(),
            vec![b],
            "the slot went to the next file"
        );
        assert!(!q.resume(b), "not paused");
        assert!(q.resume(a));
        assert_eq!(q.get(a).map(|u| u.phase.clone()), Some(Phase::Queued));
        assert_eq!(q.cancel(a), None, "waiting: nothing to abort");
    }

    #[test]
    fn a_resumed_upload_starts_from_the_stored_bytes_and_counts_only_new_speed() {
        let mut q = UploadQueue::default();
        let a = q.add("big.iso", 100 * MB);
        let at = q.start_next(0)[0];
        q.note(at, Some("Resuming — 5 of 10 parts already uploaded".into()));
        q.sending_from(at, 50 * MB, 1_000);
        let tr = |q: &UploadQueue| q.get(a).map(|u| u.transfer.clone()).unwrap();
        assert_eq!(tr(&q).percent(), 50.0);
        q.progress(at, 51 * MB, 1_200);
        assert!(
            (tr(&q).speed() - 5.0 * MB as f64).abs() < 1.0,
            "{}",
            tr(&q).speed()
        );
        // A failed part is sent again: progress drops without a negative speed.
        q.progress(at, 45 * MB, 1_400);
        assert_eq!(tr(&q).sent, 45 * MB);
        assert_eq!(tr(&q).speed(), 0.0);
        q.progress(at, 46 * MB, 1_600);
        assert!(tr(&q).speed() > 0.0);
        assert!(q.finish(at, 2_000));
        assert_eq!(q.get(a).and_then(|u| u.note.clone()), None);
    }
}
