//! The in-process rate limiter of the guest routes of file requests (`routes::guest_gate`): a fixed one-minute window
//! per request token and per client address, in a table of bounded size.
//!
//! Per instance: in AWS each Lambda instance counts alone, and the client address is API
//! Gateway's `sourceIp` (CloudFront's edge when the API sits behind the distribution), so the
//! WAF rate rule and API Gateway's throttling on `/api/public/` stay the fleet-wide bound; this
//! one stops a single client or a single link from monopolising an instance or the local
//! server.

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;

/// Guest calls one client address may make per minute.
pub const PER_CLIENT_PER_MINUTE: u32 = 300;
/// Guest calls one request may receive per minute, from everyone.
pub const PER_REQUEST_PER_MINUTE: u32 = 1_200;
/// Password attempts one request may receive per minute (per instance; the password work gate
/// bounds their cost).
pub const UNLOCKS_PER_MINUTE: u32 = 20;
/// Keys tracked at most; beyond, the oldest window is forgotten first.
const MAX_KEYS: usize = 10_000;
const WINDOW_SECS: i64 = 60;

/// Counts calls per key in fixed one-minute windows.
#[derive(Debug, Default)]
pub struct GuestLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl GuestLimiter {
    /// Counts one call of `client` on request `token` at `now`; `Err(seconds)` until the
    /// window that refused it ends.
    pub fn check(&self, token: &str, client: &str, now: OffsetDateTime) -> Result<(), u64> {
        self.count(
            [
                (format!("c:{client}"), PER_CLIENT_PER_MINUTE),
                (format!("r:{token}"), PER_REQUEST_PER_MINUTE),
            ],
            now,
        )
    }

    /// Counts one password attempt on request `token` at `now`.
    pub fn check_unlock(&self, token: &str, now: OffsetDateTime) -> Result<(), u64> {
        self.count([(format!("u:{token}"), UNLOCKS_PER_MINUTE)], now)
    }

    fn count<const N: usize>(
        &self,
        keys: [(String, u32); N],
        now: OffsetDateTime,
    ) -> Result<(), u64> {
        let window = now.unix_timestamp().div_euclid(WINDOW_SECS);
        let retry =
            u64::try_from(WINDOW_SECS - now.unix_timestamp().rem_euclid(WINDOW_SECS)).unwrap_or(1);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, (w, _)| *w == window);
            if windows.len() >= MAX_KEYS {
                // Every key is in use this minute: forget half, so the table stays bounded.
                let drop: Vec<String> = windows.keys().take(MAX_KEYS / 2).cloned().collect();
                for key in drop {
                    windows.remove(&key);
                }
            }
        }
        for (key, limit) in &keys {
            if let Some((w, count)) = windows.get(key)
                && *w == window
                && *count >= *limit
            {
                return Err(retry);
            }
        }
        for (key, _) in keys {
            let entry = windows.entry(key).or_insert((window, 0));
            if entry.0 != window {
                *entry = (window, 0);
            }
            entry.1 += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_refused_past_its_limit_until_the_window_ends() {
        let limiter = GuestLimiter::default();
        let start = OffsetDateTime::from_unix_timestamp(6_000).unwrap();
        for _ in 0..PER_CLIENT_PER_MINUTE {
            limiter.check("t", "1.2.3.4", start).unwrap();
        }
        assert_eq!(limiter.check("t", "1.2.3.4", start), Err(60));
        // Another client of the same request still gets through.
        assert!(limiter.check("t", "5.6.7.8", start).is_ok());
        let later = start + time::Duration::seconds(60);
        assert!(limiter.check("t", "1.2.3.4", later).is_ok());
    }

    #[test]
    fn a_request_is_refused_past_its_limit_whoever_calls() {
        let limiter = GuestLimiter::default();
        let now = OffsetDateTime::from_unix_timestamp(6_030).unwrap();
        for i in 0..PER_REQUEST_PER_MINUTE {
            limiter.check("t", &format!("c{i}"), now).unwrap();
        }
        assert_eq!(limiter.check("t", "fresh", now), Err(30));
        assert!(limiter.check("other", "fresh", now).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = GuestLimiter::default();
        let now = OffsetDateTime::from_unix_timestamp(6_000).unwrap();
        for i in 0..(MAX_KEYS + 10) {
            limiter.check(&format!("t{i}"), &format!("c{i}"), now).ok();
        }
        assert!(limiter.windows.lock().unwrap().len() <= MAX_KEYS);
    }
}
