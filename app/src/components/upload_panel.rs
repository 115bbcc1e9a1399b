//! Shows the upload queue (the engine's [`Uploader`] runs it): one row per file with a progress bar, speed
//! and time left, pause/resume for files sent in parts, cancel and retry, an `aria-live` line,
//! and the unfinished uploads of earlier visits that the same file, picked again, resumes.

use ferry_api::paths;
use leptos::prelude::*;

use super::icons;
use crate::format::{self, human_size};
use crate::upload::{Phase, UploadId, UploadQueue, Uploader};

#[component]
pub fn UploadPanel() -> impl IntoView {
    let uploader = expect_context::<Uploader>();
    let queue = uploader.queue;
    let summary = Memo::new(move |_| {
        queue.with(|q| {
            let (sent, total) = q.totals();
            let waiting = q
                .ids()
                .iter()
                .filter(|id| q.get(**id).is_some_and(|u| !u.phase.is_finished()))
                .count();
            (sent, total, waiting)
        })
    });
    let has_finished = Memo::new(move |_| {
        queue.with(|q| {
            q.ids()
                .iter()
                .any(|id| q.get(*id).is_some_and(|u| u.phase.is_finished()))
        })
    });

    view! {
        <p class="sr-only" aria-live="polite" aria-atomic="true">
            {move || queue.with(|q| q.announcement().to_owned())}
        </p>
        <Show when=move || !queue.with(UploadQueue::is_empty)>
            <section class="upload-panel" aria-label="Uploads">
                <header class="upload-panel-header">
                    <h2>
                        {move || {
                            let (sent, total, waiting) = summary.get();
                            if waiting == 0 {
                                "Uploads finished".to_owned()
                            } else {
                                let pct = (sent * 100).checked_div(total).unwrap_or(100);
                                format!(
                                    "Uploading {waiting} {} · {pct}%",
                                    if waiting == 1 { "file" } else { "files" },
                                )
                            }
                        }}
                    </h2>
                    <Show when=move || has_finished.get()>
                        <button class="button ghost small" on:click=move |_| uploader.clear_finished()>
                            "Clear finished"
                        </button>
                    </Show>
                </header>
                <ul class="upload-list">
                    <For each=move || queue.with(|q| q.ids()) key=|id| *id let:id>
                        <UploadRow id/>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

#[component]
fn UploadRow(id: UploadId) -> impl IntoView {
    let uploader = expect_context::<Uploader>();
    let queue = uploader.queue;
    let upload = Memo::new(move |_| queue.with(|q| q.get(id).cloned()));
    // A file of a folder goes by its path (`Fotos/2026/img.jpg`).
    let name = move || {
        upload.with(|u| {
            u.as_ref()
                .map(|u| paths::join(u.folder.as_deref(), &u.name))
                .unwrap_or_default()
        })
    };
    let phase = move || {
        upload.with(|u| {
            u.as_ref()
                .map(|u| u.phase.clone())
                .unwrap_or(Phase::Cancelled)
        })
    };
    let percent = move || upload.with(|u| u.as_ref().map(|u| u.transfer.percent()).unwrap_or(0.0));

    let status = move || {
        upload.with(|u| {
            let Some(u) = u else { return String::new() };
            match &u.phase {
                Phase::Queued => format!("Waiting · {}", human_size(u.size)),
                Phase::Preparing => u.note.clone().unwrap_or_else(|| "Starting…".to_owned()),
                Phase::Sending => match &u.note {
                    Some(note) => format!("{note} · {}", u.transfer.describe()),
                    None => u.transfer.describe(),
                },
                Phase::Paused => format!(
                    "Paused · {} of {}",
                    human_size(u.transfer.sent),
                    human_size(u.size)
                ),
                Phase::Done => format!("Uploaded · {}", human_size(u.size)),
                Phase::Failed(err) => err.message.clone(),
                Phase::Cancelled => "Cancelled".to_owned(),
            }
        })
    };
    let state_class = move || match phase() {
        Phase::Queued | Phase::Preparing => "upload-row waiting",
        Phase::Sending => "upload-row sending",
        Phase::Paused => "upload-row paused",
        Phase::Done => "upload-row done",
        Phase::Failed(_) => "upload-row failed",
        Phase::Cancelled => "upload-row cancelled",
    };
    let can_cancel = move || !phase().is_finished();
    let multipart = move || upload.with(|u| u.as_ref().is_some_and(|u| u.multipart));
    let can_pause = move || multipart() && phase().is_active();
    let can_resume = move || phase() == Phase::Paused;
    let can_retry = move || match phase() {
        Phase::Failed(err) => err.retryable(),
        Phase::Cancelled => true,
        _ => false,
    };

    view! {
        <li class=state_class>
            <div class="upload-main">
                <span class="upload-name" title=name>{name}</span>
                <span class="upload-status">{status}</span>
            </div>
            <div
                class="progress"
                role="progressbar"
                aria-label=move || format!("Upload of {}", name())
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format::percent_text(percent(), 0)
            >
                <div
                    class="progress-bar"
                    style:transform=move || format!("scaleX({})", format::fraction_text(percent()))
                ></div>
            </div>
            <div class="upload-actions">
                <Show when=can_pause>
                    <button class="button ghost small" on:click=move |_| uploader.pause(id)>
                        "Pause" <span class="sr-only">" upload of " {name}</span>
                    </button>
                </Show>
                <Show when=can_resume>
                    <button class="button small" on:click=move |_| uploader.resume(id)>
                        "Resume" <span class="sr-only">" upload of " {name}</span>
                    </button>
                </Show>
                <Show when=can_cancel>
                    <button class="button ghost small" on:click=move |_| uploader.cancel(id)>
                        "Cancel" <span class="sr-only">" upload of " {name}</span>
                    </button>
                </Show>
                <Show when=can_retry>
                    <button class="button small" on:click=move |_| uploader.retry(id)>
                        {icons::retry()} "Retry" <span class="sr-only">" " {name}</span>
                    </button>
                </Show>
                <Show when=move || phase().is_finished()>
                    <button class="icon-button" aria-label=move || format!("Dismiss {}", name()) on:click=move |_| uploader.dismiss(id)>
                        {icons::close()}
                    </button>
                </Show>
            </div>
        </li>
    }
}

/// Unfinished uploads from earlier visits (or another tab that closed): picking the same file
/// again resumes one; discarding it deletes its parts.
#[component]
pub fn ResumableUploads() -> impl IntoView {
    let uploader = expect_context::<Uploader>();
    let now = expect_context::<super::Now>();
    let records = Memo::new(move |_| uploader.resumable_here());
    view! {
        <Show when=move || records.with(|r| !r.is_empty())>
            <section class="resumable" aria-labelledby="resumable-title">
                <h2 id="resumable-title">"Unfinished uploads"</h2>
                <p class="muted small">
                    "Drop or pick the same file again to carry on where it stopped."
                </p>
                <ul class="resumable-list">
                    <For each=move || records.get() key=|r| (r.file_id.clone(), r.parts.len()) let:record>
                        {
                            let file_id = record.file_id.clone();
                            let name = paths::join(record.folder.as_deref(), &record.name);
                            let sent = record.parts.len();
                            let age = move || crate::format::relative_time(record.saved_at_ms, now.get());
                            view! {
                                <li class="resumable-row">
                                    <div class="upload-main">
                                        <span class="upload-name" title=name.clone()>{name.clone()}</span>
                                        <span class="upload-status">
                                            {format!(
                                                "{} of {} parts sent · {} of {} · ",
                                                sent,
                                                record.part_count,
                                                human_size(record.sent_bytes()),
                                                human_size(record.size),
                                            )}
                                            {age}
                                        </span>
                                    </div>
                                    <button class="button ghost small" on:click=move |_| uploader.discard(file_id.clone())>
                                        "Discard" <span class="sr-only">" unfinished upload of " {name.clone()}</span>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </section>
        </Show>
    }
}
