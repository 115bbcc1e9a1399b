//! The transfer's key and the link that carries it: `/s/{token}#k={base64url}`. Browsers never
//! send a fragment to a server, so the key reaches only whoever holds the whole link.

use std::fmt;

/// Bytes of a transfer's key (AES-256).
pub const KEY_LEN: usize = 32;

/// A transfer's 256-bit key: the input keying material of every file's and blob's keys.
#[derive(Clone, PartialEq, Eq)]
pub struct TransferKey([u8; KEY_LEN]);

/// Why a link gave no key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKeyError {
    /// No `k=` in the fragment (the link was cut at `#`, or shared without it).
    Missing,
    /// A `k=` that is not 32 bytes of base64url (the link was cut or mangled).
    Damaged,
}

impl fmt::Display for LinkKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => {
                "This link is missing its key: the part after # was lost. Ask the sender \
                 for the whole link."
            }
            Self::Damaged => {
                "This link's key is damaged: part of it was lost or changed. Ask the sender \
                 for the whole link."
            }
        })
    }
}

impl std::error::Error for LinkKeyError {}

impl fmt::Debug for TransferKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A key must not end up in a log or a panic message.
        f.write_str("TransferKey(…)")
    }
}

impl TransferKey {
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A fresh random key from the browser's CSPRNG (`crypto.getRandomValues`).
    pub fn generate() -> Result<Self, super::CryptoError> {
        let mut bytes = [0; KEY_LEN];
        super::webcrypto::random_bytes(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The fragment that carries the key, without its `#`: `k=…`.
    pub fn fragment(&self) -> String {
        format!("k={}", crate::base64::encode_url(&self.0))
    }

    /// `url` (a share's link, without a fragment) with the key after `#`.
    pub fn link(&self, url: &str) -> String {
        format!("{url}#{}", self.fragment())
    }

    /// The key in a location's fragment (`#k=…`, with or without the `#`; other `&`-separated
    /// parameters are ignored).
    pub fn from_fragment(fragment: &str) -> Result<Self, LinkKeyError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        let value = fragment
            .split('&')
            .find_map(|pair| pair.strip_prefix("k="))
            .ok_or(LinkKeyError::Missing)?;
        if value.is_empty() {
            return Err(LinkKeyError::Missing);
        }
        crate::base64::decode_url(value)
            .and_then(|bytes| <[u8; KEY_LEN]>::try_from(bytes).ok())
            .map(Self)
            .ok_or(LinkKeyError::Damaged)
    }
}
