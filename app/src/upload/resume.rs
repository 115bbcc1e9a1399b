//! What this browser remembers of unfinished multipart uploads, so that one survives a reload
//! or a browser restart: the file record on the server, how the file was cut, the parts sent,
//! and enough about the file to recognise it when it is picked again (name, size,
//! last-modified time and a hash of a sample of its bytes).
//!
//! Kept in `localStorage` as JSON ([`load`] and [`save`] are the only browser-side part).
//! Object storage's own list of parts (`GET /parts`) stays the authority; the record only finds
//! the upload again and remembers checksums.

use ferry_api::{CompletedPart, PartLayout};
use serde::{Deserialize, Serialize};

const KEY: &str = "ferry.resumable.v1";
/// Bytes hashed at each end of the file to recognise it again.
pub const SAMPLE_BYTES: u64 = 1 << 20;

/// How a picked file presents itself before any byte is read.
#[derive(Clone, Debug, PartialEq)]
pub struct FileIdentity {
    pub name: String,
    /// The folder it was picked or dropped in (`Fotos/2026`); `None` for a file on its own.
    pub folder: Option<String>,
    pub size: u64,
    /// `File.lastModified`, milliseconds since the epoch.
    pub last_modified: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResumeRecord {
    /// Whose upload it is (the signed-in account's e-mail), so another account on this
    /// browser never sees it. Stored as `owner`, as records written before the rename were.
    #[serde(rename = "owner")]
    pub account_email: String,
    pub file_id: String,
    pub name: String,
    /// The folder the upload was created in; absent for a file on its own (and in records
    /// written before folders could be uploaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub size: u64,
    pub last_modified: i64,
    /// Base64 SHA-256 of the sample ranges ([`sample_ranges`]).
    pub sample_sha256: String,
    pub part_size: u64,
    pub part_count: u32,
    /// The parts sent, stored as `[number, etag, sha256]` arrays.
    #[serde(default, with = "part_triples")]
    pub parts: Vec<CompletedPart>,
    pub saved_at_ms: i64,
    /// End-to-end encrypted: the parts hold ciphertext of [`crate::crypto::CONTENT_RECORDS`]
    /// (laid out over its size, [`Self::stored_size`]), sealed with the key this device's key
    /// ring holds under `file_id`. `size` stays the picked file's, to recognise it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

impl ResumeRecord {
    pub fn is_for(&self, account_email: &str, file: &FileIdentity) -> bool {
        self.account_email == account_email
            && self.name == file.name
            && self.folder == file.folder
            && self.size == file.size
            && self.last_modified == file.last_modified
    }

    /// Bytes the upload stores, which its parts are laid out over.
    pub fn stored_size(&self) -> u64 {
        super::encryption::stored_size(self.size, self.encrypted)
    }

    /// Bytes already sent, by this browser's count.
    pub fn sent_bytes(&self) -> u64 {
        let Some(layout) = PartLayout::with_part_size(self.stored_size(), self.part_size) else {
            return 0;
        };
        self.parts
            .iter()
            .filter_map(|p| layout.part_len(p.number))
            .sum()
    }
}

/// The parts of a record as `[number, etag, sha256]`, the form records have always been kept in.
mod part_triples {
    use ferry_api::CompletedPart;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(parts: &[CompletedPart], out: S) -> Result<S::Ok, S::Error> {
        let triples: Vec<(u32, &str, &str)> = parts
            .iter()
            .map(|p| (p.number, p.etag.as_str(), p.sha256.as_str()))
            .collect();
        triples.serialize(out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<Vec<CompletedPart>, D::Error> {
        let triples = Vec::<(u32, String, String)>::deserialize(input)?;
        Ok(triples
            .into_iter()
            .map(|(number, etag, sha256)| CompletedPart {
                number,
                etag,
                sha256,
            })
            .collect())
    }
}

/// The byte ranges that identify a file's content cheaply: the first and the last MiB (the
/// whole file when it is smaller than two).
pub fn sample_ranges(size: u64) -> Vec<(u64, u64)> {
    if size <= 2 * SAMPLE_BYTES {
        vec![(0, size)]
    } else {
        vec![(0, SAMPLE_BYTES), (size - SAMPLE_BYTES, size)]
    }
}

impl ResumeRecord {
    /// What to remember of a multipart upload now: the file, how it is cut and the parts sent.
    pub fn of_upload(
        account_email: &str,
        file_id: &str,
        file: &FileIdentity,
        sample_sha256: &str,
        layout: PartLayout,
        parts: Vec<CompletedPart>,
        now_ms: i64,
    ) -> Self {
        Self {
            account_email: account_email.to_owned(),
            file_id: file_id.to_owned(),
            name: file.name.clone(),
            folder: file.folder.clone(),
            size: file.size,
            last_modified: file.last_modified,
            sample_sha256: sample_sha256.to_owned(),
            part_size: layout.part_size,
            part_count: layout.part_count,
            parts,
            saved_at_ms: now_ms,
            encrypted: false,
        }
    }
}

/// The earlier upload of this file by this account, if this browser remembers one that no
/// upload on this page (`attached`, file record ids) is carrying on already.
pub fn find_earlier<'a>(
    records: &'a [ResumeRecord],
    account_email: &str,
    file: &FileIdentity,
    sample_sha256: &str,
    attached: &[String],
) -> Option<&'a ResumeRecord> {
    records.iter().find(|r| {
        r.is_for(account_email, file)
            && r.sample_sha256 == sample_sha256
            && !attached.contains(&r.file_id)
    })
}

/// The account's unfinished uploads that no upload on this page (`running`) carries on.
pub fn waiting_for(
    records: &[ResumeRecord],
    account_email: &str,
    running: &[String],
) -> Vec<ResumeRecord> {
    records
        .iter()
        .filter(|r| r.account_email == account_email && !running.contains(&r.file_id))
        .cloned()
        .collect()
}

/// Records in stored order; anything unreadable is dropped rather than breaking the page.
pub fn parse(json: &str) -> Vec<ResumeRecord> {
    // Each record is read from its own slice of the text: no `serde_json::Value` tree (whose
    // code is sizeable in the wasm) is built in between.
    serde_json::from_str::<Vec<&serde_json::value::RawValue>>(json)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| serde_json::from_str(raw.get()).ok())
        .collect()
}

/// Adds `record`, replacing an older one of the same file record.
pub fn upsert(records: &mut Vec<ResumeRecord>, record: ResumeRecord) {
    match records.iter_mut().find(|r| r.file_id == record.file_id) {
        Some(slot) => *slot = record,
        None => records.push(record),
    }
}

pub fn remove(records: &mut Vec<ResumeRecord>, file_id: &str) {
    records.retain(|r| r.file_id != file_id);
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Every record in this browser (all accounts).
pub fn load() -> Vec<ResumeRecord> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|json| parse(&json))
        .unwrap_or_default()
}

