//! Minting Cognito-shaped tokens: an access and an ID token for every authentication or
//! refresh, and a stored refresh token for password and code sign-ins.

use serde_json::json;

use super::users::{RefreshRecord, UserRecord};
use super::{IdpError, LocalIdp, random_token};

/// Cognito's default refresh-token validity.
const REFRESH_TTL_SECS: i64 = 30 * 86_400;

/// The tokens of one successful authentication or refresh.
#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub access_token: String,
    pub id_token: String,
    /// Only when authenticating with a password; refreshing keeps the old one.
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

/// What a redeemed code or refresh token grants.
pub(crate) struct Session<'a> {
    pub user: &'a UserRecord,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    /// The authentication these tokens continue (a refresh), or `None` for a new one.
    pub origin_jti: Option<&'a str>,
}

impl LocalIdp {
    /// Signs an access and an ID token (and, with `with_refresh`, stores a new refresh token).
    pub(crate) fn issue(
        &self,
        session: &Session<'_>,
        with_refresh: bool,
    ) -> Result<Tokens, IdpError> {
        let user = session.user;
        let iat = self.now().unix_timestamp();
        let ttl = self.access_ttl_secs();
        let exp = iat.saturating_add(ttl);
        // Cognito links the tokens of one authentication through `origin_jti`; revoking its
        // refresh token revokes them all.
        let origin_jti = session
            .origin_jti
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let access = json!({
            "sub": user.sub,
            "iss": self.config.issuer,
            "client_id": self.config.client_id,
            "origin_jti": origin_jti,
            "event_id": uuid::Uuid::new_v4().to_string(),
            "token_use": "access",
            "scope": session.scope,
            "auth_time": session.auth_time,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
            // A pool whose username attribute is the email names users by their `sub`.
            "username": user.sub,
            "email": user.email,
        });
        let mut id = json!({
            "sub": user.sub,
            "aud": self.config.client_id,
            "email_verified": true,
            "token_use": "id",
            "auth_time": session.auth_time,
            "iss": self.config.issuer,
            "cognito:username": user.sub,
            "origin_jti": origin_jti,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
            "email": user.email,
        });
        if let Some(nonce) = session.nonce {
            id["nonce"] = json!(nonce);
        }
        let refresh_token = if with_refresh {
            let token = random_token();
            self.users.insert_refresh(
                &token,
                &RefreshRecord {
                    sub: user.sub.clone(),
                    client_id: self.config.client_id.clone(),
                    auth_time: session.auth_time,
                    scope: session.scope.to_owned(),
                    expires_at: iat.saturating_add(REFRESH_TTL_SECS),
                    origin_jti: Some(origin_jti),
                },
            )?;
            Some(token)
        } else {
            None
        };
        Ok(Tokens {
            access_token: self.key.sign(&access)?,
            id_token: self.key.sign(&id)?,
            refresh_token,
            expires_in: ttl.unsigned_abs(),
        })
    }

    /// The access-token lifetime in seconds, at least one.
    pub(crate) fn access_ttl_secs(&self) -> i64 {
        i64::try_from(self.config.access_token_ttl.as_secs().max(1)).unwrap_or(i64::MAX)
    }
}
