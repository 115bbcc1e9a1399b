//! Percent-encoding for URLs and form bodies (RFC 3986), for every request the app builds by hand.

/// Percent-encodes `value` for a query string, a form body or a path segment: RFC 3986's
/// unreserved characters stay as they are, every other byte of the UTF-8 becomes `%XX`.
pub fn escape(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// `key=value&…`, each part escaped: the body of a token request or a query string.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_matches_percent_encoding() {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
        const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let all_ascii: String = (0u8..128).map(char::from).collect();
        for text in [
            all_ascii.as_str(),
            "",
            "a b/c?d=e&f",
            "é ☃ 😀",
            "0192-7c1d_~.",
        ] {
            assert_eq!(
                escape(text),
                utf8_percent_encode(text, UNRESERVED).to_string()
            );
        }
    }
}
