//! A ZIP writer for streams: the recipients' "Download all" feeds it one file after another and
//! sends what it returns straight on, so no archive and no whole file is ever held. No I/O here:
//! each call returns the bytes to write next.
//!
//! Entries are STOREd (the files are sent as they are; most shared files are already
//! compressed), with the CRC-32 computed while the data streams past and written after it in a
//! data descriptor (flag bit 3). Names are UTF-8 (bit 11), folders kept, made safe and unique
//! ([`names`]). ZIP64 fields appear only where needed: an entry of 4 GiB or more, an entry that
//! starts past 4 GiB, more than 65,534 entries or a central directory past 4 GiB.

mod crc32;
pub mod names;

pub use crc32::{Crc32, crc32};

use names::UniquePaths;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const END: u32 = 0x0605_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// Data descriptor follows (3), names are UTF-8 (11).
const FLAGS: u16 = (1 << 3) | (1 << 11);
const VERSION_PLAIN: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Made by Unix (so unzip applies the permissions below), spec version 4.5.
const MADE_BY: u16 = (3 << 8) | VERSION_ZIP64;
/// `-rw-r--r--`, a regular file.
const FILE_MODE: u32 = 0o100_644 << 16;
const MAX_32: u64 = 0xFFFF_FFFF;
const MAX_16: u64 = 0xFFFF;

/// What the encoder refuses: calls out of order, or a file that was not the size announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZipError {
    /// `begin_entry` or `finish` while an entry is still open.
    EntryOpen,
    /// `data` or `end_entry` with no entry open.
    NoEntry,
    /// An entry's data was not as long as `begin_entry` said.
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipError::EntryOpen => f.write_str("a ZIP entry is still open"),
            ZipError::NoEntry => f.write_str("no ZIP entry is open"),
            ZipError::SizeMismatch {
                path,
                expected,
                actual,
            } => write!(f, "{path} was {actual} bytes, not the {expected} announced"),
        }
    }
}

impl std::error::Error for ZipError {}

/// A file already written, as the central directory describes it.
#[derive(Debug)]
struct Written {
    path: String,
    crc: u32,
    size: u64,
    offset: u64,
    time: u16,
    date: u16,
}

#[derive(Debug)]
struct Open {
    entry: Written,
    expected: u64,
    zip64: bool,
    crc: Crc32,
}

/// One ZIP stream, written front to back.
#[derive(Debug, Default)]
pub struct Encoder {
    /// Bytes handed out so far: where the next record starts.
    offset: u64,
    done: Vec<Written>,
    open: Option<Open>,
    paths: UniquePaths,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a file of `size` bytes at `path` (folders separated by `/`; made safe and
    /// unique), last modified at `local_time` (seconds since 1970 in the recipient's local
    /// time, as ZIP stores it). Returns the local header; the path it went under is
    /// [`Encoder::current_path`].
    pub fn begin_entry(
        &mut self,
        path: &str,
        local_time: i64,
        size: u64,
    ) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let path = self.paths.claim(path);
        let (time, date) = dos_date_time(local_time);
        // Readers size the descriptor by this extra field, so it is decided before the data.
        let zip64 = size >= MAX_32;
        let mut out = Vec::with_capacity(30 + path.len() + 20);
        put32(&mut out, LOCAL_HEADER);
        put16(&mut out, if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN });
        put16(&mut out, FLAGS);
        put16(&mut out, 0); // STORE
        put16(&mut out, time);
        put16(&mut out, date);
        put32(&mut out, 0); // CRC-32, in the descriptor
        let unknown = if zip64 { u32::MAX } else { 0 };
        put32(&mut out, unknown);
        put32(&mut out, unknown);
        put16(&mut out, path.len() as u16);
        put16(&mut out, if zip64 { 20 } else { 0 });
        out.extend_from_slice(path.as_bytes());
        if zip64 {
            put16(&mut out, ZIP64_EXTRA);
            put16(&mut out, 16);
            put64(&mut out, 0);
            put64(&mut out, 0);
        }
        self.open = Some(Open {
            entry: Written {
                path,
                crc: 0,
                size: 0,
                offset: self.offset,
                time,
                date,
            },
            expected: size,
            zip64,
            crc: Crc32::new(),
        });
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// The path the open entry is written under.
    pub fn current_path(&self) -> Option<&str> {
        self.open.as_ref().map(|o| o.entry.path.as_str())
    }

