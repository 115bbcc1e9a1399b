//! Base64 as the app needs it: standard with padding (`x-amz-checksum-sha256`), URL-safe
//! without padding (PKCE, ID tokens). A few lines instead of the `base64` crate's generic
//! engine, which costs several KB of wasm; the tests check both agree.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Standard alphabet, padded.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, STANDARD, true)
}

/// URL-safe alphabet, no padding.
pub fn encode_url(bytes: &[u8]) -> String {
    encode_with(bytes, URL_SAFE, false)
}

/// URL-safe alphabet, no padding; `None` for any other character, an impossible length or
/// non-zero trailing bits (as the `base64` crate's strict decoder).
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = URL_SAFE.iter().position(|a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let bytes = chunk.len() * 6 / 8;
        // Bits past the last whole byte must be zero.
        if n & ((1 << (24 - 8 * bytes)) - 1) != 0 && chunk.len() < 4 {
            return None;
        }
        out.extend((0..bytes).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    #[test]
    fn agrees_with_the_base64_crate() {
        let mut seed = 0x1234_5678u32;
        for len in 0..70 {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 24) as u8
                    })
                    .collect();
                assert_eq!(encode(&bytes), STANDARD.encode(&bytes));
                let url = URL_SAFE_NO_PAD.encode(&bytes);
                assert_eq!(encode_url(&bytes), url);
                assert_eq!(decode_url(&url), Some(bytes));
            }
        }
        for bad in [
            "a", "ab=c", "a+bc", "a/bc", "abcde", "ab c", "AB", "AAB", "AAAAB", "é",
        ] {
            assert_eq!(decode_url(bad), URL_SAFE_NO_PAD.decode(bad).ok(), "{bad:?}");
        }
        for ok in ["", "AA", "AAA", "AAAA", "_-8", "e30"] {
            assert_eq!(decode_url(ok), URL_SAFE_NO_PAD.decode(ok).ok(), "{ok:?}");
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// `bytes` as the "binary string" `btoa` reads: one character per byte.
    fn binary_string(bytes: &[u8]) -> String {
        bytes.iter().map(|&b| char::from(b)).collect()
    }

    #[wasm_bindgen_test]
    fn matches_the_rfc_4648_vectors() {
        for (text, standard, url) in [
            ("", "", ""),
            ("f", "Zg==", "Zg"),
            ("fo", "Zm8=", "Zm8"),
            ("foo", "Zm9v", "Zm9v"),
            ("foob", "Zm9vYg==", "Zm9vYg"),
            ("fooba", "Zm9vYmE=", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(text.as_bytes()), standard);
            assert_eq!(encode_url(text.as_bytes()), url);
            assert_eq!(decode_url(url).as_deref(), Some(text.as_bytes()));
        }
    }

    #[wasm_bindgen_test]
    fn agrees_with_the_browsers_btoa() {
        let window = web_sys::window().expect("a window");
        let every_byte: Vec<u8> = (0..=255).collect();
        let mut seed = 0x9e37_79b9u32;
        let mut inputs = vec![every_byte.clone(), every_byte.into_iter().rev().collect()];
        inputs.extend((0..64).map(|len| {
            (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect()
        }));
        for bytes in inputs {
            let expected = window
                .btoa(&binary_string(&bytes))
                .expect("btoa takes a binary string");
            assert_eq!(encode(&bytes), expected);
            let url = expected
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_");
            assert_eq!(encode_url(&bytes), url);
            assert_eq!(decode_url(&url), Some(bytes));
        }
    }
}
