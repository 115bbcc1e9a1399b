//! One row per file: thumbnail or type badge, name, size, date, status, and its actions.

use ferry_api::{File, FileStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Now;
use super::icons;
use crate::api_client::Api;
use crate::format::{human_size, parse_rfc3339, relative_time};

pub use crate::public_share::type_badge;

/// What the list asks its page to do.
#[derive(Clone)]
pub enum FileAction {
    Share(File),
    Delete(File),
    /// One link for several files (a folder, a selection).
    ShareMany(FileGroup),
    DeleteMany(FileGroup),
}

/// Several files acted on together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGroup {
    /// What the dialogs call them: `“Fotos”` for a folder, `3 files` for a selection.
    pub title: String,
    /// Whether it is a folder (its dialogs say so).
    pub folder: bool,
    pub ids: Vec<String>,
    pub size: u64,
}

/// One file's row; `depth` indents it inside its folder, `children` (a checkbox) lead it.
#[component]
pub fn FileRow(
    file: File,
    #[prop(into)] on_action: Callback<FileAction>,
    #[prop(optional)] depth: usize,
    /// An end-to-end encrypted file whose name this device cannot open.
    #[prop(optional)]
    locked: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let now = expect_context::<Now>();
    let downloading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let file = StoredValue::new(file);
    let f = file.get_value();

    let created_ms = parse_rfc3339(&f.created_at);
    // The server's clock may run a little ahead of this one: a new file is never "in 2 seconds".
    let when = move || {
        created_ms
            .map(|ms| relative_time(ms, now.get().max(ms)))
            .unwrap_or_default()
    };
    let download = move |_| {
        downloading.set(true);
        error.set(None);
        spawn_local(async move {
            match api.download_file(&file.get_value().id).await {
                Ok(link) => {
                    // The URL answers with Content-Disposition: attachment, so the page stays.
                    let _ = window().location().assign(&link.url);
                }
                Err(err) => error.set(Some(err.message)),
            }
            downloading.set(false);
        });
    };

    let thumb = match &f.thumbnail_url {
        Some(url) => {
            view! { <img class="thumb" src=url.clone() alt="" loading="lazy" decoding="async"/> }
                .into_any()
        }
        None => view! { <span class="thumb badge" aria-hidden="true">{type_badge(&f.name)}</span> }
            .into_any(),
    };
    let status = match f.status {
        FileStatus::Pending => view! {
            <span class="chip pending"><span class="spinner small" aria-hidden="true"></span>"Processing"</span>
        }
        .into_any(),
        FileStatus::Failed => view! { <span class="chip failed">"Upload failed"</span> }.into_any(),
        FileStatus::Ready => ().into_any(),
    };
    let ready = f.status == FileStatus::Ready;
    let name = f.name.clone();
    let sealed = f.encrypted.is_some().then(|| {
        let (text, hint) = if locked {
            (
                "Key not on this device",
                "End-to-end encrypted; its name and key are only on the device that uploaded it",
            )
        } else {
            (
                "Encrypted",
                "End-to-end encrypted; this device holds its key",
            )
        };
        view! {
            <span class="chip sealed" class:locked=locked title=hint>{icons::lock()} {text}</span>
        }
    });

    view! {
        <li
            class="file-row"
            class:is-pending=f.status == FileStatus::Pending
            class:nested={depth > 0}
            style=format!("--depth: {depth}")
        >
            {children.map(|c| c())}
            {thumb}
            <div class="file-main">
                <span class="file-name" title=name.clone()>{name.clone()}</span>
                <span class="file-meta">
                    {human_size(f.size)} " · " <time datetime=f.created_at.clone()>{when}</time>
                </span>
                {sealed}
                {f.request.as_ref().map(|r| view! {
                    <span class="file-request"><span class="chip request">"Request"</span> " " {crate::request_form::arrival_text(r)}</span>
                })}
                <Show when=move || error.with(Option::is_some)>
                    <span class="form-error" role="alert">{move || error.get()}</span>
                </Show>
            </div>
            {status}
            <div class="file-actions">
                <Show when=move || ready>
                    <button class="button small" on:click=download disabled=move || downloading.get()>
                        {icons::download()} <span class="label">"Download"</span>
                        <span class="sr-only">" " {file.get_value().name}</span>
                    </button>
                    <button class="button small" on:click=move |_| on_action.run(FileAction::Share(file.get_value()))>
                        {icons::share()} <span class="label">"Share"</span>
                        <span class="sr-only">" " {file.get_value().name}</span>
                    </button>
                </Show>
                <button class="button small danger-ghost" on:click=move |_| on_action.run(FileAction::Delete(file.get_value()))>
                    {icons::trash()} <span class="label">"Delete"</span>
                    <span class="sr-only">" " {file.get_value().name}</span>
                </button>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::type_badge;

    #[test]
    fn badges_come_from_short_extensions() {
        assert_eq!(type_badge("report.pdf"), "PDF");
        assert_eq!(type_badge("archive.tar.gz"), "GZ");
        assert_eq!(type_badge(".bashrc"), "FILE");
        assert_eq!(type_badge("notes"), "FILE");
        assert_eq!(type_badge("x.verylongext"), "FILE");
    }
}
