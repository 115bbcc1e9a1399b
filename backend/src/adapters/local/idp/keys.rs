//! The identity provider's RS256 signing key: generated once, kept in the data directory, and
//! published as a JWKS.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// An RSA-2048 key that signs JWTs with RS256. Its `kid` is the RFC 7638 thumbprint of the
/// public key, so it is stable across restarts without being stored.
pub struct SigningKey {
    pair: KeyPair,
    kid: String,
    n: String,
    e: String,
}

impl SigningKey {
    /// A fresh key that lives only in memory.
    pub fn generate() -> anyhow::Result<Self> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("generating an RSA key failed"))?;
        Self::from_pair(pair)
    }

    /// The key stored at `path` (PKCS#8 DER), or a new one written there first, readable by
    /// the owner only.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(der) => {
                let pair = KeyPair::from_pkcs8(&der).map_err(|e| {
                    anyhow::anyhow!("{} is not a usable RSA key: {e}", path.display())
                })?;
                Self::from_pair(pair)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                let der = key
                    .pair
                    .as_der()
                    .map_err(|_| anyhow::anyhow!("encoding the RSA key failed"))?;
                write_private(path, der.as_ref())?;
                Ok(key)
            }
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn from_pair(pair: KeyPair) -> anyhow::Result<Self> {
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(Self { pair, kid, n, e })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWKS document (`{"keys": [...]}`), as Cognito publishes it.
    pub fn jwks(&self) -> serde_json::Value {
        json!({
            "keys": [{
                "kty": "RSA", "alg": "RS256", "use": "sig",
                "kid": self.kid, "n": self.n, "e": self.e,
            }]
        })
    }

    /// A compact RS256 JWS over `claims`, with this key's `kid` in the header.
    pub fn sign(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        self.sign_with_kid(claims, &self.kid)
    }

    /// Like [`Self::sign`] but naming any `kid` (tests use it to forge unknown-key tokens).
    pub fn sign_with_kid(&self, claims: &impl Serialize, kid: &str) -> anyhow::Result<String> {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Writes a secret file atomically (temp file + rename) so a crash never leaves half a key, with
/// mode 0600 from the moment it exists.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_kept_private_and_reloads_with_the_same_kid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.der");
        let first = SigningKey::load_or_create(&path).unwrap();
        let again = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.jwks(), again.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_ne!(SigningKey::generate().unwrap().kid(), first.kid());
    }
}