    /// Bytes of the open entry, written as they are after this call.
    pub fn data(&mut self, bytes: &[u8]) -> Result<(), ZipError> {
        let open = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        open.crc.update(bytes);
        open.entry.size += bytes.len() as u64;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Counts `len` bytes of the open entry without their checksum: only for sizing an
    /// archive ([`archive_size`]).
    fn skip(&mut self, len: u64) -> Result<(), ZipError> {
        let open = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        open.entry.size += len;
        self.offset += len;
        Ok(())
    }

    /// Ends the open entry: its data descriptor.
    pub fn end_entry(&mut self) -> Result<Vec<u8>, ZipError> {
        let open = self.open.take().ok_or(ZipError::NoEntry)?;
        let Open {
            mut entry,
            expected,
            zip64,
            crc,
        } = open;
        if entry.size != expected {
            return Err(ZipError::SizeMismatch {
                path: entry.path,
                expected,
                actual: entry.size,
            });
        }
        entry.crc = crc.value();
        let mut out = Vec::with_capacity(24);
        put32(&mut out, DATA_DESCRIPTOR);
        put32(&mut out, entry.crc);
        if zip64 {
            put64(&mut out, entry.size);
            put64(&mut out, entry.size);
        } else {
            put32(&mut out, entry.size as u32);
            put32(&mut out, entry.size as u32);
        }
        self.offset += out.len() as u64;
        self.done.push(entry);
        Ok(out)
    }

    /// The central directory and the end records: the last bytes of the archive.
    pub fn finish(self) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let start = self.offset;
        let mut out = Vec::new();
        for entry in &self.done {
            central_header(&mut out, entry);
        }
        let size = out.len() as u64;
        let count = self.done.len() as u64;
        if count >= MAX_16 || size >= MAX_32 || start >= MAX_32 {
            let zip64_end = start + size;
            put32(&mut out, ZIP64_END);
            put64(&mut out, 44); // the record's size after this field
            put16(&mut out, MADE_BY);
            put16(&mut out, VERSION_ZIP64);
            put32(&mut out, 0); // this disk
            put32(&mut out, 0); // the disk the directory starts on
            put64(&mut out, count);
            put64(&mut out, count);
            put64(&mut out, size);
            put64(&mut out, start);
            put32(&mut out, ZIP64_LOCATOR);
            put32(&mut out, 0);
            put64(&mut out, zip64_end);
            put32(&mut out, 1); // disks
        }
        put32(&mut out, END);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count.min(MAX_16) as u16);
        put16(&mut out, count.min(MAX_16) as u16);
        put32(&mut out, size.min(MAX_32) as u32);
        put32(&mut out, start.min(MAX_32) as u32);
        put16(&mut out, 0); // comment
        Ok(out)
    }
}

fn central_header(out: &mut Vec<u8>, entry: &Written) {
    let big_size = entry.size >= MAX_32;
    let big_offset = entry.offset >= MAX_32;
    let mut extra = Vec::new();
    if big_size {
        put64(&mut extra, entry.size);
        put64(&mut extra, entry.size);
    }
    if big_offset {
        put64(&mut extra, entry.offset);
    }
    let zip64 = !extra.is_empty();
    put32(out, CENTRAL_HEADER);
    put16(out, MADE_BY);
    put16(out, if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN });
    put16(out, FLAGS);
    put16(out, 0);
    put16(out, entry.time);
    put16(out, entry.date);
    put32(out, entry.crc);
    let size = entry.size.min(MAX_32) as u32;
    put32(out, size);
    put32(out, size);
    put16(out, entry.path.len() as u16);
    put16(out, if zip64 { extra.len() as u16 + 4 } else { 0 });
    put16(out, 0); // comment
    put16(out, 0); // disk
    put16(out, 0); // internal attributes
    put32(out, FILE_MODE);
    put32(out, entry.offset.min(MAX_32) as u32);
    out.extend_from_slice(entry.path.as_bytes());
    if zip64 {
        put16(out, ZIP64_EXTRA);
        put16(out, extra.len() as u16);
        out.extend_from_slice(&extra);
    }
}

/// The exact length of the ZIP of these `(path, size)` files, as [`Encoder`] writes it: what a
/// download announces as its `Content-Length`.
pub fn archive_size<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> u64 {
    let mut encoder = Encoder::new();
    let mut total = 0u64;
    for (path, size) in files {
        let sized = encoder
            .begin_entry(path, 0, size)
            .and_then(|header| {
                encoder.skip(size)?;
                Ok(header.len() as u64 + size + encoder.end_entry()?.len() as u64)
            })
            .unwrap_or_default();
        total += sized;
    }
    total
        + encoder
            .finish()
            .map(|end| end.len() as u64)
            .unwrap_or_default()
}

/// MS-DOS time and date (2-second steps, 1980 to 2107) of seconds since 1970.
fn dos_date_time(seconds: i64) -> (u16, u16) {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if year < 1980 {
        return (0, (1 << 5) | 1); // 1980-01-01 00:00
    }
    if year > 2107 {
        return ((23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31);
    }
    let time = ((secs / 3600) << 11) | (((secs % 3600) / 60) << 5) | ((secs % 60) / 2);
    let date = ((year - 1980) << 9) | ((month as i64) << 5) | day as i64;
    (time as u16, date as u16)
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

// They run Python's zipfile and unzip on files written to disk: native only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
