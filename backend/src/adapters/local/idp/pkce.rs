//! PKCE (RFC 7636) with the S256 method only: `plain` would let anyone who sees the
//! authorization request redeem the code.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Whether `challenge` can be an S256 challenge: the base64url (unpadded) form of a SHA-256.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// Whether `verifier` is well-formed (43–128 unreserved characters) and hashes to `challenge`.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of RFC 7636, appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert!(is_s256_challenge(CHALLENGE));
        assert!(verify_s256(VERIFIER, CHALLENGE));
    }

    #[test]
    fn wrong_or_malformed_verifiers_are_refused() {
        let mut other = VERIFIER.to_owned();
        other.replace_range(0..1, "e");
        assert!(!verify_s256(&other, CHALLENGE));
        // `plain`: presenting the challenge itself as the verifier.
        assert!(!verify_s256(CHALLENGE, CHALLENGE));
        assert!(!verify_s256("short", CHALLENGE));
        assert!(!verify_s256(&"a".repeat(129), CHALLENGE));
        assert!(!verify_s256(&format!("{VERIFIER} "), CHALLENGE));
        assert!(!verify_s256("", ""));
    }

    #[test]
    fn challenges_must_look_like_a_sha256() {
        assert!(!is_s256_challenge(""));
        assert!(!is_s256_challenge(VERIFIER.get(..42).unwrap_or_default()));
        assert!(!is_s256_challenge(&format!("{}=", &CHALLENGE[..42])));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
