//! Which key a share link of some files carries, or why it can carry none: a link has one
//! fragment, so its files are all plain (no key), or all encrypted with the one key this
//! device holds for them.

use std::fmt;

use super::keyring::{KeyRing, KeyRingError};
use super::link::TransferKey;

/// Why no link with a key can be made of a set of files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKeyProblem {
    /// Encrypted and plain files together (the server refuses them too: `mixed_encryption`).
    Mixed,
    /// Encrypted files uploaded with different keys.
    Different,
    /// An encrypted file whose key this device does not hold.
    Unknown,
}

impl fmt::Display for LinkKeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mixed => f.write_str(
                "These files cannot share one link: some are end-to-end encrypted and some are \
                 not. Share the encrypted ones and the others separately.",
            ),
            Self::Different => fmt::Display::fmt(&KeyRingError::Different, f),
            Self::Unknown => f.write_str(
                "This device does not hold the key of an encrypted file, so it cannot make a \
                 link that opens it. Share it from the device that uploaded it.",
            ),
        }
    }
}

/// The key a link of `files` (id, whether the server says it is encrypted) carries: `None` for
/// plain files. A file this device holds a key for counts as encrypted even before the server
/// has said so (a file still starting to upload).
pub fn link_key(
    ring: &KeyRing,
    files: &[(&str, bool)],
) -> Result<Option<TransferKey>, LinkKeyProblem> {
    let encrypted: Vec<&str> = files
        .iter()
        .filter(|(id, sealed)| *sealed || ring.key_for(id).is_some())
        .map(|(id, _)| *id)
        .collect();
    if encrypted.is_empty() {
        return Ok(None);
    }
    if encrypted.len() != files.len() {
        return Err(LinkKeyProblem::Mixed);
    }
    ring.common_key(&encrypted)
        .map(Some)
        .map_err(|err| match err {
            KeyRingError::Unknown(_) => LinkKeyProblem::Unknown,
            KeyRingError::Different => LinkKeyProblem::Different,
        })
}

/// This device's key ring (`localStorage`); empty outside a browser.
pub fn device_ring() -> KeyRing {
    #[cfg(target_arch = "wasm32")]
    {
        KeyRing::load()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        KeyRing::default()
    }
}

/// What "end to end encrypted" means for whoever gets the link.
pub const WHAT_IT_MEANS: &str = "End-to-end encrypted: the key is in the link, after the #, and \
     never reaches Ferry. Anyone with the whole link can open the files, so send it only to \
     whom it is meant for; a link cut at the # opens nothing.";

#[cfg(test)]
mod tests {
    use super::super::link::KEY_LEN;
    use super::*;

    fn ring() -> KeyRing {
        let mut ring = KeyRing::default();
        ring.remember("a", &TransferKey::from_bytes([1; KEY_LEN]));
        ring.remember("b", &TransferKey::from_bytes([1; KEY_LEN]));
        ring.remember("c", &TransferKey::from_bytes([2; KEY_LEN]));
        ring
    }

    #[test]
    fn plain_files_get_no_key_and_encrypted_ones_their_common_key() {
        let ring = ring();
        assert_eq!(link_key(&ring, &[("p", false), ("q", false)]), Ok(None));
        assert_eq!(link_key(&ring, &[]), Ok(None));
        let key = link_key(&ring, &[("a", true), ("b", true)])
            .unwrap()
            .unwrap();
        assert_eq!(key, TransferKey::from_bytes([1; KEY_LEN]));
        // Known to the ring before the server's list says it is encrypted.
        assert_eq!(
            link_key(&ring, &[("a", false), ("b", true)]),
            Ok(Some(TransferKey::from_bytes([1; KEY_LEN])))
        );
    }

    #[test]
    fn mixed_different_and_unknown_keys_are_refused_with_their_reason() {
        let ring = ring();
        assert_eq!(
            link_key(&ring, &[("a", true), ("p", false)]),
            Err(LinkKeyProblem::Mixed)
        );
        assert_eq!(
            link_key(&ring, &[("a", true), ("c", true)]),
            Err(LinkKeyProblem::Different)
        );
        assert_eq!(
            link_key(&ring, &[("x", true)]),
            Err(LinkKeyProblem::Unknown)
        );
        assert_eq!(
            link_key(&ring, &[("a", true), ("x", true)]),
            Err(LinkKeyProblem::Unknown)
        );
        for problem in [
            LinkKeyProblem::Mixed,
            LinkKeyProblem::Different,
            LinkKeyProblem::Unknown,
        ] {
            assert!(
                problem.to_string().to_lowercase().contains("share"),
                "{problem}"
            );
        }
    }
}
