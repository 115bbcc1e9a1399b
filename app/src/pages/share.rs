//! `/s/{token}`: the page anyone with a link sees. Opening it never uses a download; only the
//! Download button asks the API for the one-time URL. A password-protected link shows nothing
//! about its file until the password is given (the API's `unlock`).

use ferry_api::{PublicShare, codes};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use crate::api_client::{Api, ApiError};
use crate::checksum;
use crate::components::Now;
use crate::components::file_list::type_badge;
use crate::components::icons;
use crate::format::{human_size, parse_rfc3339, relative_time};
use crate::use_title;

/// Why a link cannot be used, in words for the visitor.
pub fn unusable_message(err: &ApiError) -> (&'static str, String) {
    match err.code.as_str() {
        codes::SHARE_EXPIRED => (
            "This link has expired",
            "Links stop working after the time their owner chose. Ask the sender for a new one."
                .into(),
        ),
        codes::SHARE_REVOKED => (
            "This link was turned off",
            "The person who shared this file stopped sharing it.".into(),
        ),
        codes::SHARE_EXHAUSTED => (
            "This link has been used up",
            "It allowed a limited number of downloads, and all of them have been used. Ask the \
             sender for a new link."
                .into(),
        ),
        codes::NOT_FOUND | codes::SHARE_NOT_FOUND => (
            "This link doesn't exist",
            "Check that you copied the whole link. It may also have been removed.".into(),
        ),
        _ => ("This link could not be opened", err.message.clone()),
    }
}

/// The API says the link itself is unusable (as opposed to a wrong password or a glitch).
fn is_unusable(err: &ApiError) -> bool {
    matches!(
        err.code.as_str(),
        codes::SHARE_EXPIRED
            | codes::SHARE_REVOKED
            | codes::SHARE_EXHAUSTED
            | codes::NOT_FOUND
            | codes::SHARE_NOT_FOUND
    )
}

