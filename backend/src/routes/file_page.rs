//! The answer of `GET /api/files`, written by hand straight from the stored records into one
//! buffer: the list is the API's busiest read, and copying each record into a `ferry_api::File`
//! first (ids, dates and names turned into owned strings) cost as much as reading the records;
//! serde's field-by-field writing (every text escaped, ids and dates through `fmt`) cost a
//! tenth of the request (`bench/api`'s profile).
//!
//! The bytes are exactly what serialising [`ferry_api::FilePage`] gives (a test holds the two
//! side by side), so the wire type stays the one place the format is described.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use ferry_api::FileStatus;
use serde::Serialize;
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
        (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            self.to_json(),
        )
            .into_response()
    }

    /// The page as `serde_json` writes [`ferry_api::FilePage`]: member names and the texts
    /// Ferry made itself (ids, dates, statuses, numbers) are written as they are; only texts
    /// that came from users go through JSON string escaping.
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.files.len() * BYTES_PER_FILE);
        out.extend_from_slice(b"{\"items\":[");
        let mut thumbnails = self.thumbnail_urls.iter().map(Option::as_deref);
        for (i, file) in self.files.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_file(&mut out, file, thumbnails.next().flatten());
        }
        out.push(b']');
        if let Some(cursor) = &self.next_cursor {
            out.extend_from_slice(b",\"next_cursor\":");
            write_value(&mut out, cursor);
        }
        out.push(b'}');
        out
    }
}

/// One file as [`ferry_api::File`] writes it, members in the same order.
fn write_file(out: &mut Vec<u8>, f: &FileRecord, thumbnail_url: Option<&str>) {
    let mut id = [0; 36];
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(f.id.spelled_in(&mut id).as_bytes());
    out.extend_from_slice(b"\",\"name\":");
    write_value(out, f.name.as_str());
    out.extend_from_slice(b",\"size\":");
    write_value(out, &f.size);
    out.extend_from_slice(b",\"content_type\":");
    write_value(out, f.content_type.as_str());
    out.extend_from_slice(match f.status {
        FileStatus::Pending => b",\"status\":\"pending\",\"created_at\":".as_slice(),
        FileStatus::Ready => b",\"status\":\"ready\",\"created_at\":",
        FileStatus::Failed => b",\"status\":\"failed\",\"created_at\":",
    });
    write_date(out, f.created_at);
    if let Some(url) = thumbnail_url {
        out.extend_from_slice(b",\"thumbnail_url\":");
        write_value(out, url);
    }
    if let Some(sha256) = &f.sha256 {
        out.extend_from_slice(b",\"sha256\":");
        write_value(out, sha256);
    }
    if let Some(folder) = &f.folder {
        out.extend_from_slice(b",\"folder\":");
        write_value(out, folder.as_str());
    }
    if let Some(sealed) = &f.encrypted {
        out.extend_from_slice(b",\"encrypted\":");
        write_value(out, &sealed.to_wire());
    }
    if let Some(mark) = &f.guest {
        out.extend_from_slice(b",\"request\":");
        write_value(out, &super::request_ref(mark));
    }
    out.push(b'}');
}

/// `value` as `serde_json` writes it (strings escaped; numbers through `itoa`, not `fmt`).
fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Strings, and the plain structs of the wire types, cannot fail to serialise into memory.
    if let Err(error) = serde_json::to_writer(&mut *out, value) {
        tracing::error!(%error, "writing the files page");
    }
}

/// A date as RFC 3339 in quotes (what [`super::rfc3339`] gives, whose characters never need
/// escaping), formatted straight into the page.
fn write_date(out: &mut Vec<u8>, at: OffsetDateTime) {
    out.push(b'"');
    // `rfc3339` writes an empty text for the dates RFC 3339 cannot express; so does this.
    let before = out.len();
    if at.format_into(out, &Rfc3339).is_err() {
        out.truncate(before);
    }
    out.push(b'"');
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
                String::from_utf8(answer.to_json()).unwrap(),
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
        assert_eq!(
            String::from_utf8(answer.to_json()).unwrap(),
            r#"{"items":[]}"#
        );
    }
}
