//! How the local store keeps a file record: a compact binary layout, read back without parsing
//! text or dates (a page of the files list decodes fifty of them), beside the JSON that
//! databases from before it hold. Both read; every write uses the binary layout, so a record
//! changes form the next time it is written and no migration is needed.
//!
//! Layout, version 1 (integers little-endian; `str` is a `u32` length and UTF-8 bytes; `opt` is
//! a byte 0 or 1 before the value):
//!
//! ```text
//! 0x01 | id [16] | status u8 | size u64 | created_at time | upload_expires_at time
//!      | part_size opt u64 | owner str | name str | content_type str | sha256 opt str
//!      | thumbnail_key opt str | multipart_upload_id opt str | folder opt str
//!      | encrypted opt str (JSON) | guest opt str (JSON)
//! time = unix nanoseconds i128 | UTC offset seconds i32
//! ```
//!
//! A JSON record starts with `{`, which no binary version uses as its first byte. The rare
//! nested parts (sealed metadata, a guest's mark) stay JSON inside the record.

use ferry_api::FileStatus;
use redb::ReadableTable;
use time::{OffsetDateTime, UtcOffset};

use super::tables::decode;
use crate::domain::{ContentType, FileId, FileName, FileRecord, FolderPath, UserId};
use crate::ports::MetadataError;

/// The first byte of a version 1 binary record.
const BINARY_V1: u8 = 1;
/// The first byte of a JSON record.
const JSON_OBJECT: u8 = b'{';

/// The stored form of `file` (the current binary layout).
pub(super) fn encode_file(file: &FileRecord) -> Result<Vec<u8>, MetadataError> {
    let mut out = Vec::with_capacity(160 + file.name.as_str().len());
    out.push(BINARY_V1);
    out.extend_from_slice(file.id.as_bytes());
    out.push(match file.status {
        FileStatus::Pending => 0,
        FileStatus::Ready => 1,
        FileStatus::Failed => 2,
    });
    out.extend_from_slice(&file.size.to_le_bytes());
    put_time(&mut out, file.created_at);
    put_time(&mut out, file.upload_expires_at);
    put_opt(&mut out, file.part_size, |out, v| {
        out.extend_from_slice(&v.to_le_bytes());
    });
    put_str(&mut out, file.owner.as_str())?;
    put_str(&mut out, file.name.as_str())?;
    put_str(&mut out, file.content_type.as_str())?;
    put_opt_str(&mut out, file.sha256.as_deref())?;
    put_opt_str(&mut out, file.thumbnail_key.as_deref())?;
    put_opt_str(&mut out, file.multipart_upload_id.as_deref())?;
    put_opt_str(&mut out, file.folder.as_ref().map(FolderPath::as_str))?;
    put_opt_str(
        &mut out,
        file.encrypted.as_ref().map(to_json).transpose()?.as_deref(),
    )?;
    put_opt_str(
        &mut out,
        file.guest.as_ref().map(to_json).transpose()?.as_deref(),
    )?;
    Ok(out)
}

/// A stored file record in either form.
pub(super) fn decode_file(bytes: &[u8]) -> Result<FileRecord, MetadataError> {
    decode_any(bytes, None)
}

/// A stored file record that must be `owner`'s (a page of `owner`'s list): its owner is
/// compared with `owner` rather than checked and copied anew.
pub(super) fn decode_file_of(bytes: &[u8], owner: &UserId) -> Result<FileRecord, MetadataError> {
    decode_any(bytes, Some(owner))
}

fn decode_any(bytes: &[u8], owner: Option<&UserId>) -> Result<FileRecord, MetadataError> {
    let file: FileRecord = match bytes.first() {
        Some(&JSON_OBJECT) => decode(bytes)?,
        Some(&BINARY_V1) => return decode_v1(&bytes[1..], owner),
        Some(other) => return Err(corrupt(format!("unknown record format {other:#04x}"))),
        None => return Err(corrupt("empty record")),
    };
    match owner {
        Some(owner) if file.owner != *owner => Err(corrupt("a record of another owner")),
        _ => Ok(file),
    }
}

