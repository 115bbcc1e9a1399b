//! The rules of a share link that the app and the API both apply: its accepted terms and
//! whether it can be used now.

/// Shortest and longest accepted share password, in characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;
/// Highest accepted download limit.
pub const MAX_DOWNLOADS: u32 = 10_000;

/// Whether a share link can be used now (before any download is counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareState {
    Live,
    Expired,
    Revoked,
    /// Its download limit is used up.
    Exhausted,
}

impl ShareState {
    /// The state of a link; `expired` tells whether its expiry has been reached (`now >=
    /// expires_at`), as each side reads time its own way. Revocation wins over expiry, and
    /// expiry over the download count.
    pub fn of(revoked: bool, expired: bool, downloads: u32, max_downloads: Option<u32>) -> Self {
        if revoked {
            Self::Revoked
        } else if expired {
            Self::Expired
        } else if max_downloads.is_some_and(|max| downloads >= max) {
            Self::Exhausted
        } else {
            Self::Live
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_wins_then_expiry_then_the_count() {
        assert_eq!(ShareState::of(false, false, 1, Some(2)), ShareState::Live);
        assert_eq!(ShareState::of(false, false, 9, None), ShareState::Live);
        assert_eq!(
            ShareState::of(false, false, 2, Some(2)),
            ShareState::Exhausted
        );
        assert_eq!(ShareState::of(false, true, 2, Some(2)), ShareState::Expired);
        assert_eq!(ShareState::of(true, true, 2, Some(2)), ShareState::Revoked);
    }
}
