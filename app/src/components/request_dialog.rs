//! Making a file request: title, message, expiry, how many files and bytes, optional password;
//! then its link with the same Copy button and QR code as a share.

use ferry_api::FileRequest;
use ferry_api::transfer::DEFAULT_MAX_SHARE_FILES;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::dialog::Modal;
use super::qr::qr_svg;
use super::share_dialog::{CopyButton, EXPIRY_CHOICES};
use crate::api_client::Api;
use crate::auth::flow::Auth;
use crate::format::relative_time;
use crate::request_form::{RequestForm, SIZE_CHOICES, received_text, validate};

#[component]
pub fn RequestDialog(
    #[prop(into)] on_created: Callback<FileRequest>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let max_files = expect_context::<Auth>()
        .config()
        .max_share_files
        .unwrap_or(DEFAULT_MAX_SHARE_FILES);
    let created = RwSignal::new(None::<FileRequest>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let title = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let expiry = RwSignal::new(7 * 86_400u64);
    let files = RwSignal::new("20".to_owned());
    let bytes = RwSignal::new(SIZE_CHOICES[1].0);
    let password = RwSignal::new(String::new());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let form = RequestForm {
            title: title.get_untracked(),
            message: message.get_untracked(),
            expires_in_seconds: expiry.get_untracked(),
            max_files: files.get_untracked(),
            max_bytes: bytes.get_untracked(),
            password: password.get_untracked(),
        };
        let req = match validate(&form, max_files) {
            Ok(req) => req,
            Err(message) => return error.set(Some(message)),
        };
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            match api.create_request(&req).await {
                Ok(request) => {
                    on_created.run(request.clone());
                    created.set(Some(request));
                }
                Err(err) => error.set(Some(err.message)),
            }
            busy.set(false);
        });
    };

    let form = move || {
        view! {
            <form class="share-form" on:submit=submit>
                <div class="field">
                    <label for="request-title">"Title"</label>
                    <input id="request-title" class="input" required maxlength="200"
                        placeholder="Scans for the tax return"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="request-message">"Message " <span class="muted">"(optional)"</span></label>
                    <textarea id="request-message" class="input" rows="3" maxlength="2000"
                        prop:value=move || message.get()
                        on:input=move |ev| message.set(event_target_value(&ev))></textarea>
                </div>
                <fieldset class="segmented">
                    <legend>"Request expires after"</legend>
                    <div class="segmented-options">
                        {EXPIRY_CHOICES.iter().map(|&(secs, label)| view! {
                            <label class="segment">
                                <input type="radio" name="request-expiry" value=secs.to_string()
                                    prop:checked=move || expiry.get() == secs
                                    on:change=move |_| expiry.set(secs)/>
                                <span>{label}</span>
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <div class="field inline">
                    <label for="request-files">"At most"</label>
                    <input id="request-files" class="input narrow" type="number" min="1"
                        max=max_files.to_string() inputmode="numeric"
                        prop:value=move || files.get()
                        on:input=move |ev| files.set(event_target_value(&ev))/>
                    <span>"files"</span>
                </div>
                <fieldset class="segmented">
                    <legend>"At most, in all"</legend>
                    <div class="segmented-options">
                        {SIZE_CHOICES.iter().map(|&(size, label)| view! {
                            <label class="segment">
                                <input type="radio" name="request-size" value=size.to_string()
                                    prop:checked=move || bytes.get() == size
                                    on:change=move |_| bytes.set(size)/>
                                <span>{label}</span>
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
                <div class="field">
                    <label for="request-password">"Password " <span class="muted">"(optional)"</span></label>
                    <input id="request-password" class="input" type="password" autocomplete="new-password"
                        placeholder="Anyone with the link can send files"
                        aria-describedby="request-password-hint"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                    <p id="request-password-hint" class="muted small">"At least 8 characters."</p>
                </div>
                <Show when=move || error.with(Option::is_some)>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                </Show>
                <div class="modal-actions">
                    <button class="button ghost" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button class="button primary" type="submit" disabled=move || busy.get()>
                        {move || if busy.get() { "Creating…" } else { "Create request" }}
                    </button>
                </div>
            </form>
        }
    };

    view! {
        <Modal title="New file request" on_close=on_close>
            {move || match created.get() {
                None => form().into_any(),
                Some(request) => view! { <RequestLink request on_close/> }.into_any(),
            }}
        </Modal>
    }
}

/// A request's link: copy it, scan it, and its terms in words.
#[component]
pub fn RequestLink(request: FileRequest, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let svg = qr_svg(&request.url).unwrap_or_default();
    let mut terms = vec![received_text(&request)];
    if let Some(at) = crate::format::parse_rfc3339(&request.expires_at) {
        terms.push(format!(
            "Expires {}",
            relative_time(at, crate::auth::flow::now_ms())
        ));
    }
    if request.has_password {
        terms.push("Password protected".to_owned());
    }
    let url = request.url.clone();
    view! {
        <div class="share-result">
            <div class="share-link">
                <label for="request-url">"Request link"</label>
                <div class="copy-row">
                    <input id="request-url" class="input mono" readonly prop:value=url.clone()/>
                    <CopyButton text=url/>
                </div>
                <p class="muted terms">{terms.join(" · ")}</p>
            </div>
            <div class="qr" role="img" aria-label="QR code of the request link" inner_html=svg></div>
        </div>
        <div class="modal-actions">
            <button class="button primary" type="button" on:click=move |_| on_close.run(())>"Done"</button>
        </div>
    }
}
