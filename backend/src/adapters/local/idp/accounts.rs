//! Accounts and passwords: sign-up, confirmation codes and password sign-in, shared by the
//! hosted UI and the Cognito JSON API. The operations that hash take the [`WorkPermit`] of a
//! password-work slot; they run on the blocking pool (see [`super::hashing`]).

use rand::RngCore;

use crate::work_gate::WorkPermit;

use super::policy::{self, check_password, normalize_email};
use super::throttle::MAX_CODE_ATTEMPTS;
use super::tokens::{Session, Tokens};
use super::users::UserRecord;
use super::{API_SCOPE, BAD_CREDENTIALS, IdpError, LocalIdp};

/// Cognito's message while an account is locked out.
pub(crate) const ATTEMPTS_EXCEEDED: &str = "Password attempts exceeded";

impl LocalIdp {
    /// Creates an account; returns the user (confirmed at once when `auto_confirm`).
    pub(crate) fn sign_up(
        &self,
        slot: &WorkPermit,
        email: &str,
        password: &str,
    ) -> Result<UserRecord, IdpError> {
        let email = normalize_email(email)
            .ok_or_else(|| IdpError::InvalidParameter("Invalid email address format.".into()))?;
        check_password(password).map_err(IdpError::InvalidPassword)?;
        // Cheap check first so a duplicate does not cost a hash; the insert re-checks atomically.
        if self.users.user(&email)?.is_some() {
            return Err(IdpError::UsernameExists);
        }
        let user = UserRecord {
            sub: uuid::Uuid::new_v4().to_string(),
            email,
            password_hash: self.passwords.hash(slot, password)?,
            confirmed: self.config.auto_confirm,
            confirmation_code: (!self.config.auto_confirm).then(new_confirmation_code),
            code_attempts: 0,
            created_at: self.now().unix_timestamp(),
        };
        if !self.users.insert_user(&user)? {
            return Err(IdpError::UsernameExists);
        }
        log_code(&user);
        Ok(user)
    }

    /// Confirms a sign-up. With `auto_confirm` any code is accepted (clients may confirm
    /// unconditionally). A code dies after [`MAX_CODE_ATTEMPTS`] wrong guesses.
    pub(crate) fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), IdpError> {
        let email = normalize_email(email).ok_or(IdpError::NotAuthorized(BAD_CREDENTIALS))?;
        let auto = self.config.auto_confirm;
        let outcome = self.users.update_user(&email, |user| {
            if auto || user.confirmed {
                user.confirmed = true;
                user.confirmation_code = None;
                return Ok(());
            }
            let Some(expected) = user.confirmation_code.as_deref() else {
                return Err(IdpError::ExpiredCode);
            };
            let right = aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                code.trim().as_bytes(),
            )
            .is_ok();
            if right {
                user.confirmed = true;
                user.confirmation_code = None;
                user.code_attempts = 0;
                return Ok(());
            }
            user.code_attempts += 1;
            if user.code_attempts >= MAX_CODE_ATTEMPTS {
                user.confirmation_code = None;
            }
            Err(IdpError::CodeMismatch)
        })?;
        // Cognito's "user existence errors" protection answers unknown users like a wrong code.
        outcome.unwrap_or(Err(IdpError::CodeMismatch))
    }

    /// Checks an email and password with exactly one argon2 verification whatever the case
    /// (unknown address, over-long password, wrong or right password), so timing does not tell
    /// them apart; locked-out addresses cost none. Failures count per address, known or not.
    pub(crate) fn authenticate(
        &self,
        slot: &WorkPermit,
        email: &str,
        password: &str,
    ) -> Result<UserRecord, IdpError> {
        let email = normalize_email(email);
        // The attempt counts as a failure before the password is checked, atomically, so
        // concurrent guesses cannot all pass the check; a right password clears it again.
        if let Some(email) = &email
            && !self.users.reserve_attempt(email, self.now_ms())?
        {
            return Err(IdpError::NotAuthorized(ATTEMPTS_EXCEEDED));
        }
        let user = match &email {
            Some(email) => self.users.user(email)?,
            None => None,
        };
        let too_long = password.chars().count() > policy::MAX_PASSWORD_CHARS;
        let hash = user
            .as_ref()
            .filter(|_| !too_long)
            .map(|u| u.password_hash.as_str());
        let right = self.passwords.verify(slot, password, hash);
        let (Some(email), Some(user)) = (email, user.filter(|_| right)) else {
            return Err(IdpError::NotAuthorized(BAD_CREDENTIALS));
        };
        self.users.clear_failures(&email)?;
        if !user.confirmed {
            self.renew_dead_code(&email)?;
            return Err(IdpError::UserNotConfirmed);
        }
        Ok(user)
    }

    /// Someone who knows the password of an unconfirmed account whose code died of wrong
    /// guesses gets a new code (Cognito sends one when such a user signs in).
    fn renew_dead_code(&self, email: &str) -> Result<(), IdpError> {
        let renewed = self.users.update_user(email, |user| {
            let dead = !user.confirmed && user.confirmation_code.is_none();
            if dead {
                user.confirmation_code = Some(new_confirmation_code());
                user.code_attempts = 0;
            }
            dead.then(|| user.clone())
        })?;
        if let Some(Some(user)) = renewed {
            log_code(&user);
        }
        Ok(())
    }

    /// Tokens for a password sign-in through the JSON API (`USER_PASSWORD_AUTH`).
    pub(crate) fn password_tokens(&self, user: &UserRecord) -> Result<Tokens, IdpError> {
        let session = Session {
            user,
            scope: API_SCOPE,
            nonce: None,
            auth_time: self.now().unix_timestamp(),
            origin_jti: None,
        };
        self.issue(&session, true)
    }
}

fn new_confirmation_code() -> String {
    format!("{:06}", rand::rng().next_u32() % 1_000_000)
}

/// The local stand-in for Cognito's email: whoever runs the stack reads the console.
fn log_code(user: &UserRecord) {
    if let Some(code) = &user.confirmation_code {
        tracing::info!(email = %user.email, code = %code, "local IdP: confirmation code");
    }
}
