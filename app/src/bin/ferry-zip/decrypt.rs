//! End-to-end encrypted links in the download module: the key from the link's fragment (handed
//! over by the page, never sent anywhere), each file's sealed metadata opened with WebCrypto,
//! and a [`Decryptor`] per file that the ZIP writer or a single download feeds the stored bytes.

use ferry_api::encryption::EncryptedMeta;
use ferry_app::crypto::CryptoError;
use ferry_app::crypto::link::TransferKey;
use ferry_app::crypto::meta::{self, FileSecrets};
use ferry_app::crypto::stream::Decryptor;
use ferry_app::crypto::webcrypto::WebCrypto;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use web_sys::CryptoKey;

/// The link's key and WebCrypto, to open its files.
pub struct Opener {
    key: TransferKey,
    crypto: WebCrypto,
}

impl Opener {
    /// From the link's fragment (`k=…`); the words say what is wrong with it.
    pub fn new(fragment: &str) -> Result<Opener, String> {
        let key = TransferKey::from_fragment(fragment).map_err(|e| e.to_string())?;
        let crypto = WebCrypto::new().map_err(|e| e.to_string())?;
        Ok(Opener { key, crypto })
    }

    /// A file's name, folder, type, size and content salt.
    pub async fn secrets(&self, sealed: &EncryptedMeta) -> Result<FileSecrets, CryptoError> {
        let blob = ferry_app::base64::decode_url(&sealed.meta)
            .ok_or(CryptoError::Malformed("metadata that is not base64url"))?;
        meta::open(&self.crypto, &self.key, &blob).await
    }

    /// A file's decryption, ready for its stored bytes.
    pub async fn file(&self, secrets: &FileSecrets) -> Result<Stream<'_>, CryptoError> {
        let decryptor = Decryptor::for_file(&self.crypto, self.key.bytes(), secrets).await?;
        Ok(Stream {
            decryptor,
            crypto: &self.crypto,
        })
    }
}

/// One file's decryption in progress.
pub struct Stream<'a> {
    decryptor: Decryptor<CryptoKey>,
    crypto: &'a WebCrypto,
}

impl Stream<'_> {
    pub async fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.decryptor.push(self.crypto, chunk).await
    }

    pub async fn finish(self) -> Result<Vec<u8>, CryptoError> {
        self.decryptor.finish(self.crypto).await
    }
}

/// Decrypted bytes as an array to hand to the download: written over the stored chunk they came
/// from when they fit (that chunk is this reader's alone once read, and handing it on is what a
/// plain file's chunk does), so decrypting allocates no extra array per chunk. Otherwise a new
/// array. (The page's array buffers while decrypting, bench/zip-download, are mostly
/// WebCrypto's results per record, which this does not change.)
pub fn plain_into(stored: Uint8Array, plain: &[u8]) -> Uint8Array {
    match u32::try_from(plain.len()) {
        Ok(len) if len <= stored.length() => {
            let view = stored.subarray(0, len);
            view.copy_from(plain);
            view
        }
        _ => Uint8Array::from(plain),
    }
}

/// What the recipient reads when decryption stops a download.
pub fn refused(what: &str, err: &CryptoError) -> String {
    match err {
        CryptoError::Tampered => format!(
            "“{what}” failed its integrity check: the stored data was changed or damaged, or \
             the link's key is wrong. The download was stopped and is not complete."
        ),
        CryptoError::Truncated => format!(
            "“{what}” ends too early: part of the stored data is missing. The download was \
             stopped and is not complete."
        ),
        other => format!("“{what}” could not be decrypted ({other}). The download was stopped."),
    }
}

/// The secrets as the page wants them: `[name, folder, content_type, size]`.
pub fn secrets_array(secrets: &FileSecrets) -> js_sys::Array {
    let folder = secrets
        .folder
        .as_deref()
        .map_or(JsValue::UNDEFINED, JsValue::from);
    js_sys::Array::of4(
        &secrets.name.as_str().into(),
        &folder,
        &secrets.content_type.as_str().into(),
        &JsValue::from_f64(secrets.size as f64),
    )
}
