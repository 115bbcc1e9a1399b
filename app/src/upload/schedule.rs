//! One multipart upload's parts: which to hash, which need a URL, which to send, when to retry
//! and when to complete.
//!
//! Plain Rust with no browser in sight, so the rules are unit-tested natively. The runner
//! ([`super::Uploader`]) asks [`PartScheduler::poll`] (here) what to do next, does it (a hash in
//! a worker, `POST /parts`, a `PUT` of the part) and reports back (`reports`); a resumed upload
//! is first checked against storage (`reconcile`). Reports about a send carry its attempt
//! number, so late events from an aborted or superseded send change nothing.
//!
//! Memory stays flat: a plain part's bytes are read only while it is hashed (at most
//! [`HASH_PARALLEL`] parts at a time) and its send streams the slice from disk; a sealed part is
//! held from its sealing to its storage, so at most [`SEALED_READ_AHEAD`] wait beside the sends.

use ferry_api::parts::MAX_PART_URLS;
use ferry_api::{CompletedPart, PartLayout};

use super::error::UploadError;

mod reconcile;
mod reports;

/// Parts sent at once by default: enough to fill the pipe, few enough that each one progresses.
/// Six (the browser's HTTP/1.1 connections per host) was measured over an emulated 1 Gbit/s
/// link with 50 ms (bench/upload-throughput link mode): no better than four, because parts are
/// hashed ahead and a free slot starts at once; only a page that hashes inline gains from it.
pub const PARALLEL_PARTS: usize = 4;
/// Parts read and hashed at once (each one is held in memory while it is hashed).
pub const HASH_PARALLEL: usize = 2;
/// Sealed parts ready ahead of the sends: unlike a plain part, whose send streams its slice from
/// disk, a sealed part is held in memory from its sealing to its storage, so fewer wait. Two is
/// what the sealing workers make at once: a free send slot still finds a part ready.
pub const SEALED_READ_AHEAD: usize = HASH_PARALLEL;
/// Sends of one part that may fail in a row before the whole upload stops.
pub const MAX_PART_ATTEMPTS: u32 = 5;
/// Refused URLs (HTTP 403) of one part renewed in a row before the upload stops: one lapsed URL
/// is routine, a run of them means something else is wrong.
pub const MAX_RENEWALS: u32 = 4;
const BACKOFF_BASE_MS: i64 = 1_000;
const BACKOFF_MAX_MS: i64 = 30_000;

/// Wait before the `failures`-th retry: 1 s, 2 s, 4 s, … up to 30 s.
pub fn backoff_ms(failures: u32) -> i64 {
    let shift = failures.saturating_sub(1).min(15);
    (BACKOFF_BASE_MS << shift).min(BACKOFF_MAX_MS)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Bytes not yet hashed.
    Todo,
    Hashing,
    /// Checksum known; needs a URL.
    Hashed,
    /// URL asked for.
    AwaitingUrl,
    /// URL at hand; waits for a free send slot.
    Ready,
    Sending {
        attempt: u32,
        sent: u64,
    },
    /// Failed; tries again at `until_ms`.
    Backoff {
        until_ms: i64,
        then: Then,
    },
    Done {
        etag: String,
    },
}

/// Where a part goes when its backoff ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// Read the bytes again (storage refused them as corrupted).
    Hash,
    AskUrl,
    /// Send again with the URL at hand.
    Send,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    state: State,
    sha256: Option<String>,
    /// Sends started, so reports of older ones are recognised.
    attempts: u32,
    /// Failures in a row (reset when the part is stored).
    failures: u32,
    /// Refused URLs in a row.
    renewals: u32,
}

/// What the runner should do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read part `n` and report [`PartScheduler::hashed`].
    Hash(u32),
    /// `POST /parts` for these `(number, sha256)`; report [`PartScheduler::urls_issued`].
    RequestUrls(Vec<(u32, String)>),
    /// `PUT` part `number` to its URL; report with this `attempt`.
    Send { number: u32, attempt: u32 },
    /// Every part is stored: `POST /complete` with [`PartScheduler::completed_parts`].
    Complete,
    /// Nothing to do until then (a part's backoff ends): poll again at this time.
    WakeAt(i64),
}

