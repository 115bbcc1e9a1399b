//! The signed-in person's files as the app knows them: pages loaded with the API cursor, files
//! added by uploads, and pending files settled by live updates ([`crate::live`]) or, while those
//! are down, by polling the list.

use ferry_api::{File, FileStatus, codes};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::Api;
use crate::crypto::names::SealedNames;

/// Most pages [`Library::load_all`] asks for (50 files each).
const MAX_PAGES: usize = 400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadState {
    Loading,
    Loaded,
    Failed(String),
}

/// `Copy` handle, created once for the app so it outlives page changes.
#[derive(Clone, Copy)]
pub struct Library {
    pub files: RwSignal<Vec<File>>,
    pub state: RwSignal<LoadState>,
    /// `next_cursor` of the last page loaded; `None` when everything is here.
    pub cursor: RwSignal<Option<String>>,
    pub loading_more: RwSignal<bool>,
    loaded_once: StoredValue<bool>,
    polling: StoredValue<bool>,
    /// End-to-end encrypted files' names as this device opened them (`crypto::names`).
    pub sealed: StoredValue<SealedNames>,
    api: Api,
}

impl Library {
    pub fn new(api: Api) -> Self {
        Self {
            files: RwSignal::new(Vec::new()),
            state: RwSignal::new(LoadState::Loading),
            cursor: RwSignal::new(None),
            loading_more: RwSignal::new(false),
            loaded_once: StoredValue::new(false),
            polling: StoredValue::new(false),
            sealed: StoredValue::new(SealedNames::default()),
            api,
        }
    }

    /// Loads the first page the first time; later visits show what is known at once and
    /// refresh quietly.
    pub fn ensure_loaded(self) {
        let quiet = self.loaded_once.get_value();
        spawn_local(async move { self.reload(quiet).await });
    }

    pub async fn reload(self, quiet: bool) {
        if !quiet {
            self.state.set(LoadState::Loading);
        }
        match self.api.list_files(None).await {
            Ok(page) => {
                self.files.set(self.shown(page.items));
                self.open_sealed();
                self.cursor.set(page.next_cursor);
                self.state.set(LoadState::Loaded);
                self.loaded_once.set_value(true);
            }
            Err(err) if quiet && err.code != codes::UNAUTHORIZED => {
                leptos::logging::warn!("refreshing files: {err}");
            }
            Err(err) => self.state.set(LoadState::Failed(err.message)),
        }
    }

    pub async fn load_more(self) {
        let Some(cursor) = self.cursor.get_untracked() else {
            return;
        };
        self.loading_more.set(true);
        match self.api.list_files(Some(&cursor)).await {
            Ok(page) => {
                let items = self.shown(page.items);
                self.files.update(|files| {
                    for file in items {
                        if !files.iter().any(|f| f.id == file.id) {
                            files.push(file);
                        }
                    }
                });
                self.open_sealed();
                self.cursor.set(page.next_cursor);
            }
            Err(err) => self.state.set(LoadState::Failed(err.message)),
        }
        self.loading_more.set(false);
    }

    /// Loads every page not loaded yet (bounded), so a folder or "select all" acts on all of
    /// its files, not only those shown so far.
    pub async fn load_all(self) {
        for _ in 0..MAX_PAGES {
            if self.cursor.with_untracked(Option::is_none)
                || matches!(self.state.get_untracked(), LoadState::Failed(_))
            {
                return;
            }
            self.load_more().await;
        }
    }

    /// Adds a file (newest first) or replaces the known copy.
    pub fn upsert(&self, mut file: File) {
        let sealed = file.encrypted.is_some();
        self.sealed.update_value(|names| names.apply(&mut file));
        self.files
            .update(|files| match files.iter_mut().find(|f| f.id == file.id) {
                Some(known) => *known = file,
                None => files.insert(0, file),
            });
        if sealed {
            self.open_sealed();
        }
    }

