//! Asks before the page goes away while leaving it would lose an upload: a reload, closing the
//! tab, or a page load of the other entry (`/requests` from `/files`).

use leptos::prelude::*;

use crate::upload::{Phase, Upload, UploadQueue};

/// Whether leaving now loses this upload: it waits, starts or sends. A paused upload is sent in
/// parts and comes back as resumable, so it keeps nobody on the page; a finished one is done.
pub fn in_flight(upload: &Upload) -> bool {
    match upload.phase {
        Phase::Queued | Phase::Preparing | Phase::Sending => true,
        Phase::Paused => !upload.multipart,
        Phase::Done | Phase::Failed(_) | Phase::Cancelled => false,
    }
}

pub fn any_in_flight(queue: &UploadQueue) -> bool {
    queue.iter().any(in_flight)
}

/// Keeps a `beforeunload` listener on the window exactly while `queue` has an upload in flight,
/// so an ordinary navigation with nothing running never asks (and the page stays eligible for
/// the back/forward cache).
pub fn guard_uploads(queue: RwSignal<UploadQueue>) {
    let needed = Memo::new(move |_| queue.with(any_in_flight));
    Effect::new(move |_| {
        if !needed.get() {
            return;
        }
        let listener = window_event_listener(leptos::ev::beforeunload, |ev| {
            // The HTML spec's way, and `returnValue` for browsers that still want it.
            ev.prevent_default();
            ev.set_return_value("Uploads are still running.");
        });
        // Runs when `needed` turns false (before the effect runs again) and when the owner goes.
        on_cleanup(move || listener.remove());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::UploadError;

    /// The one upload of a queue, as the queue made it, in `phase`.
    fn upload(phase: Phase, multipart: bool) -> Upload {
        let mut queue = UploadQueue::default();
        let id = queue.add("a.bin", 10);
        let mut upload = queue.get(id).cloned().expect("just added");
        upload.phase = phase;
        upload.multipart = multipart;
        upload
    }

    #[test]
    fn waiting_starting_and_sending_keep_the_page() {
        for phase in [Phase::Queued, Phase::Preparing, Phase::Sending] {
            for multipart in [false, true] {
                assert!(in_flight(&upload(phase.clone(), multipart)), "{phase:?}");
            }
        }
    }

    #[test]
    fn a_paused_upload_keeps_the_page_only_if_it_cannot_resume() {
        assert!(!in_flight(&upload(Phase::Paused, true)));
        assert!(in_flight(&upload(Phase::Paused, false)));
    }

    #[test]
    fn finished_uploads_let_the_page_go() {
        for phase in [
            Phase::Done,
            Phase::Failed(UploadError::network()),
            Phase::Cancelled,
        ] {
            assert!(!in_flight(&upload(phase, false)));
        }
    }

    #[test]
    fn the_queue_is_in_flight_from_the_drop_until_the_last_upload_ends_or_pauses() {
        let mut queue = UploadQueue::new(2);
        assert!(!any_in_flight(&queue));
        let small = queue.add("small.txt", 10);
        let big = queue.add("big.bin", 1_000);
        assert!(any_in_flight(&queue));
        let attempts = queue.start_next(0);
        let (small_try, big_try) = (attempts[0], attempts[1]);
        queue.sending(small_try, 1);
        queue.sending(big_try, 1);
        queue.multipart(big_try);
        assert!(queue.finish(small_try, 2));
        assert!(any_in_flight(&queue), "the big one still sends");
        assert!(queue.pause(big).is_some());
        assert!(
            !any_in_flight(&queue),
            "paused in parts: it resumes after a reload"
        );
        assert!(queue.resume(big));
        assert!(any_in_flight(&queue), "back in line");
        assert!(queue.cancel(big).is_none());
        assert!(!any_in_flight(&queue));
        assert_eq!(queue.get(small).map(|u| u.phase.clone()), Some(Phase::Done));
    }
}
