//! The owner's view of their end-to-end encrypted files: the name, folder and plaintext size
//! opened from each file's sealed metadata with this device's [`KeyRing`], kept per file id so a
//! list of a thousand files opens each one once, not on every render. A file whose key this
//! device does not hold (or whose metadata does not open) reads [`UNKNOWN_NAME`] at the top
//! level, with the size its ciphertext implies: never a garbled or blank row.

use std::collections::{HashMap, HashSet};

use ferry_api::File;
use ferry_api::encryption::ENCRYPTED_NAME;

use super::keyring::{KeyRing, UNKNOWN_NAME};
use super::link::TransferKey;
use super::{CONTENT_RECORDS, Primitives, meta};

/// What the page shows of one encrypted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    Named {
        name: String,
        folder: Option<String>,
        size: u64,
    },
    /// The key was there but the metadata did not open (damaged, or another key).
    Unopenable,
}

/// One file to open: its id, the key the ring holds for it, its sealed metadata (base64url).
pub struct ToOpen {
    pub id: String,
    pub key: TransferKey,
    pub meta: String,
}

/// One sealed thumbnail to fetch and open: its file, the file's key, its presigned GET.
pub struct ThumbToOpen {
    pub id: String,
    pub key: TransferKey,
    pub url: String,
}

/// Opened metadata by file id, and the files being opened now; the same for thumbnails.
#[derive(Debug, Default)]
pub struct SealedNames {
    shown: HashMap<String, Shown>,
    opening: HashSet<String>,
    /// Presigned GETs of sealed thumbnails not opened yet.
    thumb_urls: HashMap<String, String>,
    /// `blob:` URLs of opened thumbnails; `None` for one that did not open.
    thumbs: HashMap<String, Option<String>>,
    thumbs_opening: HashSet<String>,
}

impl SealedNames {
    /// Shows `file` as far as it is known: opened, or [`UNKNOWN_NAME`] until (unless) it opens.
    /// Applying it again changes nothing, so files already shown may pass through again.
    pub fn apply(&mut self, file: &mut File) {
        if file.encrypted.is_none() {
            return;
        }
        // An encrypted file's thumbnail URL fetches sealed bytes: the row shows the opened
        // `blob:` copy, or no image until then.
        match file.thumbnail_url.take() {
            Some(url) if url.starts_with("blob:") => file.thumbnail_url = Some(url),
            Some(url) if !self.thumbs.contains_key(&file.id) => {
                self.thumb_urls.insert(file.id.clone(), url);
            }
            _ => {}
        }
        if let Some(Some(blob)) = self.thumbs.get(&file.id) {
            file.thumbnail_url = Some(blob.clone());
        }
        match self.shown.get(&file.id) {
            Some(Shown::Named { name, folder, size }) => {
                file.name.clone_from(name);
                file.folder.clone_from(folder);
                file.size = *size;
            }
            // Only a file as the server sent it (named `encrypted`, its ciphertext's size).
            _ if file.name == ENCRYPTED_NAME => {
                file.name = UNKNOWN_NAME.to_owned();
                file.folder = None;
                if let Some(plain) = CONTENT_RECORDS.plaintext_size(file.size) {
                    file.size = plain;
                }
            }
            _ => {}
        }
    }

    /// Whether `file` is encrypted and its name is not open on this device.
    pub fn is_locked(&self, file: &File) -> bool {
        file.encrypted.is_some() && !matches!(self.shown.get(&file.id), Some(Shown::Named { .. }))
    }

    /// The name `id` was opened to, if it was.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        match self.shown.get(id)? {
            Shown::Named { name, .. } => Some(name),
            Shown::Unopenable => None,
        }
    }

    /// The encrypted files of `files` not opened yet whose key `ring` holds, marked as being
    /// opened (a file without a key is asked about again when the ring may have learnt it).
    pub fn take_to_open<'a>(
        &mut self,
        files: impl IntoIterator<Item = &'a File>,
        ring: &KeyRing,
    ) -> Vec<ToOpen> {
        let mut out = Vec::new();
        for file in files {
            let Some(sealed) = &file.encrypted else {
                continue;
            };
            if self.shown.contains_key(&file.id) || self.opening.contains(&file.id) {
                continue;
            }
            if let Some(key) = ring.key_for(&file.id) {
                self.opening.insert(file.id.clone());
                out.push(ToOpen {
                    id: file.id.clone(),
                    key,
                    meta: sealed.meta.clone(),
                });
            }
        }
        out
    }

    /// The sealed thumbnails seen by [`Self::apply`] whose key `ring` holds, marked as being
    /// opened.
    pub fn take_thumbs_to_open(&mut self, ring: &KeyRing) -> Vec<ThumbToOpen> {
        let mut out = Vec::new();
        for (id, url) in &self.thumb_urls {
            if self.thumbs_opening.contains(id) {
                continue;
            }
            if let Some(key) = ring.key_for(id) {
                out.push(ThumbToOpen {
                    id: id.clone(),
                    key,
                    url: url.clone(),
                });
            }
        }
        for item in &out {
            self.thumbs_opening.insert(item.id.clone());
        }
        out
    }

    /// Keeps an opened thumbnail's `blob:` URL (`None`: it did not open; not tried again).
    pub fn remember_thumb(&mut self, id: String, blob: Option<String>) {
        self.thumbs_opening.remove(&id);
        self.thumb_urls.remove(&id);
        self.thumbs.insert(id, blob);
    }

    /// Keeps what [`open`] found.
    pub fn remember(&mut self, opened: Vec<(String, Shown)>) {
        for (id, shown) in opened {
            self.opening.remove(&id);
            self.shown.insert(id, shown);
        }
    }

    /// Opened files, for tests and the page's summary.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

/// Opens each file's metadata (the slow part: HKDF and AES-GCM for each).
pub async fn open<P: Primitives>(primitives: &P, batch: Vec<ToOpen>) -> Vec<(String, Shown)> {
    let mut out = Vec::with_capacity(batch.len());
    for item in batch {
        let shown = match crate::base64::decode_url(&item.meta) {
            Some(blob) => match meta::open(primitives, &item.key, &blob).await {
                Ok(secrets) => Shown::Named {
                    name: if secrets.name.trim().is_empty() {
                        UNKNOWN_NAME.to_owned()
                    } else {
                        secrets.name
                    },
                    folder: secrets.folder.as_deref().and_then(clean_folder),
                    size: secrets.size,
                },
                Err(_) => Shown::Unopenable,
            },
            None => Shown::Unopenable,
        };
        out.push((item.id, shown));
    }
    out
}

/// A folder as the tree can draw it: no empty segments, within the API's limits (the sealed
/// blob is what the uploader wrote, never checked by the server).
fn clean_folder(folder: &str) -> Option<String> {
    let segments: Vec<&str> = folder.split('/').filter(|s| !s.trim().is_empty()).collect();
    let joined = segments.join("/");
    (!segments.is_empty()
        && segments.len() <= ferry_api::paths::MAX_FOLDER_DEPTH
        && joined.len() <= ferry_api::paths::MAX_FOLDER_BYTES)
        .then_some(joined)
}
