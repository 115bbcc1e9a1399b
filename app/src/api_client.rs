//! The Ferry HTTP API from the browser: one typed method per endpoint, the Bearer token from the
//! session, and every failure as an [`ApiError`] carrying the API's stable code.

use ferry_api::{
    CompleteUpload, CreateShare, CreateShareOfFiles, DeleteFiles, DeletedFiles, DownloadUrl,
    ErrorBody, FilePage, MultipartTicket, PartUrls, PartUrlsRequest, PublicDownload, PublicShare,
    Share, ShareList, UnlockShare, UploadTicket, UploadedParts, codes,
};
use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::flow::Auth;

/// A failed call: HTTP status (0 when the network failed), stable code and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// Code for failures that never reached the API.
pub const NETWORK: &str = "network";

impl ApiError {
    pub fn network(detail: impl std::fmt::Display) -> Self {
        Self::network_dyn(&detail)
    }

    /// One copy of the message code for every kind of failure detail.
    #[inline(never)]
    fn network_dyn(detail: &dyn std::fmt::Display) -> Self {
        Self {
            status: 0,
            code: NETWORK.to_owned(),
            message: format!(
                "Could not reach Ferry. Check your connection and try again. ({detail})"
            ),
        }
    }

    pub fn unauthorized() -> Self {
        Self {
            status: 401,
            code: codes::UNAUTHORIZED.to_owned(),
            message: "Your session ended. Sign in again to continue.".to_owned(),
        }
    }

    pub fn is_network(&self) -> bool {
        self.status == 0
    }

