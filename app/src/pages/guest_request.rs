//! `/r/{token}`: a file request as a guest (no account) sees it: its title and message, the
//! limits left, a password prompt when it has one, then the same uploader Ferry users have,
//! pointed at the guest routes; at the end what this guest sent, with their name and note.
//! Guests see nothing else.

use ferry_api::{FileStatus, GuestNote, GuestSubmission, PublicRequest, RequestState, codes};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use crate::api_client::ApiError;
use crate::auth::flow::Auth;
use crate::components::drop_zone::DropZone;
use crate::components::guest_files::GuestFiles;
use crate::components::icons;
use crate::components::upload_panel::{ResumableUploads, UploadPanel};
use crate::request_api::{
    GuestAccess, GuestApi, forget_guest_key, store_guest_key, stored_guest_key,
};
use crate::request_form::{closed_text, guest_refusal, left_text};
use crate::upload::Uploader;
use crate::use_title;

/// What a refused request means to a guest, in words.
fn refusal_text(err: &ApiError) -> String {
    guest_refusal(&err.code)
        .map(str::to_owned)
        .unwrap_or_else(|| err.message.clone())
}

#[component]
pub fn GuestRequestPage() -> impl IntoView {
    let token = use_params_map()
        .with_untracked(|p| p.get("token"))
        .unwrap_or_default();
    let auth = expect_context::<Auth>();
    let guest = GuestApi::new(GuestAccess {
        api_base: auth.config().api_base.clone(),
        token: token.clone(),
        key: stored_guest_key(&token).unwrap_or_default(),
    });
    let uploader = Uploader::for_guest(guest, auth);
    provide_context(uploader);
    crate::leave_guard::guard_uploads(uploader.queue);

    // None while loading.
    let info = RwSignal::new(None::<Result<PublicRequest, String>>);
    let submission = RwSignal::new(None::<GuestSubmission>);
    let session_error = RwSignal::new(None::<String>);
    use_title(move || {
        info.with(|i| match i {
            Some(Ok(r)) => r.title.clone().unwrap_or_else(|| "File request".to_owned()),
            _ => "File request".to_owned(),
        })
    });

    let refresh_files = move || {
        if !guest.has_key() {
            return;
        }
        spawn_local(async move {
            match guest.submission().await {
                Ok(sent) => submission.set(Some(sent)),
                Err(err) if err.code == codes::GUEST_KEY_REQUIRED => {
                    // A key of a deleted session, or of another request: start afresh.
                    forget_guest_key(&guest.token());
                    guest.set_key(String::new());
                    submission.set(None);
                }
                Err(_) => {}
            }
        });
    };
    // A guest needs a key before the first upload; it is kept so a reload resumes.
    let ensure_session = move |access: Option<String>| {
        if guest.has_key() {
            refresh_files();
            return;
        }
        spawn_local(async move {
            match guest.start_session(access).await {
                Ok(session) => {
                    store_guest_key(&guest.token(), &session.guest_key);
                    guest.set_key(session.guest_key);
                    session_error.set(None);
                    refresh_files();
                }
                Err(err) => session_error.set(Some(refusal_text(&err))),
            }
        });
    };
    let load = move || {
        spawn_local(async move {
            let answer = guest.request().await;
            let unlocked = matches!(&answer, Ok(r) if r.title.is_some());
            let open = matches!(&answer, Ok(r) if r.state == RequestState::Open);
            info.set(Some(answer.map_err(|e| refusal_text(&e))));
            if unlocked && open {
                ensure_session(None);
            } else {
                refresh_files();
            }
        });
    };
    load();

    // What a finished upload sent shows in the list at once. (The list is only ever known with a
    // guest key, so the uploader shows with it.)
    let finished = Memo::new(move |_| {
        uploader.queue.with(|q| {
            q.ids()
                .iter()
                .filter(|id| q.get(**id).is_some_and(|u| u.phase.is_finished()))
                .count()
        })
    });
    Effect::new(move |before: Option<usize>| {
        let now = finished.get();
        if before.is_some_and(|b| b != now) {
            refresh_files();
        }
        now
    });

    // Files storage has not settled yet are asked about again, every 2 s while any is pending.
    let poll = set_interval_with_handle(
        move || {
            let pending = submission.with_untracked(|s| {
                s.as_ref()
                    .is_some_and(|s| s.files.iter().any(|f| f.status == FileStatus::Pending))
            });
            if pending {
                refresh_files();
            }
        },
        std::time::Duration::from_secs(2),
    )
    .ok();
    on_cleanup(move || {
        if let Some(poll) = poll {
            poll.clear();
        }
    });

    let password = RwSignal::new(String::new());
    let unlock_error = RwSignal::new(None::<String>);
    let unlocking = RwSignal::new(false);
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        unlocking.set(true);
        spawn_local(async move {
            match guest.unlock(password.get_untracked()).await {
                Ok(request) => {
                    unlock_error.set(None);
                    let access = request.access.clone();
                    let open = request.state == RequestState::Open;
                    info.set(Some(Ok(request)));
                    if open {
                        ensure_session(access);
                    }
                }
                Err(err) => unlock_error.set(Some(err.message)),
            }
            unlocking.set(false);
        });
    };

    let open = Memo::new(move |_| {
        info.with(
            |i| matches!(i, Some(Ok(r)) if r.state == RequestState::Open && r.title.is_some()),
        )
    });
    let on_remove = Callback::new(move |id: String| {
        spawn_local(async move {
            match guest.delete_file(&id).await {
                Ok(()) => refresh_files(),
                Err(err) => session_error.set(Some(refusal_text(&err))),
            }
        });
    });
    let on_note = Callback::new(move |note: GuestNote| {
        spawn_local(async move {
            match guest.save_note(&note).await {
                Ok(sent) => submission.set(Some(sent)),
                Err(err) => session_error.set(Some(refusal_text(&err))),
            }
        });
    });

    view! {
        <div class="page narrow guest-request">
            {move || match info.get() {
                None => view! {
                    <section class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <p>"Opening the request…"</p>
                    </section>
                }.into_any(),
                Some(Err(message)) => view! {
                    <section class="state-card" role="alert">
                        {icons::warning()}
                        <h1>"This request cannot take files"</h1>
                        <p>{message}</p>
                    </section>
                }.into_any(),
                Some(Ok(request)) if request.title.is_none() && request.state == RequestState::Open => view! {
                    <section class="state-card">
                        {icons::lock()}
                        <h1>"This request is password protected"</h1>
                        <form class="unlock-form" on:submit=unlock>
                            <label for="request-password">"Password"</label>
                            <input id="request-password" class="input" type="password" required
                                autocomplete="current-password"
                                prop:value=move || password.get()
                                on:input=move |ev| password.set(event_target_value(&ev))/>
                            <Show when=move || unlock_error.with(Option::is_some)>
                                <p class="form-error" role="alert">{move || unlock_error.get()}</p>
                            </Show>
                            <button class="button primary" type="submit" disabled=move || unlocking.get()>"Unlock"</button>
                        </form>
                    </section>
                }.into_any(),
                Some(Ok(request)) => {
                    let closed = closed_text(request.state);
                    view! {
                        <div class="page-head">
                            <h1>{request.title.clone().unwrap_or_else(|| "File request".to_owned())}</h1>
                            {request.message.clone().filter(|m| !m.is_empty()).map(|m| view! { <p class="request-message">{m}</p> })}
                            {left_text(request.files_left, request.bytes_left).map(|t| view! { <p class="muted">{t}</p> })}
                        </div>
                        {closed.map(|text| view! {
                            <section class="state-card" role="alert">
                                {icons::warning()}
                                <h2>"No more files can be sent"</h2>
                                <p class="request-closed">{text}</p>
                            </section>
                        })}
                    }.into_any()
                }
            }}
            <Show when=move || session_error.with(Option::is_some)>
                <p class="form-error" role="alert">{move || session_error.get()}</p>
            </Show>
            <Show when=move || submission.with(Option::is_some) && open.get()>
                <DropZone on_files=move |files| uploader.add(files)/>
                <ResumableUploads/>
                <UploadPanel/>
            </Show>
            <Show when=move || submission.with(Option::is_some)>
                <GuestFiles sent=submission can_change=open on_remove on_note/>
            </Show>
        </div>
    }
}
