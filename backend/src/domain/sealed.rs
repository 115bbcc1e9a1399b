//! End-to-end encrypted metadata as the server keeps it: an opaque blob it checks for size and
//! encoding only, never decodes, never logs (its `Debug` hides it) and hands back as it came.

use std::fmt;

use ferry_api::encryption::{ENCRYPTED_NAME, EncryptedMeta, MAX_META_CHARS, META_VERSION};
use serde::{Deserialize, Serialize};

/// A checked [`EncryptedMeta`]: base64url of at most 4 KiB, of a known version.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedMeta {
    blob: String,
    version: u8,
}

/// Why sealed metadata was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedMetaError {
    Empty,
    TooLong,
    NotBase64Url,
    UnknownVersion,
    /// A plaintext name, folder or type came beside the sealed one.
    PlaintextBeside,
}

impl fmt::Display for SealedMetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "`encrypted.meta` is empty.",
            Self::TooLong => "`encrypted.meta` is longer than 4 KiB.",
            Self::NotBase64Url => "`encrypted.meta` must be base64url without padding.",
            Self::UnknownVersion => "`encrypted.version` must be 1.",
            Self::PlaintextBeside => {
                "An encrypted upload sends its name, folder and type only inside `encrypted`: \
                 `name` must be \"encrypted\", with no `folder` and no `content_type` other \
                 than application/octet-stream."
            }
        })
    }
}

impl fmt::Debug for SealedMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedMeta(v{}, {} chars)",
            self.version,
            self.blob.len()
        )
    }
}

fn is_base64url(text: &str) -> bool {
    text.len() % 4 != 1
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl SealedMeta {
    /// Checks an upload's `encrypted` with what came beside it: the announced name, folder and
    /// type must be the neutral ones, so no plaintext reaches a record.
    pub fn parse(
        wire: &EncryptedMeta,
        name: &str,
        folder: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<Self, SealedMetaError> {
        let neutral_type = matches!(content_type, None | Some("" | "application/octet-stream"));
        if name != ENCRYPTED_NAME || folder.is_some_and(|f| !f.is_empty()) || !neutral_type {
            return Err(SealedMetaError::PlaintextBeside);
        }
        Self::from_stored(wire.meta.clone(), wire.version)
    }

    /// A blob read back from a store, checked as on the way in.
    pub fn from_stored(blob: String, version: u8) -> Result<Self, SealedMetaError> {
        if version != META_VERSION {
            return Err(SealedMetaError::UnknownVersion);
        }
        if blob.is_empty() {
            return Err(SealedMetaError::Empty);
        }
        if blob.len() > MAX_META_CHARS {
            return Err(SealedMetaError::TooLong);
        }
        if !is_base64url(&blob) {
            return Err(SealedMetaError::NotBase64Url);
        }
        Ok(Self { blob, version })
    }

    pub fn blob(&self) -> &str {
        &self.blob
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    pub fn to_wire(&self) -> EncryptedMeta {
        EncryptedMeta {
            meta: self.blob.clone(),
            version: self.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(meta: &str, version: u8) -> EncryptedMeta {
        EncryptedMeta {
            meta: meta.to_owned(),
            version,
        }
    }

    #[test]
    fn only_base64url_of_at_most_4_kib_of_version_1_is_kept() {
        let ok = SealedMeta::parse(&wire("AbC-_9", 1), "encrypted", None, None).unwrap();
        assert_eq!(ok.to_wire(), wire("AbC-_9", 1));
        let longest = "A".repeat(MAX_META_CHARS);
        assert!(SealedMeta::parse(&wire(&longest, 1), "encrypted", None, None).is_ok());
        for (meta, version, why) in [
            ("", 1, SealedMetaError::Empty),
            (&*format!("{longest}AAAA"), 1, SealedMetaError::TooLong),
            ("ab+/", 1, SealedMetaError::NotBase64Url),
            ("abcd==", 1, SealedMetaError::NotBase64Url),
            ("abcde", 1, SealedMetaError::NotBase64Url),
            ("abcd", 2, SealedMetaError::UnknownVersion),
        ] {
            let got = SealedMeta::parse(&wire(meta, version), "encrypted", None, None);
            assert_eq!(got, Err(why), "{meta:?}");
        }
    }

    #[test]
    fn no_plaintext_name_folder_or_type_may_come_beside_it() {
        let meta = wire("abcd", 1);
        for (name, folder, kind) in [
            ("report.pdf", None, None),
            ("encrypted", Some("photos"), None),
            ("encrypted", None, Some("image/png")),
        ] {
            assert_eq!(
                SealedMeta::parse(&meta, name, folder, kind),
                Err(SealedMetaError::PlaintextBeside)
            );
        }
        let octets = Some("application/octet-stream");
        assert!(SealedMeta::parse(&meta, "encrypted", Some(""), octets).is_ok());
    }

    #[test]
    fn debug_never_shows_the_blob() {
        let sealed = SealedMeta::parse(&wire("SECRETblob", 1), "encrypted", None, None).unwrap();
        assert!(!format!("{sealed:?}").contains("SECRET"));
    }
}