/// Why a send failed, as the runner saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFailure {
    /// Any HTTP status from object storage; 0 when the connection failed.
    Status(u16),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PartScheduler {
    plan: PartLayout,
    parts: Vec<Part>,
    parallel: usize,
    /// Parts prepared (being hashed, hashed, waiting for or holding a URL) ahead of the sends.
    read_ahead: usize,
    url_request_open: bool,
    completing: bool,
    paused: bool,
    failure: Option<UploadError>,
}

impl PartScheduler {
    pub fn new(plan: PartLayout, parallel: usize) -> Self {
        let part = Part {
            state: State::Todo,
            sha256: None,
            attempts: 0,
            failures: 0,
            renewals: 0,
        };
        Self {
            plan,
            parts: vec![part; plan.part_count as usize],
            parallel: parallel.max(1),
            read_ahead: parallel.max(1),
            url_request_open: false,
            completing: false,
            paused: false,
            failure: None,
        }
    }

    /// Prepares at most `parts` ahead of the sends (at least one), instead of as many as are
    /// sent at once.
    pub fn reading_ahead(mut self, parts: usize) -> Self {
        self.read_ahead = parts.max(1);
        self
    }

    pub fn plan(&self) -> PartLayout {
        self.plan
    }

    fn part(&mut self, number: u32) -> Option<&mut Part> {
        number
            .checked_sub(1)
            .and_then(|i| self.parts.get_mut(i as usize))
    }

    fn count(&self, f: impl Fn(&State) -> bool) -> usize {
        self.parts.iter().filter(|p| f(&p.state)).count()
    }

    /// Numbers of the parts in `state`-matching states, lowest first.
    fn numbers<'a>(&'a self, f: impl Fn(&State) -> bool + 'a) -> impl Iterator<Item = u32> + 'a {
        self.parts
            .iter()
            .enumerate()
            .filter(move |(_, p)| f(&p.state))
            .map(|(i, _)| i as u32 + 1)
    }

    pub fn sending(&self) -> usize {
        self.count(|s| matches!(s, State::Sending { .. }))
    }

    fn part_len(&self, number: u32) -> u64 {
        self.plan.part_len(number).unwrap_or(0)
    }

    pub fn done_parts(&self) -> u32 {
        self.count(|s| matches!(s, State::Done { .. })) as u32
    }

    pub fn is_complete(&self) -> bool {
        self.done_parts() == self.plan.part_count
    }

