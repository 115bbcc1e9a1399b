//! The signed-in person's files as the app knows them: pages loaded with the API cursor, files
//! added by uploads, and pending files settled by live updates ([`crate::live`]) or, while those
//! are down, by polling the list.

use ferry_api::{File, FileStatus, codes};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::Api;

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
                self.files.set(page.items);
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
                self.files.update(|files| {
                    for file in page.items {
                        if !files.iter().any(|f| f.id == file.id) {
                            files.push(file);
                        }
                    }
                });
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
    pub fn upsert(&self, file: File) {
        self.files
            .update(|files| match files.iter_mut().find(|f| f.id == file.id) {
                Some(known) => *known = file,
                None => files.insert(0, file),
            });
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
