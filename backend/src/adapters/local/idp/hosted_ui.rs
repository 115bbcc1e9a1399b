//! The hosted UI: `/oauth2/authorize` (shows the sign-in page), `/login`, `/signup`, `/confirm`
//! and `/logout`, at Cognito's paths. A successful sign-in or sign-up redirects to the client's
//! `redirect_uri` with a one-time code for `/oauth2/token`.
//!
//! Forms are only taken from the hosted UI's own pages (or the client's): a browser's `Origin`
//! (or `Sec-Fetch-Site`) from anywhere else gets 403, so no other site can post them.

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::accounts::ATTEMPTS_EXCEEDED;
use super::pages::{self, Carried};
use super::{IdpError, LocalIdp, blocking, granted_scope, hashing, pkce};

/// Every field any hosted-UI request may carry; which are required depends on the endpoint.
#[derive(Debug, Default, Deserialize)]
pub struct HostedForm {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    nonce: Option<String>,
    email: Option<String>,
    password: Option<String>,
    code: Option<String>,
}

/// A checked authorization request.
#[derive(Debug)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    /// What will be granted.
    pub scope: String,
    pub nonce: Option<String>,
    /// As requested, to carry along unchanged.
    requested_scope: Option<String>,
}

impl AuthRequest {
    /// The parameters to keep in hidden fields and links, so each page can continue the flow.
    fn carried(&self) -> Vec<(&'static str, &str)> {
        let mut carried = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        for (name, value) in [
            ("state", &self.state),
            ("scope", &self.requested_scope),
            ("nonce", &self.nonce),
        ] {
            if let Some(value) = value {
                carried.push((name, value.as_str()));
            }
        }
        carried
    }

    /// Where the browser goes next: the redirect URI with `pairs` and `state` appended.
    fn redirect_with(&self, pairs: &Carried<'_>) -> Response {
        let mut all: Vec<(&'static str, &str)> = pairs.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        let separator = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!("{}{separator}{}", self.redirect_uri, pages::query(&all));
        // 302 like Cognito; after a form POST browsers follow it with a GET.
        Redirect::to(&location)
            .into_response()
            .with_status(StatusCode::FOUND)
    }
}

trait WithStatus {
    fn with_status(self, status: StatusCode) -> Self;
}

impl WithStatus for Response {
    fn with_status(mut self, status: StatusCode) -> Self {
        *self.status_mut() = status;
        self
    }
}

/// Checks the OAuth parameters. Problems with the client or redirect URI are shown on a page
/// (redirecting to an unchecked URI would make this an open redirector); the others go back to
/// the client as OAuth errors.
fn check(idp: &LocalIdp, form: &HostedForm) -> Result<AuthRequest, Box<Response>> {
    let client_id = form.client_id.clone().unwrap_or_default();
    if idp.client_ok(&client_id).is_err() {
        return Err(Box::new(pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("Unknown client_id."),
        )));
    }
    let redirect_uri = form.redirect_uri.clone().unwrap_or_default();
    if !idp.redirect_allowed(&redirect_uri) {
        return Err(Box::new(pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("This redirect_uri is not allowed for this client."),
        )));
    }
    let request = AuthRequest {
        client_id,
        redirect_uri,
        state: form.state.clone(),
        code_challenge: form.code_challenge.clone().unwrap_or_default(),
        scope: granted_scope(form.scope.as_deref()),
        nonce: form.nonce.clone(),
        requested_scope: form.scope.clone(),
    };
    if form.response_type.as_deref() != Some("code") {
        return Err(Box::new(request.redirect_with(&[
            ("error", "unsupported_response_type"),
            ("error_description", "only response_type=code is supported"),
        ])));
    }
    if form.code_challenge_method.as_deref() != Some("S256")
        || !pkce::is_s256_challenge(&request.code_challenge)
    {
        return Err(Box::new(request.redirect_with(&[
            ("error", "invalid_request"),
            (
                "error_description",
                "PKCE is required: code_challenge with code_challenge_method=S256",
            ),
        ])));
    }
    Ok(request)
}

