//! What the identity provider accepts as an email address (the username) and as a password.

/// Why a password was refused; the messages follow Cognito's `InvalidPasswordException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Password did not conform with policy: Password not long enough")]
    TooShort,
    #[error("Password did not conform with policy: Password is too long")]
    TooLong,
    #[error("Password did not conform with policy: Password must have letters")]
    NoLetter,
    #[error("Password did not conform with policy: Password must have numeric characters")]
    NoDigit,
}

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Cognito's limit; it also bounds the work a single hashing request can cause.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// At least 8 characters, at most 256, with at least one letter and one digit.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    if !password.chars().any(char::is_alphabetic) {
        return Err(PasswordError::NoLetter);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(PasswordError::NoDigit);
    }
    Ok(())
}

/// The canonical (trimmed, lowercased) form of a plausible email address, or `None`.
/// Deliberately loose: the point is one account per address, not RFC 5322 conformance.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let ok = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c));
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_length_a_letter_and_a_digit() {
        assert_eq!(check_password("abcdefg1"), Ok(()));
        assert_eq!(check_password("Ünïcödé9"), Ok(()));
        assert_eq!(check_password("abcdef1"), Err(PasswordError::TooShort));
        assert_eq!(check_password(""), Err(PasswordError::TooShort));
        assert_eq!(check_password("12345678"), Err(PasswordError::NoLetter));
        assert_eq!(check_password("abcdefgh"), Err(PasswordError::NoDigit));
        assert_eq!(
            check_password(&format!("a1{}", "x".repeat(255))),
            Err(PasswordError::TooLong)
        );
        // Length counts characters, not bytes.
        assert_eq!(check_password("ééééé1"), Err(PasswordError::TooShort));
    }

    #[test]
    fn emails_are_normalized_and_checked_loosely() {
        assert_eq!(
            normalize_email("  Ada@Example.COM "),
            Some("ada@example.com".into())
        );
        assert_eq!(
            normalize_email("a.b+c@sub.example.org"),
            Some("a.b+c@sub.example.org".into())
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@.com",
            "ada@x..com",
            "a b@example.com",
            "a@b@example.com",
            "<a>@example.com",
            "ada@example.com.",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }
}
