//! File names and content types as users supply them: validated once, stored for display only.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Longest accepted name, in UTF-8 bytes (what most file systems allow).
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("The file name is empty.")]
    Empty,
    #[error("The file name is longer than {MAX_NAME_BYTES} bytes.")]
    TooLong,
    #[error("The file name contains a control character.")]
    Control,
    #[error("The file name contains a path separator.")]
    Separator,
    #[error("The file name cannot be \".\" or \"..\".")]
    Dots,
    #[error("The content type is not a valid media type.")]
    ContentType,
}

/// A display name for a file. Never used to build keys or paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

impl FileName {
    /// Accepts a name after Unicode NFC normalisation and trimming of surrounding white space.
    /// Separators are checked in the compatibility (NFKC) form too, so look-alikes such as the
    /// full-width solidus are refused.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        // ASCII is its own NFC and NFKC form; skipping the normalisers matters when a page of
        // stored records is read back.
        let ascii = raw.is_ascii();
        let name: String = if ascii {
            raw.trim().to_owned()
        } else {
            raw.trim().nfc().collect()
        };
        check_stored_name(&name)?;
        // A look-alike can only be a non-ASCII character, and it is never all of "." or "..".
        if !ascii && name.nfkc().any(|c| matches!(c, '/' | '\\')) {
            return Err(NameError::Separator);
        }
        Ok(Self(name))
    }

    /// A name read back from Ferry's own store, which only holds names [`FileName::parse`]
    /// made: not normalised again (the costly part for names beyond ASCII), but still refused
    /// if it breaks a rule whose breach could reach a header or a path (empty, too long, a
    /// control character, a separator, `.` or `..`), so a damaged record is an error.
    pub fn from_stored(raw: &str) -> Result<Self, NameError> {
        check_stored_name(raw)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rules of a name in the form it is stored in, in the order [`FileName::parse`] reports
/// them: its checks after normalising, [`FileName::from_stored`]'s, and stored folder paths'
/// segments'.
pub(super) fn check_stored_name(raw: &str) -> Result<(), NameError> {
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    if raw.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    if raw.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    // ASCII bytes never occur inside a longer UTF-8 sequence: a byte scan finds them all.
    if raw.bytes().any(|b| b == b'/' || b == b'\\') {
        return Err(NameError::Separator);
    }
    if raw == "." || raw == ".." {
        return Err(NameError::Dots);
    }
    Ok(())
}

impl TryFrom<String> for FileName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FileName> for String {
    fn from(value: FileName) -> Self {
        value.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A media type such as `image/png`, lower-cased; parameters are kept as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentType(String);

impl ContentType {
    pub const OCTET_STREAM: &'static str = "application/octet-stream";

    /// `None` or an empty string mean "unknown" and become `application/octet-stream`.
    pub fn parse_or_default(raw: Option<&str>) -> Result<Self, NameError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Self(Self::OCTET_STREAM.to_owned())),
            Some(raw) => Self::parse(raw),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let raw = raw.trim();
        if !Self::headerable(raw) {
            return Err(NameError::ContentType);
        }
        let (essence, params) = match raw.split_once(';') {
            Some((essence, params)) => (essence.trim(), Some(params.trim())),
            None => (raw, None),
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let Some((kind, subtype)) = essence.split_once('/') else {
            return Err(NameError::ContentType);
        };
        if !token(kind) || !token(subtype) {
            return Err(NameError::ContentType);
        }
        let essence = essence.to_ascii_lowercase();
        Ok(Self(match params {
            Some(params) if !params.is_empty() => format!("{essence}; {params}"),
            _ => essence,
        }))
    }

    /// A media type read back from Ferry's own store, which only holds what
    /// [`ContentType::parse`] made: kept as it is (already lower-cased and spaced), but refused
    /// if it is not printable ASCII with a `/`, so a damaged record never reaches a header.
    pub fn from_stored(raw: &str) -> Result<Self, NameError> {
        if !Self::headerable(raw) || !raw.contains('/') {
            return Err(NameError::ContentType);
        }
        Ok(Self(raw.to_owned()))
    }

    /// At most 255 bytes of printable ASCII: safe in a `Content-Type` header as it is.
    fn headerable(raw: &str) -> bool {
        raw.len() <= 255 && raw.bytes().all(|b| (0x20..0x7f).contains(&b))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The type without parameters, e.g. `text/plain` for `text/plain; charset=utf-8`.
    pub fn essence(&self) -> &str {
        self.0.split(';').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for ContentType {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ContentType> for String {
    fn from(value: ContentType) -> Self {
        value.0
    }
}

/// Characters left as they are in RFC 5987 `attr-char`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition: attachment` for a download, per RFC 6266: an ASCII fallback `filename`
/// for old clients and the exact UTF-8 name in `filename*`.
pub fn content_disposition(name: &FileName) -> String {
    let fallback: String = name
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name.as_str(), ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_trims_them() {
        assert_eq!(
            FileName::parse("  report 2026.pdf ").unwrap().as_str(),
            "report 2026.pdf"
        );
        assert_eq!(
            FileName::parse("résumé.txt").unwrap().as_str(),
            "résumé.txt"
        );
        assert_eq!(FileName::parse(".env").unwrap().as_str(), ".env");
    }

    #[test]
    fn normalises_to_nfc() {
        let decomposed = "re\u{301}sume\u{301}";
        assert_eq!(FileName::parse(decomposed).unwrap().as_str(), "résumé");
    }

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        assert_eq!(FileName::parse("   "), Err(NameError::Empty));
        assert_eq!(FileName::parse("a/b"), Err(NameError::Separator));
        assert_eq!(FileName::parse("..\\b"), Err(NameError::Separator));
        assert_eq!(FileName::parse("a\u{FF0F}b"), Err(NameError::Separator));
        assert_eq!(FileName::parse("a\nb"), Err(NameError::Control));
        assert_eq!(FileName::parse("a\u{0}b"), Err(NameError::Control));
        assert_eq!(FileName::parse(".."), Err(NameError::Dots));
        assert_eq!(FileName::parse(&"é".repeat(128)), Err(NameError::TooLong));
        assert!(FileName::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn content_types_are_validated_and_defaulted() {
        assert_eq!(
            ContentType::parse_or_default(None).unwrap().as_str(),
            "application/octet-stream"
        );
        assert_eq!(
            ContentType::parse_or_default(Some("")).unwrap().as_str(),
            "application/octet-stream"
        );
        assert_eq!(
            ContentType::parse("Image/PNG").unwrap().as_str(),
            "image/png"
        );
        let text = ContentType::parse("text/plain; charset=utf-8").unwrap();
        assert_eq!(text.essence(), "text/plain");
        for bad in [
            "png",
            "a/b/c",
            "text/",
            "te xt/plain",
            "text/plain\r\nX: y",
            "tëxt/plain",
        ] {
            assert_eq!(
                ContentType::parse(bad),
                Err(NameError::ContentType),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn content_disposition_follows_rfc_6266() {
        let name = FileName::parse("naïve \"plan\".txt").unwrap();
        assert_eq!(
            content_disposition(&name),
            "attachment; filename=\"na_ve _plan_.txt\"; filename*=UTF-8''na%C3%AFve%20%22plan%22.txt"
        );
    }

    #[test]
    fn stored_names_and_types_are_trusted_as_written_but_checked_for_damage() {
        // Read back as stored, not normalised again (parse would make "é" one code point).
        let decomposed = "Cafe\u{301}.txt";
        assert_eq!(
            FileName::from_stored(decomposed).unwrap().as_str(),
            decomposed
        );
        for bad in [
            "",
            "a/b",
            "a\\b",
            ".",
            "..",
            "a\u{0}b",
            "a\u{85}b",
            &"x".repeat(256),
        ] {
            assert!(FileName::from_stored(bad).is_err(), "{bad:?}");
        }
        let stored = "text/plain; charset=utf-8";
        assert_eq!(ContentType::from_stored(stored).unwrap().as_str(), stored);
        for bad in [
            "png",
            "text/plain\r\nX: y",
            "tëxt/plain",
            &format!("a/{}", "b".repeat(255)),
        ] {
            assert_eq!(
                ContentType::from_stored(bad),
                Err(NameError::ContentType),
                "{bad:?}"
            );
        }
    }
}