    /// Reads an error answer; anything that is not the documented JSON shape still becomes a
    /// readable error.
    pub fn from_body(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Self {
                status,
                code: error.code,
                message: error.message,
            },
            Err(_) => Self {
                status,
                code: if status == 401 {
                    codes::UNAUTHORIZED
                } else {
                    codes::INTERNAL
                }
                .to_owned(),
                message: match status {
                    401 => "Your session ended. Sign in again to continue.".to_owned(),
                    404 => "Not found.".to_owned(),
                    _ => format!("Something went wrong (HTTP {status}). Please try again."),
                },
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The `POST /api/uploads` and `POST /api/uploads/multipart` body ([`ferry_api::CreateUpload`])
/// with the fields this app sends.
#[derive(Clone, Debug, Serialize)]
pub struct NewUpload {
    pub name: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Base64 SHA-256 of the whole file (single `PUT` only; parts carry their own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The folder of a file from a dropped or picked folder (`Fotos/2026`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// End to end encrypted: the sealed name, folder and type ([`NewUpload::sealed`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<ferry_api::encryption::EncryptedMeta>,
}

impl NewUpload {
    /// An encrypted upload's announcement: only the neutral name, the ciphertext's size and
    /// checksum, and the sealed metadata; the real name, folder and type stay inside.
    pub fn sealed(
        cipher_size: u64,
        meta: ferry_api::encryption::EncryptedMeta,
        sha256: Option<String>,
    ) -> Self {
        Self {
            name: ferry_api::encryption::ENCRYPTED_NAME.to_owned(),
            size: cipher_size,
            content_type: None,
            sha256,
            folder: None,
            encrypted: Some(meta),
        }
    }
}

/// `{base}{path}` without a doubled or missing slash.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Escapes one path segment: everything but RFC 3986's unreserved characters. Ids and tokens
/// are URL-safe already and stay as they are (so logs and routes see
/// `/api/files/0192…-7c1d…`, not `%2D`); anything else cannot break out.
fn seg(value: &str) -> String {
    crate::url_encoding::escape(value)
}

/// The body of a 2xx answer, or the API's error. Not generic: one copy of this future serves
/// every endpoint, and only [`parse`] is made per answer type.
async fn read_text(response: Response) -> Result<(u16, String), ApiError> {
    let status = response.status();
    if !(200..300).contains(&status) {
        let body = response.text().await.unwrap_or_default();
        return Err(ApiError::from_body(status, &body));
    }
    match response.text().await {
        Ok(text) => Ok((status, text)),
        Err(e) => Err(unreadable(status, &e)),
    }
}

#[inline(never)]
fn unreadable(status: u16, e: &dyn std::fmt::Display) -> ApiError {
    ApiError {
        status,
        code: codes::INTERNAL.to_owned(),
        message: format!("The answer from Ferry could not be read ({e})."),
    }
}

fn parse<T: DeserializeOwned>((status, text): (u16, String)) -> Result<T, ApiError> {
    serde_json::from_str(&text).map_err(|e| unreadable(status, &e))
}

pub(crate) async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    parse(read_text(response).await?)
}

pub(crate) async fn read_empty(response: Response) -> Result<(), ApiError> {
    let status = response.status();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(ApiError::from_body(status, &body))
    }
}

/// The API client; cheap to copy into event handlers.
#[derive(Clone, Copy)]
pub struct Api {
    auth: Auth,
}

impl Api {
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        join(&self.auth.config().api_base, path)
    }

    /// Sends an authenticated request; on 401 refreshes once and tries again, then gives up
    /// and ends the session (the page sends the person to sign in).
    async fn send(
        &self,
        method: Method,
        url: &str,
        json: Option<String>,
    ) -> Result<Response, ApiError> {
        let mut retried = false;
        loop {
            let token = self.auth.bearer().await?;
            let builder = RequestBuilder::new(url)
                .method(method.clone())
                .header("Authorization", &format!("Bearer {token}"));
            let request = match &json {
                Some(body) => builder
                    .header("Content-Type", "application/json")
                    .body(body.clone()),
                None => builder.build(),
            }
            .map_err(ApiError::network)?;
            let response = request.send().await.map_err(ApiError::network)?;
            if response.status() != 401 {
                return Ok(response);
            }
            if retried || self.auth.refresh().await.is_err() {
                self.auth.session_ended();
                return Err(ApiError::unauthorized());
            }
            retried = true;
        }
    }

    async fn get_text(&self, path: &str) -> Result<(u16, String), ApiError> {
        read_text(self.send(Method::GET, &self.url(path), None).await?).await
    }

    pub(crate) async fn post_text(
        &self,
        path: &str,
        json: String,
    ) -> Result<(u16, String), ApiError> {
        read_text(self.send(Method::POST, &self.url(path), Some(json)).await?).await
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        parse(self.get_text(path).await?)
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let json = serde_json::to_string(body).map_err(ApiError::network)?;
        parse(self.post_text(path, json).await?)
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<(), ApiError> {
        read_empty(self.send(Method::DELETE, &self.url(path), None).await?).await
    }

    pub async fn create_upload(&self, req: &NewUpload) -> Result<UploadTicket, ApiError> {
        self.post("/uploads", req).await
    }

    /// Starts a multipart upload: the pending file and how to cut it.
    pub async fn create_multipart_upload(
        &self,
        req: &NewUpload,
    ) -> Result<MultipartTicket, ApiError> {
        self.post("/uploads/multipart", req).await
    }

    /// Presigned URLs for up to 100 parts (asking again renews them).
    pub async fn part_urls(&self, id: &str, req: &PartUrlsRequest) -> Result<PartUrls, ApiError> {
        self.post(&format!("/files/{}/parts", seg(id)), req).await
    }

    /// What object storage already holds of a multipart upload.
    pub async fn uploaded_parts(&self, id: &str) -> Result<UploadedParts, ApiError> {
        self.get(&format!("/files/{}/parts", seg(id))).await
    }

    pub async fn complete_upload(
        &self,
        id: &str,
        req: &CompleteUpload,
    ) -> Result<ferry_api::File, ApiError> {
        self.post(&format!("/files/{}/complete", seg(id)), req)
            .await
    }

    pub async fn list_files(&self, cursor: Option<&str>) -> Result<FilePage, ApiError> {
        match cursor {
            Some(cursor) => {
                self.get(&format!("/files?limit=50&cursor={}", seg(cursor)))
                    .await
            }
            None => self.get("/files?limit=50").await,
        }
    }

    pub async fn get_file(&self, id: &str) -> Result<ferry_api::File, ApiError> {
        self.get(&format!("/files/{}", seg(id))).await
    }

    pub async fn download_file(&self, id: &str) -> Result<DownloadUrl, ApiError> {
        self.get(&format!("/files/{}/download", seg(id))).await
    }

    pub async fn delete_file(&self, id: &str) -> Result<(), ApiError> {
        self.delete(&format!("/files/{}", seg(id))).await
    }

    /// Deletes a file without waiting for the answer: an upload given up or never started
    /// gives back its reserved space and drops its parts. Should the call fail, the server
    /// sweeps the pending file once its window closes.
    pub fn delete_file_in_background(&self, id: String) {
        let api = *self;
        leptos::task::spawn_local(async move {
            let _ = api.delete_file(&id).await;
        });
    }

    pub async fn create_share(&self, file_id: &str, req: &CreateShare) -> Result<Share, ApiError> {
        self.post(&format!("/files/{}/shares", seg(file_id)), req)
            .await
    }

    /// One link for several files (`POST /api/shares`).
    pub async fn create_share_of_files(&self, req: &CreateShareOfFiles) -> Result<Share, ApiError> {
        self.post("/shares", req).await
    }

    /// Deletes several files at once (a folder, a selection).
    pub async fn delete_files(&self, req: &DeleteFiles) -> Result<DeletedFiles, ApiError> {
        self.post("/files/delete", req).await
    }

    pub async fn list_shares(&self) -> Result<ShareList, ApiError> {
        self.get("/shares").await
    }

    pub async fn revoke_share(&self, token: &str) -> Result<(), ApiError> {
        self.delete(&format!("/shares/{}", seg(token))).await
    }

    /// What a link shows to anyone (no sign-in; never counts a download).
    pub async fn public_share(&self, token: &str) -> Result<PublicShare, ApiError> {
        let url = self.url(&format!("/public/shares/{}", seg(token)));
        let response = Request::get(&url).send().await.map_err(ApiError::network)?;
        read(response).await
    }

    /// Checks a protected link's password and returns what the link shows (its file's name,
    /// size, checksum); never counts a download.
    pub async fn unlock_share(
        &self,
        token: &str,
        password: String,
    ) -> Result<PublicShare, ApiError> {
        let url = self.url(&format!("/public/shares/{}/unlock", seg(token)));
        let response = Request::post(&url)
            .json(&UnlockShare { password })
            .map_err(ApiError::network)?
            .send()
            .await
            .map_err(ApiError::network)?;
        read(response).await
    }

    /// Counts one download and returns the one-time URL.
    pub async fn public_download(
        &self,
        token: &str,
        password: Option<String>,
    ) -> Result<DownloadUrl, ApiError> {
        let url = self.url(&format!("/public/shares/{}/download", seg(token)));
        let response = Request::post(&url)
            .json(&PublicDownload {
                password,
                ..PublicDownload::default()
            })
            .map_err(ApiError::network)?
            .send()
            .await
            .map_err(ApiError::network)?;
        read(response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_typed_errors() {
        let err = ApiError::from_body(
            410,
            r#"{"error":{"code":"share_expired","message":"This link has expired."}}"#,
        );
        assert_eq!(err.status, 410);
        assert_eq!(err.code, codes::SHARE_EXPIRED);
        assert_eq!(err.to_string(), "This link has expired.");
    }

    #[test]
    fn unexpected_bodies_still_read_well() {
        let err = ApiError::from_body(502, "<html>Bad gateway</html>");
        assert_eq!(err.code, codes::INTERNAL);
        assert!(err.message.contains("HTTP 502"));
        assert_eq!(ApiError::from_body(401, "").code, codes::UNAUTHORIZED);
        assert!(ApiError::network("offline").is_network());
    }

    #[test]
    fn urls_join_cleanly() {
        assert_eq!(join("/api", "/files"), "/api/files");
        assert_eq!(
            join("https://x.example/api/", "files"),
            "https://x.example/api/files"
        );
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn an_encrypted_announcement_carries_no_plaintext_and_the_server_reads_it() {
        let meta = ferry_api::encryption::EncryptedMeta {
            meta: "c2VhbGVk".to_owned(),
            version: 1,
        };
        let body = NewUpload::sealed(1_000_017, meta.clone(), Some("sha".to_owned()));
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "encrypted", "size": 1_000_017, "sha256": "sha",
                "encrypted": {"meta": "c2VhbGVk", "version": 1}
            })
        );
        let read: ferry_api::CreateUpload = serde_json::from_value(json).unwrap();
        assert_eq!(read.encrypted, Some(meta));
        assert_eq!((read.folder, read.content_type), (None, None));
    }
}
