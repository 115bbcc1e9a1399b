//! The runner's decisions that need no browser, so they are unit-tested natively: what a
//! part's `PUT` outcome tells the scheduler, what a refused completion leads to, and how often
//! the progress bar and the resume record are refreshed.

use std::time::Duration;

use ferry_api::codes;

use super::error::{UploadError, upload_gone};
use super::schedule::{PartScheduler, SendFailure, backoff_ms};
use crate::api_client::ApiError;
use crate::transfer::Outcome;

/// Completion tries when the API cannot be reached, and reconciliations when it is refused.
const MAX_COMPLETE_TRIES: u32 = 5;
const MAX_RECONCILES: u32 = 2;

/// What a part's `PUT` outcome changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartReport {
    /// Storage holds the part now.
    pub stored: bool,
    /// Storage refused the URL: drop it, the scheduler asks for a fresh one.
    pub url_refused: bool,
}

/// Tells the scheduler how the `PUT` of part `number` (its send `attempt`) ended.
pub fn report_part(
    sched: &mut PartScheduler,
    number: u32,
    attempt: u32,
    outcome: Outcome,
    now_ms: i64,
) -> PartReport {
    let mut report = PartReport {
        stored: false,
        url_refused: false,
    };
    match outcome {
        Ok(Some(etag)) => {
            sched.sent(number, attempt, etag);
            report.stored = true;
        }
        Ok(None) => sched.stop(UploadError::no_etag()),
        Err(status) => {
            report.url_refused = status == 403;
            sched.send_failed(number, attempt, SendFailure::Status(status), now_ms);
        }
    }
    report
}

/// What to do after `POST /complete` was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterRefusal {
    /// The server no longer has the upload.
    Lost,
    /// Storage lacks or disagrees on some part: list what it holds and send the rest.
    Reconcile,
    /// The API could not be reached: complete again after this wait.
    RetryIn(Duration),
    Fail(UploadError),
}

/// The retry budgets of completing one upload; a resumed try starts with fresh ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompletionBudget {
    reconciles: u32,
    tries: u32,
}

impl CompletionBudget {
    /// Reads a refusal of `POST /complete`, spending budget on what is retried.
    pub fn after_refusal(&mut self, err: &ApiError) -> AfterRefusal {
        if upload_gone(err) {
            return AfterRefusal::Lost;
        }
        if (err.code == codes::PART_MISSING || err.code == codes::PART_MISMATCH)
            && self.reconciles < MAX_RECONCILES
        {
            self.reconciles += 1;
            return AfterRefusal::Reconcile;
        }
        if err.is_network() || err.status >= 500 {
            self.tries += 1;
            if self.tries < MAX_COMPLETE_TRIES {
                return AfterRefusal::RetryIn(Duration::from_millis(backoff_ms(self.tries) as u64));
            }
        }
        AfterRefusal::Fail(UploadError::from_api(err))
    }
}

/// Lets something happen at most once per period: redrawing the bar (parts report many times
/// a second each), rewriting the resume record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    period_ms: i64,
    last_ms: i64,
}

impl Throttle {
    pub const fn every(period_ms: i64) -> Self {
        Self {
            period_ms,
            last_ms: 0,
        }
    }

    /// Whether it may happen at `now_ms` (when `forced`, always); notes the time if so.
    pub fn ready(&mut self, now_ms: i64, forced: bool) -> bool {
        if !forced && now_ms - self.last_ms < self.period_ms {
            return false;
        }
        self.last_ms = now_ms;
        true
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::PartLayout;

    use super::*;
    use crate::upload::ErrorKind;
    use crate::upload::schedule::Step;

    const MIB: u64 = 1 << 20;

    /// A scheduler with part 1 on its way; returns its send attempt.
    fn sending_one() -> (PartScheduler, u32) {
        let mut s = PartScheduler::new(PartLayout::announced(16 * MIB, 8 * MIB, 2).unwrap(), 1);
        assert_eq!(s.poll(0)[0], Step::Hash(1));
        s.hashed(1, "sha1".into());
        s.poll(0);
        s.urls_issued(&[1]);
        let attempt = s
            .poll(0)
            .iter()
            .find_map(|step| match step {
                Step::Send { number: 1, attempt } => Some(*attempt),
                _ => None,
            })
            .unwrap();
        (s, attempt)
    }

    #[test]
    fn a_part_with_an_etag_is_stored() {
        let (mut s, attempt) = sending_one();
        let report = report_part(&mut s, 1, attempt, Ok(Some("\"e1\"".into())), 0);
        assert_eq!(
            report,
            PartReport {
                stored: true,
                url_refused: false
            }
        );
        assert_eq!(s.done_parts(), 1);
    }

    #[test]
    fn a_part_without_an_etag_stops_the_upload() {
        let (mut s, attempt) = sending_one();
        let report = report_part(&mut s, 1, attempt, Ok(None), 0);
        assert!(!report.stored);
        assert_eq!(s.failure(), Some(&UploadError::no_etag()));
    }

    #[test]
    fn a_refused_url_is_dropped_and_asked_for_again() {
        let (mut s, attempt) = sending_one();
        let report = report_part(&mut s, 1, attempt, Err(403), 0);
        assert!(report.url_refused);
        assert!(s.failure().is_none());
        assert_eq!(s.poll(0), vec![Step::RequestUrls(vec![(1, "sha1".into())])]);

        let (mut s, attempt) = sending_one();
        let report = report_part(&mut s, 1, attempt, Err(0), 0);
        assert!(!report.url_refused, "a dropped connection keeps the URL");
        assert!(
            s.poll(0).contains(&Step::WakeAt(backoff_ms(1))),
            "retried after a wait"
        );
    }

    fn refusal(status: u16, code: &str) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: "refused".into(),
        }
    }

    #[test]
    fn a_refused_completion_reconciles_twice_then_fails() {
        let mut budget = CompletionBudget::default();
        let missing = refusal(400, codes::PART_MISSING);
        assert_eq!(budget.after_refusal(&missing), AfterRefusal::Reconcile);
        let mismatch = refusal(400, codes::PART_MISMATCH);
        assert_eq!(budget.after_refusal(&mismatch), AfterRefusal::Reconcile);
        assert!(matches!(
            budget.after_refusal(&missing),
            AfterRefusal::Fail(e) if e.message == "refused"
        ));
        assert_eq!(
            CompletionBudget::default().after_refusal(&refusal(404, codes::NOT_FOUND)),
            AfterRefusal::Lost
        );
    }

    #[test]
    fn an_unreachable_api_is_asked_again_with_growing_waits_then_given_up() {
        let mut budget = CompletionBudget::default();
        let offline = ApiError::network("offline");
        let waits: Vec<AfterRefusal> = (0..4).map(|_| budget.after_refusal(&offline)).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8].map(|s| AfterRefusal::RetryIn(Duration::from_secs(s)))
        );
        assert!(matches!(
            budget.after_refusal(&refusal(503, codes::INTERNAL)),
            AfterRefusal::Fail(e) if e.kind == ErrorKind::Other
        ));
        assert!(matches!(
            CompletionBudget::default().after_refusal(&refusal(400, codes::INVALID_PART)),
            AfterRefusal::Fail(_)
        ));
    }

    #[test]
    fn a_throttle_lets_through_once_per_period_or_when_forced() {
        let mut t = Throttle::every(100);
        assert!(t.ready(100, false));
        assert!(!t.ready(150, false));
        assert!(t.ready(150, true), "forced");
        assert!(!t.ready(249, false));
        assert!(t.ready(250, false));
    }
}
