//! [`Primitives`] on WebCrypto (`crypto.subtle`), in a page or a worker, and random bytes
//! from `crypto.getRandomValues`.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, Crypto, CryptoKey, HkdfParams, SubtleCrypto};

use super::{CryptoError, NONCE_LEN, Primitives};

fn backend(err: JsValue) -> CryptoError {
    let message = err
        .as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "unknown error".to_owned());
    CryptoError::Backend(message)
}

/// The global scope's `crypto` (a window's or a worker's).
fn crypto() -> Result<Crypto, CryptoError> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(backend)?
        .dyn_into::<Crypto>()
        .map_err(|_| CryptoError::Backend("no crypto in this context".to_owned()))
}

/// Fills `out` from the platform's CSPRNG.
pub fn random_bytes(out: &mut [u8]) -> Result<(), CryptoError> {
    crypto()?
        .get_random_values_with_u8_array(out)
        .map_err(backend)?;
    Ok(())
}

/// WebCrypto's AES-GCM and HKDF.
pub struct WebCrypto {
    subtle: SubtleCrypto,
}

impl WebCrypto {
    pub fn new() -> Result<Self, CryptoError> {
        Ok(Self {
            subtle: crypto()?.subtle(),
        })
    }

    /// `crypto.subtle`, for callers that keep their bytes in JavaScript.
    pub fn subtle(&self) -> &SubtleCrypto {
        &self.subtle
    }

    async fn import(
        &self,
        raw: &[u8],
        algorithm: &str,
        usages: &[&str],
    ) -> Result<CryptoKey, CryptoError> {
        let usages: Array = usages.iter().map(|u| JsValue::from_str(u)).collect();
        let promise = self
            .subtle
            .import_key_with_str("raw", &Uint8Array::from(raw), algorithm, false, &usages)
            .map_err(backend)?;
        let key = JsFuture::from(promise).await.map_err(backend)?;
        key.dyn_into::<CryptoKey>()
            .map_err(|_| CryptoError::Backend("importKey gave no key".to_owned()))
    }
}

impl Primitives for WebCrypto {
    type Key = CryptoKey;

    async fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let base = self.import(ikm, "HKDF", &["deriveBits"]).await?;
        let params = HkdfParams::new_with_str(
            "HKDF",
            "SHA-256",
            &Uint8Array::from(info),
            &Uint8Array::from(salt),
        );
        let promise = self
            .subtle
            .derive_bits_with_object(&params, &base, (len * 8) as u32)
            .map_err(backend)?;
        let bits = JsFuture::from(promise).await.map_err(backend)?;
        Ok(Uint8Array::new(&bits).to_vec())
    }

    async fn import_key(&self, raw: &[u8]) -> Result<CryptoKey, CryptoError> {
        self.import(raw, "AES-GCM", &["encrypt", "decrypt"]).await
    }

    async fn seal(
        &self,
        key: &CryptoKey,
        nonce: &[u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&nonce[..]));
        let promise = self
            .subtle
            .encrypt_with_object_and_u8_array(&params, key, plaintext)
            .map_err(backend)?;
        let sealed = JsFuture::from(promise).await.map_err(backend)?;
        Ok(Uint8Array::new(&sealed).to_vec())
    }

    async fn open(
        &self,
        key: &CryptoKey,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&nonce[..]));
        let promise = self
            .subtle
            .decrypt_with_object_and_u8_array(&params, key, ciphertext)
            .map_err(backend)?;
        // WebCrypto rejects with an `OperationError` exactly when the tag does not verify.
        let opened = JsFuture::from(promise)
            .await
            .map_err(|_| CryptoError::Tampered)?;
        Ok(Uint8Array::new(&opened).to_vec())
    }
}
