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