/// The file record stored under `key`, if any.
pub(super) fn get_file(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<FileRecord>, MetadataError> {
    table.get(key)?.map(|v| decode_file(v.value())).transpose()
}

fn decode_v1(bytes: &[u8], expected_owner: Option<&UserId>) -> Result<FileRecord, MetadataError> {
    let mut r = Reader(bytes);
    let id = FileId::from_bytes(r.array()?);
    let status = match r.u8()? {
        0 => FileStatus::Pending,
        1 => FileStatus::Ready,
        2 => FileStatus::Failed,
        other => return Err(corrupt(format!("unknown status {other}"))),
    };
    let size = u64::from_le_bytes(r.array()?);
    let created_at = r.time()?;
    let upload_expires_at = r.time()?;
    let part_size = r.opt(|r| Ok(u64::from_le_bytes(r.array()?)))?;
    // What this codec wrote came from typed values: they are checked for damage (`from_stored`),
    // not normalised again.
    let owner = match expected_owner {
        Some(expected) if r.str()? == expected.as_str() => expected.clone(),
        Some(_) => return Err(corrupt("a record of another owner")),
        None => UserId::parse(r.str()?).map_err(invalid)?,
    };
    let name = FileName::from_stored(r.str()?).map_err(invalid)?;
    let content_type = ContentType::from_stored(r.str()?).map_err(invalid)?;
    let sha256 = r.opt(|r| r.str().map(str::to_owned))?;
    let thumbnail_key = r.opt(|r| r.str().map(str::to_owned))?;
    let multipart_upload_id = r.opt(|r| r.str().map(str::to_owned))?;
    let folder = r.opt(|r| FolderPath::from_stored(r.str()?).map_err(invalid))?;
    let encrypted = r.opt(|r| decode(r.str()?.as_bytes()))?;
    let guest = r.opt(|r| decode(r.str()?.as_bytes()))?;
    if !r.0.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(FileRecord {
        owner,
        id,
        name,
        size,
        content_type,
        status,
        created_at,
        upload_expires_at,
        sha256,
        thumbnail_key,
        multipart_upload_id,
        part_size,
        folder,
        encrypted,
        guest,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, MetadataError> {
    serde_json::to_string(value).map_err(|e| MetadataError::Backend(format!("encoding: {e}")))
}

fn corrupt(what: impl std::fmt::Display) -> MetadataError {
    MetadataError::Backend(format!("decoding a file record: {what}"))
}

fn invalid(err: impl std::fmt::Display) -> MetadataError {
    corrupt(err)
}

fn put_time(out: &mut Vec<u8>, at: OffsetDateTime) {
    out.extend_from_slice(&at.unix_timestamp_nanos().to_le_bytes());
    out.extend_from_slice(&at.offset().whole_seconds().to_le_bytes());
}

fn put_opt<T>(out: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), MetadataError> {
    let len = u32::try_from(s.len())
        .map_err(|_| MetadataError::Backend("encoding: a text over 4 GiB".to_owned()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) -> Result<(), MetadataError> {
    match s {
        None => {
            out.push(0);
            Ok(())
        }
        Some(s) => {
            out.push(1);
            put_str(out, s)
        }
    }
}

/// The unread rest of a binary record; every read checks the length first.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MetadataError> {
        if self.0.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MetadataError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, MetadataError> {
        Ok(self.take(1)?[0])
    }

    fn str(&mut self) -> Result<&'a str, MetadataError> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| corrupt("text is not UTF-8"))
    }

    fn time(&mut self) -> Result<OffsetDateTime, MetadataError> {
        let nanos = i128::from_le_bytes(self.array()?);
        let offset = i32::from_le_bytes(self.array()?);
        let utc = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(invalid)?;
        // Ferry writes UTC dates: no second conversion for them.
        if offset == 0 {
            return Ok(utc);
        }
        let offset = UtcOffset::from_whole_seconds(offset).map_err(invalid)?;
        utc.checked_to_offset(offset)
            .ok_or_else(|| corrupt("time out of range"))
    }

    fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, MetadataError>,
    ) -> Result<Option<T>, MetadataError> {
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(corrupt(format!("unknown presence byte {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SealedMeta;
    use crate::domain::requests::GuestMark;

    fn plain() -> FileRecord {
        FileRecord {
            owner: UserId::parse("3f1c2a9e-1111-4222-8333-944455556666").unwrap(),
            id: FileId::new(),
            name: FileName::parse("report.pdf").unwrap(),
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

    fn everything() -> FileRecord {
        let guest: GuestMark = serde_json::from_value(serde_json::json!({
            "request": "AAAAAAAAAAAAAAAAAAAAAA",
            "title": "Holiday photos",
            "guest": "B".repeat(43),
            "name": "Ana",
            "note": "the good ones",
        }))
        .unwrap();
        let sealed: SealedMeta =
            serde_json::from_value(serde_json::json!({"blob": "c2VhbGVk", "version": 1})).unwrap();
        FileRecord {
            name: FileName::parse("Überweisung – März.pdf").unwrap(),
            status: FileStatus::Pending,
            created_at: OffsetDateTime::from_unix_timestamp(1_764_000_000)
                .unwrap()
                .to_offset(UtcOffset::from_hms(2, 0, 0).unwrap()),
            sha256: Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=-3".to_owned()),
            thumbnail_key: Some("thumbs/u/f.webp".to_owned()),
            multipart_upload_id: Some("upload-1".to_owned()),
            part_size: Some(8 << 20),
            folder: Some(FolderPath::parse("photos/2026").unwrap()),
            encrypted: Some(sealed),
            guest: Some(guest),
            ..plain()
        }
    }

    #[test]
    fn binary_records_read_back_as_written() {
        for file in [plain(), everything()] {
            let bytes = encode_file(&file).unwrap();
            assert_eq!(bytes[0], BINARY_V1);
            let read = decode_file(&bytes).unwrap();
            assert_eq!(read, file);
            assert_eq!(read.created_at.offset(), file.created_at.offset());
        }
    }

    #[test]
    fn json_records_from_older_databases_still_read() {
        for file in [plain(), everything()] {
            let json = serde_json::to_vec(&file).unwrap();
            assert_eq!(decode_file(&json).unwrap(), file);
        }
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bytes = encode_file(&everything()).unwrap();
        for len in 0..bytes.len() {
            assert!(decode_file(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_file(&longer).is_err());
        let mut unknown = bytes.clone();
        unknown[0] = 2;
        assert!(decode_file(&unknown).is_err());
        let mut bad_status = bytes;
        bad_status[17] = 9;
        assert!(decode_file(&bad_status).is_err());
    }

    #[test]
    fn binary_records_are_checked_like_json_ones() {
        let mut file = plain();
        file.name = FileName::parse("ok").unwrap();
        let mut bytes = encode_file(&file).unwrap();
        // The name's two bytes sit right before the content type's length; make it "o/".
        let at = bytes
            .windows(2)
            .position(|w| w == b"ok")
            .expect("the name is in the record");
        bytes[at + 1] = b'/';
        assert!(decode_file(&bytes).is_err());
    }

    #[tokio::test]
    async fn a_database_of_json_records_reads_and_rewrites_them_as_binary() {
        use crate::ports::{MetadataStore, Transition};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.redb");
        let (first, second) = (plain(), everything());
        let second = FileRecord {
            status: FileStatus::Ready,
            ..second
        };
        {
            // What a version before the binary layout wrote.
            let store = super::super::LocalMetadataStore::open(&path).unwrap();
            let txn = store.db.begin_write().unwrap();
            {
                let mut files = txn.open_table(super::super::FILES).unwrap();
                for file in [&first, &second] {
                    let key = super::super::file_key(&file.owner, &file.id);
                    let json = serde_json::to_vec(file).unwrap();
                    files.insert(key.as_str(), json.as_slice()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        let store = super::super::LocalMetadataStore::open(&path).unwrap();
        let mut newest_first = vec![first.clone(), second.clone()];
        newest_first.sort_by_key(|f| std::cmp::Reverse(f.id));
        let page = store.list_files(&first.owner, 10, None).await.unwrap();
        assert_eq!(page.items, newest_first);
        assert_eq!(
            store.file(&second.owner, &second.id).await.unwrap(),
            Some(second.clone())
        );

        let outcome = store.set_sha256(&first.owner, &first.id, "c2hh").await;
        assert_eq!(outcome.unwrap(), Transition::Applied);
        let raw = {
            let txn = store.db.begin_read().unwrap();
            let files = txn.open_table(super::super::FILES).unwrap();
            let key = super::super::file_key(&first.owner, &first.id);
            files.get(key.as_str()).unwrap().unwrap().value().to_vec()
        };
        assert_eq!(
            raw[0], BINARY_V1,
            "a record changes form when it is written"
        );
        let updated = FileRecord {
            sha256: Some("c2hh".to_owned()),
            ..first
        };
        assert_eq!(
            store.file(&updated.owner, &updated.id).await.unwrap(),
            Some(updated)
        );
    }

    #[test]
    fn damaged_texts_in_binary_records_are_errors() {
        let file = FileRecord {
            name: FileName::parse("okay").unwrap(),
            content_type: ContentType::parse("text/plain").unwrap(),
            folder: Some(FolderPath::parse("ab/cd").unwrap()),
            ..plain()
        };
        let bytes = encode_file(&file).unwrap();
        assert_eq!(decode_file(&bytes).unwrap(), file);
        // Same-length replacements, so only the text is damaged, not the layout.
        for (from, to) in [
            ("okay", "o\u{1}ay"),
            ("okay", "o\\ay"),
            ("text/plain", "text plain"),
            ("text/plain", "text/pl\nin"),
            ("ab/cd", "ab/.."),
            ("ab/cd", "ab//d"),
        ] {
            let at = bytes
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .expect("the text is in the record");
            let mut damaged = bytes.clone();
            damaged[at..at + from.len()].copy_from_slice(to.as_bytes());
            assert!(decode_file(&damaged).is_err(), "{to:?}");
        }
    }

    #[test]
    fn a_page_of_one_owner_refuses_a_record_of_another() {
        let file = plain();
        let other = UserId::parse("someone-else").unwrap();
        let binary = encode_file(&file).unwrap();
        let json = serde_json::to_vec(&file).unwrap();
        for bytes in [&binary, &json] {
            assert_eq!(decode_file_of(bytes, &file.owner).unwrap(), file);
            assert!(decode_file_of(bytes, &other).is_err());
        }
    }
}
