//! What a guest sent through a file request: their files (removable while the request is open)
//! and the name and note the owner sees beside them.

use ferry_api::paths;
use ferry_api::{FileStatus, GuestNote, GuestSubmission};
use leptos::prelude::*;

use crate::format::human_size;

/// `"Checking…"` while storage's event has not settled an upload yet.
fn status_text(status: FileStatus) -> &'static str {
    match status {
        FileStatus::Pending => "Arriving…",
        FileStatus::Ready => "Received",
        FileStatus::Failed => "Failed",
    }
}

#[component]
pub fn GuestFiles(
    /// Shown once known; refreshed as uploads finish.
    sent: RwSignal<Option<GuestSubmission>>,
    #[prop(into)] can_change: Signal<bool>,
    #[prop(into)] on_remove: Callback<String>,
    #[prop(into)] on_note: Callback<GuestNote>,
) -> impl IntoView {
    let stored = move || {
        sent.with(|s| {
            s.as_ref()
                .map(|s| (s.name.clone(), s.note.clone()))
                .unwrap_or_default()
        })
    };
    let (first_name, first_note) = untrack(stored);
    let name = RwSignal::new(first_name.unwrap_or_default());
    let note = RwSignal::new(first_note.unwrap_or_default());
    let typed = move |text: String| (!text.trim().is_empty()).then(|| text.trim().to_owned());
    // Saved: what the server answered is what the fields say.
    let saved = move || {
        let (n, t) = stored();
        (n.is_some() || t.is_some()) && n == typed(name.get()) && t == typed(note.get())
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_note.run(GuestNote {
            name: typed(name.get_untracked()),
            note: typed(note.get_untracked()),
        });
    };
    let files = move || sent.with(|s| s.as_ref().map(|s| s.files.clone()).unwrap_or_default());
    view! {
        <section class="guest-files" aria-labelledby="guest-files-title">
            <h2 id="guest-files-title">"What you sent"</h2>
            <Show
                when=move || sent.with(|s| s.as_ref().is_some_and(|s| !s.files.is_empty()))
                fallback=|| view! { <p class="muted">"Nothing yet. Files you send show here."</p> }
            >
                <ul class="file-list" aria-label="Files you sent">
                    <For each=files key=|f| (f.id.clone(), status_text(f.status)) let:file>
                        {
                            let shown = paths::join(file.folder.as_deref(), &file.name);
                            let id = file.id.clone();
                            let label = shown.clone();
                            view! {
                                <li class="file-row guest-file">
                                    <div class="file-main">
                                        <span class="file-name" title=shown.clone()>{shown.clone()}</span>
                                        <span class="file-meta">{human_size(file.size)} " · " {status_text(file.status)}</span>
                                    </div>
                                    <Show when=move || can_change.get()>
                                        {
                                            let (id, label) = (id.clone(), label.clone());
                                            view! {
                                                <button class="button small danger-ghost" type="button"
                                                    on:click=move |_| on_remove.run(id.clone())>
                                                    "Remove" <span class="sr-only">" " {label}</span>
                                                </button>
                                            }
                                        }
                                    </Show>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
            <Show when=move || can_change.get()>
                <form class="guest-note" on:submit=save>
                    <div class="field">
                        <label for="guest-name">"Your name " <span class="muted">"(optional)"</span></label>
                        <input id="guest-name" class="input" maxlength="500" autocomplete="name"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="guest-note">"A note for the owner " <span class="muted">"(optional)"</span></label>
                        <textarea id="guest-note" class="input" rows="2" maxlength="500"
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                    </div>
                    <button class="button" type="submit">"Save name and note"</button>
                    <span class="muted small" role="status">{move || if saved() { "Saved." } else { "" }}</span>
                </form>
            </Show>
        </section>
    }
}
