//! The Cognito user-pool JSON API (`POST /`, `X-Amz-Target:
//! AWSCognitoIdentityProviderService.<Action>`, `application/x-amz-json-1.1`), for the actions
//! the app and its tests use. Requests and errors have exactly Cognito's shape, so boto3, the
//! AWS CLI and aws-sdk-rust work with an endpoint override.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{IdpError, LocalIdp, Tokens, blocking, hashing, normalize_email};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignUpRequest {
    client_id: String,
    username: String,
    password: String,
    #[serde(default)]
    user_attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmSignUpRequest {
    client_id: String,
    username: String,
    confirmation_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateAuthRequest {
    client_id: String,
    auth_flow: String,
    #[serde(default)]
    auth_parameters: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevokeTokenRequest {
    client_id: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetUserRequest {
    access_token: String,
}

/// A Cognito error: 400 (500 for ours) with `__type` in the body and `x-amzn-ErrorType`, which
/// is where the SDKs look for the error code.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = respond(status, json!({ "__type": kind, "message": message }));
    if let Ok(value) = HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn from_idp_error(err: IdpError) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    match err {
        IdpError::UsernameExists => error(bad, "UsernameExistsException", &err.to_string()),
        IdpError::NotAuthorized(_) => error(bad, "NotAuthorizedException", &err.to_string()),
        IdpError::UserNotConfirmed => error(bad, "UserNotConfirmedException", &err.to_string()),
        IdpError::InvalidPassword(_) => error(bad, "InvalidPasswordException", &err.to_string()),
        IdpError::InvalidParameter(_) => error(bad, "InvalidParameterException", &err.to_string()),
        IdpError::CodeMismatch => error(bad, "CodeMismatchException", &err.to_string()),
        IdpError::ExpiredCode => error(bad, "ExpiredCodeException", &err.to_string()),
        // Cognito's throttling answer is a 400 too; `Retry-After` is a courtesy.
        IdpError::Busy => {
            let mut response = error(bad, "TooManyRequestsException", &err.to_string());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        IdpError::UnknownClient(_) => error(bad, "ResourceNotFoundException", &err.to_string()),
        IdpError::Internal(inner) => {
            tracing::error!(error = ?inner, "local IdP JSON API failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalErrorException",
                "Internal error",
            )
        }
    }
}

fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, IdpError> {
    T::deserialize(body)
        .map_err(|e| IdpError::InvalidParameter(format!("1 validation error detected: {e}")))
}

/// `POST /`.
pub async fn handle(State(idp): State<Arc<LocalIdp>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(action) = target.strip_prefix(TARGET_PREFIX) else {
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "Missing or unknown X-Amz-Target.",
        );
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "The request body is not valid JSON.",
        );
    };
    let result = match action {
        "SignUp" => sign_up(&idp, &body).await,
        "ConfirmSignUp" => confirm_sign_up(&idp, &body).await,
        "InitiateAuth" => initiate_auth(&idp, &body).await,
        "GetUser" => get_user(&idp, &body).await,
        "RevokeToken" => revoke_token(&idp, &body).await,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                "The local identity provider does not implement this action.",
            );
        }
    };
    match result {
        Ok(body) => respond(StatusCode::OK, body),
        Err(err) => from_idp_error(err),
    }
}

async fn sign_up(idp: &Arc<LocalIdp>, body: &Value) -> Result<Value, IdpError> {
    let request: SignUpRequest = parse(body)?;
    idp.client_ok(&request.client_id)?;
    // The pool uses the email as username; an `email` attribute, if given, must agree.
    let email = normalize_email(&request.username)
        .ok_or_else(|| IdpError::InvalidParameter("Username should be an email.".into()))?;
    let attribute_email = request.user_attributes.iter().find(|a| a.name == "email");
    if let Some(attribute) = attribute_email
        && attribute
            .value
            .as_deref()
            .and_then(normalize_email)
            .as_deref()
            != Some(email.as_str())
    {
        return Err(IdpError::InvalidParameter(
            "The email attribute must match the username.".into(),
        ));
    }
    let password = request.password;
    let user = hashing(idp, move |idp, slot| idp.sign_up(slot, &email, &password)).await?;
    let mut response = json!({ "UserConfirmed": user.confirmed, "UserSub": user.sub });
    if !user.confirmed {
        response["CodeDeliveryDetails"] = json!({
            "Destination": mask_email(&user.email),
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        });
    }
    Ok(response)
}

async fn confirm_sign_up(idp: &Arc<LocalIdp>, body: &Value) -> Result<Value, IdpError> {
    let request: ConfirmSignUpRequest = parse(body)?;
    idp.client_ok(&request.client_id)?;
    blocking(idp, move |idp| {
        idp.confirm_sign_up(&request.username, &request.confirmation_code)
    })
    .await?;
    Ok(json!({}))
}

async fn initiate_auth(idp: &Arc<LocalIdp>, body: &Value) -> Result<Value, IdpError> {
    let request: InitiateAuthRequest = parse(body)?;
    idp.client_ok(&request.client_id)?;
    let param =
        |name: &str| {
            request.auth_parameters.get(name).cloned().ok_or_else(|| {
                IdpError::InvalidParameter(format!("Missing required parameter {name}"))
            })
        };
    let tokens = match request.auth_flow.as_str() {
        "USER_PASSWORD_AUTH" => {
            let (username, password) = (param("USERNAME")?, param("PASSWORD")?);
            hashing(idp, move |idp, slot| {
                let user = idp.authenticate(slot, &username, &password)?;
                idp.password_tokens(&user)
            })
            .await?
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
            let (token, client_id) = (param("REFRESH_TOKEN")?, request.client_id.clone());
            blocking(idp, move |idp| idp.refresh(&token, &client_id)).await?
        }
        other => {
            return Err(IdpError::InvalidParameter(format!(
                "{other} flow not enabled for this client"
            )));
        }
    };
    Ok(json!({ "AuthenticationResult": authentication_result(&tokens), "ChallengeParameters": {} }))
}

async fn revoke_token(idp: &Arc<LocalIdp>, body: &Value) -> Result<Value, IdpError> {
    let request: RevokeTokenRequest = parse(body)?;
    idp.client_ok(&request.client_id)?;
    blocking(idp, move |idp| {
        idp.revoke(&request.token, &request.client_id)
    })
    .await?;
    Ok(json!({}))
}

fn authentication_result(tokens: &Tokens) -> Value {
    let mut result = json!({
        "AccessToken": tokens.access_token,
        "ExpiresIn": tokens.expires_in,
        "TokenType": "Bearer",
        "IdToken": tokens.id_token,
    });
    if let Some(refresh) = &tokens.refresh_token {
        result["RefreshToken"] = json!(refresh);
    }
    result
}

async fn get_user(idp: &Arc<LocalIdp>, body: &Value) -> Result<Value, IdpError> {
    let request: GetUserRequest = parse(body)?;
    let (_, user) = idp.user_for_access_token(&request.access_token).await?;
    Ok(json!({
        "Username": user.sub,
        "UserAttributes": [
            { "Name": "sub", "Value": user.sub },
            { "Name": "email_verified", "Value": "true" },
            { "Name": "email", "Value": user.email },
        ],
    }))
}

/// `a***@e***` like Cognito's `CodeDeliveryDetails.Destination`.
fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}
