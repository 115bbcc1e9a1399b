//! The owner's device-local key ring: which transfer key sealed which of their files, kept in
//! `localStorage` so the files page can open names on the device that uploaded them (other
//! devices show "Encrypted file") and a link of those files can carry their key.
//!
//! Anything running on the site's origin can read `localStorage`; the site's strict CSP is what
//! keeps foreign scripts out. The keys never go to the server.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::link::{KEY_LEN, TransferKey};

/// The `localStorage` entry.
pub const STORAGE_KEY: &str = "ferry.e2ee.keys.v1";

/// What the files page shows for an encrypted file whose key this device does not hold.
pub const UNKNOWN_NAME: &str = "Encrypted file";

/// Keys by file id; each distinct key stored once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    /// Base64url keys.
    keys: Vec<String>,
    /// File id → index into `keys`.
    files: BTreeMap<String, usize>,
}

/// Why no one key opens a set of files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRingError {
    /// This device holds no key for this file.
    Unknown(String),
    /// The files were sealed with different keys, and a link carries one.
    Different,
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(_) => f.write_str(
                "This device does not hold the key of an encrypted file: share it from the \
                 device that uploaded it.",
            ),
            Self::Different => f.write_str(
                "These encrypted files were uploaded at different times, each with its own \
                 key; a link can carry one key, so share them separately.",
            ),
        }
    }
}

impl KeyRing {
    /// The ring stored as `json`; a missing or damaged entry is an empty ring (the names then
    /// show as "Encrypted file", nothing breaks).
    pub fn from_json(json: Option<&str>) -> Self {
        let ring: Self = json
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default();
        if ring.files.values().all(|&i| i < ring.keys.len()) {
            ring
        } else {
            Self::default()
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Remembers that `key` sealed the file `file_id`.
    pub fn remember(&mut self, file_id: &str, key: &TransferKey) {
        let encoded = crate::base64::encode_url(key.bytes());
        let index = match self.keys.iter().position(|k| *k == encoded) {
            Some(index) => index,
            None => {
                self.keys.push(encoded);
                self.keys.len() - 1
            }
        };
        self.files.insert(file_id.to_owned(), index);
    }

    pub fn key_for(&self, file_id: &str) -> Option<TransferKey> {
        let encoded = self.keys.get(*self.files.get(file_id)?)?;
        let bytes = crate::base64::decode_url(encoded)?;
        Some(TransferKey::from_bytes(
            <[u8; KEY_LEN]>::try_from(bytes).ok()?,
        ))
    }

    /// Forgets deleted files, and keys no file uses any more.
    pub fn forget(&mut self, file_ids: &[&str]) {
        for id in file_ids {
            self.files.remove(*id);
        }
        let used: Vec<usize> = (0..self.keys.len())
            .filter(|i| self.files.values().any(|v| v == i))
            .collect();
        let renumber: BTreeMap<usize, usize> = used
            .iter()
            .enumerate()
            .map(|(new, &old)| (old, new))
            .collect();
        self.keys = used.iter().map(|&i| self.keys[i].clone()).collect();
        for index in self.files.values_mut() {
            *index = renumber[index];
        }
    }

    /// The one key that sealed all of `file_ids`: what a link of them carries.
    pub fn common_key(&self, file_ids: &[&str]) -> Result<TransferKey, KeyRingError> {
        let mut common: Option<TransferKey> = None;
        for id in file_ids {
            let key = self
                .key_for(id)
                .ok_or_else(|| KeyRingError::Unknown((*id).to_owned()))?;
            match &common {
                Some(c) if *c != key => return Err(KeyRingError::Different),
                Some(_) => {}
                None => common = Some(key),
            }
        }
        common.ok_or(KeyRingError::Different)
    }

    /// This device's ring (`localStorage`).
    #[cfg(target_arch = "wasm32")]
    pub fn load() -> Self {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        Self::from_json(stored.as_deref())
    }

    /// Writes the ring back; `false` when storage refused (full, or disabled).
    #[cfg(target_arch = "wasm32")]
    pub fn save(&self) -> bool {
        storage().is_some_and(|s| s.set_item(STORAGE_KEY, &self.to_json()).is_ok())
    }
}

#[cfg(target_arch = "wasm32")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TransferKey {
        TransferKey::from_bytes([n; KEY_LEN])
    }

    #[test]
    fn keys_are_kept_once_per_key_and_found_by_file() {
        let mut ring = KeyRing::default();
        ring.remember("a", &key(1));
        ring.remember("b", &key(1));
        ring.remember("c", &key(2));
        assert_eq!(ring.keys.len(), 2);
        let back = KeyRing::from_json(Some(&ring.to_json()));
        assert_eq!(back, ring);
        assert_eq!(back.key_for("b"), Some(key(1)));
        assert_eq!(back.key_for("c"), Some(key(2)));
        assert_eq!(back.key_for("d"), None);
        assert!(!ring.to_json().contains("\"a\":\"")); // ids map to indexes, not keys
    }

    #[test]
    fn a_link_gets_the_one_key_its_files_share() {
        let mut ring = KeyRing::default();
        ring.remember("a", &key(1));
        ring.remember("b", &key(1));
        ring.remember("c", &key(2));
        assert_eq!(ring.common_key(&["a", "b"]), Ok(key(1)));
        assert_eq!(ring.common_key(&["a", "c"]), Err(KeyRingError::Different));
        assert_eq!(
            ring.common_key(&["a", "x"]),
            Err(KeyRingError::Unknown("x".to_owned()))
        );
        assert_eq!(ring.common_key(&[]), Err(KeyRingError::Different));
    }

    #[test]
    fn forgetting_files_drops_unused_keys_and_damaged_rings_read_empty() {
        let mut ring = KeyRing::default();
        ring.remember("a", &key(1));
        ring.remember("b", &key(2));
        ring.remember("c", &key(3));
        ring.forget(&["b"]);
        assert_eq!(ring.keys.len(), 2);
        assert_eq!(ring.key_for("a"), Some(key(1)));
        assert_eq!(ring.key_for("c"), Some(key(3)));
        assert_eq!(ring.key_for("b"), None);
        for damaged in [
            None,
            Some("not json"),
            Some(r#"{"keys":[],"files":{"a":0}}"#),
        ] {
            assert_eq!(KeyRing::from_json(damaged), KeyRing::default());
        }
    }
}