    pub fn failure(&self) -> Option<&UploadError> {
        self.failure.as_ref()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Bytes stored plus bytes on their way: the file's progress.
    pub fn progress_bytes(&self) -> u64 {
        self.parts
            .iter()
            .enumerate()
            .map(|(i, p)| match &p.state {
                State::Done { .. } => self.part_len(i as u32 + 1),
                State::Sending { sent, .. } => (*sent).min(self.part_len(i as u32 + 1)),
                _ => 0,
            })
            .sum()
    }

    /// Bytes already stored.
    pub fn stored_bytes(&self) -> u64 {
        self.numbers(|s| matches!(s, State::Done { .. }))
            .map(|n| self.part_len(n))
            .sum()
    }

    /// Every stored part, in order, as completion and the resume record want them.
    pub fn completed_parts(&self) -> Vec<CompletedPart> {
        self.parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match (&p.state, &p.sha256) {
                (State::Done { etag }, Some(sha)) => Some(CompletedPart {
                    number: i as u32 + 1,
                    etag: etag.clone(),
                    sha256: sha.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The checksum of a part, once hashed.
    pub fn sha256(&self, number: u32) -> Option<&str> {
        let i = number.checked_sub(1)? as usize;
        self.parts.get(i)?.sha256.as_deref()
    }

    fn fail(&mut self, error: UploadError) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
    }

    /// Decides what to do now. Call after every report; each step is handed out once.
    pub fn poll(&mut self, now_ms: i64) -> Vec<Step> {
        if self.paused || self.failure.is_some() || self.completing {
            return Vec::new();
        }
        if self.is_complete() {
            self.completing = true;
            return vec![Step::Complete];
        }
        let mut steps = Vec::new();
        let mut wake: Option<i64> = None;
        for part in &mut self.parts {
            if let State::Backoff { until_ms, then } = part.state {
                if until_ms <= now_ms {
                    part.state = match then {
                        Then::Hash => State::Todo,
                        Then::AskUrl => State::Hashed,
                        Then::Send => State::Ready,
                    };
                } else {
                    wake = Some(wake.map_or(until_ms, |w| w.min(until_ms)));
                }
            }
        }

        // Sends first, lowest part first, so the file fills in order.
        let free = self.parallel.saturating_sub(self.sending());
        let ready: Vec<u32> = self
            .numbers(|s| matches!(s, State::Ready))
            .take(free)
            .collect();
        for number in ready {
            if let Some(part) = self.part(number) {
                part.attempts += 1;
                let attempt = part.attempts;
                part.state = State::Sending { attempt, sent: 0 };
                steps.push(Step::Send { number, attempt });
            }
        }

        if !self.url_request_open {
            let batch: Vec<u32> = self
                .numbers(|s| matches!(s, State::Hashed))
                .take(MAX_PART_URLS)
                .collect();
            if !batch.is_empty() {
                let mut asked = Vec::with_capacity(batch.len());
                for number in batch {
                    if let Some(part) = self.part(number) {
                        part.state = State::AwaitingUrl;
                        asked.push((number, part.sha256.clone().unwrap_or_default()));
                    }
                }
                self.url_request_open = true;
                steps.push(Step::RequestUrls(asked));
            }
        }

        // Read ahead so a part is ready when a send slot frees, but no further: at most
        // `read_ahead` parts wait with a checksum, and at most HASH_PARALLEL are being read.
        let prepared = self.count(|s| {
            matches!(
                s,
                State::Hashing | State::Hashed | State::AwaitingUrl | State::Ready
            )
        });
        let hashing = self.count(|s| matches!(s, State::Hashing));
        let room = self
            .read_ahead
            .saturating_sub(prepared)
            .min(HASH_PARALLEL.saturating_sub(hashing));
        let todo: Vec<u32> = self
            .numbers(|s| matches!(s, State::Todo))
            .take(room)
            .collect();
        for number in todo {
            if let Some(part) = self.part(number) {
                part.state = State::Hashing;
                steps.push(Step::Hash(number));
            }
        }
        if let Some(at) = wake {
            steps.push(Step::WakeAt(at));
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::UploadedPart;

    use crate::upload::error::ErrorKind;

    use super::*;

    const MIB: u64 = 1 << 20;

    fn plan(size: u64, part: u64) -> PartLayout {
        PartLayout::announced(size, part, size.div_ceil(part) as u32).unwrap()
    }

    fn done(number: u32, etag: &str, sha256: String) -> CompletedPart {
        CompletedPart {
            number,
            etag: etag.to_owned(),
            sha256,
        }
    }

    fn sha(n: u32) -> String {
        format!("sha{n}")
    }

    /// Drives every step the happy way until nothing is left but sends; returns the sends.
    fn settle(s: &mut PartScheduler, now: i64) -> Vec<(u32, u32)> {
        let mut sends = Vec::new();
        loop {
            let steps = s.poll(now);
            if steps.is_empty() {
                return sends;
            }
            let mut progressed = false;
            for step in steps {
                match step {
                    Step::Hash(n) => {
                        s.hashed(n, sha(n));
                        progressed = true;
                    }
                    Step::RequestUrls(parts) => {
                        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
                        s.urls_issued(&numbers);
                        progressed = true;
                    }
                    Step::Send { number, attempt } => sends.push((number, attempt)),
                    Step::Complete | Step::WakeAt(_) => return sends,
                }
            }
            if !progressed {
                return sends;
            }
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(
            (1..=7).map(backoff_ms).collect::<Vec<_>>(),
            vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(backoff_ms(100), 30_000);
    }

    #[test]
    fn at_most_the_parallel_count_is_sent_and_few_parts_are_read_ahead() {
        let mut s = PartScheduler::new(plan(100 * MIB, 8 * MIB), 4);
        // First poll: only two parts are read at once.
        assert_eq!(s.poll(0), vec![Step::Hash(1), Step::Hash(2)]);
        assert!(s.poll(0).is_empty(), "hashing slots are full");
        s.hashed(1, sha(1));
        assert_eq!(
            s.poll(0),
            vec![Step::RequestUrls(vec![(1, sha(1))]), Step::Hash(3)]
        );
        s.hashed(2, sha(2));
        s.hashed(3, sha(3));
        // One URL request at a time; meanwhile the next part is read.
        assert_eq!(s.poll(0), vec![Step::Hash(4)]);
        s.urls_issued(&[1]);
        let steps = s.poll(0);
        assert_eq!(
            steps[0],
            Step::Send {
                number: 1,
                attempt: 1
            }
        );
        assert_eq!(steps[1], Step::RequestUrls(vec![(2, sha(2)), (3, sha(3))]));
        assert_eq!(steps[2..], [Step::Hash(5)]);
        s.urls_issued(&[2, 3]);
        s.hashed(4, sha(4));
        s.hashed(5, sha(5));

        let sends = settle(&mut s, 0);
        assert_eq!(
            sends.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!(s.sending(), 4, "the cap");
        let read_ahead = s.count(|st| {
            matches!(
                st,
                State::Hashing | State::Hashed | State::AwaitingUrl | State::Ready
            )
        });
        assert!(read_ahead <= 4, "read ahead {read_ahead}");

        // A finished part frees a slot for the next prepared one.
        s.sent(1, 1, "e1".into());
        let sends = settle(&mut s, 0);
        assert_eq!(sends, vec![(5, 1)]);
        assert_eq!(s.sending(), 4);
    }

    #[test]
    fn all_parts_sent_then_complete_once() {
        let mut s = PartScheduler::new(plan(20 * MIB, 8 * MIB), 4);
        let sends = settle(&mut s, 0);
        assert_eq!(sends.len(), 3);
        for (n, a) in sends {
            s.sent(n, a, format!("e{n}"));
        }
        assert_eq!(s.poll(0), vec![Step::Complete]);
        assert!(s.poll(0).is_empty(), "complete is handed out once");
        assert_eq!(
            s.completed_parts(),
            vec![
                done(1, "e1", sha(1)),
                done(2, "e2", sha(2)),
                done(3, "e3", sha(3))
            ]
        );
    }

    #[test]
    fn a_failed_part_retries_with_growing_backoff_then_gives_up() {
        let mut s = PartScheduler::new(plan(8 * MIB, 8 * MIB), 4);
        let (n, mut attempt) = settle(&mut s, 0)[0];
        let mut now = 0;
        for failure in 1..MAX_PART_ATTEMPTS {
            s.send_failed(n, attempt, SendFailure::Status(0), now);
            assert!(s.failure().is_none());
            let wait = backoff_ms(failure);
            assert_eq!(s.poll(now), vec![Step::WakeAt(now + wait)]);
            assert!(
                s.poll(now + wait - 1)
                    .iter()
                    .all(|st| matches!(st, Step::WakeAt(_)))
            );
            now += wait;
            let steps = s.poll(now);
            assert_eq!(
                steps,
                vec![Step::Send {
                    number: n,
                    attempt: attempt + 1
                }],
                "the URL is reused"
            );
            attempt += 1;
        }
        s.send_failed(n, attempt, SendFailure::Status(503), now);
        assert_eq!(s.failure().map(|e| e.kind), Some(ErrorKind::Other));
        assert!(s.poll(now + 60_000).is_empty());

        // Retrying the upload starts over with a fresh budget, without re-reading the part.
        s.resume();
        assert!(s.failure().is_none());
        assert_eq!(s.poll(now), vec![Step::RequestUrls(vec![(1, sha(1))])]);
    }

    #[test]
    fn success_resets_the_failure_count() {
        let mut s = PartScheduler::new(plan(16 * MIB, 8 * MIB), 1);
        let (n, a) = settle(&mut s, 0)[0];
        s.send_failed(n, a, SendFailure::Status(0), 0);
        s.poll(1_000);
        s.sent(n, a + 1, "e".into());
        assert_eq!(s.parts[0].failures, 0);
    }

    #[test]
    fn a_lapsed_url_is_renewed_without_counting_as_a_failure() {
        let mut s = PartScheduler::new(plan(8 * MIB, 8 * MIB), 4);
        let (n, a) = settle(&mut s, 0)[0];
        s.progress(n, a, 3 * MIB);
        s.send_failed(n, a, SendFailure::Status(403), 0);
        assert!(s.failure().is_none());
        assert_eq!(s.progress_bytes(), 0, "the part's bytes are sent again");
        assert_eq!(
            s.poll(0),
            vec![Step::RequestUrls(vec![(1, sha(1))])],
            "a new URL at once, no re-read"
        );
        s.urls_issued(&[1]);
        assert_eq!(
            s.poll(0),
            vec![Step::Send {
                number: 1,
                attempt: 2
            }]
        );

        // An endless run of refusals is not a lapsed URL: stop eventually.
        let mut attempt = 2;
        for _ in 1..MAX_RENEWALS {
            s.send_failed(1, attempt, SendFailure::Status(403), 0);
            s.poll(0);
            s.urls_issued(&[1]);
            s.poll(0);
            attempt += 1;
        }
        assert!(s.failure().is_none(), "{MAX_RENEWALS} renewals are fine");
        s.send_failed(1, attempt, SendFailure::Status(403), 0);
        assert_eq!(s.failure().map(|e| e.kind), Some(ErrorKind::Expired));
    }

    #[test]
    fn a_corrupted_part_is_read_again() {
        let mut s = PartScheduler::new(plan(8 * MIB, 8 * MIB), 4);
        let (n, a) = settle(&mut s, 0)[0];
        s.send_failed(n, a, SendFailure::Status(400), 0);
        assert_eq!(s.poll(0), vec![Step::WakeAt(1_000)]);
        assert_eq!(s.poll(1_000), vec![Step::Hash(1)]);
    }

    #[test]
    fn url_request_failures_back_off_and_stop_on_refusals() {
        let mut s = PartScheduler::new(plan(8 * MIB, 8 * MIB), 4);
        assert_eq!(s.poll(0), vec![Step::Hash(1)]);
        s.hashed(1, sha(1));
        assert!(matches!(s.poll(0)[0], Step::RequestUrls(_)));
        s.urls_refused(&[1], UploadError::network(), 0);
        assert!(s.failure().is_none());
        assert_eq!(s.poll(0), vec![Step::WakeAt(1_000)]);
        // Due: asked again (the part has no URL yet, so it is not sent).
        let steps = s.poll(1_000);
        assert_eq!(steps, vec![Step::RequestUrls(vec![(1, sha(1))])]);

        let closed = UploadError {
            kind: ErrorKind::Other,
            message: "over".into(),
        };
        s.urls_refused(&[1], closed.clone(), 1_000);
        assert_eq!(s.failure(), Some(&closed));
    }

    #[test]
    fn progress_sums_stored_parts_and_bytes_on_their_way() {
        let mut s = PartScheduler::new(plan(20 * MIB, 8 * MIB), 4);
        let sends = [settle(&mut s, 0), settle(&mut s, 0)].concat();
        assert_eq!(sends.len(), 3);
        s.progress(1, 1, 2 * MIB);
        s.progress(3, 1, MIB);
        assert_eq!(s.progress_bytes(), 3 * MIB);
        s.sent(1, 1, "e1".into());
        assert_eq!(s.progress_bytes(), 9 * MIB);
        assert_eq!(s.stored_bytes(), 8 * MIB);
        s.progress(1, 1, 5 * MIB);
        assert_eq!(
            s.progress_bytes(),
            9 * MIB,
            "late events of a stored part change nothing"
        );
        s.progress(3, 7, 4 * MIB);
        assert_eq!(s.progress_bytes(), 9 * MIB, "nor events of another attempt");
        s.progress(3, 1, 100 * MIB);
        assert_eq!(
            s.progress_bytes(),
            8 * MIB + 4 * MIB,
            "capped at the part's size"
        );
    }

    #[test]
    fn pause_stops_everything_and_resume_asks_for_fresh_urls() {
        let mut s = PartScheduler::new(plan(40 * MIB, 8 * MIB), 2);
        let sends = [settle(&mut s, 0), settle(&mut s, 0)].concat();
        assert_eq!(sends.len(), 2);
        s.sent(1, 1, "e1".into());
        s.pause();
        assert!(s.is_paused());
        assert!(s.poll(0).is_empty());
        s.sent(2, 1, "late".into());
        assert_eq!(
            s.done_parts(),
            1,
            "a send aborted by the pause does not count"
        );
        assert_eq!(s.progress_bytes(), 8 * MIB);

        s.resume();
        let steps = s.poll(0);
        assert!(
            matches!(&steps[0], Step::RequestUrls(p) if p[0].0 == 2),
            "part 2 keeps its checksum and gets a new URL: {steps:?}"
        );
    }

    #[test]
    fn resume_sends_only_what_storage_lacks() {
        let p = plan(40 * MIB, 8 * MIB);
        let mut s = PartScheduler::new(p, 4);
        let stored = |n: u32, size: u64, sha: Option<&str>| UploadedPart {
            number: n,
            size,
            etag: format!("\"e{n}\""),
            sha256: sha.map(str::to_owned),
        };
        let server = vec![
            stored(1, 8 * MIB, Some("sha1")),
            // Checksum known only from this browser's record.
            stored(2, 8 * MIB, None),
            // A short (interrupted) part: sent again.
            stored(3, 2 * MIB, Some("sha3")),
            // The server and the record disagree: sent again.
            stored(4, 8 * MIB, Some("other")),
        ];
        let known = vec![
            done(2, "\"e2\"", sha(2)),
            done(4, "\"e4\"", sha(4)),
            // Recorded here but storage lost it: sent again.
            done(5, "\"e5\"", sha(5)),
        ];
        assert_eq!(s.reconcile(&server, &known), 2);
        assert_eq!(s.stored_bytes(), 16 * MIB);
        assert_eq!(s.progress_bytes(), 16 * MIB);
        let mut hashed = Vec::new();
        let sends = loop {
            let steps = s.poll(0);
            let mut sends = Vec::new();
            for step in &steps {
                match step {
                    Step::Hash(n) => {
                        hashed.push(*n);
                        s.hashed(*n, sha(*n));
                    }
                    Step::RequestUrls(parts) => {
                        s.urls_issued(&parts.iter().map(|(n, _)| *n).collect::<Vec<_>>());
                    }
                    Step::Send { number, .. } => sends.push(*number),
                    _ => {}
                }
            }
            if s.sending() == 3 || steps.is_empty() {
                break s
                    .numbers(|st| matches!(st, State::Sending { .. }))
                    .collect::<Vec<_>>();
            }
            let _ = sends;
        };
        assert_eq!(sends, vec![3, 4, 5], "only the missing parts");
        assert_eq!(hashed, vec![3, 4, 5]);
        assert_eq!(
            s.completed_parts()[1],
            done(2, "\"e2\"", sha(2)),
            "the recorded checksum completes part 2"
        );
    }

    #[test]
    fn a_refused_completion_reconciles_and_resends() {
        let mut s = PartScheduler::new(plan(16 * MIB, 8 * MIB), 4);
        let sends = [settle(&mut s, 0), settle(&mut s, 0)].concat();
        for (n, a) in sends {
            s.sent(n, a, format!("e{n}"));
        }
        assert_eq!(s.poll(0), vec![Step::Complete]);
        s.completion_refused();
        let server = vec![UploadedPart {
            number: 1,
            size: 8 * MIB,
            etag: "e1".into(),
            sha256: Some(sha(1)),
        }];
        assert_eq!(s.reconcile(&server, &s.completed_parts()), 1);
        assert_eq!(s.poll(0), vec![Step::Hash(2)]);
    }

    #[test]
    fn reading_ahead_fewer_parts_still_fills_every_send_slot() {
        let prepared = |s: &PartScheduler| {
            s.count(|st| {
                matches!(
                    st,
                    State::Hashing | State::Hashed | State::AwaitingUrl | State::Ready
                )
            })
        };
        let mut s = PartScheduler::new(plan(100 * MIB, 8 * MIB), 4).reading_ahead(2);
        let mut sent = 0;
        // Sends start as parts are prepared, and parts are prepared as they leave: never more
        // than two wait, and the four send slots fill.
        while sent < 4 {
            sent += settle(&mut s, 0).len();
            assert!(prepared(&s) <= 2, "prepared {}", prepared(&s));
        }
        assert_eq!(s.sending(), 4);
        assert_eq!(prepared(&s), 2, "two wait ready for the next free slot");
        s.sent(1, 1, "e1".into());
        assert_eq!(
            settle(&mut s, 0).len(),
            1,
            "a waiting part takes the free slot"
        );
        assert_eq!((s.sending(), prepared(&s)), (4, 2));
    }
}
