//! Signing in with the hosted UI (Cognito or the local IdP): OAuth 2.0 authorization code with
//! PKCE (RFC 7636, S256), and the session the tokens make.
//!
//! Everything here is plain Rust so it is tested natively; [`flow`] does the browser side
//! (the token requests and the silent refresh) and [`browser`] the part without Leptos
//! (storage and leaving for the hosted UI, shared with the light landing page).

pub mod browser;
pub mod flow;

use ferry_api::SiteConfig;

use crate::base64;
use crate::url_encoding::form_encode;
use serde::{Deserialize, Serialize};

/// Refresh this long before the access token expires, so no request carries a stale one.
pub const REFRESH_MARGIN_MS: i64 = 60_000;

/// The secret half of PKCE: kept in the tab, sent only with the code exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// A verifier from 32 random bytes: 43 URL-safe characters (256 bits of entropy).
    pub fn from_random(bytes: &[u8; 32]) -> Self {
        Self(base64::encode_url(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `BASE64URL(SHA256(verifier))`, the `code_challenge` for `code_challenge_method=S256`,
    /// from the verifier's SHA-256 `digest` (the browser computes it with WebCrypto, so no
    /// SHA-256 code ships in the wasm).
    pub fn challenge(digest: &[u8]) -> String {
        base64::encode_url(digest)
    }
}

/// What the tab remembers between leaving for the hosted UI and coming back to `/callback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// Random, echoed back by the IdP: proves the callback answers *our* request.
    pub state: String,
    pub verifier: CodeVerifier,
    /// The page to return to after signing in.
    pub return_to: String,
}

impl PendingSignIn {
    /// A new attempt from 48 random bytes: 32 for the verifier, 16 for the state.
    pub fn new(random: &[u8; 48], return_to: &str) -> Self {
        let mut verifier = [0u8; 32];
        verifier.copy_from_slice(&random[..32]);
        Self {
            state: base64::encode_url(&random[32..48]),
            verifier: CodeVerifier::from_random(&verifier),
            return_to: safe_return_path(return_to),
        }
    }

    /// Whether the `state` the IdP sent back is ours (compared without early exit).
    pub fn state_matches(&self, returned: &str) -> bool {
        let (a, b) = (self.state.as_bytes(), returned.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Only same-site paths: an attacker must not turn sign-in into an open redirect.
pub fn safe_return_path(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.starts_with("/callback");
    if ok {
        path.to_owned()
    } else {
        "/files".to_owned()
    }
}

fn trim_base(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// Where to send the browser to sign in; `challenge` is [`CodeVerifier::challenge`].
pub fn authorize_url(config: &SiteConfig, pending: &PendingSignIn, challenge: &str) -> String {
    let query = form_encode(&[
        ("response_type", "code"),
        ("client_id", &config.client_id),
        ("redirect_uri", &config.redirect_uri),
        ("scope", "openid email profile"),
        ("state", &pending.state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    format!("{}/oauth2/authorize?{query}", trim_base(&config.auth_base))
}

pub fn token_url(config: &SiteConfig) -> String {
    format!("{}/oauth2/token", trim_base(&config.auth_base))
}

/// The body of the authorization-code exchange.
pub fn code_exchange_body(config: &SiteConfig, code: &str, verifier: &CodeVerifier) -> String {
    form_encode(&[
        ("grant_type", "authorization_code"),
        ("client_id", &config.client_id),
        ("code", code),
        ("redirect_uri", &config.redirect_uri),
        ("code_verifier", verifier.as_str()),
    ])
}

/// The body of a refresh-token grant.
pub fn refresh_body(config: &SiteConfig, refresh_token: &str) -> String {
    form_encode(&[
        ("grant_type", "refresh_token"),
        ("client_id", &config.client_id),
        ("refresh_token", refresh_token),
    ])
}

pub fn revoke_url(config: &SiteConfig) -> String {
    format!("{}/oauth2/revoke", trim_base(&config.auth_base))
}

/// The body of a revocation: the refresh token dies, and with it the access tokens it made.
pub fn revoke_body(config: &SiteConfig, refresh_token: &str) -> String {
    form_encode(&[("token", refresh_token), ("client_id", &config.client_id)])
}

/// Cognito's `/logout`: ends the hosted-UI session, then comes back to `logout_uri`.
pub fn logout_url(config: &SiteConfig) -> String {
    let query = form_encode(&[
        ("client_id", &config.client_id),
        ("logout_uri", &config.logout_uri),
    ]);
    format!("{}/logout?{query}", trim_base(&config.auth_base))
}

/// The token endpoint's answer (a refresh grant answers without `refresh_token`).
#[derive(Clone, Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds.
    pub expires_in: i64,
}

/// The signed-in person's tokens for this browser tab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix milliseconds.
    pub expires_at_ms: i64,
    /// Shown in the header; from the ID token.
    pub email: Option<String>,
}

impl Session {
    /// A session from a token answer; a refresh answer keeps the previous refresh token and
    /// the previous email when it brings none.
    pub fn from_tokens(tokens: TokenResponse, now_ms: i64, previous: Option<&Session>) -> Self {
        let email = tokens
            .id_token
            .as_deref()
            .and_then(email_from_id_token)
            .or_else(|| previous.and_then(|p| p.email.clone()));
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_at_ms: now_ms + tokens.expires_in.max(0) * 1000,
            email,
        }
    }

    /// The access token may still be used at `now_ms`.
    pub fn is_valid(&self, now_ms: i64) -> bool {
        now_ms < self.expires_at_ms
    }

    /// Time to refresh (within the margin, or already expired).
    pub fn needs_refresh(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_at_ms - REFRESH_MARGIN_MS
    }

    /// How long to wait before refreshing silently.
    pub fn refresh_delay_ms(&self, now_ms: i64) -> i64 {
        (self.expires_at_ms - REFRESH_MARGIN_MS - now_ms).max(0)
    }
}

/// The `email` (or, failing that, the user name) claim of an ID token. The signature is not
/// checked: the value is only displayed, and the API verifies every access token itself.
pub fn email_from_id_token(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::decode_url(payload.trim_end_matches('='))?;
    // Only an object has claims (a struct would also accept an array, field by field).
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    claims
        .email
        .0
        .or(claims.cognito_username.0)
        .or(claims.username.0)
}

/// The claims [`email_from_id_token`] reads; the others are skipped unread (no
/// `serde_json::Value` tree, whose code is sizeable in the wasm).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    email: Text,
    #[serde(default, rename = "cognito:username")]
    cognito_username: Text,
    #[serde(default)]
    username: Text,
}

/// A claim's value when it is a string; any other JSON value reads as absent.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};

        struct AnyValue;

        impl<'de> Visitor<'de> for AnyValue {
            type Value = Text;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_owned())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }

        deserializer.deserialize_any(AnyValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn challenge_of(verifier: &CodeVerifier) -> String {
        CodeVerifier::challenge(&Sha256::digest(verifier.as_str().as_bytes()))
    }

    fn config() -> SiteConfig {
        // The `/config.json` document as the server writes it.
        serde_json::from_str(
            r#"{
                "api_base": "/api",
                "cognito_region": "eu-west-1",
                "user_pool_id": "eu-west-1_abc",
                "client_id": "client 1",
                "auth_base": "https://auth.example.com/",
                "redirect_uri": "https://ferry.example.com/callback",
                "logout_uri": "https://ferry.example.com/"
            }"#,
        )
        .expect("a valid site configuration")
    }

    /// RFC 7636, Appendix B.
    #[test]
    fn pkce_matches_the_rfc_7636_test_vector() {
        let bytes = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = CodeVerifier::from_random(&bytes);
        assert_eq!(
            verifier.as_str(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
        assert_eq!(
            challenge_of(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn state_is_random_and_checked() {
        let a = PendingSignIn::new(&[7; 48], "/links");
        let b = PendingSignIn::new(&[8; 48], "/links");
        assert_ne!(a.state, b.state);
        assert_eq!(a.state.len(), 22, "128 bits, base64url");
        assert!(a.state_matches(&a.state.clone()));
        assert!(!a.state_matches(&b.state));
        assert!(!a.state_matches(""));
        assert!(!a.state_matches(&format!("{}x", a.state)));
        assert_eq!(a.return_to, "/links");
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_path("/s/abc?x=1"), "/s/abc?x=1");
        assert_eq!(safe_return_path("https://evil.example"), "/files");
        assert_eq!(safe_return_path("//evil.example"), "/files");
        assert_eq!(safe_return_path("/\\evil.example"), "/files");
        assert_eq!(safe_return_path("/callback?code=1"), "/files");
    }

    #[test]
    fn urls_and_bodies_are_escaped() {
        let cfg = config();
        let pending = PendingSignIn::new(&[1; 48], "/files");
        let url = authorize_url(&cfg, &pending, &challenge_of(&pending.verifier));
        assert!(url.starts_with("https://auth.example.com/oauth2/authorize?response_type=code&"));
        assert!(url.contains("client_id=client%201"));
        assert!(url.contains("redirect_uri=https%3A%2F%2Fferry.example.com%2Fcallback"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains(&format!(
            "code_challenge={}",
            challenge_of(&pending.verifier)
        )));
        assert!(url.contains("scope=openid%20email%20profile"));
        assert_eq!(token_url(&cfg), "https://auth.example.com/oauth2/token");
        assert_eq!(
            logout_url(&cfg),
            "https://auth.example.com/logout?client_id=client%201&logout_uri=https%3A%2F%2Fferry.example.com%2F"
        );
        let body = code_exchange_body(&cfg, "c+d", &pending.verifier);
        assert!(body.starts_with("grant_type=authorization_code&client_id=client%201&code=c%2Bd&"));
        assert!(body.ends_with(&format!("code_verifier={}", pending.verifier.as_str())));
        assert_eq!(
            refresh_body(&cfg, "r/t"),
            "grant_type=refresh_token&client_id=client%201&refresh_token=r%2Ft"
        );
        assert_eq!(revoke_url(&cfg), "https://auth.example.com/oauth2/revoke");
        assert_eq!(
            revoke_body(&cfg, "r/t+"),
            "token=r%2Ft%2B&client_id=client%201"
        );
    }

    fn id_token(claims: &str) -> String {
        format!("e30.{}.sig", base64::encode_url(claims.as_bytes()))
    }

    #[test]
    fn sessions_refresh_before_expiry_and_keep_the_refresh_token() {
        let first = Session::from_tokens(
            TokenResponse {
                access_token: "a1".into(),
                id_token: Some(id_token(r#"{"email":"ann@example.com"}"#)),
                refresh_token: Some("r1".into()),
                expires_in: 3600,
            },
            1_000,
            None,
        );
        assert_eq!(first.email.as_deref(), Some("ann@example.com"));
        assert_eq!(first.expires_at_ms, 3_601_000);
        assert!(first.is_valid(3_600_999) && !first.is_valid(3_601_000));
        assert!(!first.needs_refresh(3_540_999));
        assert!(first.needs_refresh(3_541_000));
        assert_eq!(first.refresh_delay_ms(1_000), 3_540_000);
        assert_eq!(first.refresh_delay_ms(9_999_999), 0);

        let refreshed = Session::from_tokens(
            TokenResponse {
                access_token: "a2".into(),
                id_token: None,
                refresh_token: None,
                expires_in: 60,
            },
            5_000,
            Some(&first),
        );
        assert_eq!(refreshed.access_token, "a2");
        assert_eq!(refreshed.refresh_token.as_deref(), Some("r1"));
        assert_eq!(refreshed.email.as_deref(), Some("ann@example.com"));
    }

    #[test]
    fn id_token_email_falls_back_to_the_user_name() {
        assert_eq!(
            email_from_id_token(&id_token(r#"{"cognito:username":"ann"}"#)).as_deref(),
            Some("ann")
        );
        assert_eq!(email_from_id_token("not a jwt"), None);
        // Only string claims count; anything else is passed over.
        assert_eq!(
            email_from_id_token(&id_token(
                r#"{"email":null,"aud":["x",{"y":1}],"cognito:username":7,"username":"bo"}"#
            ))
            .as_deref(),
            Some("bo")
        );
        assert_eq!(
            email_from_id_token(&id_token(r#"{"email":"a@b.c","username":"bo"}"#)).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(email_from_id_token(&id_token(r#"["a@b.c"]"#)), None);
        assert_eq!(email_from_id_token(&id_token(r#"{"sub":"1"}"#)), None);
    }
}