/// Writes `records` back; a full or disabled storage only loses the ability to resume.
pub fn save(records: &[ResumeRecord]) {
    let Some(storage) = storage() else { return };
    if records.is_empty() {
        let _ = storage.remove_item(KEY);
    } else if let Ok(json) = serde_json::to_string(records) {
        let _ = storage.set_item(KEY, &json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn part(number: u32, etag: &str, sha256: &str) -> CompletedPart {
        CompletedPart {
            number,
            etag: etag.into(),
            sha256: sha256.into(),
        }
    }

    fn record(file_id: &str) -> ResumeRecord {
        ResumeRecord {
            account_email: "a@example.com".into(),
            file_id: file_id.into(),
            name: "film.mov".into(),
            folder: None,
            size: 20 * MIB + 3,
            last_modified: 1_700_000_000_000,
            sample_sha256: "s".into(),
            part_size: 8 * MIB,
            part_count: 3,
            parts: vec![part(1, "\"e1\"", "h1"), part(3, "\"e3\"", "h3")],
            saved_at_ms: 5,
            encrypted: false,
        }
    }

    #[test]
    fn a_file_is_recognised_by_owner_name_size_and_time() {
        let r = record("f1");
        let same = FileIdentity {
            name: "film.mov".into(),
            folder: None,
            size: 20 * MIB + 3,
            last_modified: 1_700_000_000_000,
        };
        assert!(r.is_for("a@example.com", &same));
        assert!(!r.is_for("b@example.com", &same), "another account");
        let touched = FileIdentity {
            last_modified: 1_700_000_000_001,
            ..same.clone()
        };
        assert!(!r.is_for("a@example.com", &touched));
        let other_size = FileIdentity {
            size: 1,
            ..same.clone()
        };
        assert!(!r.is_for("a@example.com", &other_size));
    }

    #[test]
    fn sent_bytes_count_the_short_last_part() {
        assert_eq!(record("f").sent_bytes(), 8 * MIB + 4 * MIB + 3);
    }

    #[test]
    fn samples_are_both_ends_or_the_whole_file() {
        assert_eq!(sample_ranges(3 * MIB), vec![(0, MIB), (2 * MIB, 3 * MIB)]);
        assert_eq!(sample_ranges(2 * MIB), vec![(0, 2 * MIB)]);
        assert_eq!(sample_ranges(10), vec![(0, 10)]);
    }

    #[test]
    fn records_round_trip_and_bad_entries_are_skipped() {
        let mut records = vec![record("f1")];
        upsert(&mut records, record("f2"));
        let mut changed = record("f1");
        changed.parts.clear();
        upsert(&mut records, changed.clone());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0], changed);

        let json = serde_json::to_string(&records).unwrap();
        let with_junk = json.replacen('[', r#"[{"nonsense": true},"#, 1);
        assert_eq!(parse(&with_junk), records);
        assert!(parse("not json").is_empty());

        remove(&mut records, "f1");
        assert_eq!(
            records
                .iter()
                .map(|r| r.file_id.as_str())
                .collect::<Vec<_>>(),
            ["f2"]
        );
    }

    #[test]
    fn records_keep_the_stored_form_of_earlier_versions() {
        let json = serde_json::to_value(record("f1")).unwrap();
        assert_eq!(json["owner"], "a@example.com");
        assert_eq!(json["parts"][0], serde_json::json!([1, "\"e1\"", "h1"]));
        let stored = r#"[{"owner":"a@example.com","file_id":"f1","name":"film.mov",
            "size":20971523,"last_modified":1700000000000,"sample_sha256":"s",
            "part_size":8388608,"part_count":3,"parts":[[1,"\"e1\"","h1"],[3,"\"e3\"","h3"]],
            "saved_at_ms":5}]"#;
        assert_eq!(parse(stored), vec![record("f1")]);
    }

    #[test]
    fn a_record_of_an_upload_remembers_the_file_and_its_layout() {
        let file = FileIdentity {
            name: "film.mov".into(),
            folder: None,
            size: 20 * MIB + 3,
            last_modified: 1_700_000_000_000,
        };
        let layout = PartLayout::for_size(file.size).unwrap();
        let parts = record("f1").parts;
        let made = ResumeRecord::of_upload("a@example.com", "f1", &file, "s", layout, parts, 5);
        assert_eq!(made, record("f1"));
    }

    #[test]
    fn an_earlier_upload_is_found_by_account_file_and_sample_unless_it_runs() {
        let records = vec![record("f1"), record("f2")];
        let file = FileIdentity {
            name: "film.mov".into(),
            folder: None,
            size: 20 * MIB + 3,
            last_modified: 1_700_000_000_000,
        };
        let found = |email: &str, sample: &str, attached: &[String]| {
            find_earlier(&records, email, &file, sample, attached).map(|r| r.file_id.clone())
        };
        assert_eq!(found("a@example.com", "s", &[]), Some("f1".into()));
        assert_eq!(
            found("a@example.com", "s", &["f1".into()]),
            Some("f2".into()),
            "f1 is already carried on by an upload on this page"
        );
        assert_eq!(found("a@example.com", "other bytes", &[]), None);
        assert_eq!(found("b@example.com", "s", &[]), None);

        let mut theirs = record("f3");
        theirs.account_email = "b@example.com".into();
        let all = vec![record("f1"), record("f2"), theirs];
        let waiting = waiting_for(&all, "a@example.com", &["f2".into()]);
        assert_eq!(
            waiting
                .iter()
                .map(|r| r.file_id.as_str())
                .collect::<Vec<_>>(),
            ["f1"]
        );
    }

    #[test]
    fn a_file_of_a_folder_resumes_only_in_that_folder_and_the_folder_is_kept() {
        let file = FileIdentity {
            name: "film.mov".into(),
            folder: Some("Fotos/2026".into()),
            size: 20 * MIB + 3,
            last_modified: 1_700_000_000_000,
        };
        let layout = PartLayout::for_size(file.size).unwrap();
        let made = ResumeRecord::of_upload("a@example.com", "f1", &file, "s", layout, vec![], 5);
        assert!(made.is_for("a@example.com", &file));
        let elsewhere = FileIdentity {
            folder: Some("Fotos/2025".into()),
            ..file.clone()
        };
        assert!(!made.is_for("a@example.com", &elsewhere));
        let alone = FileIdentity {
            folder: None,
            ..file.clone()
        };
        assert!(!made.is_for("a@example.com", &alone));

        let stored = serde_json::to_string(std::slice::from_ref(&made)).unwrap();
        assert!(stored.contains(r#""folder":"Fotos/2026""#));
        assert_eq!(parse(&stored), vec![made]);
        assert!(
            !serde_json::to_string(&record("f2"))
                .unwrap()
                .contains("folder"),
            "records of files on their own keep their old form"
        );
    }

    #[test]
    fn an_encrypted_record_lays_its_parts_over_the_ciphertext_and_says_so() {
        let mut sealed = record("f1");
        sealed.encrypted = true;
        let cipher = crate::crypto::CONTENT_RECORDS
            .ciphertext_size(sealed.size)
            .unwrap();
        assert_eq!(sealed.stored_size(), cipher);
        // Parts 1 and 3 of 8 MiB parts over the ciphertext: the last part holds its rest.
        assert_eq!(sealed.sent_bytes(), 8 * MIB + (cipher - 16 * MIB));
        let stored = serde_json::to_string(std::slice::from_ref(&sealed)).unwrap();
        assert!(stored.contains(r#""encrypted":true"#));
        assert_eq!(parse(&stored), vec![sealed]);
        assert!(
            !serde_json::to_string(&record("f2"))
                .unwrap()
                .contains("encrypted"),
            "plain records keep their old form"
        );
    }
}
