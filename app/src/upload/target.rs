//! Where the upload engine sends its calls: the signed-in owner's routes (and their file list,
//! [`Library`]), or a file request's guest routes ([`GuestApi`]), which have the same shape. The
//! engine is the same for both; only this seam differs.

use ferry_api::{
    CompleteUpload, File, FileStatus, MultipartTicket, PartUrls, PartUrlsRequest, UploadTicket,
    UploadedParts, codes,
};
use leptos::task::spawn_local;

use crate::api_client::{Api, ApiError, NewUpload};
use crate::library::Library;
use crate::request_api::GuestApi;

/// Who the uploads are for.
#[derive(Clone, Copy)]
pub enum Target {
    /// The signed-in person's own files.
    Owner { api: Api, library: Library },
    /// A guest sending files through a file request.
    Guest(GuestApi),
}

/// A completed upload as the target tells of it.
pub enum Landed {
    /// The owner's file record (shown in their list).
    Owner(Box<File>),
    /// A guest's file, by id (the guest page lists them itself).
    Guest(String),
}

impl Landed {
    pub fn id(&self) -> &str {
        match self {
            Self::Owner(file) => &file.id,
            Self::Guest(id) => id,
        }
    }
}

impl Target {
    /// What resume records are kept under: the account's e-mail, or the request for a guest (a
    /// guest's records never show to an account, nor to another request's page).
    pub fn resume_owner(&self, email: Option<String>) -> String {
        match self {
            Self::Owner { .. } => email.unwrap_or_default(),
            Self::Guest(guest) => format!("guest:{}", guest.token()),
        }
    }

    pub async fn create_upload(&self, req: &NewUpload) -> Result<UploadTicket, ApiError> {
        match self {
            Self::Owner { api, .. } => api.create_upload(req).await,
            Self::Guest(guest) => guest.create_upload(req).await,
        }
    }

    pub async fn create_multipart_upload(
        &self,
        req: &NewUpload,
    ) -> Result<MultipartTicket, ApiError> {
        match self {
            Self::Owner { api, .. } => api.create_multipart_upload(req).await,
            Self::Guest(guest) => guest.create_multipart_upload(req).await,
        }
    }

    pub async fn part_urls(&self, id: &str, req: &PartUrlsRequest) -> Result<PartUrls, ApiError> {
        match self {
            Self::Owner { api, .. } => api.part_urls(id, req).await,
            Self::Guest(guest) => guest.part_urls(id, req).await,
        }
    }

    pub async fn uploaded_parts(&self, id: &str) -> Result<UploadedParts, ApiError> {
        match self {
            Self::Owner { api, .. } => api.uploaded_parts(id).await,
            Self::Guest(guest) => guest.uploaded_parts(id).await,
        }
    }

    pub async fn complete_upload(
        &self,
        id: &str,
        req: &CompleteUpload,
    ) -> Result<Landed, ApiError> {
        match self {
            Self::Owner { api, .. } => api
                .complete_upload(id, req)
                .await
                .map(|f| Landed::Owner(Box::new(f))),
            Self::Guest(guest) => guest
                .complete_upload(id, req)
                .await
                .map(|f| Landed::Guest(f.id)),
        }
    }

    /// An upload that storage closed (completed or failed) as it stands now: `Ok(None)` when it
    /// failed or is gone.
    pub async fn closed_upload(&self, id: &str) -> Result<Option<Landed>, ApiError> {
        match self {
            Self::Owner { api, .. } => match api.get_file(id).await {
                Ok(file) if file.status != FileStatus::Failed => {
                    Ok(Some(Landed::Owner(Box::new(file))))
                }
                Ok(_) => Ok(None),
                Err(err) if err.code == codes::NOT_FOUND || err.status == 404 => Ok(None),
                Err(err) => Err(err),
            },
            Self::Guest(guest) => Ok(guest
                .submission()
                .await?
                .files
                .into_iter()
                .find(|f| f.id == id && f.status != FileStatus::Failed)
                .map(|f| Landed::Guest(f.id))),
        }
    }

    /// The sealed metadata of an encrypted upload (to resume it): `Ok(None)` when the file is
    /// not encrypted, or for a guest (whose uploads are not encrypted).
    pub async fn sealed_meta(
        &self,
        id: &str,
    ) -> Result<Option<ferry_api::encryption::EncryptedMeta>, ApiError> {
        match self {
            Self::Owner { api, .. } => Ok(api.get_file(id).await?.encrypted),
            Self::Guest(_) => Ok(None),
        }
    }

    /// Gives up an upload without waiting for the answer (its reservation goes back; should the
    /// call fail, the server sweeps the pending file once its window closes).
    pub fn delete_in_background(&self, id: String) {
        match *self {
            Self::Owner { api, .. } => api.delete_file_in_background(id),
            Self::Guest(guest) => spawn_local(async move {
                let _ = guest.delete_file(&id).await;
            }),
        }
    }

    /// The owner's list shows a new or changed file; nothing for a guest.
    pub fn show(&self, file: File) {
        if let Self::Owner { library, .. } = self {
            library.upsert(file);
        }
    }

    pub fn show_landed(&self, landed: Landed) {
        if let Landed::Owner(file) = landed {
            self.show(*file);
        }
    }

    pub fn hide(&self, id: &str) {
        if let Self::Owner { library, .. } = self {
            library.remove(id);
        }
    }

    /// Asks about pending files of the owner's list.
    pub fn refresh_pending(&self) {
        if let Self::Owner { library, .. } = *self {
            spawn_local(library.refresh_pending());
        }
    }
}
