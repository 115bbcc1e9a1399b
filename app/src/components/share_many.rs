//! One link for several files (a selection, a folder, the files just dropped): the terms of
//! [`ShareForm`], how downloads are counted, and — for files still starting to upload — a wait
//! until each has its record, so the link covers all of them.

use ferry_api::transfer::DEFAULT_MAX_SHARE_FILES;
use ferry_api::{CreateShare, CreateShareOfFiles, Share};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::dialog::Modal;
use super::share_dialog::{E2eeNote, NoLink, ShareForm, ShareResult};
use crate::api_client::Api;
use crate::auth::flow::Auth;
use crate::crypto::link::TransferKey;
use crate::crypto::link_key::{LinkKeyProblem, device_ring, link_key};
use crate::library::Library;
use crate::upload::LinkFiles;

/// Most files one link may cover, as the server is configured.
pub fn max_share_files() -> usize {
    let auth = expect_context::<Auth>();
    auth.config()
        .max_share_files
        .unwrap_or(DEFAULT_MAX_SHARE_FILES) as usize
}

/// Why `count` files cannot go behind one link, if they cannot.
pub fn too_many(count: usize, max: usize) -> Option<String> {
    (count > max).then(|| {
        format!(
            "A link can cover up to {max} files; these are {count}. Share them in smaller sets."
        )
    })
}

/// "12 files", "1 file".
pub fn files_text(count: usize) -> String {
    match count {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    }
}

/// The key a link of `ids` carries (by what the files list and this device's ring know).
pub fn link_key_of(
    library: Option<Library>,
    ids: &[String],
) -> Result<Option<TransferKey>, LinkKeyProblem> {
    let flags: Vec<(&str, bool)> = match library {
        Some(library) => library.files.with(|files| {
            ids.iter()
                .map(|id| {
                    let sealed = files.iter().any(|f| &f.id == id && f.encrypted.is_some());
                    (id.as_str(), sealed)
                })
                .collect()
        }),
        None => ids.iter().map(|id| (id.as_str(), false)).collect(),
    };
    link_key(&device_ring(), &flags)
}

#[component]
pub fn ShareManyDialog(
    #[prop(into)] title: String,
    /// A line under the title, e.g. "12 files · 101 MiB".
    #[prop(into)]
    summary: Signal<String>,
    /// The files the link is to cover; `waiting` ones get their records soon.
    #[prop(into)]
    files: Signal<LinkFiles>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let max = max_share_files();
    let error = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<Share>);
    // Terms chosen while some files still wait for their records.
    let queued = RwSignal::new(None::<CreateShare>);
    let sending = RwSignal::new(false);
    let library = use_context::<Library>();
    let key = Memo::new(move |_| files.with(|f| link_key_of(library, &f.ids)));
    let problem = move || key.with(|k| k.as_ref().err().map(ToString::to_string));

    let on_submit = move |terms: CreateShare| {
        let count = files.with_untracked(LinkFiles::len);
        if let Some(message) = too_many(count, max) {
            error.set(Some(message));
        } else if count == 0 {
            error.set(Some(
                "None of these files is left to share: they were cancelled or deleted.".to_owned(),
            ));
        } else {
            queued.set(Some(terms));
        }
    };
    // Sends as soon as every file has its record (at once, when they all have).
    Effect::new(move |_| {
        if sending.get() || queued.with(Option::is_none) || files.with(|f| f.waiting > 0) {
            return;
        }
        let Some(terms) = queued.try_update(Option::take).flatten() else {
            return;
        };
        let file_ids = files.with_untracked(|f| f.ids.clone());
        let key = match key.get_untracked() {
            Ok(key) => key,
            Err(problem) => {
                error.set(Some(problem.to_string()));
                return;
            }
        };
        if file_ids.is_empty() {
            error.set(Some(
                "None of these files is left to share: they were cancelled or deleted.".to_owned(),
            ));
            return;
        }
        let request = CreateShareOfFiles {
            file_ids,
            expires_in_seconds: terms.expires_in_seconds,
            max_downloads: terms.max_downloads,
            password: terms.password,
        };
        sending.set(true);
        spawn_local(async move {
            match api.create_share_of_files(&request).await {
                Ok(mut share) => {
                    if let Some(key) = key {
                        share.url = key.link(&share.url);
                    }
                    created.set(Some(share))
                }
                Err(err) => error.set(Some(err.message)),
            }
            sending.set(false);
        });
    });
    let busy = Signal::derive(move || {
        if sending.get() {
            Some("Creating…".to_owned())
        } else if queued.with(Option::is_some) {
            let waiting = files.with(|f| f.waiting);
            Some(format!("Waiting for {} to start…", files_text(waiting)))
        } else {
            None
        }
    });

    view! {
        <Modal title on_close wide=true>
            <p class="modal-text muted">{summary}</p>
            <Show when=move || problem().is_some()>
                <NoLink problem=problem().unwrap_or_default() on_close/>
            </Show>
            <Show when=move || matches!(key.get(), Ok(Some(_)))>
                <E2eeNote/>
            </Show>
            <Show
                when=move || created.with(Option::is_none) && problem().is_none()
                fallback=move || created.get().map(|share| view! { <ShareResult share on_close/> })
            >
                <p class="modal-text small" id="share-counting">
                    "Download all counts as one download; each single file counts as one."
                </p>
                <Show when=move || files.with(|f| f.waiting > 0)>
                    <p class="modal-text muted small">
                        "Files still uploading are in the link too: recipients see them arriving and can take them once they are in."
                    </p>
                </Show>
                <ShareForm busy error on_submit on_close/>
            </Show>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_explained_only_above_it() {
        assert_eq!(too_many(1_000, 1_000), None);
        assert_eq!(
            too_many(1_001, 1_000).as_deref(),
            Some("A link can cover up to 1000 files; these are 1001. Share them in smaller sets.")
        );
        assert_eq!(files_text(1), "1 file");
        assert_eq!(files_text(12), "12 files");
    }
}
