//! Access tokens whose signature already checked out, so a client sending the same token on every
//! request costs one RS256 verification per token rather than per request.
//!
//! Keyed by the token's SHA-256 (the cache never compares a presented token with a stored one
//! byte by byte). An entry lives until the token's `exp` (plus the leeway the verifier grants) or
//! [`MAX_AGE`], whichever comes first: the claims are checked as before, and a signing key that
//! leaves the issuer's key set stops being trusted for cached tokens within [`MAX_AGE`] too.
//! Only tokens that verified are kept; a refused token is checked again every time.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::ports::Identity;

/// Tokens kept at most. A full cache first drops expired entries, then starts over: a client
/// needs a genuine signed token per entry, so a full cache is many users, not an attack.
pub(super) const CAPACITY: usize = 4096;
/// Longest time a verification is reused, however far away the token's `exp` is.
pub(super) const MAX_AGE: Duration = Duration::from_secs(300);

struct Entry {
    identity: Identity,
    /// Unix time after which the token is refused (`exp` + leeway).
    valid_until: i64,
    stored: Instant,
}

/// A bounded map from token digest to the identity its verification produced.
#[derive(Default)]
pub(super) struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], Entry>>,
}

pub(super) type Digest32 = [u8; 32];

pub(super) fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// The identity of a token verified before and still valid at `now` (Unix seconds).
    pub(super) fn get(&self, key: &Digest32, now: i64) -> Option<Identity> {
        let entries = match self.entries.read() {
            Ok(guard) => guard,
            // A writer panicked mid-insert: treat the cache as empty rather than trust it.
            Err(_) => return None,
        };
        entries
            .get(key)
            .filter(|e| now <= e.valid_until && e.stored.elapsed() < MAX_AGE)
            .map(|e| e.identity.clone())
    }

    /// Remembers a verified token until `valid_until` (Unix seconds).
    pub(super) fn insert(&self, key: Digest32, identity: Identity, valid_until: i64, now: i64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| now <= e.valid_until && e.stored.elapsed() < MAX_AGE);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                identity,
                valid_until,
                stored: Instant::now(),
            },
        );
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn identity() -> Identity {
        Identity {
            user: UserId::parse("3f1c2a9e-1111-4222-8333-944455556666").unwrap(),
            username: None,
            email: Some("ada@example.com".into()),
        }
    }

    #[test]
    fn a_remembered_token_lasts_until_its_expiry_and_no_longer() {
        let cache = VerifiedTokens::default();
        let key = digest("header.payload.signature");
        assert_eq!(cache.get(&key, 900), None);
        cache.insert(key, identity(), 1_000, 900);
        assert_eq!(cache.get(&key, 1_000), Some(identity()));
        assert_eq!(cache.get(&key, 1_001), None);
        // Another token, however similar, is not this one.
        assert_eq!(cache.get(&digest("header.payload.signaturf"), 900), None);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(digest(&i.to_string()), identity(), 2_000, 1_000);
        }
        assert!(cache.len() <= CAPACITY);
        // Expired entries go first when it fills up.
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY - 1 {
            cache.insert(digest(&i.to_string()), identity(), 1_000, 900);
        }
        cache.insert(digest("fresh"), identity(), 5_000, 900);
        cache.insert(digest("newest"), identity(), 5_000, 2_000);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&digest("fresh"), 2_000), Some(identity()));
    }
}
