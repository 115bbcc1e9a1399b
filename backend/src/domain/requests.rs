//! File requests: a link through which guests (no account) send files to its owner. The
//! request record with its limits left, a guest's session record, the mark a guest's file
//! carries, and the rules for titles, messages and notes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_api::requests::{MAX_MESSAGE_CHARS, MAX_NOTE_CHARS, MAX_TITLE_CHARS};
use ferry_api::{RequestState, codes};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::ids::{random_secret, same_secret};
use super::{FileId, ShareToken, UserId};

/// A request's link token: 128 random bits, made and checked exactly like a share's.
pub type RequestToken = ShareToken;

/// A file request. `files_left` and `bytes_left` are what guests may still send: every upload
/// takes from them atomically when it is created, and a guest file that goes (deleted, failed,
/// abandoned) gives its share back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub token: RequestToken,
    pub owner: UserId,
    pub title: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub max_files: u32,
    pub max_bytes: u64,
    pub files_left: u32,
    pub bytes_left: u64,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    /// The secret `unlock` gives to a guest who knew the password.
    pub access: Option<String>,
    pub closed: bool,
}

impl RequestRecord {
    /// Where it stands at `now`: expiry wins over closing.
    pub fn state_at(&self, now: OffsetDateTime) -> RequestState {
        if now >= self.expires_at {
            RequestState::Expired
        } else if self.closed {
            RequestState::Closed
        } else {
            RequestState::Open
        }
    }

    pub fn files_received(&self) -> u32 {
        self.max_files.saturating_sub(self.files_left)
    }

    pub fn bytes_received(&self) -> u64 {
        self.max_bytes.saturating_sub(self.bytes_left)
    }

    /// Whether `given` is this request's access key, compared in constant time.
    pub fn access_matches(&self, given: &str) -> bool {
        self.access
            .as_deref()
            .is_some_and(|key| same_secret(key.as_bytes(), given.as_bytes()))
    }
}

/// Who a guest is: the hash of the key their browser holds (the key itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GuestId(String);

impl GuestId {
    /// The id of a guest key, or `None` when `key` is not one (22 characters of URL-safe
    /// base64, as [`new_guest_key`] makes them).
    pub fn of_key(key: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(key).ok()?;
        if bytes.len() != 16 {
            return None;
        }
        let digest = Sha256::new()
            .chain_update(b"ferry guest\0")
            .chain_update(&bytes)
            .finalize();
        Some(Self(URL_SAFE_NO_PAD.encode(digest)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GuestId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let ok = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(value))
        } else {
            Err("not a guest id")
        }
    }
}

impl From<GuestId> for String {
    fn from(value: GuestId) -> Self {
        value.0
    }
}

/// A fresh guest key (128 random bits) and its id.
pub fn new_guest_key() -> (String, GuestId) {
    loop {
        let key = random_secret();
        if let Some(id) = GuestId::of_key(&key) {
            return (key, id);
        }
    }
}

/// One guest of one request: what they said about their files, and which files they sent
/// (deleted ones drop out when read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestRecord {
    pub token: RequestToken,
    pub guest: GuestId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub file_ids: Vec<FileId>,
}

/// On a file a guest sent: which request, the request's title then, and the guest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestMark {
    pub request: RequestToken,
    pub title: String,
    pub guest: GuestId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Text that breaks a rule: the stable code and a message for people.
#[derive(Debug, PartialEq, Eq)]
pub struct TextError {
    pub code: &'static str,
    pub message: String,
}

fn text(
    raw: &str,
    what: &str,
    max: usize,
    multiline: bool,
    code: &'static str,
) -> Result<String, TextError> {
    let value = raw.trim();
    let bad = |message: String| TextError { code, message };
    if value.chars().count() > max {
        return Err(bad(format!("The {what} may be at most {max} characters.")));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if !value.chars().all(allowed) {
        return Err(bad(format!("The {what} contains a control character.")));
    }
    Ok(value.to_owned())
}

/// A request's title: 1 to 200 characters on one line.
pub fn parse_title(raw: &str) -> Result<String, TextError> {
    let title = text(raw, "title", MAX_TITLE_CHARS, false, codes::INVALID_TITLE)?;
    if title.is_empty() {
        return Err(TextError {
            code: codes::INVALID_TITLE,
            message: "A request needs a title.".into(),
        });
    }
    Ok(title)
}

/// A request's message: up to 2,000 characters, line breaks allowed.
pub fn parse_message(raw: &str) -> Result<String, TextError> {
    text(
        &raw.replace("\r\n", "\n"),
        "message",
        MAX_MESSAGE_CHARS,
        true,
        codes::INVALID_TEXT,
    )
}

/// A guest's name (one line) or note (line breaks allowed): up to 500 characters; empty is
/// none.
pub fn parse_note(
    raw: Option<&str>,
    what: &str,
    multiline: bool,
) -> Result<Option<String>, TextError> {
    let Some(raw) = raw else { return Ok(None) };
    let value = text(
        &raw.replace("\r\n", "\n"),
        what,
        MAX_NOTE_CHARS,
        multiline,
        codes::INVALID_TEXT,
    )?;
    Ok(Some(value).filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_keys_have_stable_ids_and_garbage_has_none() {
        let (key, id) = new_guest_key();
        assert_eq!(GuestId::of_key(&key), Some(id.clone()));
        assert_ne!(id.as_str(), key);
        assert_eq!(GuestId::of_key("short"), None);
        assert_eq!(GuestId::of_key(""), None);
        assert!(GuestId::try_from(id.as_str().to_owned()).is_ok());
    }

    #[test]
    fn titles_messages_and_notes_follow_their_rules() {
        assert_eq!(parse_title("  Scans  ").unwrap(), "Scans");
        assert_eq!(parse_title(" ").unwrap_err().code, codes::INVALID_TITLE);
        assert!(parse_title(&"x".repeat(201)).is_err());
        assert!(parse_title("a\nb").is_err());
        assert_eq!(parse_message("a\r\nb").unwrap(), "a\nb");
        assert!(parse_message("a\u{7}").is_err());
        assert_eq!(parse_note(Some(""), "name", false).unwrap(), None);
        assert!(parse_note(Some(&"é".repeat(501)), "note", true).is_err());
        assert_eq!(
            parse_note(Some("Ann"), "name", false).unwrap().as_deref(),
            Some("Ann")
        );
    }

    #[test]
    fn expiry_wins_over_closing() {
        let now = OffsetDateTime::now_utc();
        let mut r = RequestRecord {
            token: ShareToken::generate(),
            owner: UserId::parse("u").unwrap(),
            title: "t".into(),
            message: String::new(),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
            max_files: 5,
            max_bytes: 100,
            files_left: 3,
            bytes_left: 40,
            password_hash: None,
            access: None,
            closed: true,
        };
        assert_eq!(r.state_at(now), RequestState::Closed);
        assert_eq!(r.state_at(r.expires_at), RequestState::Expired);
        r.closed = false;
        assert_eq!(r.state_at(now), RequestState::Open);
        assert_eq!((r.files_received(), r.bytes_received()), (2, 60));
    }
}