    /// Makes, seals and stores the thumbnail of the encrypted file `id` just uploaded from
    /// `source`, and shows it in the list at once (the upload engine's hook once a sealed file
    /// has landed; the key is in this device's ring by then).
    pub fn add_sealed_thumbnail(self, api: Api, id: &str, source: &web_sys::File) {
        let Some(key) = crate::crypto::link_key::device_ring().key_for(id) else {
            return;
        };
        let (id, source) = (id.to_owned(), source.clone());
        spawn_local(async move {
            let shown = crate::crypto::thumbnail_browser::send_sealed_thumbnail(
                &api,
                &id,
                &key,
                &source,
                &source.type_(),
            )
            .await;
            if let Some(blob) = shown {
                self.sealed
                    .update_value(|names| names.remember_thumb(id.clone(), Some(blob)));
                self.files.update(|files| {
                    self.sealed.update_value(|names| {
                        files
                            .iter_mut()
                            .filter(|f| f.id == id)
                            .for_each(|f| names.apply(f))
                    })
                });
            }
        });
    }

    /// Encrypted files shown as far as this device has opened them.
    fn shown(&self, mut files: Vec<File>) -> Vec<File> {
        self.sealed
            .update_value(|names| files.iter_mut().for_each(|f| names.apply(f)));
        files
    }

    /// Opens the names of encrypted files not opened yet whose key this device holds, then
    /// shows them; each file is opened once (the list re-renders from the kept names).
    fn open_sealed(self) {
        {
            let ring = crate::crypto::link_key::device_ring();
            let batch = self.files.with_untracked(|files| {
                self.sealed
                    .try_update_value(|names| names.take_to_open(files.iter(), &ring))
                    .unwrap_or_default()
            });
            let thumbs = self
                .sealed
                .try_update_value(|names| names.take_thumbs_to_open(&ring))
                .unwrap_or_default();
            if batch.is_empty() && thumbs.is_empty() {
                return;
            }
            spawn_local(async move {
                let Ok(web) = crate::crypto::webcrypto::WebCrypto::new() else {
                    return;
                };
                let opened = crate::crypto::names::open(&web, batch).await;
                self.sealed.update_value(|names| names.remember(opened));
                for thumb in thumbs {
                    let blob = crate::crypto::thumbnail_browser::open_url(&thumb.url, &thumb.key)
                        .await
                        .inspect_err(|err| leptos::logging::warn!("encrypted thumbnail: {err}"))
                        .ok();
                    self.sealed
                        .update_value(|names| names.remember_thumb(thumb.id, blob));
                }
                self.files.update(|files| {
                    self.sealed
                        .update_value(|names| files.iter_mut().for_each(|f| names.apply(f)))
                });
            });
        }
    }

    pub fn remove(&self, id: &str) {
        self.files.update(|files| files.retain(|f| f.id != id));
    }

    pub fn has_pending(&self) -> bool {
        self.files
            .with_untracked(|files| files.iter().any(|f| f.status == FileStatus::Pending))
    }

    fn pending_ids(&self) -> Vec<String> {
        self.files.with_untracked(|files| {
            files
                .iter()
                .filter(|f| f.status == FileStatus::Pending)
                .map(|f| f.id.clone())
                .collect()
        })
    }

    /// Asks about the pending files with one list request, however many there are; called on a
    /// timer while any is pending.
    pub async fn refresh_pending(self) {
        if self.polling.get_value() {
            return;
        }
        self.polling.set_value(true);
        let pending = self.pending_ids();
        if let Ok(page) = self.api.list_files(None).await {
            let complete = page.next_cursor.is_none();
            for id in &pending {
                match page.items.iter().find(|f| &f.id == id) {
                    Some(file) if file.status != FileStatus::Pending => self.upsert(file.clone()),
                    Some(_) => {}
                    // Expired before its bytes came, or deleted elsewhere.
                    None if complete => self.remove(id),
                    None => {}
                }
            }
        }
        self.polling.set_value(false);
    }
}
