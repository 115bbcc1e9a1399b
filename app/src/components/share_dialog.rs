//! Making a share link: expiry, optional download limit and password; then the link with a Copy
//! button and a QR code.

use ferry_api::share::{MAX_DOWNLOADS, PASSWORD_CHARS};
use ferry_api::{CreateShare, File, Share};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::dialog::Modal;
use super::icons;
use super::qr::qr_svg;
use crate::api_client::Api;
use crate::crypto::link_key::{WHAT_IT_MEANS, device_ring, link_key};
use crate::format::{human_size, relative_time};

/// The expiry choices offered, in seconds.
pub const EXPIRY_CHOICES: [(u64, &str); 4] = [
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
];

/// Copies `text`; resolves to whether the browser allowed it.
pub async fn copy_to_clipboard(text: &str) -> bool {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// A "Copy link" button that confirms for a moment after copying.
#[component]
pub fn CopyButton(#[prop(into)] text: String, #[prop(optional)] small: bool) -> impl IntoView {
    let copied = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let text = StoredValue::new(text);
    let copy = move |_| {
        spawn_local(async move {
            let ok = copy_to_clipboard(&text.get_value()).await;
            copied.set(ok);
            failed.set(!ok);
            if ok {
                set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
            }
        });
    };
    view! {
        <button class="button" class:small=small type="button" on:click=copy>
            {move || if copied.get() { icons::check().into_any() } else { icons::copy().into_any() }}
            {move || if copied.get() { "Copied" } else { "Copy link" }}
        </button>
        <span class="sr-only" aria-live="polite">
            {move || if copied.get() { "Link copied to the clipboard." } else if failed.get() { "Copying failed; select the link and copy it." } else { "" }}
        </span>
    }
}

#[component]
pub fn ShareDialog(file: File, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let api = expect_context::<Api>();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<Share>);
    let file_id = StoredValue::new(file.id.clone());
    // An encrypted file's link carries its key after `#`; without the key there is no link.
    let key = link_key(&device_ring(), &[(&file.id, file.encrypted.is_some())]);
    let problem = key.as_ref().err().map(ToString::to_string);
    let sealed = matches!(key, Ok(Some(_)));
    let key = StoredValue::new(key.ok().flatten());

    let on_submit = move |request: CreateShare| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api.create_share(&file_id.get_value(), &request).await {
                Ok(mut share) => {
                    if let Some(key) = key.get_value() {
                        share.url = key.link(&share.url);
                    }
                    created.set(Some(share))
                }
                Err(err) => error.set(Some(err.message)),
            }
            busy.set(false);
        });
    };

    let title = format!("Share “{}”", file.name);
    let size = human_size(file.size);
    let busy_text = Signal::derive(move || busy.get().then(|| "Creating…".to_owned()));
    view! {
        <Modal title on_close wide=true>
            <p class="modal-text muted">{size}</p>
            {match problem {
                Some(problem) => view! { <NoLink problem on_close/> }.into_any(),
                None => view! {
                    {sealed.then(E2eeNote)}
                    <Show
                        when=move || created.with(Option::is_none)
                        fallback=move || created.get().map(|share| view! { <ShareResult share on_close/> })
                    >
                        <ShareForm busy=busy_text error on_submit on_close/>
                    </Show>
                }
                .into_any(),
            }}
        </Modal>
    }
}

/// What an end-to-end encrypted link means for whoever gets it.
#[component]
pub fn E2eeNote() -> impl IntoView {
    view! { <p class="e2ee-note">{icons::lock()} <span>{WHAT_IT_MEANS}</span></p> }
}

/// Why these files cannot have a link from this device, instead of the form.
#[component]
pub fn NoLink(problem: String, on_close: Callback<()>) -> impl IntoView {
    view! {
        <p class="form-error" role="alert">{problem}</p>
        <div class="modal-actions">
            <button class="button primary" type="button" on:click=move |_| on_close.run(())>"Close"</button>
        </div>
    }
}

