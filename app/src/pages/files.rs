//! `/files`: drop files and folders in, watch them upload, and download, share or delete them,
//! one by one, by folder or by selection.

use std::time::Duration;

use ferry_api::{DeleteFiles, File};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::Api;
use crate::components::batch_share::BatchShare;
use crate::components::dialog::ConfirmDialog;
use crate::components::drop_zone::DropZone;
use crate::components::encrypt_toggle::EncryptToggle;
use crate::components::file_browser::FileBrowser;
use crate::components::file_list::{FileAction, FileGroup};
use crate::components::icons;
use crate::components::share_dialog::ShareDialog;
use crate::components::share_many::{ShareManyDialog, files_text, max_share_files};
use crate::components::upload_panel::{ResumableUploads, UploadPanel};
use crate::format::human_size;
use crate::library::{Library, LoadState};
use crate::live::Live;
use crate::upload::{LinkFiles, Uploader};
use crate::use_title;

/// How often pending files are asked about (one list request) while live updates are down.
const POLL_EVERY: Duration = Duration::from_secs(2);

#[component]
pub fn FilesPage() -> impl IntoView {
    use_title(|| "Your files".to_owned());
    let library = expect_context::<Library>();
    let uploader = expect_context::<Uploader>();
    let api = expect_context::<Api>();
    let live = expect_context::<Live>();
    library.ensure_loaded();

    if let Ok(handle) = set_interval_with_handle(move || live.poll_tick(), POLL_EVERY) {
        on_cleanup(move || handle.clear());
    }

    let share_target = RwSignal::new(None::<File>);
    let share_group = RwSignal::new(None::<FileGroup>);
    let delete_target = RwSignal::new(None::<File>);
    let delete_group = RwSignal::new(None::<FileGroup>);
    let deleting = RwSignal::new(false);
    let delete_error = RwSignal::new(None::<String>);
    let max = max_share_files();

    let on_action = move |action: FileAction| match action {
        FileAction::Share(file) => share_target.set(Some(file)),
        FileAction::Delete(file) => {
            delete_error.set(None);
            delete_target.set(Some(file));
        }
        FileAction::ShareMany(group) => share_group.set(Some(group)),
        FileAction::DeleteMany(group) => {
            delete_error.set(None);
            delete_group.set(Some(group));
        }
    };
    let confirm_delete = move |_| {
        let Some(file) = delete_target.get_untracked() else {
            return;
        };
        deleting.set(true);
        spawn_local(async move {
            match api.delete_file(&file.id).await {
                Ok(()) => {
                    library.remove(&file.id);
                    delete_target.set(None);
                }
                Err(err) if err.status == 404 => {
                    library.remove(&file.id);
                    delete_target.set(None);
                }
                Err(err) => delete_error.set(Some(err.message)),
            }
            deleting.set(false);
        });
    };
    // Several files, in requests of at most the server's limit each.
    let confirm_delete_group = move |_| {
        let Some(group) = delete_group.get_untracked() else {
            return;
        };
        deleting.set(true);
        spawn_local(async move {
            for chunk in group.ids.chunks(max.max(1)) {
                let request = DeleteFiles {
                    file_ids: chunk.to_vec(),
                };
                if let Err(err) = api.delete_files(&request).await {
                    delete_error.set(Some(err.message));
                    deleting.set(false);
                    return;
                }
                for id in chunk {
                    library.remove(id);
                }
            }
            delete_group.set(None);
            deleting.set(false);
        });
    };

    let summary = move || {
        library.files.with(|files| {
            let total: u64 = files.iter().map(|f| f.size).sum();
            match files.len() {
                0 => String::new(),
                1 => format!("1 file · {}", human_size(total)),
                n => format!(
                    "{n} files · {}{}",
                    human_size(total),
                    if library.cursor.with(Option::is_some) {
                        " shown"
                    } else {
                        ""
                    }
                ),
            }
        })
    };

    view! {
        <div class="page">
            <div class="page-head">
                <h1>"Your files"</h1>
                <p class="muted">{summary}</p>
            </div>
            <DropZone on_files=move |files| uploader.add(files)/>
            <EncryptToggle/>
            <ResumableUploads/>
            <UploadPanel/>
            <BatchShare/>
            {move || match library.state.get() {
                LoadState::Loading => view! { <FileSkeleton/> }.into_any(),
                LoadState::Failed(message) => view! {
                    <section class="state-card" role="alert">
                        {icons::warning()}
                        <h2>"Your files could not be loaded"</h2>
                        <p>{message}</p>
                        <button class="button primary" on:click=move |_| spawn_local(library.reload(false))>
                            "Try again"
                        </button>
                    </section>
                }
                .into_any(),
                LoadState::Loaded => view! { <FileListView on_action/> }.into_any(),
            }}
            {move || share_target.get().map(|file| view! {
                <ShareDialog file on_close=move |_| share_target.set(None)/>
            })}
            {move || share_group.get().map(|group| {
                let title = format!("Share {}", group.title);
                let summary = format!("{} · {}", files_text(group.ids.len()), human_size(group.size));
                let files = LinkFiles { ids: group.ids, waiting: 0 };
                view! {
                    <ShareManyDialog title summary=Signal::stored(summary) files=Signal::stored(files) on_close=move |_| share_group.set(None)/>
                }
            })}
            {move || delete_group.get().map(|group| view! {
                <ConfirmDialog
                    title=if group.folder { format!("Delete the folder {}?", group.title) } else { format!("Delete {}?", group.title) }
                    message=if group.folder {
                        format!(
                            "{} and the {} in it will be deleted, and links lose them. This cannot be undone.",
                            group.title,
                            files_text(group.ids.len())
                        )
                    } else {
                        format!(
                            "The {} you selected will be deleted, and links lose them. This cannot be undone.",
                            files_text(group.ids.len())
                        )
                    }
                    confirm="Delete"
                    busy=deleting
                    error=delete_error
                    on_confirm=confirm_delete_group
                    on_close=move |_| delete_group.set(None)
                />
            })}
            {move || delete_target.get().map(|file| view! {
                <ConfirmDialog
                    title="Delete this file?"
                    message=format!(
                        "“{}” will be deleted, and every link to it will stop working. This cannot be undone.",
                        file.name
                    )
                    confirm="Delete"
                    busy=deleting
                    error=delete_error
                    on_confirm=confirm_delete
                    on_close=move |_| delete_target.set(None)
                />
            })}
        </div>
    }
}

