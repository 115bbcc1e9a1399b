//! The answer of `GET /api/files`, written straight from the stored records into one buffer:
//! the list is the API's busiest read, and copying each record into a `ferry_api::File` first
//! (ids, dates and names turned into owned strings) cost as much as reading the records.
//!
//! The bytes are exactly what serialising [`ferry_api::FilePage`] gives (a test holds the two
//! side by side), so the wire type stays the one place the format is described.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::FileRecord;

/// Bytes reserved per file before writing a page: a typical record's answer fits.
const BYTES_PER_FILE: usize = 320;

/// A page of files as `GET /api/files` answers it.
pub(crate) struct FilePageAnswer<'a> {
    pub(crate) files: &'a [FileRecord],
    /// One per file, in the same order.
    pub(crate) thumbnail_urls: Vec<Option<String>>,
    pub(crate) next_cursor: Option<String>,
}

impl FilePageAnswer<'_> {
    /// The JSON answer (`200`, `application/json`).
    pub(crate) fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(64 + self.files.len() * BYTES_PER_FILE);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            // Every field is a string or a number: writing into memory cannot fail.
            Err(error) => {
                tracing::error!(%error, "writing the files page");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl Serialize for FilePageAnswer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut page = serializer.serialize_struct("FilePage", 2)?;
        page.serialize_field("items", &Items(self))?;
        match &self.next_cursor {
            Some(cursor) => page.serialize_field("next_cursor", cursor)?,
            None => page.skip_field("next_cursor")?,
        }
        page.end()
    }
}

struct Items<'p, 'a>(&'p FilePageAnswer<'a>);

impl Serialize for Items<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let page = self.0;
        let thumbnails = page.thumbnail_urls.iter().map(Option::as_deref);
        serializer.collect_seq(
            page.files
                .iter()
                .zip(thumbnails.chain(std::iter::repeat(None)))
                .map(|(file, thumbnail_url)| WireFile {
                    file,
                    thumbnail_url,
                }),
        )
    }
}

/// One file as [`ferry_api::File`] writes it, fields in the same order.
pub(crate) struct WireFile<'a> {
    pub(crate) file: &'a FileRecord,
    pub(crate) thumbnail_url: Option<&'a str>,
}

impl Serialize for WireFile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let f = self.file;
        let mut out = serializer.serialize_struct("File", 11)?;
        out.serialize_field("id", &Displayed(&f.id))?;
        out.serialize_field("name", f.name.as_str())?;
        out.serialize_field("size", &f.size)?;
        out.serialize_field("content_type", f.content_type.as_str())?;
        out.serialize_field("status", &f.status)?;
        out.serialize_field("created_at", &Rfc3339Text(f.created_at))?;
        optional(&mut out, "thumbnail_url", self.thumbnail_url)?;
        optional(&mut out, "sha256", f.sha256.as_deref())?;
        optional(&mut out, "folder", f.folder.as_ref().map(|p| p.as_str()))?;
        optional(
            &mut out,
            "encrypted",
            f.encrypted.as_ref().map(|s| s.to_wire()),
        )?;
        optional(
            &mut out,
            "request",
            f.guest.as_ref().map(super::request_ref),
        )?;
        out.end()
    }
}

fn optional<S: SerializeStruct, T: Serialize>(
    out: &mut S,
    name: &'static str,
    value: Option<T>,
) -> Result<(), S::Error> {
    match value {
        Some(value) => out.serialize_field(name, &value),
        None => out.skip_field(name),
    }
}

/// A value written as the string its `Display` gives, without an intermediate `String`.
struct Displayed<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Displayed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// A date as RFC 3339 (what [`super::rfc3339`] gives), formatted on the stack.
struct Rfc3339Text(OffsetDateTime);

impl Serialize for Rfc3339Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Long enough for any RFC 3339 date `time` writes (years 0..=9999, nanoseconds, offset).
        const LEN: usize = 48;
        let mut buf = [0u8; LEN];
        let mut rest = &mut buf[..];
        // `format_into` reports less than it wrote into a slice; what is left of it tells.
        let written = match self.0.format_into(&mut rest, &Rfc3339) {
            Ok(_) => LEN - rest.len(),
            Err(_) => 0,
        };
        serializer.serialize_str(std::str::from_utf8(&buf[..written]).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::{FilePage, FileStatus};
    use time::UtcOffset;

    use super::*;
    use crate::domain::{ContentType, FileId, FileName, FolderPath, SealedMeta, UserId};
    use crate::routes::wire_file_with;

    fn file(name: &str) -> FileRecord {
        FileRecord {
            owner: UserId::parse("3f1c2a9e-1111-4222-8333-944455556666").unwrap(),
            id: FileId::new(),
            name: FileName::parse(name).unwrap(),
            size: 12_345,
            content_type: ContentType::parse("application/pdf").unwrap(),
            status: FileStatus::Ready,
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_789)
                .unwrap(),
            upload_expires_at: OffsetDateTime::from_unix_timestamp(1_764_003_600).unwrap(),
            sha256: None,
            thumbnail_key: None,
            multipart_upload_id: None,
            part_size: None,
            folder: None,
            encrypted: None,
            guest: None,
        }
    }

    #[test]
    fn a_page_is_written_exactly_as_the_wire_type_writes_it() {
        let mut rich = file("Quote \"Ü\" .txt");
        rich.status = FileStatus::Pending;
        rich.created_at = OffsetDateTime::from_unix_timestamp(1_764_000_000)
            .unwrap()
            .to_offset(UtcOffset::from_hms(-3, -30, 0).unwrap());
        rich.sha256 = Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".to_owned());
        rich.folder = Some(FolderPath::parse("photos/2026").unwrap());
        rich.encrypted = Some(
            serde_json::from_value::<SealedMeta>(
                serde_json::json!({"blob": "c2VhbGVk", "version": 1}),
            )
            .unwrap(),
        );
        rich.guest = Some(
            serde_json::from_value(serde_json::json!({
                "request": "AAAAAAAAAAAAAAAAAAAAAA",
                "title": "Holiday <photos>",
                "guest": "B".repeat(43),
                "note": "the good ones",
            }))
            .unwrap(),
        );
        let files = vec![file("a.txt"), rich, file("b.bin")];
        let thumbnails = vec![
            None,
            Some("http://127.0.0.1/t?x=1&y=\"2\"".to_owned()),
            None,
        ];
        for next_cursor in [None, Some("Y3Vyc29y".to_owned())] {
            let expected = FilePage {
                items: files
                    .iter()
                    .zip(&thumbnails)
                    .map(|(f, t)| wire_file_with(f, t.clone()))
                    .collect(),
                next_cursor: next_cursor.clone(),
            };
            let answer = FilePageAnswer {
                files: &files,
                thumbnail_urls: thumbnails.clone(),
                next_cursor,
            };
            assert_eq!(
                serde_json::to_string(&answer).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }

    #[test]
    fn an_empty_page_is_an_empty_list() {
        let answer = FilePageAnswer {
            files: &[],
            thumbnail_urls: Vec::new(),
            next_cursor: None,
        };
        assert_eq!(serde_json::to_string(&answer).unwrap(), r#"{"items":[]}"#);
    }
}
