//! Runs the upload queue in the browser (API ticket, then the XHR PUT) and shows it: one row per
//! file with a progress bar, speed and time left, cancel and retry, and an `aria-live` line.

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::icons;
use super::library::Library;
use crate::api_client::{Api, NewUpload};
use crate::auth::flow::now_ms;
use crate::format::human_size;
use crate::transfer::XhrUpload;
use crate::upload::{Attempt, Phase, UploadError, UploadId, UploadQueue};

/// Finished rows leave the panel after this long (the file list shows them from then on).
const DONE_LINGER: Duration = Duration::from_secs(4);

/// `Copy` handle, created once for the app so uploads survive page changes.
#[derive(Clone, Copy)]
pub struct Uploader {
    pub queue: RwSignal<UploadQueue>,
    /// The files picked, kept for retries.
    sources: StoredValue<HashMap<UploadId, web_sys::File>, LocalStorage>,
    running: StoredValue<HashMap<UploadId, XhrUpload>, LocalStorage>,
    /// The pending file record each running upload created.
    records: StoredValue<HashMap<UploadId, String>>,
    api: Api,
    library: Library,
}

impl Uploader {
    pub fn new(api: Api, library: Library) -> Self {
        Self {
            queue: RwSignal::new(UploadQueue::default()),
            sources: StoredValue::new_local(HashMap::new()),
            running: StoredValue::new_local(HashMap::new()),
            records: StoredValue::new(HashMap::new()),
            api,
            library,
        }
    }

    pub fn add(&self, files: Vec<web_sys::File>) {
        for file in files {
            let size = file.size() as u64;
            if let Some(id) = self.queue.try_update(|q| q.add(file.name(), size)) {
                self.sources.update_value(|s| {
                    s.insert(id, file);
                });
            }
        }
        self.pump();
    }

    fn pump(&self) {
        let started = self
            .queue
            .try_update(|q| q.start_next(now_ms()))
            .unwrap_or_default();
        for attempt in started {
            let this = *self;
            spawn_local(async move { this.run(attempt).await });
        }
    }

    fn is_current(&self, attempt: Attempt) -> bool {
        self.queue.with_untracked(|q| {
            q.get(attempt.id)
                .is_some_and(|u| u.attempts == attempt.number && u.phase.is_active())
        })
    }

    async fn run(self, attempt: Attempt) {
        let Some(file) = self.sources.with_value(|s| s.get(&attempt.id).cloned()) else {
            return;
        };
        let content_type = file.type_();
        let request = NewUpload {
            name: file.name(),
            size: file.size() as u64,
            content_type: (!content_type.is_empty()).then_some(content_type),
        };
        let ticket = match self.api.create_upload(&request).await {
            Ok(ticket) => ticket,
            Err(err) => {
                self.queue
                    .try_update(|q| q.fail(attempt, UploadError::from_api(&err)));
                self.pump();
                return;
            }
        };
        if !self.is_current(attempt) {
            // Cancelled while asking: give the reserved space back.
            let api = self.api;
            spawn_local(async move {
                let _ = api.delete_file(&ticket.file.id).await;
            });
            return;
        }
        self.library.upsert(ticket.file.clone());
        self.records.update_value(|r| {
            r.insert(attempt.id, ticket.file.id.clone());
        });
        self.queue.try_update(|q| q.sending(attempt, now_ms()));
        let queue = self.queue;
        let this = self;
        let started = XhrUpload::start(
            &ticket.upload,
            &file,
            move |sent| {
                queue.try_update(|q| q.progress(attempt, sent, now_ms()));
            },
            move |result| this.transfer_done(attempt, result),
        );
        match started {
            Ok(xhr) => self.running.update_value(|r| {
                r.insert(attempt.id, xhr);
            }),
            Err(err) => self.transfer_done(attempt, Err(err)),
        }
    }

    fn transfer_done(self, attempt: Attempt, result: Result<(), UploadError>) {
        let id = attempt.id;
        // The request's callbacks are running right now: drop it afterwards.
        set_timeout(
            move || {
                self.running.try_update_value(|r| r.remove(&id));
            },
            Duration::ZERO,
        );
        match result {
            Ok(()) => {
                if self
                    .queue
                    .try_update(|q| q.finish(attempt, now_ms()))
                    .unwrap_or(false)
                {
                    self.records.update_value(|r| {
                        r.remove(&id);
                    });
                    self.sources.update_value(|s| {
                        s.remove(&id);
                    });
                    set_timeout(move || self.dismiss(id), DONE_LINGER);
                }
            }
            Err(err) => {
                self.queue.try_update(|q| q.fail(attempt, err));
                self.discard_record(id);
            }
        }
        self.pump();
    }

    /// The pending record of an upload that will not complete: remove it everywhere.
    fn discard_record(&self, id: UploadId) {
        let Some(file_id) = self.records.try_update_value(|r| r.remove(&id)).flatten() else {
            return;
        };
        self.library.remove(&file_id);
        let api = self.api;
        spawn_local(async move {
            let _ = api.delete_file(&file_id).await;
        });
    }

    pub fn cancel(&self, id: UploadId) {
        if self.queue.try_update(|q| q.cancel(id)).flatten().is_some()
            && let Some(xhr) = self.running.try_update_value(|r| r.remove(&id)).flatten()
        {
            xhr.abort();
        }
        self.discard_record(id);
        self.pump();
    }

    pub fn retry(&self, id: UploadId) {
        if self.queue.try_update(|q| q.retry(id)).unwrap_or(false) {
            self.pump();
        }
    }

    pub fn dismiss(&self, id: UploadId) {
        self.queue.try_update(|q| q.dismiss(id));
        if self.queue.with_untracked(|q| q.get(id).is_none()) {
            self.sources.try_update_value(|s| s.remove(&id));
        }
    }

    pub fn clear_finished(&self) {
        let finished: Vec<UploadId> = self.queue.with_untracked(|q| {
            q.ids()
                .into_iter()
                .filter(|id| q.get(*id).is_some_and(|u| u.phase.is_finished()))
                .collect()
        });
        for id in finished {
            self.dismiss(id);
        }
    }
}

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
    let name = move || upload.with(|u| u.as_ref().map(|u| u.name.clone()).unwrap_or_default());
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
                Phase::Preparing => "Starting…".to_owned(),
                Phase::Sending => u.transfer.describe(),
                Phase::Done => format!("Uploaded · {}", human_size(u.size)),
                Phase::Failed(err) => err.message.clone(),
                Phase::Cancelled => "Cancelled".to_owned(),
            }
        })
    };
    let state_class = move || match phase() {
        Phase::Queued | Phase::Preparing => "upload-row waiting",
        Phase::Sending => "upload-row sending",
        Phase::Done => "upload-row done",
        Phase::Failed(_) => "upload-row failed",
        Phase::Cancelled => "upload-row cancelled",
    };
    let can_cancel = move || !phase().is_finished();
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
                aria-valuenow=move || format!("{:.0}", percent())
            >
                <div class="progress-bar" style:width=move || format!("{:.1}%", percent())></div>
            </div>
            <div class="upload-actions">
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
