//! Where files come in: drag and drop of files and folders (the zone lights up), a click or
//! Enter/Space opens the picker, "Upload a folder" opens the folder picker, and pasting files
//! anywhere on the page works too.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::FileList;

use super::icons;
use crate::dropped::{self, loose_files};
use crate::upload::Incoming;

#[component]
pub fn DropZone(#[prop(into)] on_files: Callback<Vec<Incoming>>) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let folder_input = NodeRef::<html::Input>::new();
    // dragenter/dragleave fire for every child crossed; count them to know when we really left.
    let depth = RwSignal::new(0i32);
    // Reading a dropped folder's entries takes a moment for big trees.
    let reading = RwSignal::new(false);
    let unreadable = RwSignal::new(0usize);

    let take_files = move |files: Vec<Incoming>| {
        if !files.is_empty() {
            on_files.run(files);
        }
    };
    let take = move |list: Option<FileList>| take_files(loose_files(list));
    let open_picker = move || {
        if let Some(input) = input.get_untracked() {
            input.click();
        }
    };

    // Files pasted anywhere on the page upload too; stray drops never navigate away.
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        let files = loose_files(ev.clipboard_data().and_then(|d| d.files()));
        if !files.is_empty() {
            ev.prevent_default();
            on_files.run(files);
        }
    });
    let stray_over = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
    let stray_drop = window_event_listener(leptos::ev::drop, |ev| ev.prevent_default());
    on_cleanup(move || {
        paste.remove();
        stray_over.remove();
        stray_drop.remove();
    });

    let dragging = Memo::new(move |_| depth.get() > 0);
    let on_key = move |e: web_sys::KeyboardEvent| {
        if e.key() == "Enter" || e.key() == " " {
            e.prevent_default();
            open_picker();
        }
    };
    let on_enter = move |e: web_sys::DragEvent| {
        e.prevent_default();
        depth.update(|d| *d += 1);
    };
    let on_over = |e: web_sys::DragEvent| {
        e.prevent_default();
        if let Some(dt) = e.data_transfer() {
            dt.set_drop_effect("copy");
        }
    };
    let on_drop = move |e: web_sys::DragEvent| {
        e.prevent_default();
        e.stop_propagation();
        depth.set(0);
        let Some(dt) = e.data_transfer() else { return };
        match dropped::folder_entries(&dt) {
            Some(entries) => {
                reading.set(true);
                spawn_local(async move {
                    let read = dropped::read_entries(entries).await;
                    reading.set(false);
                    unreadable.set(read.unreadable);
                    take_files(read.files);
                });
            }
            None => take(dt.files()),
        }
    };
    let open_folder_picker = move |_| {
        if let Some(input) = folder_input.get_untracked() {
            input.click();
        }
    };

    view! {
        <div
            class="drop-zone"
            class:dragging=dragging
            role="button"
            tabindex="0"
            aria-label="Drop files or folders here, or choose files to upload"
            on:click=move |_| open_picker()
            on:keydown=on_key
            on:dragenter=on_enter
            on:dragover=on_over
            on:dragleave=move |_| depth.update(|d| *d = (*d - 1).max(0))
            on:drop=on_drop
        >
            <span class="drop-icon">{icons::upload()}</span>
            <p class="drop-title">
                <span class="when-idle">
                    {move || if reading.get() { "Reading the folder…" } else { "Drop files or folders here" }}
                </span>
                <span class="when-dragging">"Release to upload"</span>
            </p>
            <p class="drop-hint">
                "or " <span class="link-like">"choose files"</span> " from your device · you can also paste"
            </p>
            <input
                node_ref=input
                type="file"
                multiple
                hidden
                tabindex="-1"
                on:click=|ev| ev.stop_propagation()
                on:change=move |_| {
                    if let Some(input) = input.get_untracked() {
                        take(input.files());
                        input.set_value("");
                    }
                }
            />
        </div>
        <div class="drop-more">
            <button class="button small" type="button" on:click=open_folder_picker>
                {icons::folder()} "Upload a folder"
            </button>
            <Show when=move || { unreadable.get() > 0 }>
                <span class="muted small" role="status">
                    {move || match unreadable.get() {
                        1 => "1 file in the folder could not be read.".to_owned(),
                        n => format!("{n} files in the folder could not be read."),
                    }}
                </span>
            </Show>
            <input
                node_ref=folder_input
                type="file"
                prop:webkitdirectory=true
                hidden
                tabindex="-1"
                aria-label="Folder to upload"
                on:change=move |_| {
                    if let Some(input) = folder_input.get_untracked() {
                        take_files(dropped::picked_folder(input.files()));
                        input.set_value("");
                    }
                }
            />
        </div>
    }
}
