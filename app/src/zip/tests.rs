//! The encoder against readers it shares no code with: Python's `zipfile` and Info-ZIP's
//! `unzip -t`, on archives written to disk (a multi-GiB one sparse, so no GiB hits the disk).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

use super::*;

/// 2026-11-26 08:30:44 as a local time.
const WHEN: i64 = 1_795_681_844;

struct TempZip(PathBuf);

impl TempZip {
    fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("ferry-zip-{}-{tag}-{n}.zip", std::process::id());
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempZip {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What Python's `zipfile` reads: each entry's name, size, CRC, flags, whether its central
/// record carries a ZIP64 field, and the SHA-256 of its bytes (small entries); and the first
/// entry whose CRC fails (`testzip`), if any.
#[derive(Debug)]
struct Listing {
    bad: Option<String>,
    entries: Vec<(String, u64, u32, u16, bool, Option<String>)>,
}

const READER: &str = r#"
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    out = []
    for i in z.infolist():
        digest = None
        if i.file_size < (1 << 20):
            digest = hashlib.sha256(z.read(i)).hexdigest()
        zip64 = any(i.extra[k:k+2] == b'\x01\x00' for k in range(0, len(i.extra), 2))
        out.append([i.filename, i.file_size, i.CRC, i.flag_bits, zip64, digest,
                    i.compress_type, i.date_time[0]])
    print(json.dumps({"bad": z.testzip(), "entries": out}))
"#;

fn python_reads(path: &Path) -> Listing {
    let output = Command::new("python3")
        .args(["-c", READER])
        .arg(path)
        .output()
        .expect("python3 runs (the test's independent ZIP reader)");
    assert!(
        output.status.success(),
        "zipfile refused the archive: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let entries = value["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            assert_eq!(e[6], 0, "stored, not compressed");
            assert!(e[7].as_u64().unwrap() >= 1980);
            (
                e[0].as_str().unwrap().to_owned(),
                e[1].as_u64().unwrap(),
                e[2].as_u64().unwrap() as u32,
                e[3].as_u64().unwrap() as u16,
                e[4].as_bool().unwrap(),
                e[5].as_str().map(str::to_owned),
            )
        })
        .collect();
    Listing {
        bad: value["bad"].as_str().map(str::to_owned),
        entries,
    }
}

fn unzip_tests(path: &Path) {
    let output = Command::new("unzip")
        .arg("-tqq")
        .arg(path)
        .output()
        .expect("unzip runs (the test's second independent ZIP reader)");
    assert!(
        output.status.success(),
        "unzip -t failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `files` through the encoder in pieces of `piece` bytes, as a stream would.
fn write_zip(files: &[(&str, Vec<u8>)], piece: usize) -> (Vec<u8>, Vec<String>) {
    let mut encoder = Encoder::new();
    let mut out = Vec::new();
    let mut paths = Vec::new();
    for (path, bytes) in files {
        out.extend(encoder.begin_entry(path, WHEN, bytes.len() as u64).unwrap());
        paths.push(encoder.current_path().unwrap().to_owned());
        for chunk in bytes.chunks(piece.max(1)) {
            encoder.data(chunk).unwrap();
            out.extend_from_slice(chunk);
        }
        out.extend(encoder.end_entry().unwrap());
    }
    out.extend(encoder.finish().unwrap());
    (out, paths)
}

#[test]
fn folders_unicode_duplicates_and_hostile_paths_read_back_intact() {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("readme.txt", b"hello ferry\n".to_vec()),
        (
            "photos/2026/été à Zürich.jpg",
            (0..70_000u32).map(|i| (i % 251) as u8).collect(),
        ),
        ("photos/2026/été à Zürich.jpg", b"second copy".to_vec()),
        ("empty.bin", Vec::new()),
        ("/etc/passwd", b"root".to_vec()),
        ("../../escape.txt", b"nope".to_vec()),
        ("深い/フォルダ/ファイル.txt", "日本語".as_bytes().to_vec()),
    ];
    let (bytes, paths) = write_zip(&files, 4096);
    assert_eq!(
        paths,
        [
            "readme.txt",
            "photos/2026/été à Zürich.jpg",
            "photos/2026/été à Zürich (2).jpg",
            "empty.bin",
            "etc/passwd",
            "escape.txt",
            "深い/フォルダ/ファイル.txt",
        ]
    );
    let sized = archive_size(files.iter().map(|(p, b)| (*p, b.len() as u64)));
    assert_eq!(
        sized,
        bytes.len() as u64,
        "archive_size predicts the length"
    );

    let zip = TempZip::new("small");
    std::fs::write(&zip.0, &bytes).unwrap();
    let listing = python_reads(&zip.0);
    assert_eq!(listing.bad, None, "every CRC checks");
    assert_eq!(listing.entries.len(), files.len());
    for ((path, data), (entry, expected)) in files.iter().zip(listing.entries.iter().zip(&paths)) {
        let (name, size, crc, flags, zip64, digest) = entry;
        assert_eq!(name, expected, "{path}");
        assert_eq!(*size, data.len() as u64);
        assert_eq!(*crc, crc32(data));
        assert_eq!(flags & 0x0808, 0x0808, "descriptor and UTF-8 flags");
        assert!(!zip64, "no ZIP64 field for a small entry");
        assert_eq!(digest.as_deref(), Some(sha256_hex(data).as_str()));
    }
    unzip_tests(&zip.0);
}

#[test]
fn pieces_of_any_size_give_the_same_archive() {
    let data: Vec<u8> = (0..9_999u32).map(|i| (i * 31) as u8).collect();
    let files = [("a/b.bin", data)];
    let (one, _) = write_zip(&files, usize::MAX);
    for piece in [1, 7, 8, 1000] {
        assert_eq!(write_zip(&files, piece).0, one, "pieces of {piece}");
    }
}

#[test]
fn more_than_65535_entries_use_the_zip64_end_records() {
    let count = 70_000u32;
    let mut encoder = Encoder::new();
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..count {
        let data = i.to_le_bytes();
        let path = format!("d{}/f{i}", i % 7);
        out.extend(encoder.begin_entry(&path, WHEN, 4).unwrap());
        encoder.data(&data).unwrap();
        out.extend_from_slice(&data);
        out.extend(encoder.end_entry().unwrap());
        sizes.push(path);
    }
    out.extend(encoder.finish().unwrap());
    assert_eq!(
        archive_size(sizes.iter().map(|p| (p.as_str(), 4))),
        out.len() as u64
    );
    // The classic end record says "see ZIP64" (0xFFFF entries); the ZIP64 one has the count.
    let end = &out[out.len() - 22..];
    assert_eq!(&end[..4], &END.to_le_bytes());
    assert_eq!(&end[10..12], &[0xFF, 0xFF]);

    let zip = TempZip::new("many");
    std::fs::write(&zip.0, &out).unwrap();
    let listing = python_reads(&zip.0);
    assert_eq!(listing.bad, None);
    assert_eq!(listing.entries.len(), count as usize);
    for i in [0u32, 65_534, 65_535, 65_536, count - 1] {
        let (name, size, crc, ..) = &listing.entries[i as usize];
        assert_eq!(name, &format!("d{}/f{i}", i % 7));
        assert_eq!(*size, 4);
        assert_eq!(*crc, crc32(&i.to_le_bytes()));
    }
    unzip_tests(&zip.0);
}

/// A 4 GiB + 3 entry of zeros between two small files, so the entry's size, the next entry's
/// offset and the central directory's offset all pass 4 GiB. The zeros are a hole in a sparse
/// file (nothing written to disk) and their CRC is advanced arithmetically (checked against
/// streamed zeros in `crc32`'s tests); the readers then read every byte and check that CRC.
#[test]
fn entries_and_offsets_past_4_gib_use_zip64_fields() {
    let big = (4u64 << 30) + 3;
    let zip = TempZip::new("big");
    let mut file = File::create(&zip.0).unwrap();
    let mut encoder = Encoder::new();
    let before = b"before the big one".to_vec();
    let after = b"after the big one".to_vec();

    file.write_all(
        &encoder
            .begin_entry("first.txt", WHEN, before.len() as u64)
            .unwrap(),
    )
    .unwrap();
    encoder.data(&before).unwrap();
    file.write_all(&before).unwrap();
    file.write_all(&encoder.end_entry().unwrap()).unwrap();

    let header = encoder.begin_entry("big/zeros.bin", WHEN, big).unwrap();
    assert_eq!(
        header.len(),
        30 + "big/zeros.bin".len() + 20,
        "ZIP64 extra in the local header"
    );
    file.write_all(&header).unwrap();
    {
        let open = encoder.open.as_mut().unwrap();
        open.crc.update_zeros(big);
    }
    encoder.skip(big).unwrap();
    file.seek(SeekFrom::Current(big as i64)).unwrap();
    let descriptor = encoder.end_entry().unwrap();
    assert_eq!(descriptor.len(), 24, "8-byte sizes in the descriptor");
    file.write_all(&descriptor).unwrap();

    file.write_all(
        &encoder
            .begin_entry("last.txt", WHEN, after.len() as u64)
            .unwrap(),
    )
    .unwrap();
    encoder.data(&after).unwrap();
    file.write_all(&after).unwrap();
    file.write_all(&encoder.end_entry().unwrap()).unwrap();
    file.write_all(&encoder.finish().unwrap()).unwrap();
    let length = file.stream_position().unwrap();
    drop(file);

    let predicted = archive_size([
        ("first.txt", before.len() as u64),
        ("big/zeros.bin", big),
        ("last.txt", after.len() as u64),
    ]);
    assert_eq!(predicted, length);

    let listing = python_reads(&zip.0);
    assert_eq!(listing.bad, None, "the readers' CRC over all 4 GiB matches");
    let names: Vec<_> = listing
        .entries
        .iter()
        .map(|e| (e.0.as_str(), e.1, e.4))
        .collect();
    assert_eq!(
        names,
        [
            ("first.txt", before.len() as u64, false),
            ("big/zeros.bin", big, true),
            ("last.txt", after.len() as u64, true),
        ]
    );
    assert_eq!(
        listing.entries[2].5.as_deref(),
        Some(sha256_hex(&after).as_str())
    );
}

#[test]
fn calls_out_of_order_and_wrong_sizes_are_refused() {
    let mut encoder = Encoder::new();
    assert_eq!(encoder.data(b"x"), Err(ZipError::NoEntry));
    assert_eq!(encoder.end_entry(), Err(ZipError::NoEntry));
    encoder.begin_entry("a", WHEN, 2).unwrap();
    assert_eq!(encoder.begin_entry("b", WHEN, 1), Err(ZipError::EntryOpen));
    encoder.data(b"x").unwrap();
    assert_eq!(
        encoder.end_entry(),
        Err(ZipError::SizeMismatch {
            path: "a".into(),
            expected: 2,
            actual: 1
        })
    );
    let mut open = Encoder::new();
    open.begin_entry("a", WHEN, 0).unwrap();
    assert_eq!(open.finish(), Err(ZipError::EntryOpen));
}

#[test]
fn dos_times_cover_the_zip_range() {
    // 2026-11-26 08:30:44 → 08:30:44 (2-second steps), 2026-11-26.
    assert_eq!(
        dos_date_time(WHEN),
        (
            (8 << 11) | (30 << 5) | 22,
            ((2026 - 1980) << 9) | (11 << 5) | 26
        )
    );
    assert_eq!(dos_date_time(0), (0, (1 << 5) | 1), "before 1980 clamps");
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(19_782), (2024, 2, 29));
}
