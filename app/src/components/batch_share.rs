//! The step after dropping several files or a folder: "Share these 12 files" makes one link
//! for all of them, even while they are still uploading; and a quiet line about the system
//! files left out.

use leptos::prelude::*;

use super::icons;
use super::share_many::{ShareManyDialog, files_text, max_share_files, too_many};
use crate::upload::Uploader;

#[component]
pub fn BatchShare() -> impl IntoView {
    let uploader = expect_context::<Uploader>();
    let files = Memo::new(move |_| uploader.batch_files());
    let count = move || files.with(|f| f.len());
    let folder = move || {
        uploader
            .batch
            .with(|b| b.as_ref().and_then(|b| b.folder.clone()))
    };
    let max = max_share_files();
    let over_limit = move || too_many(count(), max);
    let dialog = RwSignal::new(None::<String>);
    let open_dialog = move |_| {
        let title = match folder() {
            Some(folder) => format!("Share “{folder}”"),
            None => format!("Share {}", files_text(count())),
        };
        dialog.set(Some(title));
    };
    let skipped = move || uploader.skipped.get();

    view! {
        <Show when=move || { skipped() > 0 }>
            <p class="muted small skipped" role="status">
                {move || match skipped() {
                    1 => "Skipped 1 system file (such as .DS_Store).".to_owned(),
                    n => format!("Skipped {n} system files (such as .DS_Store)."),
                }}
            </p>
        </Show>
        <Show when=move || { uploader.batch.with(Option::is_some) && count() > 0 }>
            <section class="batch-share" aria-label="Share what you added">
                <div class="batch-text">
                    <strong>
                        {move || match folder() {
                            Some(folder) => format!("“{folder}” added"),
                            None => format!("{} added", files_text(count())),
                        }}
                    </strong>
                    <span class="muted small">"One link for all of them, even while they upload."</span>
                    <Show when=move || over_limit().is_some()>
                        <span class="form-error" role="status">{over_limit}</span>
                    </Show>
                </div>
                <button
                    class="button primary small"
                    type="button"
                    disabled=move || over_limit().is_some()
                    on:click=open_dialog
                >
                    {icons::share()} {move || match count() {
                        1 => "Share this file".to_owned(),
                        n => format!("Share these {n} files"),
                    }}
                </button>
                <button
                    class="icon-button"
                    type="button"
                    aria-label="Dismiss sharing what you added"
                    on:click=move |_| uploader.forget_batch()
                >
                    {icons::close()}
                </button>
            </section>
        </Show>
        {move || dialog.get().map(|title| view! {
            <ShareManyDialog
                title
                summary=Signal::derive(move || files_text(files.with(|f| f.len())))
                files
                on_close=move |_| dialog.set(None)
            />
        })}
    }
}
