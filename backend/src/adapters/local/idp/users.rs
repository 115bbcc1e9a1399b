//! The identity provider's durable state in a redb file: users (by email, with a `sub` index),
//! refresh tokens (by the SHA-256 of the token, so a copy of the file yields no tokens) and
//! recent failed sign-ins (by email, see [`super::throttle`]).

use std::path::Path;

use anyhow::Context;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::throttle::Failures;

/// email → user record (JSON).
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// sub → email.
const SUBS: TableDefinition<&str, &str> = TableDefinition::new("subs");
/// hex SHA-256 of a refresh token → refresh record (JSON).
const REFRESH: TableDefinition<&str, &[u8]> = TableDefinition::new("refresh_tokens");
/// normalized email (known or not) → failed sign-ins (JSON).
const FAILURES: TableDefinition<&str, &[u8]> = TableDefinition::new("sign_in_failures");
/// `origin_jti` of a revoked refresh token → until when its access tokens could still be valid
/// (unix seconds).
const REVOKED: TableDefinition<&str, i64> = TableDefinition::new("revoked_origins");

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    pub sub: String,
    /// Normalized (lowercase), see [`super::policy::normalize_email`].
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub confirmed: bool,
    /// Set while unconfirmed and confirmation codes are required.
    pub confirmation_code: Option<String>,
    /// Wrong guesses at the current confirmation code.
    #[serde(default)]
    pub code_attempts: u32,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub sub: String,
    pub client_id: String,
    /// When the user authenticated with a password; refreshed tokens keep it.
    pub auth_time: i64,
    pub scope: String,
    pub expires_at: i64,
    /// Links the tokens of one authentication, so revoking the refresh token revokes the
    /// access tokens issued with it (absent in records written before revocation existed).
    #[serde(default)]
    pub origin_jti: Option<String>,
}

pub struct UserDb {
    db: Database,
}

impl UserDb {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let db = Database::create(path).with_context(|| format!("opening {}", path.display()))?;
        // Read transactions cannot open tables that were never created.
        let tx = db.begin_write()?;
        tx.open_table(USERS)?;
        tx.open_table(SUBS)?;
        tx.open_table(REFRESH)?;
        tx.open_table(FAILURES)?;
        tx.open_table(REVOKED)?;
        tx.commit()?;
        Ok(Self { db })
    }

    pub fn user(&self, email: &str) -> anyhow::Result<Option<UserRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(USERS)?;
        let Some(raw) = table.get(email)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(raw.value())?))
    }

    pub fn user_by_sub(&self, sub: &str) -> anyhow::Result<Option<UserRecord>> {
        let email = {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(SUBS)?;
            let Some(email) = table.get(sub)? else {
                return Ok(None);
            };
            email.value().to_owned()
        };
        self.user(&email)
    }

    /// Stores a new user; `false` (and nothing written) when the email is taken.
    pub fn insert_user(&self, user: &UserRecord) -> anyhow::Result<bool> {
        let tx = self.db.begin_write()?;
        {
            let mut users = tx.open_table(USERS)?;
            if users.get(user.email.as_str())?.is_some() {
                return Ok(false);
            }
            users.insert(user.email.as_str(), serde_json::to_vec(user)?.as_slice())?;
            tx.open_table(SUBS)?
                .insert(user.sub.as_str(), user.email.as_str())?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Changes a user atomically: `change` sees the stored record and says what to answer; the
    /// record is written back as `change` left it. `None` when there is no such user.
    pub fn update_user<T>(
        &self,
        email: &str,
        change: impl FnOnce(&mut UserRecord) -> T,
    ) -> anyhow::Result<Option<T>> {
        let tx = self.db.begin_write()?;
        let answer = {
            let mut users = tx.open_table(USERS)?;
            let current: Option<UserRecord> = match users.get(email)? {
                Some(raw) => Some(serde_json::from_slice(raw.value())?),
                None => None,
            };
            let Some(mut user) = current else {
                return Ok(None);
            };
            let answer = change(&mut user);
            users.insert(email, serde_json::to_vec(&user)?.as_slice())?;
            answer
        };
        tx.commit()?;
        Ok(Some(answer))
    }

    /// Counts a sign-in attempt as failed before its password is checked, unless the address
    /// is locked out (then nothing is written). Whether the attempt may go on.
    pub fn reserve_attempt(&self, email: &str, now_ms: i64) -> anyhow::Result<bool> {
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(FAILURES)?;
            let failures: Failures = match table.get(email)? {
                Some(raw) => serde_json::from_slice(raw.value())?,
                None => Failures::default(),
            };
            if failures.locked(now_ms) {
                return Ok(false);
            }
            let failed = failures.failed(now_ms);
            table.insert(email, serde_json::to_vec(&failed)?.as_slice())?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Forgets an address's failures after a successful sign-in.
    pub fn clear_failures(&self, email: &str) -> anyhow::Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(FAILURES)?.remove(email)?;
        tx.commit()?;
        Ok(())
    }

    pub fn insert_refresh(&self, token: &str, record: &RefreshRecord) -> anyhow::Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(REFRESH)?.insert(
            token_hash(token).as_str(),
            serde_json::to_vec(record)?.as_slice(),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn refresh(&self, token: &str) -> anyhow::Result<Option<RefreshRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(REFRESH)?;
        let Some(raw) = table.get(token_hash(token).as_str())? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(raw.value())?))
    }

    /// Forgets a refresh token, and with `revoke_until` also refuses the access tokens of its
    /// authentication until then (unix seconds). Returns the record there was.
    pub fn remove_refresh(
        &self,
        token: &str,
        revoke_until: Option<i64>,
    ) -> anyhow::Result<Option<RefreshRecord>> {
        let tx = self.db.begin_write()?;
        let removed: Option<RefreshRecord> = {
            let mut table = tx.open_table(REFRESH)?;
            let raw = table.remove(token_hash(token).as_str())?;
            match raw {
                Some(raw) => Some(serde_json::from_slice(raw.value())?),
                None => None,
            }
        };
        if let (Some(until), Some(origin)) = (
            revoke_until,
            removed.as_ref().and_then(|r| r.origin_jti.as_deref()),
        ) {
            tx.open_table(REVOKED)?.insert(origin, until)?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Whether the tokens of this authentication were revoked.
    pub fn revoked(&self, origin_jti: &str) -> anyhow::Result<bool> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(REVOKED)?.get(origin_jti)?.is_some())
    }

    /// Drops refresh tokens expired at `now` (unix seconds) and failure records forgotten by
    /// `now_ms`; returns how many of each.
    pub fn prune(&self, now: i64, now_ms: i64) -> anyhow::Result<(usize, usize)> {
        let tx = self.db.begin_write()?;
        let mut removed = (0, 0);
        tx.open_table(REFRESH)?.retain(|_, raw| {
            let keep = serde_json::from_slice::<RefreshRecord>(raw)
                .is_ok_and(|record| record.expires_at > now);
            removed.0 += usize::from(!keep);
            keep
        })?;
        tx.open_table(FAILURES)?.retain(|_, raw| {
            let keep = serde_json::from_slice::<Failures>(raw).is_ok_and(|f| !f.stale(now_ms));
            removed.1 += usize::from(!keep);
            keep
        })?;
        tx.open_table(REVOKED)?.retain(|_, until| until > now)?;
        tx.commit()?;
        Ok(removed)
    }

    /// How many refresh tokens are stored.
    pub fn refresh_count(&self) -> anyhow::Result<u64> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(REFRESH)?.len()?)
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
