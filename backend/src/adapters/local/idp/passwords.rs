//! Argon2 work for the identity provider. Every hash and verification needs a slot of the
//! process-wide [`WorkGate`] (the type asks for its [`WorkPermit`]), so a flood of sign-ins
//! costs a refusal each instead of 9 MiB each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::domain::password::{hash_password, verify_password};
use crate::work_gate::{WorkGate, WorkPermit};

use super::IdpError;
use super::policy::MAX_PASSWORD_CHARS;

pub(crate) struct Passwords {
    gate: Arc<WorkGate>,
    /// A hash of a password nobody knows, verified against when there is no real hash to
    /// check, so every sign-in attempt costs the same. Made on first use, inside a slot.
    dummy: OnceLock<String>,
    verifications: AtomicU64,
}

impl Passwords {
    pub fn new(gate: Arc<WorkGate>) -> Self {
        Self {
            gate,
            dummy: OnceLock::new(),
            verifications: AtomicU64::new(0),
        }
    }

    /// A slot for one job that hashes or verifies, or [`IdpError::Busy`] when the gate is full.
    pub async fn slot(&self) -> Result<WorkPermit, IdpError> {
        self.gate.enter().await.map_err(|_| IdpError::Busy)
    }

    pub fn hash(&self, _slot: &WorkPermit, password: &str) -> Result<String, IdpError> {
        hash_password(password)
            .map_err(|e| IdpError::Internal(anyhow::anyhow!("hashing a password failed: {e}")))
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is none (an
    /// unknown user, or a password too long to be anyone's). Exactly one verification either
    /// way, and never more than [`MAX_PASSWORD_CHARS`] of input.
    pub fn verify(&self, slot: &WorkPermit, password: &str, hash: Option<&str>) -> bool {
        let bounded = match password.char_indices().nth(MAX_PASSWORD_CHARS) {
            Some((end, _)) => &password[..end],
            None => password,
        };
        let target = hash.unwrap_or_else(|| self.dummy(slot));
        self.verifications.fetch_add(1, Ordering::Relaxed);
        verify_password(bounded, target) && hash.is_some()
    }

    fn dummy(&self, slot: &WorkPermit) -> &str {
        self.dummy.get_or_init(|| {
            let mut secret = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
            self.hash(slot, &hex::encode(secret))
                .unwrap_or_else(|_| "$argon2id$invalid".to_owned())
        })
    }

    /// How many verifications ran (for tests: each sign-in attempt costs exactly one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifying_needs_a_slot_and_counts() {
        let passwords = Passwords::new(Arc::new(WorkGate::new(1, 0)));
        let slot = passwords.slot().await.unwrap();
        // The gate is full and nobody may wait: the next job is refused at once.
        assert!(matches!(passwords.slot().await, Err(IdpError::Busy)));
        let hash = passwords.hash(&slot, "abc12345").unwrap();
        assert!(passwords.verify(&slot, "abc12345", Some(&hash)));
        assert!(!passwords.verify(&slot, "abc12346", Some(&hash)));
        // Without a hash nothing matches, not even the dummy's own input.
        assert!(!passwords.verify(&slot, "abc12345", None));
        assert!(!passwords.verify(&slot, &"x".repeat(10_000), None));
        assert_eq!(passwords.verifications(), 4);
        drop(slot);
        assert!(passwords.slot().await.is_ok());
    }
}
