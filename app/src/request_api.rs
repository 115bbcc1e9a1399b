//! File requests over HTTP: the owner's routes (`/api/requests`, signed in) on [`Api`], and a
//! guest's routes (`/api/public/requests/{token}`, no account) on [`GuestApi`], which carries
//! the guest key in [`GUEST_KEY_HEADER`] and never in a URL.

use ferry_api::requests::GUEST_KEY_HEADER;
use ferry_api::{
    CompleteUpload, CreateRequest, FileRequest, GuestFile, GuestNote, GuestSession,
    GuestSubmission, MultipartTicket, PartUrls, PartUrlsRequest, PublicRequest, RequestList,
    StartGuestSession, UnlockRequest, UploadTicket, UploadedParts,
};
use gloo_net::http::{Method, RequestBuilder};
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api_client::{Api, ApiError, NewUpload, join, read, read_empty};
use crate::url_encoding::escape;

impl Api {
    pub async fn create_request(&self, req: &CreateRequest) -> Result<FileRequest, ApiError> {
        self.post("/requests", req).await
    }

    pub async fn list_requests(&self) -> Result<RequestList, ApiError> {
        self.get("/requests").await
    }

    pub async fn close_request(&self, token: &str) -> Result<FileRequest, ApiError> {
        self.post(&format!("/requests/{}/close", escape(token)), &())
            .await
    }

    pub async fn reopen_request(&self, token: &str) -> Result<FileRequest, ApiError> {
        self.post(&format!("/requests/{}/reopen", escape(token)), &())
            .await
    }

    pub async fn delete_request(&self, token: &str) -> Result<(), ApiError> {
        self.delete(&format!("/requests/{}", escape(token))).await
    }
}

/// Where a guest's calls go and who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestAccess {
    /// `SiteConfig::api_base`.
    pub api_base: String,
    pub token: String,
    /// Empty until a session started.
    pub key: String,
}

/// `Copy` handle on one request's guest routes.
#[derive(Clone, Copy)]
pub struct GuestApi {
    access: StoredValue<GuestAccess>,
}

impl GuestApi {
    pub fn new(access: GuestAccess) -> Self {
        Self {
            access: StoredValue::new(access),
        }
    }

    pub fn token(&self) -> String {
        self.access.with_value(|a| a.token.clone())
    }

    pub fn set_key(&self, key: String) {
        self.access.update_value(|a| a.key = key);
    }

    pub fn has_key(&self) -> bool {
        self.access.with_value(|a| !a.key.is_empty())
    }

    fn url(&self, rest: &str) -> String {
        self.access.with_value(|a| {
            join(
                &a.api_base,
                &format!("/public/requests/{}{rest}", escape(&a.token)),
            )
        })
    }

    async fn send(
        &self,
        method: Method,
        rest: &str,
        json: Option<String>,
    ) -> Result<gloo_net::http::Response, ApiError> {
        let key = self.access.with_value(|a| a.key.clone());
        let mut builder = RequestBuilder::new(&self.url(rest)).method(method);
        if !key.is_empty() {
            builder = builder.header(GUEST_KEY_HEADER, &key);
        }
        let request = match json {
            Some(body) => builder
                .header("Content-Type", "application/json")
                .body(body),
            None => builder.build(),
        }
        .map_err(ApiError::network)?;
        request.send().await.map_err(ApiError::network)
    }

    async fn get<T: DeserializeOwned>(&self, rest: &str) -> Result<T, ApiError> {
        read(self.send(Method::GET, rest, None).await?).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        rest: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let json = serde_json::to_string(body).map_err(ApiError::network)?;
        read(self.send(method, rest, Some(json)).await?).await
    }

    /// What the request shows (only its state while locked).
    pub async fn request(&self) -> Result<PublicRequest, ApiError> {
        self.get("").await
    }

    pub async fn unlock(&self, password: String) -> Result<PublicRequest, ApiError> {
        self.call(Method::POST, "/unlock", &UnlockRequest { password })
            .await
    }

    pub async fn start_session(&self, access: Option<String>) -> Result<GuestSession, ApiError> {
        self.call(
            Method::POST,
            "/sessions",
            &StartGuestSession {
                access,
                password: None,
            },
        )
        .await
    }

    pub async fn create_upload(&self, req: &NewUpload) -> Result<UploadTicket, ApiError> {
        self.call(Method::POST, "/uploads", req).await
    }

    pub async fn create_multipart_upload(
        &self,
        req: &NewUpload,
    ) -> Result<MultipartTicket, ApiError> {
        self.call(Method::POST, "/uploads/multipart", req).await
    }

    pub async fn part_urls(&self, id: &str, req: &PartUrlsRequest) -> Result<PartUrls, ApiError> {
        self.call(Method::POST, &format!("/files/{}/parts", escape(id)), req)
            .await
    }

    pub async fn uploaded_parts(&self, id: &str) -> Result<UploadedParts, ApiError> {
        self.get(&format!("/files/{}/parts", escape(id))).await
    }

    pub async fn complete_upload(
        &self,
        id: &str,
        req: &CompleteUpload,
    ) -> Result<GuestFile, ApiError> {
        self.call(
            Method::POST,
            &format!("/files/{}/complete", escape(id)),
            req,
        )
        .await
    }

    /// What this guest sent, and their name and note.
    pub async fn submission(&self) -> Result<GuestSubmission, ApiError> {
        self.get("/files").await
    }

    pub async fn delete_file(&self, id: &str) -> Result<(), ApiError> {
        read_empty(
            self.send(Method::DELETE, &format!("/files/{}", escape(id)), None)
                .await?,
        )
        .await
    }

    pub async fn save_note(&self, note: &GuestNote) -> Result<GuestSubmission, ApiError> {
        self.call(Method::PUT, "/note", note).await
    }
}

/// The `localStorage` key of the guest key for request `token`: one per request, so a reload
/// resumes uploads and still lists what this guest sent.
pub fn guest_key_slot(token: &str) -> String {
    format!("ferry.guest.{token}")
}

/// The guest key kept for `token`, if any.
pub fn stored_guest_key(token: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item(&guest_key_slot(token))
        .ok()
        .flatten()
        .filter(|k| !k.is_empty())
}

pub fn store_guest_key(token: &str, key: &str) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(&guest_key_slot(token), key);
    }
}

pub fn forget_guest_key(token: &str) {
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.remove_item(&guest_key_slot(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_keeps_its_own_guest_key() {
        assert_eq!(guest_key_slot("abc"), "ferry.guest.abc");
        assert_ne!(guest_key_slot("abc"), guest_key_slot("abd"));
    }
}
