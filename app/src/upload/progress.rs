//! One upload's progress: bytes sent, the recent pace and the time left.

use std::collections::VecDeque;

use crate::format::{human_duration, human_size, human_speed};

/// Speed is measured over this recent window, so it follows changes in the connection.
const SPEED_WINDOW_MS: i64 = 4_000;

/// Bytes sent so far and the recent pace.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub total: u64,
    pub sent: u64,
    started_ms: i64,
    /// Bytes already stored when this try started (a resumed upload).
    started_at: u64,
    /// `(time, bytes sent)` over the last [`SPEED_WINDOW_MS`].
    samples: VecDeque<(i64, u64)>,
}

impl Transfer {
    pub(super) fn new(total: u64, now_ms: i64) -> Self {
        Self::resumed(total, 0, now_ms)
    }

    pub(super) fn resumed(total: u64, already: u64, now_ms: i64) -> Self {
        let already = already.min(total);
        Self {
            total,
            sent: already,
            started_ms: now_ms,
            started_at: already,
            samples: VecDeque::from([(now_ms, already)]),
        }
    }

    pub(super) fn record(&mut self, sent: u64, now_ms: i64) {
        let sent = sent.min(self.total);
        if sent < self.sent {
            // A part failed and is sent again: its bytes no longer count. Measure the pace
            // afresh from here rather than read the drop as negative speed.
            self.samples.clear();
            self.started_ms = now_ms;
            self.started_at = sent;
        }
        self.sent = sent;
        self.samples.push_back((now_ms, self.sent));
        while self.samples.len() > 2 && self.samples[1].0 <= now_ms - SPEED_WINDOW_MS {
            self.samples.pop_front();
        }
    }

    /// 0.0 to 100.0.
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.sent as f64 * 100.0 / self.total as f64
        }
    }

    /// Bytes per second over the recent window (since the start when that is all there is).
    pub fn speed(&self) -> f64 {
        let (Some(&(t0, b0)), Some(&(t1, b1))) = (self.samples.front(), self.samples.back()) else {
            return 0.0;
        };
        let (t0, b0) = if t1 - t0 < 500 {
            (self.started_ms, self.started_at)
        } else {
            (t0, b0)
        };
        let elapsed_ms = t1 - t0;
        if elapsed_ms <= 0 {
            0.0
        } else {
            b1.saturating_sub(b0) as f64 * 1000.0 / elapsed_ms as f64
        }
    }

    /// Whole seconds left at the current speed; `None` before any pace is known.
    pub fn eta_seconds(&self) -> Option<u64> {
        let speed = self.speed();
        if speed <= 0.0 {
            return None;
        }
        Some((self.total.saturating_sub(self.sent) as f64 / speed).ceil() as u64)
    }

    /// `"12.5 MiB of 50 MiB · 3.1 MiB/s · 12 s left"`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} of {}", human_size(self.sent), human_size(self.total));
        let speed = self.speed();
        if speed > 0.0 {
            text.push_str(&format!(" · {}", human_speed(speed)));
        }
        if let Some(eta) = self.eta_seconds().filter(|_| self.sent < self.total) {
            text.push_str(&format!(" · {} left", human_duration(eta)));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn early_speed_uses_the_time_since_the_start() {
        let mut tr = Transfer::new(10 * MB, 0);
        tr.record(MB, 200);
        assert!((tr.speed() - 5.0 * MB as f64).abs() < 1.0);
        let empty = Transfer::new(0, 0);
        assert_eq!(empty.percent(), 100.0);
    }
}
