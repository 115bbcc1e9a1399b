//! Share policy: how long links live, how downloads are limited, which passwords are accepted
//! and how often they may be tried (hashing them is [`super::password`]'s).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ShareRecord;

// The terms and the state of a link are the same rules in the app.
pub use ferry_api::share::{MAX_DOWNLOADS, PASSWORD_CHARS, ShareState};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SharePolicyError {
    #[error("The expiry must be between 1 minute and {max_days} days.")]
    Expiry { max_days: u64 },
    #[error("The download limit must be between 1 and {MAX_DOWNLOADS}.")]
    MaxDownloads,
    #[error("The password must be 8 to 128 characters long.")]
    Password,
}

/// Validated choices for a new share.
#[derive(Debug)]
pub struct ShareTerms {
    pub expires_in: Duration,
    pub max_downloads: Option<u32>,
    pub password: Option<String>,
}

impl ShareTerms {
    pub fn parse(
        expires_in_seconds: Option<u64>,
        max_downloads: Option<u32>,
        password: Option<String>,
        default_ttl: Duration,
        max_ttl: Duration,
    ) -> Result<Self, SharePolicyError> {
        let expires_in = expires_in_seconds.map_or(default_ttl, Duration::from_secs);
        if expires_in < Duration::from_secs(60) || expires_in > max_ttl {
            return Err(SharePolicyError::Expiry {
                max_days: max_ttl.as_secs() / 86_400,
            });
        }
        if let Some(n) = max_downloads
            && (n == 0 || n > MAX_DOWNLOADS)
        {
            return Err(SharePolicyError::MaxDownloads);
        }
        let password = match password {
            Some(p) if p.is_empty() => None,
            Some(p) if !PASSWORD_CHARS.contains(&p.chars().count()) => {
                return Err(SharePolicyError::Password);
            }
            other => other,
        };
        Ok(Self {
            expires_in,
            max_downloads,
            password,
        })
    }
}

/// Whether `share` can be used at `now`.
pub fn state_at(share: &ShareRecord, now: OffsetDateTime) -> ShareState {
    ShareState::of(
        share.revoked,
        now >= share.expires_at,
        share.downloads,
        share.max_downloads,
    )
}

/// Downloads left, or `None` for an unlimited link.
pub fn downloads_left(share: &ShareRecord) -> Option<u32> {
    share
        .max_downloads
        .map(|max| max.saturating_sub(share.downloads))
}

/// Password attempts allowed on one link per window, counted in the metadata store so that every
/// instance of the API shares the count.
pub const PASSWORD_ATTEMPTS: AttemptPolicy = AttemptPolicy {
    max: 5,
    window: Duration::from_secs(5 * 60),
};

/// At most `max` attempts in a window of `window` that starts with the first attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptPolicy {
    pub max: u32,
    pub window: Duration,
}

/// The attempts made on a link in the window that started `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptWindow {
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    pub count: u32,
}

impl AttemptPolicy {
    /// The window after taking one more attempt at `now`, or, while the current window is
    /// full, the instant it ends.
    pub fn reserve(
        &self,
        current: Option<AttemptWindow>,
        now: OffsetDateTime,
    ) -> Result<AttemptWindow, OffsetDateTime> {
        match current {
            Some(w) if now < w.since + self.window => {
                if w.count < self.max {
                    Ok(AttemptWindow {
                        since: w.since,
                        count: w.count + 1,
                    })
                } else {
                    Err(w.since + self.window)
                }
            }
            _ => Ok(AttemptWindow {
                since: now,
                count: 1,
            }),
        }
    }