#[component]
fn FileListView(#[prop(into)] on_action: Callback<FileAction>) -> impl IntoView {
    let library = expect_context::<Library>();
    view! {
        <Show
            when=move || library.files.with(|f| !f.is_empty())
            fallback=|| view! {
                <section class="state-card empty">
                    {icons::empty_box()}
                    <h2>"No files yet"</h2>
                    <p>"Drop a file above, or paste one. It will appear here, ready to share."</p>
                </section>
            }
        >
            <FileBrowser on_action/>
            <Show when=move || library.cursor.with(Option::is_some)>
                <div class="load-more">
                    <button
                        class="button"
                        disabled=move || library.loading_more.get()
                        on:click=move |_| spawn_local(library.load_more())
                    >
                        {move || if library.loading_more.get() { "Loading…" } else { "Show more files" }}
                    </button>
                </div>
            </Show>
        </Show>
    }
}

/// Placeholder rows while the first page loads.
#[component]
fn FileSkeleton() -> impl IntoView {
    view! {
        <ul class="file-list skeleton" aria-busy="true" aria-label="Loading files">
            {(0..3).map(|_| view! {
                <li class="file-row">
                    <span class="thumb shimmer"></span>
                    <div class="file-main">
                        <span class="line shimmer"></span>
                        <span class="line short shimmer"></span>
                    </div>
                </li>
            }).collect_view()}
        </ul>
    }
}
