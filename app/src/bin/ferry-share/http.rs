//! The public calls of a link, on the browser's `fetch` (no HTTP crate: the page stays
//! small). Answers and failures read exactly as the app's `api_client` reads them.

use ferry_api::{
    ArchiveGrant, DownloadUrl, PublicArchive, PublicDownload, PublicFilePage, PublicFilesQuery,
    PublicShare, UnlockShare, codes,
};
use ferry_app::api_client::ApiError;
use ferry_app::url_encoding::escape;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// The API, same-origin as `/config.json` says everywhere Ferry runs (`api_base` is `/api`
/// locally and behind CloudFront; the CSP lets the page call no other origin anyway), so the
/// page asks for the link at once instead of reading the configuration first.
const API: &str = "/api/public/shares/";

/// `GET /api/public/shares/{token}`: what the link shows before any password.
pub async fn share(token: &str) -> Result<PublicShare, ApiError> {
    call("GET", &format!("{API}{}", escape(token)), None).await
}

/// `POST …/unlock`: checks the password, answers with the file's details.
pub async fn unlock(token: &str, password: String) -> Result<PublicShare, ApiError> {
    let body = json(&UnlockShare { password })?;
    call(
        "POST",
        &format!("{API}{}/unlock", escape(token)),
        Some(body),
    )
    .await
}

/// `POST …/download`: counts one download (of `file_id`, or of the link's one file) and
/// answers with the one-time URL.
pub async fn download(token: &str, body: PublicDownload) -> Result<DownloadUrl, ApiError> {
    let body = json(&body)?;
    call(
        "POST",
        &format!("{API}{}/download", escape(token)),
        Some(body),
    )
    .await
}

/// `POST …/files`: one page of the link's files.
pub async fn files(token: &str, query: &PublicFilesQuery) -> Result<PublicFilePage, ApiError> {
    let body = json(query)?;
    call("POST", &format!("{API}{}/files", escape(token)), Some(body)).await
}

/// `POST …/archive`: counts one download and answers with a URL for every ready file (used by
/// the `ferry-zip` module, which includes this file).
#[allow(dead_code)]
pub async fn archive(token: &str, body: PublicArchive) -> Result<ArchiveGrant, ApiError> {
    let body = json(&body)?;
    call(
        "POST",
        &format!("{API}{}/archive", escape(token)),
        Some(body),
    )
    .await
}

fn json(body: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|e| ApiError::network(&e))
}

async fn call<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<T, ApiError> {
    let (status, text) = send(method, url, body).await?;
    serde_json::from_str(&text).map_err(|e| unreadable(status, &e))
}

/// One request; the body of a 2xx answer, or the API's error. Not generic, so one copy serves
/// every call.
async fn send(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let headers = Headers::new().map_err(|e| ApiError::network(js_text(&e)))?;
        headers
            .set("content-type", "application/json")
            .map_err(|e| ApiError::network(js_text(&e)))?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .and_then(|r| r.dyn_into())
        .map_err(|e| ApiError::network(js_text(&e)))?;
    let status = response.status();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string()),
        Err(_) => None,
    };
    if !(200..300).contains(&status) {
        return Err(ApiError::from_body(status, &text.unwrap_or_default()));
    }
    text.map(|t| (status, t))
        .ok_or_else(|| unreadable(status, &"no body"))
}

fn unreadable(status: u16, e: &dyn std::fmt::Display) -> ApiError {
    ApiError {
        status,
        code: codes::INTERNAL.to_owned(),
        message: format!("The answer from Ferry could not be read ({e})."),
    }
}

/// A thrown JavaScript value as text (`TypeError: Failed to fetch`).
fn js_text(value: &JsValue) -> String {
    String::from(value.unchecked_ref::<js_sys::Error>().to_string())
}