/// Whether a form post came from a page allowed to send it. Browsers say where a post comes
/// from in `Origin` and `Sec-Fetch-Site`; programs send neither and cannot be made to post on
/// someone's behalf, so they pass. `Origin: null` (a page under `no-referrer`, or a sandboxed
/// frame) passes only when `Sec-Fetch-Site` vouches for it.
fn from_allowed_page(idp: &LocalIdp, headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    let same_site = |site: Option<&[u8]>| matches!(site, Some(b"same-origin" | b"none"));
    match headers.get(header::ORIGIN).map(HeaderValue::as_bytes) {
        Some(b"null") => same_site(site),
        Some(origin) => std::str::from_utf8(origin).is_ok_and(|o| idp.form_origin_allowed(o)),
        None => site.is_none() || same_site(site),
    }
}

/// What every form post checks first: that it came from an allowed page, is well formed, and
/// carries an authorization request this provider accepts; otherwise the answer to give.
fn posted(
    idp: &LocalIdp,
    headers: &HeaderMap,
    form: Result<Form<HostedForm>, FormRejection>,
) -> Result<(HostedForm, AuthRequest), Box<Response>> {
    if !from_allowed_page(idp, headers) {
        return Err(Box::new(cross_site()));
    }
    let Ok(Form(form)) = form else {
        return Err(Box::new(bad_query()));
    };
    let request = check(idp, &form)?;
    Ok((form, request))
}

fn cross_site() -> Response {
    pages::respond(
        StatusCode::FORBIDDEN,
        pages::error("This form was sent from another site. Open the sign-in page again."),
    )
}

/// The page again with a note that the server is busy: 503 with `Retry-After`.
fn busy(page: String) -> Response {
    let mut response = pages::respond(StatusCode::SERVICE_UNAVAILABLE, page);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

const BUSY_MESSAGE: &str = "Too many sign-ins are in progress. Please try again in a moment.";

fn bad_query() -> Response {
    pages::respond(
        StatusCode::BAD_REQUEST,
        pages::error("The sign-in request is malformed."),
    )
}

fn internal(err: &IdpError) -> Response {
    tracing::error!(error = ?err, "local IdP failed");
    pages::respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::error("Something went wrong on our side. Please try again."),
    )
}

fn sign_in_page(
    request: &AuthRequest,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    pages::respond(
        status,
        pages::sign_in(&request.carried(), email, error, notice),
    )
}

/// `GET /oauth2/authorize` and `GET /login`: the sign-in page.
pub async fn authorize(
    State(idp): State<Arc<LocalIdp>>,
    query: Result<Query<HostedForm>, QueryRejection>,
) -> Response {
    let Ok(Query(form)) = query else {
        return bad_query();
    };
    match check(&idp, &form) {
        Ok(request) => sign_in_page(&request, StatusCode::OK, "", None, None),
        Err(response) => *response,
    }
}

