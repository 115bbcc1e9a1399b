//! The identity provider's durable state in a redb file: users (by email, with a `sub` index)
//! and refresh tokens (by the SHA-256 of the token, so a copy of the file yields no tokens).

use std::path::Path;

use anyhow::Context;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// email → user record (JSON).
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// sub → email.
const SUBS: TableDefinition<&str, &str> = TableDefinition::new("subs");
/// hex SHA-256 of a refresh token → refresh record (JSON).
const REFRESH: TableDefinition<&str, &[u8]> = TableDefinition::new("refresh_tokens");

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

    /// Marks the user confirmed if `accept(&user)` says so, atomically. `None` when there is
    /// no such user, otherwise whether it was accepted.
    pub fn confirm_user(
        &self,
        email: &str,
        accept: impl FnOnce(&UserRecord) -> bool,
    ) -> anyhow::Result<Option<bool>> {
        let tx = self.db.begin_write()?;
        let accepted = {
            let mut users = tx.open_table(USERS)?;
            let current: Option<UserRecord> = match users.get(email)? {
                Some(raw) => Some(serde_json::from_slice(raw.value())?),
                None => None,
            };
            let Some(mut user) = current else {
                return Ok(None);
            };
            if !accept(&user) {
                return Ok(Some(false));
            }
            user.confirmed = true;
            user.confirmation_code = None;
            users.insert(email, serde_json::to_vec(&user)?.as_slice())?;
            true
        };
        tx.commit()?;
        Ok(Some(accepted))
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
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
