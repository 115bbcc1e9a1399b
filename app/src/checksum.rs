//! SHA-256 checksums as object storage wants them (`x-amz-checksum-sha256`: base64 of the
//! digest), computed in the browser with WebCrypto, and how to read the checksum a file ends
//! up with.
//!
//! WebCrypto has no streaming digest, so a checksum reads its bytes into one `ArrayBuffer`:
//! callers hash a part (`Blob.slice`) at a time, never a large file whole.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// Base64 of a digest, as `x-amz-checksum-sha256` carries it.
pub fn encode(digest: &[u8]) -> String {
    crate::base64::encode(digest)
}

fn failed(err: JsValue) -> String {
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// The SHA-256 digest of `data` (WebCrypto; PKCE's code challenge).
pub async fn sha256_digest(data: &[u8]) -> Result<Vec<u8>, String> {
    digest(&Uint8Array::from(data)).await
}

async fn digest(bytes: &js_sys::Object) -> Result<Vec<u8>, String> {
    let subtle = web_sys::window()
        .ok_or("no window")?
        .crypto()
        .map_err(failed)?
        .subtle();
    let digest = subtle
        .digest_with_str_and_buffer_source("SHA-256", bytes)
        .map_err(failed)?;
    let digest = JsFuture::from(digest).await.map_err(failed)?;
    Ok(Uint8Array::new(&digest).to_vec())
}

/// Base64 SHA-256 of all of `blob`'s bytes (read once into memory, then dropped).
pub async fn sha256(blob: &Blob) -> Result<String, String> {
    let bytes = JsFuture::from(blob.array_buffer()).await.map_err(failed)?;
    Ok(encode(&digest(bytes.unchecked_ref()).await?))
}

/// Base64 SHA-256 of `blob`'s bytes `start..end`.
pub async fn sha256_of_range(blob: &Blob, start: u64, end: u64) -> Result<String, String> {
    let slice = blob
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(failed)?;
    sha256(&slice).await
}

/// Base64 SHA-256 of the concatenation of `ranges` of `blob` (a sample of a large file).
pub async fn sha256_of_ranges(blob: &Blob, ranges: &[(u64, u64)]) -> Result<String, String> {
    let parts = Array::new();
    for &(start, end) in ranges {
        let slice = blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(failed)?;
        parts.push(&slice);
    }
    let sample = Blob::new_with_blob_sequence(&parts).map_err(failed)?;
    sha256(&sample).await
}

/// What a file's checksum is, as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checksum<'a> {
    /// Base64 SHA-256 of the bytes (a single `PUT`).
    Whole(&'a str),
    /// S3's composite form for a multipart upload: base64 SHA-256 of the concatenated binary
    /// SHA-256 digests of the parts, and the number of parts.
    Composite { digest: &'a str, parts: u32 },
}

pub fn parse(value: &str) -> Checksum<'_> {
    match value.rsplit_once('-') {
        Some((digest, parts)) if !parts.is_empty() && parts.bytes().all(|b| b.is_ascii_digit()) => {
            match parts.parse() {
                Ok(parts) => Checksum::Composite { digest, parts },
                Err(_) => Checksum::Whole(value),
            }
        }
        _ => Checksum::Whole(value),
    }
}

/// How a recipient can recompute `sum` for the file `name` (cut at `part_size` when it was
/// uploaded in parts): a label for the checksum and a line of text with a shell command. The
/// name is quoted as one shell word, or replaced by a placeholder when it cannot be shown.
pub fn verify_hint(sum: &str, part_size: Option<u64>, name: &str) -> (String, String) {
    use crate::shell::{FILE_PLACEHOLDER, file_argument};
    let (file, note) = match file_argument(name) {
        Some(word) => (word, String::new()),
        None => (
            FILE_PLACEHOLDER.to_owned(),
            format!(" (replace {FILE_PLACEHOLDER} with the downloaded file)"),
        ),
    };
    match parse(sum) {
        Checksum::Whole(_) => (
            "SHA-256".to_owned(),
            format!(
                "Base64 of the file's SHA-256: openssl dgst -sha256 -binary {file} | base64{note}"
            ),
        ),
        Checksum::Composite { parts, .. } => {
            let what = "the base64 SHA-256 of the parts' SHA-256 digests";
            let hint = match part_size.map(|bytes| bytes >> 20).filter(|mib| *mib > 0) {
                Some(mib) => format!(
                    "Uploaded in {parts} parts of {mib} MiB: {what}, then -{parts}. split -b \
                     {mib}M {file} part. && for p in part.*; do openssl dgst -sha256 -binary \
                     \"$p\"; done | openssl dgst -sha256 -binary | base64{note}"
                ),
                None => format!("Uploaded in {parts} parts: {what}, then -{parts}."),
            };
            ("Composite SHA-256 (multipart)".to_owned(), hint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn checksums_are_base64_of_the_digest() {
        // The empty string's SHA-256, as S3 shows it.
        assert_eq!(
            encode(&Sha256::digest(b"")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn composite_checksums_are_told_apart() {
        let whole = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(parse(whole), Checksum::Whole(whole));
        assert_eq!(
            parse("abc+/=-128"),
            Checksum::Composite {
                digest: "abc+/=",
                parts: 128
            }
        );
        assert_eq!(parse("abc-"), Checksum::Whole("abc-"));
        assert_eq!(parse("abc-x1"), Checksum::Whole("abc-x1"));
    }

    const SUM: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn hints_quote_the_name_as_one_shell_word() {
        let (label, hint) = verify_hint(SUM, None, "report'$(id>pwned)'.txt");
        assert_eq!(label, "SHA-256");
        assert_eq!(
            hint,
            r"Base64 of the file's SHA-256: openssl dgst -sha256 -binary 'report'\''$(id>pwned)'\''.txt' | base64"
        );
        let (_, hint) = verify_hint(SUM, None, "-n `reboot`");
        assert!(hint.contains("-binary './-n `reboot`' | base64"), "{hint}");
        let (label, hint) = verify_hint("abc=-3", Some(8 << 20), "it's.iso");
        assert_eq!(label, "Composite SHA-256 (multipart)");
        assert!(
            hint.contains(r"split -b 8M 'it'\''s.iso' part. && for p in part.*;"),
            "{hint}"
        );
    }

    #[test]
    fn hints_use_a_placeholder_for_names_that_cannot_be_shown() {
        let (_, hint) = verify_hint(SUM, None, "a\n$(reboot)\n.txt");
        assert_eq!(
            hint,
            "Base64 of the file's SHA-256: openssl dgst -sha256 -binary FILE | base64 \
             (replace FILE with the downloaded file)"
        );
        assert!(!hint.contains("reboot"));
        let (_, hint) = verify_hint("abc=-3", Some(8 << 20), "x\u{202E}gpj.exe");
        assert!(hint.contains("split -b 8M FILE part."), "{hint}");
        assert!(hint.ends_with("(replace FILE with the downloaded file)"));
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use wasm_bindgen_test::wasm_bindgen_test;

    // FIPS 180-2's SHA-256 examples, base64 as `x-amz-checksum-sha256` carries them.
    const EMPTY: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const ABC: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
    /// 56 bytes: padding pushes the message into a second 64-byte block.
    const TWO_BLOCKS_MESSAGE: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const TWO_BLOCKS: &str = "JI1qYdIGOLjlwCaTDD5gOaM85Flk/yFn9uzt1BnbBsE=";
    /// One million `a`.
    const MILLION_A: &str = "zcduXJkU+5KBocfihNc+Z/GAmkiklyAOBG05zMcRLNA=";

    /// A blob made of `chunks`, each its own piece of the blob.
    fn blob_of(chunks: &[&[u8]]) -> Blob {
        let parts = Array::new();
        for chunk in chunks {
            parts.push(&Uint8Array::from(*chunk));
        }
        Blob::new_with_u8_array_sequence(&parts).expect("the browser makes a blob")
    }

    #[wasm_bindgen_test]
    async fn webcrypto_digests_match_the_published_vectors() {
        for (message, expected) in [
            (&b""[..], EMPTY),
            (b"abc", ABC),
            (TWO_BLOCKS_MESSAGE, TWO_BLOCKS),
        ] {
            let digest = sha256_digest(message).await.expect("WebCrypto digests");
            assert_eq!(encode(&digest), expected, "{message:?}");
            assert_eq!(sha256(&blob_of(&[message])).await.as_deref(), Ok(expected));
        }
    }

    #[wasm_bindgen_test]
    async fn a_range_hashes_exactly_its_bytes_across_the_blobs_chunks() {
        // A million `a` between other bytes, in chunks whose borders fall inside the range.
        let a = vec![b'a'; 300_001];
        let blob = blob_of(&[b"xyz", &a, &a, &a, &vec![b'a'; 99_997], b"b"]);
        assert_eq!(blob.size(), 1_000_004.0);
        assert_eq!(
            sha256_of_range(&blob, 3, 1_000_003).await.as_deref(),
            Ok(MILLION_A)
        );
        assert_eq!(sha256_of_range(&blob, 3, 3).await.as_deref(), Ok(EMPTY));
        let ends = encode(&Sha256::digest(b"zab"));
        assert_eq!(
            sha256_of_range(&blob, 2, 4).await,
            Ok(encode(&Sha256::digest(b"za")))
        );
        assert_eq!(
            sha256_of_ranges(&blob, &[(2, 4), (1_000_003, 1_000_004)]).await,
            Ok(ends)
        );
    }

    #[wasm_bindgen_test]
    async fn a_sample_hashes_its_ranges_one_after_the_other() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let blob = blob_of(&[&bytes[..70_000], &bytes[70_000..]]);
        let ranges = [(0, 10), (65_536, 131_072), (199_990, 200_000)];
        let sample: Vec<u8> = ranges
            .iter()
            .flat_map(|&(start, end)| bytes[start as usize..end as usize].iter().copied())
            .collect();
        assert_eq!(
            sha256_of_ranges(&blob, &ranges).await,
            Ok(encode(&Sha256::digest(&sample)))
        );
        assert_eq!(
            sha256_of_ranges(&blob, &[(5, 5)]).await.as_deref(),
            Ok(EMPTY)
        );
    }
}
