//! Tokens issued by moto's Cognito (sign-up, admin confirm, `USER_PASSWORD_AUTH`) are accepted by
//! [`JwksVerifier`] configured as on AWS, with moto's JWKS URL; tampered, expired, wrong-client
//! and ID tokens are refused.

use crate::support::aws::{Moto, REGION, sign_in, user_pool};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry::adapters::jwks::JwksVerifier;
use ferry::ports::{AuthError, TokenVerifier};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An access token for `sub` that expired an hour ago, signed with moto's own Cognito key (by
/// moto's Python package, the way moto signs its tokens).
fn expired_token(issuer: &str, client_id: &str, sub: &str) -> Option<String> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/python");
    let script = r#"
import json, sys, time
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource
key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
now = int(time.time())
claims = {"iss": sys.argv[1], "client_id": sys.argv[2], "sub": sys.argv[3], "token_use": "access",
          "iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600, "username": "alice"}
print(jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, key))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, issuer, client_id, sub])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test]
async fn moto_cognito_access_tokens_verify_and_everything_else_is_refused() {
    let Some(moto) =
        Moto::start("moto_cognito_access_tokens_verify_and_everything_else_is_refused").await
    else {
        return;
    };
    let pool = user_pool(&moto).await;
    let (access, id_token) = sign_in(&moto, &pool, &pool.client_id, "alice").await;

    let issuer = claims(&access)["iss"].as_str().unwrap().to_owned();
    assert_eq!(
        issuer,
        format!("https://cognito-idp.{REGION}.amazonaws.com/{}", pool.id)
    );
    let jwks_url = format!("{}/{}/.well-known/jwks.json", moto.endpoint, pool.id);
    let verifier = JwksVerifier::new(&issuer, &jwks_url, &pool.client_id).unwrap();

    // A real access token is accepted and names its user.
    let me = verifier
        .verify(&access)
        .await
        .expect("moto's access token verifies");
    assert_eq!(me.user.as_str(), claims(&access)["sub"].as_str().unwrap());
    assert_eq!(me.username.as_deref(), Some("alice"));

    // An ID token is not an access token.
    assert!(matches!(
        verifier.verify(&id_token).await,
        Err(AuthError::Invalid(_))
    ));

    // One changed character in the payload breaks the signature.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let mut payload = claims(&access);
    payload["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert!(matches!(
        verifier.verify(&parts.join(".")).await,
        Err(AuthError::Invalid(_))
    ));
    let mut flipped = access.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    assert!(
        verifier
            .verify(&String::from_utf8(flipped).unwrap())
            .await
            .is_err()
    );

    // A token for another app client of the same pool is not for us.
    let (other_access, _) = sign_in(&moto, &pool, &pool.other_client_id, "bob").await;
    assert!(matches!(
        verifier.verify(&other_access).await,
        Err(AuthError::Invalid(_))
    ));

    // Nor is one from another issuer, even with the same keys (moto signs every pool alike).
    let other_pool = user_pool(&moto).await;
    let stranger = JwksVerifier::new(
        format!(
            "https://cognito-idp.{REGION}.amazonaws.com/{}",
            other_pool.id
        ),
        &jwks_url,
        &pool.client_id,
    )
    .unwrap();
    assert!(matches!(
        stranger.verify(&access).await,
        Err(AuthError::Invalid(_))
    ));

    // An expired token signed with moto's key.
    let sub = claims(&access)["sub"].as_str().unwrap().to_owned();
    match expired_token(&issuer, &pool.client_id, &sub) {
        Some(expired) => {
            assert_eq!(claims(&expired)["sub"], json!(sub));
            assert!(matches!(
                verifier.verify(&expired).await,
                Err(AuthError::Expired)
            ));
        }
        None => panic!("could not sign an expired token with moto's key"),
    }
}
