//! `/requests`: the person's file requests (links through which others send them files), how
//! much arrived, and closing, reopening or deleting one.

use ferry_api::{FileRequest, RequestState};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::Api;
use crate::components::Now;
use crate::components::dialog::{ConfirmDialog, Modal};
use crate::components::icons;
use crate::components::request_dialog::{RequestDialog, RequestLink};
use crate::components::share_dialog::CopyButton;
use crate::format::{parse_rfc3339, relative_time};
use crate::request_form::{received_text, state_label};
use crate::use_title;

/// Puts `changed` in place of the request with its token.
fn replace(list: &mut [FileRequest], changed: FileRequest) {
    if let Some(known) = list.iter_mut().find(|r| r.token == changed.token) {
        *known = changed;
    }
}

#[component]
pub fn RequestsPage() -> impl IntoView {
    use_title(|| "File requests".to_owned());
    let api = expect_context::<Api>();
    // None while loading.
    let requests = RwSignal::new(None::<Result<Vec<FileRequest>, String>>);
    let load = move || {
        spawn_local(async move {
            requests.set(Some(
                api.list_requests()
                    .await
                    .map(|l| l.items)
                    .map_err(|e| e.message),
            ));
        })
    };
    load();

    let creating = RwSignal::new(false);
    let showing = RwSignal::new(None::<FileRequest>);
    let on_created = move |request: FileRequest| {
        requests.update(|r| match r {
            Some(Ok(items)) => items.insert(0, request),
            _ => *r = Some(Ok(vec![request])),
        });
    };

    let action_error = RwSignal::new(None::<String>);
    let on_toggle = Callback::new(move |request: FileRequest| {
        action_error.set(None);
        spawn_local(async move {
            let answer = if request.state == RequestState::Open {
                api.close_request(&request.token).await
            } else {
                api.reopen_request(&request.token).await
            };
            match answer {
                Ok(changed) => requests.update(|r| {
                    if let Some(Ok(items)) = r {
                        replace(items, changed);
                    }
                }),
                Err(err) => action_error.set(Some(err.message)),
            }
        });
    });

    let delete_target = RwSignal::new(None::<FileRequest>);
    let deleting = RwSignal::new(false);
    let delete_error = RwSignal::new(None::<String>);
    let confirm_delete = move |_| {
        let Some(request) = delete_target.get_untracked() else {
            return;
        };
        deleting.set(true);
        spawn_local(async move {
            match api.delete_request(&request.token).await {
                Ok(()) => {
                    requests.update(|r| {
                        if let Some(Ok(items)) = r {
                            items.retain(|i| i.token != request.token);
                        }
                    });
                    delete_target.set(None);
                }
                Err(err) => delete_error.set(Some(err.message)),
            }
            deleting.set(false);
        });
    };
    let on_delete = Callback::new(move |request: FileRequest| {
        delete_error.set(None);
        delete_target.set(Some(request));
    });
    let on_show = Callback::new(move |request: FileRequest| showing.set(Some(request)));

    view! {
        <div class="page">
            <div class="page-head">
                <h1>"File requests"</h1>
                <p class="muted">"Links through which anyone can send you files, without an account. What they send lands in your files."</p>
                <button class="button primary" on:click=move |_| creating.set(true)>"New request"</button>
            </div>
            <Show when=move || action_error.with(Option::is_some)>
                <p class="form-error" role="alert">{move || action_error.get()}</p>
            </Show>
            {move || match requests.get() {
                None => view! {
                    <section class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <p>"Loading your requests…"</p>
                    </section>
                }
                .into_any(),
                Some(Err(message)) => view! {
                    <section class="state-card" role="alert">
                        {icons::warning()}
                        <h2>"Your requests could not be loaded"</h2>
                        <p>{message}</p>
                        <button class="button primary" on:click=move |_| load()>"Try again"</button>
                    </section>
                }
                .into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <section class="state-card empty">
                        {icons::upload()}
                        <h2>"No requests yet"</h2>
                        <p>"Create a request and send its link to whoever should send you files."</p>
                    </section>
                }
                .into_any(),
                Some(Ok(items)) => view! {
                    <ul class="link-list" aria-label="File requests">
                        {items.into_iter().map(|request| view! {
                            <RequestRow request on_toggle on_delete on_show/>
                        }).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            <Show when=move || creating.get()>
                <RequestDialog on_created=on_created on_close=move |_| creating.set(false)/>
            </Show>
            {move || showing.get().map(|request| view! {
                <Modal title=request.title.clone() on_close=move |_| showing.set(None)>
                    <RequestLink request on_close=move |_| showing.set(None)/>
                </Modal>
            })}
            {move || delete_target.get().map(|request| view! {
                <ConfirmDialog
                    title="Delete this request?"
                    message=format!(
                        "The link of “{}” stops working for everyone who has it. The files you received stay in your files.",
                        request.title
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
fn RequestRow(
    request: FileRequest,
    on_toggle: Callback<FileRequest>,
    on_delete: Callback<FileRequest>,
    on_show: Callback<FileRequest>,
) -> impl IntoView {
    let now = expect_context::<Now>();
    let state = request.state;
    let expires_ms = parse_rfc3339(&request.expires_at);
    let expiry = move || {
        let Some(at) = expires_ms else {
            return String::new();
        };
        let when = relative_time(at, now.get());
        if at <= now.get() {
            format!("Expired {when}")
        } else {
            format!("Expires {when}")
        }
    };
    let chip_class = match state {
        RequestState::Open => "chip ok",
        _ => "chip muted",
    };
    let title = request.title.clone();
    let stored = StoredValue::new(request.clone());
    view! {
        <li class="link-row request-row">
            <div class="link-main">
                <span class="file-name">
                    {title.clone()}
                    {request.has_password.then(|| view! { <span class="lock" title="Password protected">{icons::lock()}<span class="sr-only">" (password protected)"</span></span> })}
                </span>
                <a class="link-url mono" href=request.url.clone() target="_blank" rel="noopener">{request.url.clone()}</a>
                <span class="file-meta">{received_text(&request)} " · " {expiry}</span>
            </div>
            <span class=chip_class>{state_label(state)}</span>
            <div class="file-actions">
                <CopyButton text=request.url.clone() small=true/>
                <button class="button small ghost" on:click=move |_| on_show.run(stored.get_value())>
                    "QR code" <span class="sr-only">" of " {title.clone()}</span>
                </button>
                {(state != RequestState::Expired).then(|| {
                    let title = title.clone();
                    view! {
                        <button class="button small ghost" on:click=move |_| on_toggle.run(stored.get_value())>
                            {if state == RequestState::Open { "Close" } else { "Reopen" }}
                            <span class="sr-only">" " {title}</span>
                        </button>
                    }
                })}
                <button class="button small danger-ghost" on:click=move |_| on_delete.run(stored.get_value())>
                    "Delete" <span class="sr-only">" " {title.clone()}</span>
                </button>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(token: &str, state: RequestState) -> FileRequest {
        FileRequest {
            token: token.into(),
            url: format!("https://x/r/{token}"),
            title: "Scans".into(),
            message: String::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-08T00:00:00Z".into(),
            state,
            max_files: 5,
            max_bytes: 1024,
            files_received: 1,
            bytes_received: 10,
            has_password: false,
        }
    }

    #[test]
    fn a_changed_request_replaces_its_row_only() {
        let mut list = vec![
            request("a", RequestState::Open),
            request("b", RequestState::Open),
        ];
        replace(&mut list, request("b", RequestState::Closed));
        assert_eq!(list[0].state, RequestState::Open);
        assert_eq!(list[1].state, RequestState::Closed);
        replace(&mut list, request("zz", RequestState::Closed));
        assert_eq!(list.len(), 2);
    }
}
