//! How passwords are kept: Argon2id hashes in PHC strings, for share passwords and for the local
//! identity provider's users alike.

/// Hashes a password with Argon2id and a random salt (PHC string; parameters and memory reuse in
/// [`super::argon`]).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    super::argon::hash(password)
}

/// Checks a password against a PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    super::argon::verify(password, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
