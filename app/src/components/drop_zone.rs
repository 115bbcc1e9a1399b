//! Where files come in: drag and drop (the zone lights up), a click or Enter/Space opens the
//! picker, and pasting files anywhere on the page works too.

use leptos::html;
use leptos::prelude::*;
use web_sys::FileList;

use super::icons;

fn files_of(list: Option<FileList>) -> Vec<web_sys::File> {
    list.map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default()
}

#[component]
pub fn DropZone(#[prop(into)] on_files: Callback<Vec<web_sys::File>>) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    // dragenter/dragleave fire for every child crossed; count them to know when we really left.
    let depth = RwSignal::new(0i32);

    let take = move |list: Option<FileList>| {
        let files = files_of(list);
        if !files.is_empty() {
            on_files.run(files);
        }
    };
    let open_picker = move || {
        if let Some(input) = input.get_untracked() {
            input.click();
        }
    };

    // Files pasted anywhere on the page upload too; stray drops never navigate away.
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
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
        take(e.data_transfer().and_then(|dt| dt.files()));
    };

    view! {
        <div
            class="drop-zone"
            class:dragging=dragging
            role="button"
            tabindex="0"
            aria-label="Drop files here, or choose files to upload"
            on:click=move |_| open_picker()
            on:keydown=on_key
            on:dragenter=on_enter
            on:dragover=on_over
            on:dragleave=move |_| depth.update(|d| *d = (*d - 1).max(0))
            on:drop=on_drop
        >
            <span class="drop-icon">{icons::upload()}</span>
            <p class="drop-title">
                <span class="when-idle">"Drop files here"</span>
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
    }
}
