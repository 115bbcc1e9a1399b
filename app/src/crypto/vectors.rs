//! Known answers both test modules check: the native implementation in `tests.rs`, WebCrypto in
//! `browser_tests.rs`, so the two are proven to write the same records.

/// RFC 8188 §3.1: one record, `rs` 4096, no key id.
pub const RFC_3_1_KEY: &str = "yqdlZ-tYemfogSmv7Ws5PQ";
pub const RFC_3_1_SALT: &str = "I1BsxtFttlv3u_Oo94xnmw";
pub const RFC_3_1_CEK: &str = "_wniytB-ofscZDh4tbSjHw";
pub const RFC_3_1_NONCE: &str = "Bcs8gkIRKLI8GeI8";
pub const RFC_3_1_MESSAGE: &str =
    "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg";

/// RFC 8188 §3.2: two records of `rs` 25, key id `a1`, one byte of padding in the first.
pub const RFC_3_2_KEY: &str = "BO3ZVPxUlnLORbVGMpbT1Q";
pub const RFC_3_2_MESSAGE: &str = "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA";

pub const WALRUS: &[u8] = b"I am the walrus";

/// AES-256-GCM, computed by `app/testdata/ece_reference.py` (Python `cryptography`, OpenSSL):
/// key bytes 0..32, salt bytes 100..116, `rs` 64, plaintext bytes 0..100 in three records.
pub fn aes256_key() -> Vec<u8> {
    (0..32).collect()
}
pub fn aes256_salt() -> Vec<u8> {
    (100..116).collect()
}
pub fn aes256_plaintext() -> Vec<u8> {
    (0..100).collect()
}
pub const AES256_RS: u64 = 64;
pub const AES256_CEK: &str = "aihrm7vKV854epOpumJolmqerTHGehGE1pcEfrMKirE";
pub const AES256_NONCE: &str = "gVZlYrwIbBVwsy0h";
pub const AES256_RECORDS: &str = "nO3wkBgvINMLS8c58PFwk4DetnBHYg8yXodRJGXActSkO0uMLk2mjilKX-IJVYy1w3JjnSKl33_4uHy5tDd9x6O37oD41K214ny0TBAJnELxDZYzJE6CyOOUeGTPVJc7ANT6lAjkWn2KlTtp_6X8FFZNecCFaaN3T04eqPfxpBVs0U7zS76tnEARCefHqtdiuo8O99Z89Q";
/// The same key and salt, an empty plaintext: one record holding only the delimiter.
pub const AES256_EMPTY: &str = "nmZ4TJCAAFM783R6J6Iv3gg";

pub fn b64(text: &str) -> Vec<u8> {
    crate::base64::decode_url(text).expect("a vector in base64url")
}
