//! The OAuth 2.0 / OIDC endpoints for programs: `/oauth2/token`, `/oauth2/revoke`,
//! `/oauth2/userInfo`, discovery and the JWKS.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::{IdpError, LocalIdp, Tokens, blocking};

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

/// An RFC 6749 §5.2 error, as Cognito answers it.
fn oauth_error(status: StatusCode, error: &str) -> Response {
    no_store((status, Json(json!({ "error": error }))).into_response())
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The client id from HTTP Basic authentication (`client_id:secret`), for clients that send it
/// there instead of in the form.
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (client_id, _secret) = decoded.split_once(':')?;
    Some(client_id.to_owned())
}

/// `POST /oauth2/token` with `grant_type` `authorization_code` (PKCE) or `refresh_token`.
pub async fn token(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let Some(client_id) = form.client_id.clone().or_else(|| basic_client_id(&headers)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    };
    if idp.client_ok(&client_id).is_err() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let result = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) =
                (form.code, form.redirect_uri, form.code_verifier)
            else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            blocking(&idp, move |idp| {
                idp.redeem_code(&code, &client_id, &redirect_uri, &verifier)
            })
            .await
        }
        Some("refresh_token") => {
            let Some(refresh_token) = form.refresh_token else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            blocking(&idp, move |idp| idp.refresh(&refresh_token, &client_id)).await
        }
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    };
    match result {
        Ok(tokens) => no_store(Json(token_response(&tokens)).into_response()),
        Err(IdpError::NotAuthorized(_)) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"),
        Err(err) => {
            tracing::error!(error = ?err, "local IdP token endpoint failed");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth2/revoke` (RFC 7009 as Cognito implements it): revokes a refresh token and the
/// access tokens of its sign-in. 200 with an empty body, also for tokens it does not know.
pub async fn revoke(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let Some(token) = form.token.filter(|t| !t.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let client_id = form.client_id.or_else(|| basic_client_id(&headers));
    let Some(client_id) = client_id.filter(|c| idp.client_ok(c).is_ok()) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    // Access and ID tokens are JWTs; only refresh tokens can be revoked here.
    if token.split('.').count() == 3 {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_token_type");
    }
    match blocking(&idp, move |idp| idp.revoke(&token, &client_id)).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(err) => {
            tracing::error!(error = ?err, "local IdP revocation failed");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        }
    }
}

fn token_response(tokens: &Tokens) -> serde_json::Value {
    let mut body = json!({
        "access_token": tokens.access_token,
        "id_token": tokens.id_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
    });
    if let Some(refresh) = &tokens.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    body
}

/// `GET /oauth2/userInfo` with a Bearer access token.
pub async fn user_info(State(idp): State<Arc<LocalIdp>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default();
    match idp.user_for_access_token(token).await {
        Ok((_, user)) => no_store(
            Json(json!({
                "sub": user.sub,
                // Cognito answers this one as a string.
                "email_verified": "true",
                "email": user.email,
                "username": user.sub,
            }))
            .into_response(),
        ),
        Err(IdpError::NotAuthorized(reason)) => {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
            let challenge =
                format!(r#"Bearer error="invalid_token", error_description="{reason}""#);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Err(err) => {
            tracing::error!(error = ?err, "local IdP userInfo failed");
            oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        }
    }
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(idp): State<Arc<LocalIdp>>) -> Json<serde_json::Value> {
    let base = idp.config.issuer.trim_end_matches('/');
    Json(json!({
        "issuer": idp.config.issuer,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{base}/logout"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "email",
            "email_verified", "cognito:username", "token_use", "client_id", "nonce"],
    }))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(idp): State<Arc<LocalIdp>>) -> Json<serde_json::Value> {
    Json(idp.jwks())
}