    /// The window after giving back an attempt taken in the window that started `since`:
    /// nothing changes once that window has been replaced.
    pub fn refund(current: Option<AttemptWindow>, since: OffsetDateTime) -> Option<AttemptWindow> {
        current
            .filter(|w| w.since == since && w.count > 0)
            .map(|w| AttemptWindow {
                since,
                count: w.count - 1,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FileId, FileName, ShareToken, UserId};

    const DAY: Duration = Duration::from_secs(86_400);

    fn share(now: OffsetDateTime) -> ShareRecord {
        ShareRecord {
            token: ShareToken::generate(),
            owner: UserId::parse("u").unwrap(),
            file_ids: vec![FileId::new()],
            file_name: FileName::parse("a.txt").unwrap(),
            total_size: Some(1),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
            max_downloads: Some(2),
            downloads: 0,
            password_hash: None,
            revoked: false,
            access: None,
            keep_when_empty: false,
            encrypted: false,
        }
    }

    #[test]
    fn terms_default_and_bound_the_expiry() {
        let t = ShareTerms::parse(None, None, None, DAY, 30 * DAY).unwrap();
        assert_eq!(t.expires_in, DAY);
        assert!(ShareTerms::parse(Some(59), None, None, DAY, 30 * DAY).is_err());
        assert!(ShareTerms::parse(Some(31 * 86_400), None, None, DAY, 30 * DAY).is_err());
        assert!(ShareTerms::parse(Some(30 * 86_400), None, None, DAY, 30 * DAY).is_ok());
    }

    #[test]
    fn terms_check_limits_and_passwords() {
        assert_eq!(
            ShareTerms::parse(None, Some(0), None, DAY, DAY).unwrap_err(),
            SharePolicyError::MaxDownloads
        );
        assert_eq!(
            ShareTerms::parse(None, None, Some("abc".into()), DAY, DAY).unwrap_err(),
            SharePolicyError::Password
        );
        assert_eq!(
            ShareTerms::parse(None, None, Some("7 chars".into()), DAY, DAY).unwrap_err(),
            SharePolicyError::Password
        );
        assert!(ShareTerms::parse(None, None, Some("8 chars!".into()), DAY, DAY).is_ok());
        let t = ShareTerms::parse(None, Some(1), Some(String::new()), DAY, DAY).unwrap();
        assert_eq!(t.password, None, "an empty password means no password");
    }

    #[test]
    fn state_follows_revocation_expiry_and_count() {
        let now = OffsetDateTime::now_utc();
        let mut s = share(now);
        assert_eq!(state_at(&s, now), ShareState::Live);
        assert_eq!(state_at(&s, s.expires_at), ShareState::Expired);
        s.downloads = 2;
        assert_eq!(state_at(&s, now), ShareState::Exhausted);
        assert_eq!(downloads_left(&s), Some(0));
        s.revoked = true;
        assert_eq!(state_at(&s, now), ShareState::Revoked);
    }

    #[test]
    fn attempts_fill_a_window_then_wait_for_the_next() {
        let policy = AttemptPolicy {
            max: 2,
            window: Duration::from_secs(60),
        };
        let t0 = OffsetDateTime::now_utc();
        let first = policy.reserve(None, t0).unwrap();
        assert_eq!(
            first,
            AttemptWindow {
                since: t0,
                count: 1
            }
        );
        let later = t0 + time::Duration::seconds(10);
        let second = policy.reserve(Some(first), later).unwrap();
        assert_eq!(
            second,
            AttemptWindow {
                since: t0,
                count: 2
            }
        );
        let ends = t0 + time::Duration::seconds(60);
        assert_eq!(policy.reserve(Some(second), later), Err(ends));
        assert_eq!(
            policy.reserve(Some(second), ends),
            Ok(AttemptWindow {
                since: ends,
                count: 1
            }),
            "a new window starts when the old one ends"
        );
        // A refund gives back one attempt of its own window only.
        assert_eq!(
            AttemptPolicy::refund(Some(second), t0),
            Some(AttemptWindow {
                since: t0,
                count: 1
            })
        );
        assert_eq!(AttemptPolicy::refund(Some(second), later), None);
        assert_eq!(AttemptPolicy::refund(None, t0), None);
    }
}