#[component]
pub fn PublicSharePage() -> impl IntoView {
    let api = expect_context::<Api>();
    let token = use_params_map()
        .with_untracked(|p| p.get("token"))
        .unwrap_or_default();
    let token = StoredValue::new(token);
    // None while loading.
    let info = RwSignal::new(None::<Result<PublicShare, ApiError>>);
    let load = move || {
        info.set(None);
        spawn_local(async move { info.set(Some(api.public_share(&token.get_value()).await)) });
    };
    load();
    use_title(move || match info.get() {
        Some(Ok(share)) => share.name.unwrap_or_else(|| "Shared file".to_owned()),
        Some(Err(_)) => "Link unavailable".to_owned(),
        None => "Shared file".to_owned(),
    });

    view! {
        <div class="page narrow">
            {move || match info.get() {
                None => view! {
                    <section class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <p>"Opening the link…"</p>
                    </section>
                }
                .into_any(),
                Some(Err(err)) if is_unusable(&err) => {
                    let (title, text) = unusable_message(&err);
                    let icon = if err.code == codes::SHARE_EXPIRED { icons::clock().into_any() } else { icons::warning().into_any() };
                    view! {
                        <section class="state-card" role="alert">
                            {icon}
                            <h1>{title}</h1>
                            <p>{text}</p>
                        </section>
                    }
                    .into_any()
                }
                Some(Err(err)) => view! {
                    <section class="state-card" role="alert">
                        {icons::warning()}
                        <h1>"This link could not be opened"</h1>
                        <p>{err.message}</p>
                        <button class="button primary" on:click=move |_| load()>"Try again"</button>
                    </section>
                }
                .into_any(),
                Some(Ok(share)) => view! { <ShareCard share token=token.get_value() info/> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn ShareCard(
    share: PublicShare,
    token: String,
    info: RwSignal<Option<Result<PublicShare, ApiError>>>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let now = expect_context::<Now>();
    let needs_password = share.requires_password;
    // What the link shows about its file: at once for an open link, after `unlock` for a
    // protected one.
    let details = RwSignal::new(share.name.is_some().then(|| share.clone()));
    let locked = move || details.with(Option::is_none);
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let started = RwSignal::new(false);
    let downloads_left = RwSignal::new(share.downloads_left);
    let token = StoredValue::new(token);
    let expires_ms = parse_rfc3339(&share.expires_at);

    let failed = move |err: ApiError| {
        busy.set(false);
        if is_unusable(&err) {
            info.set(Some(Err(err)));
        } else {
            error.set(Some(err.message));
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let pw = password.get_untracked();
        if needs_password && pw.is_empty() {
            error.set(Some("Enter the password the sender gave you.".to_owned()));
            return;
        }
        busy.set(true);
        error.set(None);
        let unlocking = details.with_untracked(Option::is_none);
        spawn_local(async move {
            let token = token.get_value();
            if unlocking {
                match api.unlock_share(&token, pw).await {
                    Ok(full) => {
                        downloads_left.set(full.downloads_left);
                        details.set(Some(full));
                        busy.set(false);
                    }
                    Err(err) => failed(err),
                }
                return;
            }
            match api
                .public_download(&token, needs_password.then_some(pw))
                .await
            {
                Ok(link) => {
                    started.set(true);
                    downloads_left.update(|left| {
                        if let Some(n) = left {
                            *n = n.saturating_sub(1);
                        }
                    });
                    busy.set(false);
                    let _ = window().location().assign(&link.url);
                }
                Err(err) => failed(err),
            }
        });
    };

    let expiry = move || {
        expires_ms
            .map(|at| format!("Link expires {}", relative_time(at, now.get())))
            .unwrap_or_default()
    };
    let left = move || match downloads_left.get() {
        None => None,
        Some(0) => Some("No downloads left".to_owned()),
        Some(1) => Some("1 download left".to_owned()),
        Some(n) => Some(format!("{n} downloads left")),
    };
    let no_more = move || downloads_left.get() == Some(0);
    let heading = move || match details.get() {
        Some(file) => {
            let name = file.name.unwrap_or_default();
            let meta = [file.size.map(human_size), file.content_type]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            view! {
                <span class="thumb badge large" aria-hidden="true">{type_badge(&name)}</span>
                <div>
                    <h1 id="shared-name" class="share-name">{name}</h1>
                    <p class="file-meta">{meta}</p>
                </div>
            }
            .into_any()
        }
        None => view! {
            <span class="thumb badge large" aria-hidden="true">{icons::lock()}</span>
            <div>
                <h1 id="shared-name" class="share-name">"This file is protected"</h1>
                <p class="file-meta">"Enter the password to see the file and download it."</p>
            </div>
        }
        .into_any(),
    };
    let verify = move || {
        details.get().and_then(|file| {
            let name = file.name.unwrap_or_default();
            file.sha256
                .map(|sum| checksum_view(&sum, file.part_size, &name))
        })
    };

    view! {
        <section class="share-card" aria-labelledby="shared-name">
            <p class="eyebrow">"Someone shared a file with you"</p>
            <div class="share-file">{heading}</div>
            <ul class="share-facts">
                <li>{icons::clock()}<span>{expiry}</span></li>
                {move || left().map(|text| view! { <li>{icons::download()}<span>{text}</span></li> })}
                {needs_password.then(|| view! { <li>{icons::lock()}<span>"Password protected"</span></li> })}
            </ul>
            <form class="download-form" on:submit=submit>
                <Show when=locked>
                    <div class="field">
                        <label for="share-password">"Password"</label>
                        <input
                            id="share-password"
                            class="input"
                            type="password"
                            autocomplete="current-password"
                            required
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                    </div>
                </Show>
                <Show when=move || error.with(Option::is_some)>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                </Show>
                <button class="button primary large full" type="submit" disabled=move || busy.get() || (started.get() && no_more())>
                    {move || if locked() { icons::lock().into_any() } else { icons::download().into_any() }}
                    {move || match (locked(), busy.get()) {
                        (true, true) => "Checking…",
                        (true, false) => "Unlock",
                        (false, true) => "Preparing…",
                        (false, false) => "Download",
                    }}
                </button>
                <p class="muted small" aria-live="polite">
                    {move || started.get().then(|| if no_more() {
                        "Your download has started. That was the last download this link allows."
                    } else {
                        "Your download has started."
                    })}
                </p>
            </form>
            {verify}
        </section>
    }
}

/// The checksum object storage verified, labelled by kind, with how to recompute it.
fn checksum_view(sum: &str, part_size: Option<u64>, name: &str) -> impl IntoView + use<> {
    let (label, hint) = checksum::verify_hint(sum, part_size, name);
    view! {
        <details class="checksum">
            <summary>"Verify the download"</summary>
            <p class="muted small">{label} ": " <code class="mono">{sum.to_owned()}</code></p>
            <p class="muted small">{hint}</p>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> ApiError {
        ApiError {
            status: 410,
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn each_unusable_link_gets_its_own_message() {
        let titles: Vec<_> = [
            codes::SHARE_EXPIRED,
            codes::SHARE_REVOKED,
            codes::SHARE_EXHAUSTED,
            codes::NOT_FOUND,
        ]
        .iter()
        .map(|c| unusable_message(&err(c)).0)
        .collect();
        assert_eq!(
            titles,
            [
                "This link has expired",
                "This link was turned off",
                "This link has been used up",
                "This link doesn't exist"
            ]
        );
        assert!(is_unusable(&err(codes::SHARE_EXHAUSTED)));
        assert!(!is_unusable(&err(codes::WRONG_PASSWORD)));
    }
}