/// The terms of a new link (expiry, download limit, password), checked before `on_submit`
/// gets them. `busy` says what is happening while the link is made.
#[component]
pub fn ShareForm(
    #[prop(into)] busy: Signal<Option<String>>,
    error: RwSignal<Option<String>>,
    #[prop(into)] on_submit: Callback<CreateShare>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let expiry = RwSignal::new(7 * 86_400u64);
    let limit_on = RwSignal::new(false);
    let limit = RwSignal::new("1".to_owned());
    let password = RwSignal::new(String::new());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.with_untracked(Option::is_some) {
            return;
        }
        let max_downloads = if limit_on.get_untracked() {
            match limit.get_untracked().trim().parse::<u32>() {
                Ok(n) if (1..=MAX_DOWNLOADS).contains(&n) => Some(n),
                _ => {
                    error.set(Some(
                        "Choose a download limit between 1 and 10,000.".to_owned(),
                    ));
                    return;
                }
            }
        } else {
            None
        };
        let pw = password.get_untracked();
        if !pw.is_empty() && !PASSWORD_CHARS.contains(&pw.chars().count()) {
            error.set(Some("A password needs 8 to 128 characters.".to_owned()));
            return;
        }
        error.set(None);
        on_submit.run(CreateShare {
            expires_in_seconds: Some(expiry.get_untracked()),
            max_downloads,
            password: (!pw.is_empty()).then_some(pw),
        });
    };

    view! {
        <form class="share-form" on:submit=submit>
            <fieldset class="segmented">
                <legend>"Link expires after"</legend>
                <div class="segmented-options">
                    {EXPIRY_CHOICES
                        .iter()
                        .map(|&(secs, label)| view! {
                            <label class="segment">
                                <input
                                    type="radio"
                                    name="expiry"
                                    value=secs.to_string()
                                    prop:checked=move || expiry.get() == secs
                                    on:change=move |_| expiry.set(secs)
                                />
                                <span>{label}</span>
                            </label>
                        })
                        .collect_view()}
                </div>
            </fieldset>
            <div class="field inline">
                <label class="check">
                    <input type="checkbox" prop:checked=move || limit_on.get()
                        on:change=move |ev| limit_on.set(event_target_checked(&ev))/>
                    <span>"Limit downloads to"</span>
                </label>
                <input
                    class="input narrow"
                    type="number"
                    min="1"
                    max="10000"
                    inputmode="numeric"
                    aria-label="Maximum downloads"
                    disabled=move || !limit_on.get()
                    prop:value=move || limit.get()
                    on:input=move |ev| limit.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="share-password">"Password " <span class="muted">"(optional)"</span></label>
                <input
                    id="share-password"
                    class="input"
                    type="password"
                    autocomplete="new-password"
                    placeholder="Anyone with the link can download"
                    aria-describedby="share-password-hint"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
                <p id="share-password-hint" class="muted small">"At least 8 characters."</p>
            </div>
            <Show when=move || error.with(Option::is_some)>
                <p class="form-error" role="alert">{move || error.get()}</p>
            </Show>
            <div class="modal-actions">
                <button class="button ghost" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button class="button primary" type="submit" disabled=move || busy.with(Option::is_some)>
                    {move || busy.get().unwrap_or_else(|| "Create link".to_owned())}
                </button>
            </div>
        </form>
    }
}

/// The link made: copy it, scan it, and its terms in words.
#[component]
pub fn ShareResult(share: Share, on_close: Callback<()>) -> impl IntoView {
    let svg = qr_svg(&share.url).unwrap_or_default();
    let expires = crate::format::parse_rfc3339(&share.expires_at)
        .map(|at| relative_time(at, crate::auth::flow::now_ms()));
    let mut terms = Vec::new();
    if share.file_count > 1 {
        terms.push(format!("{} files", share.file_count));
    }
    if let Some(when) = expires {
        terms.push(format!("Expires {when}"));
    }
    terms.push(match share.max_downloads {
        Some(1) => "1 download".to_owned(),
        Some(n) => format!("{n} downloads"),
        None => "Unlimited downloads".to_owned(),
    });
    if share.has_password {
        terms.push("Password protected".to_owned());
    }
    let url = share.url.clone();
    view! {
        <div class="share-result">
            <div class="share-link">
                <label for="share-url">"Share link"</label>
                <div class="copy-row">
                    <input id="share-url" class="input mono" readonly prop:value=url.clone()
                        on:focus=|ev| {
                            use leptos::wasm_bindgen::JsCast;
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                input.select();
                            }
                        }/>
                    <CopyButton text=url/>
                </div>
                <p class="muted terms">{terms.join(" · ")}</p>
            </div>
            <div class="qr" role="img" aria-label="QR code of the share link" inner_html=svg></div>
        </div>
        <div class="modal-actions">
            <button class="button primary" type="button" on:click=move |_| on_close.run(())>"Done"</button>
        </div>
    }
}