/// `POST /login`: checks the credentials and redirects with a code.
pub async fn login(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    form: Result<Form<HostedForm>, FormRejection>,
) -> Response {
    let (form, request) = match posted(&idp, &headers, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let email = form.email.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let attempt_email = email.clone();
    let attempt = hashing(&idp, move |idp, slot| {
        idp.authenticate(slot, &attempt_email, &password)
    });
    match attempt.await {
        Ok(user) => {
            let code = idp.new_code(&user, &request);
            request.redirect_with(&[("code", &code)])
        }
        Err(IdpError::Busy) => busy(pages::sign_in(
            &request.carried(),
            &email,
            Some(BUSY_MESSAGE),
            None,
        )),
        Err(IdpError::NotAuthorized(ATTEMPTS_EXCEEDED)) => sign_in_page(
            &request,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some("Too many failed attempts. Wait a moment, then try again."),
            None,
        ),
        Err(IdpError::NotAuthorized(_)) => sign_in_page(
            &request,
            StatusCode::UNAUTHORIZED,
            &email,
            Some("Incorrect email or password."),
            None,
        ),
        Err(IdpError::UserNotConfirmed) => pages::respond(
            StatusCode::OK,
            pages::confirm(
                &request.carried(),
                &email,
                Some("Confirm your account before signing in."),
            ),
        ),
        Err(err) => internal(&err),
    }
}

/// `GET /signup`: the sign-up page, continuing the same authorization request.
pub async fn signup_page(
    State(idp): State<Arc<LocalIdp>>,
    query: Result<Query<HostedForm>, QueryRejection>,
) -> Response {
    let Ok(Query(form)) = query else {
        return bad_query();
    };
    match check(&idp, &form) {
        Ok(request) => pages::respond(StatusCode::OK, pages::sign_up(&request.carried(), "", None)),
        Err(response) => *response,
    }
}

/// `POST /signup`: creates the account and signs the user in (or asks for the confirmation
/// code when sign-ups are not confirmed automatically).
pub async fn signup(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    form: Result<Form<HostedForm>, FormRejection>,
) -> Response {
    let (form, request) = match posted(&idp, &headers, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let email = form.email.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let new_email = email.clone();
    let refused = |message: &str| {
        pages::respond(
            StatusCode::BAD_REQUEST,
            pages::sign_up(&request.carried(), &email, Some(message)),
        )
    };
    let created = hashing(&idp, move |idp, slot| {
        idp.sign_up(slot, &new_email, &password)
    });
    match created.await {
        Ok(user) if user.confirmed => {
            let code = idp.new_code(&user, &request);
            request.redirect_with(&[("code", &code)])
        }
        Ok(user) => pages::respond(
            StatusCode::OK,
            pages::confirm(&request.carried(), &user.email, None),
        ),
        Err(IdpError::UsernameExists) => {
            refused("An account with this email already exists. Sign in instead.")
        }
        Err(IdpError::InvalidPassword(_)) => {
            refused("Choose a password of at least 8 characters, including a letter and a digit.")
        }
        Err(IdpError::InvalidParameter(_)) => refused("Enter a valid email address."),
        Err(IdpError::Busy) => busy(pages::sign_up(
            &request.carried(),
            &email,
            Some(BUSY_MESSAGE),
        )),
        Err(err) => internal(&err),
    }
}

/// `POST /confirm`: checks the confirmation code, then asks the user to sign in.
pub async fn confirm(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    form: Result<Form<HostedForm>, FormRejection>,
) -> Response {
    let (form, request) = match posted(&idp, &headers, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let email = form.email.unwrap_or_default();
    let code = form.code.unwrap_or_default();
    let confirm_email = email.clone();
    match blocking(&idp, move |idp| idp.confirm_sign_up(&confirm_email, &code)).await {
        Ok(()) => sign_in_page(
            &request,
            StatusCode::OK,
            &email,
            None,
            Some("Your account is confirmed. Sign in to continue."),
        ),
        Err(IdpError::CodeMismatch | IdpError::NotAuthorized(_)) => pages::respond(
            StatusCode::BAD_REQUEST,
            pages::confirm(
                &request.carried(),
                &email,
                Some("That code is not right. Check it and try again."),
            ),
        ),
        Err(IdpError::ExpiredCode) => sign_in_page(
            &request,
            StatusCode::BAD_REQUEST,
            &email,
            Some("That code can no longer be used. Sign in to get a new one."),
            None,
        ),
        Err(err) => internal(&err),
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutParams {
    client_id: Option<String>,
    logout_uri: Option<String>,
}

/// `GET /logout`: there is no hosted-UI session to end (every sign-in asks for the password),
/// so this only sends the browser back to an allowed `logout_uri`.
pub async fn logout(
    State(idp): State<Arc<LocalIdp>>,
    query: Result<Query<LogoutParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return bad_query();
    };
    let client_ok = params
        .client_id
        .as_deref()
        .is_some_and(|c| idp.client_ok(c).is_ok());
    match params.logout_uri {
        Some(uri) if client_ok && idp.redirect_allowed(&uri) => Redirect::to(&uri)
            .into_response()
            .with_status(StatusCode::FOUND),
        _ => pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("This logout_uri is not allowed for this client."),
        ),
    }
}
