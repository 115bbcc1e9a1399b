//! Guessing limits per account, as Cognito documents them.
//!
//! Passwords: after five failed sign-ins an account is locked for 2^(n−5) seconds (n failures
//! so far), at most about 15 minutes. Attempts while locked fail with "Password attempts
//! exceeded", cost no hash and do not count. A success after the lock, or 15 quiet minutes after
//! the last failure and lock, start over. Records are kept for unknown addresses too, so a lockout says nothing
//! about whether an account exists.
//!
//! Confirmation codes: a code takes [`MAX_CODE_ATTEMPTS`] wrong guesses, then it is dead until
//! the user signs in with the right password, which issues a new one.

use serde::{Deserialize, Serialize};

/// Failures allowed before the first lockout.
const FREE_FAILURES: u32 = 5;
/// The longest lockout, and the quiet time after which failures are forgotten.
const MAX_LOCK_MS: i64 = 15 * 60 * 1000;
/// Wrong guesses a confirmation code takes before it stops working.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// One address's recent failed sign-ins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    pub count: u32,
    /// Unix milliseconds of the last counted failure.
    pub last_ms: i64,
    /// Unix milliseconds until which sign-ins are refused.
    pub locked_until_ms: i64,
}

impl Failures {
    /// Whether a sign-in attempt at `now_ms` is refused without checking the password.
    pub fn locked(&self, now_ms: i64) -> bool {
        now_ms < self.locked_until_ms
    }

    /// Forgotten: quiet long enough after the last failure and its lock that the next failure
    /// starts over. Counted from the lock's end, so the longest lock does not reset itself.
    pub fn stale(&self, now_ms: i64) -> bool {
        now_ms.saturating_sub(self.last_ms.max(self.locked_until_ms)) >= MAX_LOCK_MS
    }

    /// The record after one more failure at `now_ms`.
    pub fn failed(self, now_ms: i64) -> Self {
        let count = if self.stale(now_ms) {
            1
        } else {
            self.count + 1
        };
        let locked_until_ms = match count.checked_sub(FREE_FAILURES) {
            // 2^(n−5) seconds, capped well before the shift could overflow.
            Some(doublings) => now_ms.saturating_add(
                1000_i64
                    .saturating_mul(1_i64 << doublings.min(20))
                    .min(MAX_LOCK_MS),
            ),
            None => 0,
        };
        Self {
            count,
            last_ms: now_ms,
            locked_until_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_a_second_then_doubling_up_to_fifteen_minutes() {
        let mut f = Failures::default();
        let t0 = 1_000_000;
        for i in 0..4 {
            f = f.failed(t0 + i);
            assert!(!f.locked(t0 + i), "failure {} locks nothing", i + 1);
        }
        f = f.failed(t0 + 10);
        assert_eq!(f.count, 5);
        assert!(f.locked(t0 + 10));
        assert!(f.locked(t0 + 1009));
        assert!(!f.locked(t0 + 1010));
        f = f.failed(t0 + 2000);
        assert_eq!(f.locked_until_ms, t0 + 4000, "2^(6-5) s");
        for _ in 0..30 {
            f = f.failed(f.locked_until_ms);
        }
        assert_eq!(f.locked_until_ms - f.last_ms, MAX_LOCK_MS);
    }

    #[test]
    fn fifteen_quiet_minutes_start_over() {
        let mut f = Failures::default();
        for i in 0..6 {
            f = f.failed(i);
        }
        assert!(!f.stale(f.locked_until_ms));
        assert!(!f.stale(f.locked_until_ms + MAX_LOCK_MS - 1));
        let later = f.locked_until_ms + MAX_LOCK_MS;
        assert!(f.stale(later));
        let f = f.failed(later);
        assert_eq!((f.count, f.locked(later)), (1, false));
    }
}
