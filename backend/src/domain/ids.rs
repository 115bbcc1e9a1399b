//! Identifiers: who owns what, and the object keys derived from them (never from user input).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("not a valid user id")]
    User,
    #[error("not a valid file id")]
    File,
    #[error("not a valid share token")]
    Share,
}

/// The identity provider's `sub` for a user. Restricted to a safe alphabet because it becomes
/// part of object keys and table keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::User)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file's id: a UUIDv7 in its hyphenated form, so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileId(uuid::Uuid);

impl FileId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, IdError> {
        // Only the canonical lowercase hyphenated form, so one file has exactly one spelling.
        let id = uuid::Uuid::try_parse(raw).map_err(|_| IdError::File)?;
        if id.hyphenated().to_string() == raw {
            Ok(Self(id))
        } else {
            Err(IdError::File)
        }
    }

    /// The id's 16 bytes (the local store keeps records in a binary form).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The canonical spelling (as `Display` writes it) in `buf`, without formatting machinery:
    /// the files list writes fifty of them per page.
    pub fn spelled_in<'b>(&self, buf: &'b mut [u8; 36]) -> &'b str {
        self.0.hyphenated().encode_lower(buf)
    }

    /// The id of these 16 bytes: any 16 bytes have one canonical spelling.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }
}

impl Default for FileId {
    fn default() -> Self {
        Self::new()
    }
}

impl TryFrom<String> for FileId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FileId> for String {
    fn from(value: FileId) -> Self {
        value.to_string()
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// A share link's secret: 128 random bits, URL-safe base64 without padding (22 characters).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShareToken(String);

impl ShareToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).map_err(|_| IdError::Share)?;
        // Re-encoding rejects non-canonical trailing bits, so each token has one spelling.
        if decoded.len() == 16 && URL_SAFE_NO_PAD.encode(&decoded) == raw {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::Share)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ShareToken {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ShareToken> for String {
    fn from(value: ShareToken) -> Self {
        value.0
    }
}

impl fmt::Display for ShareToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ShareToken {
    // Tokens are secrets: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareToken({}…)", &self.0[..4.min(self.0.len())])
    }
}

/// 128 random bits, URL-safe base64 without padding: a secret such as a link's access key.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two secrets are equal, in time that depends on their lengths only (a guess learns
/// nothing from how fast it was refused).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// `files/{sub}/{file_id}`: where a file's bytes live.
pub fn file_object_key(owner: &UserId, id: &FileId) -> String {
    format!("files/{owner}/{id}")
}

/// `thumbs/{sub}/{file_id}.webp`.
pub fn thumbnail_object_key(owner: &UserId, id: &FileId) -> String {
    format!("thumbs/{owner}/{id}.webp")
}

/// The owner and file of a `files/{sub}/{file_id}` key; `None` for any other key.
pub fn parse_file_object_key(key: &str) -> Option<(UserId, FileId)> {
    let rest = key.strip_prefix("files/")?;
    let (owner, id) = rest.split_once('/')?;
    Some((UserId::parse(owner).ok()?, FileId::parse(id).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_restricted_to_key_safe_characters() {
        assert!(UserId::parse("3f1c2a9e-1111-4222-8333-944455556666").is_ok());
        for bad in ["", "a/b", "a#b", "../x", "a b", &"x".repeat(129)] {
            assert_eq!(UserId::parse(bad), Err(IdError::User), "{bad:?}");
        }
    }

    #[test]
    fn file_ids_round_trip_and_sort_by_creation() {
        let a = FileId::new();
        let b = FileId::new();
        assert_eq!(FileId::parse(&a.to_string()), Ok(a));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert!(FileId::parse(&a.to_string().to_uppercase()).is_err());
        assert!(FileId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn share_tokens_carry_128_bits_and_have_one_spelling() {
        let t = ShareToken::generate();
        assert_eq!(t.as_str().len(), 22);
        assert_eq!(ShareToken::parse(t.as_str()).unwrap(), t);
        assert_ne!(ShareToken::generate(), t);
        assert!(ShareToken::parse("short").is_err());
        assert!(
            ShareToken::parse("AAAAAAAAAAAAAAAAAAAAAB").is_err(),
            "non-canonical trailing bits"
        );
        assert!(ShareToken::parse("AAAAAAAAAAAAAAAAAAAA+/").is_err());
        assert!(!format!("{t:?}").contains(t.as_str()));
    }

    #[test]
    fn object_keys_are_derived_from_ids_only() {
        let owner = UserId::parse("user-1").unwrap();
        let id = FileId::new();
        let key = file_object_key(&owner, &id);
        assert_eq!(key, format!("files/user-1/{id}"));
        assert_eq!(parse_file_object_key(&key), Some((owner.clone(), id)));
        assert_eq!(
            parse_file_object_key(&thumbnail_object_key(&owner, &id)),
            None
        );
        assert_eq!(parse_file_object_key("files/user-1/../x"), None);
        assert_eq!(parse_file_object_key("files/a/b/c"), None);
    }
}
