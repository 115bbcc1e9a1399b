//! `/links`: every share link the person made, how much it was used, and a way to revoke it.

use ferry_api::live::LiveEvent;
use ferry_api::{Share, ShareState};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::Api;
use crate::components::Now;
use crate::components::dialog::ConfirmDialog;
use crate::components::icons;
use crate::components::share_dialog::CopyButton;
use crate::crypto::keyring::{KeyRing, UNKNOWN_NAME};
use crate::crypto::link_key::device_ring;
use crate::format::{human_size, parse_rfc3339, relative_time};
use crate::library::Library;
use crate::live::Live;
use crate::use_title;

/// Whether a link still works at `now_ms`, by the rule the API applies.
pub fn link_state(share: &Share, now_ms: i64) -> ShareState {
    let expired = parse_rfc3339(&share.expires_at).is_some_and(|at| at <= now_ms);
    ShareState::of(share.revoked, expired, share.downloads, share.max_downloads)
}

/// A link's state in words, as its owner sees it.
pub fn state_label(state: ShareState) -> &'static str {
    match state {
        ShareState::Live => "Active",
        ShareState::Expired => "Expired",
        ShareState::Revoked => "Revoked",
        ShareState::Exhausted => "Used up",
    }
}

/// `"2 of 5 downloads"` or `"3 downloads"`.
pub fn downloads_text(share: &Share) -> String {
    match share.max_downloads {
        Some(max) => format!("{} of {max} downloads", share.downloads),
        None if share.downloads == 1 => "1 download".to_owned(),
        None => format!("{} downloads", share.downloads),
    }
}

/// What a link covers, in a few words: `holiday.jpg`, `holiday.jpg and 11 more`, or that all
/// of its files were deleted.
pub fn link_title(share: &Share) -> String {
    match share.file_count {
        0 => "All files deleted".to_owned(),
        1 => share.file_name.clone(),
        n => format!("{} and {} more", share.file_name, n - 1),
    }
}

/// An encrypted link as this device can show it: with its key after `#` when the ring holds the
/// key of its files (`true`), and its first file's name as opened here, or "Encrypted file".
pub fn sealed_link(share: &mut Share, ring: &KeyRing, opened_name: Option<&str>) -> bool {
    if !share.encrypted {
        return true;
    }
    share.file_name = opened_name.unwrap_or(UNKNOWN_NAME).to_owned();
    match ring.key_for(&share.file_id) {
        Some(key) => {
            share.url = key.link(&share.url);
            true
        }
        None => false,
    }
}

/// What the links page says of an encrypted link whose key this device does not hold.
pub const KEY_ELSEWHERE: &str = "End-to-end encrypted: its key is only on the device that made \
     this link, so the link is shown without it. Copy the whole link from that device.";

#[component]
pub fn LinksPage() -> impl IntoView {
    use_title(|| "My links".to_owned());
    let api = expect_context::<Api>();
    let library = expect_context::<Library>();
    // None while loading.
    let shares = RwSignal::new(None::<Result<Vec<Share>, String>>);
    let load = move || {
        spawn_local(async move {
            let listed = api.list_shares().await.map(|l| l.items);
            // Encrypted links' names open from the files list (opened on this device).
            if listed
                .as_ref()
                .is_ok_and(|items| items.iter().any(|s| s.encrypted))
            {
                library.ensure_loaded();
            }
            shares.set(Some(listed.map_err(|e| e.message)));
        })
    };
    load();
    // Download counts as they happen; a link that ended is shown again in its new state.
    expect_context::<Live>().subscribe(move |event| match event {
        LiveEvent::ShareDownloaded {
            token, downloads, ..
        } => shares.update(|s| {
            if let Some(Ok(items)) = s {
                for item in items.iter_mut().filter(|i| i.token == token) {
                    item.downloads = item.downloads.max(downloads);
                }
            }
        }),
        LiveEvent::ShareEnded { .. } => shares.update(|_| {}),
        _ => {}
    });

    let revoke_target = RwSignal::new(None::<Share>);
    let revoking = RwSignal::new(false);
    let revoke_error = RwSignal::new(None::<String>);
    let confirm_revoke = move |_| {
        let Some(share) = revoke_target.get_untracked() else {
            return;
        };
        revoking.set(true);
        spawn_local(async move {
            match api.revoke_share(&share.token).await {
                Ok(()) => {
                    shares.update(|s| {
                        if let Some(Ok(items)) = s {
                            for item in items.iter_mut().filter(|i| i.token == share.token) {
                                item.revoked = true;
                            }
                        }
                    });
                    revoke_target.set(None);
                }
                Err(err) => revoke_error.set(Some(err.message)),
            }
            revoking.set(false);
        });
    };
    let on_revoke = Callback::new(move |share: Share| {
        revoke_error.set(None);
        revoke_target.set(Some(share));
    });

    view! {
        <div class="page">
            <div class="page-head">
                <h1>"My links"</h1>
                <p class="muted">"Links you shared, newest first. Revoking a link stops it at once."</p>
            </div>
            {move || match shares.get() {
                None => view! {
                    <section class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <p>"Loading your links…"</p>
                    </section>
                }
                .into_any(),
                Some(Err(message)) => view! {
                    <section class="state-card" role="alert">
                        {icons::warning()}
                        <h2>"Your links could not be loaded"</h2>
                        <p>{message}</p>
                        <button class="button primary" on:click=move |_| load()>"Try again"</button>
                    </section>
                }
                .into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <section class="state-card empty">
                        {icons::share()}
                        <h2>"No links yet"</h2>
                        <p>"Share a file from your files page; its link will be listed here."</p>
                    </section>
                }
                .into_any(),
                Some(Ok(items)) => view! {
                    <ul class="link-list" aria-label="Share links">
                        {items.into_iter().map(|share| view! { <LinkRow share on_revoke/> }).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            {move || revoke_target.get().map(|share| view! {
                <ConfirmDialog
                    title="Revoke this link?"
                    message=format!(
                        "The link to “{}” will stop working for everyone who has it. {}",
                        link_title(&share),
                        if share.file_count > 1 { "The files stay in your files." } else { "The file stays in your files." }
                    )
                    confirm="Revoke"
                    busy=revoking
                    error=revoke_error
                    on_confirm=confirm_revoke
                    on_close=move |_| revoke_target.set(None)
                />
            })}
        </div>
    }
}

#[component]
fn LinkRow(share: Share, on_revoke: Callback<Share>) -> impl IntoView {
    let library = expect_context::<Library>();
    let mut share = share;
    let keyed = sealed_link(&mut share, &device_ring(), None);
    let first_id = share.file_id.clone();
    let sealed = share.encrypted;
    // The name shows once the files list has opened it.
    let title = {
        let share = share.clone();
        move || {
            let mut share = share.clone();
            if sealed {
                library.files.track();
                let name = library
                    .sealed
                    .with_value(|n| n.name_of(&first_id).map(str::to_owned));
                share.file_name = name.unwrap_or_else(|| UNKNOWN_NAME.to_owned());
            }
            link_title(&share)
        }
    };
    let now = expect_context::<Now>();
    let status = link_state(&share, now.0.get_untracked());
    let expires_ms = parse_rfc3339(&share.expires_at);
    let created_ms = parse_rfc3339(&share.created_at);
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
    let created =
        move || created_ms.map(|ms| format!("Created {}", relative_time(ms, now.get().max(ms))));
    let chip_class = match status {
        ShareState::Live => "chip ok",
        _ => "chip muted",
    };
    let stored = StoredValue::new(share.clone());
    view! {
        <li class="link-row" class:inactive=status != ShareState::Live>
            <div class="link-main">
                <span class="file-name" class:gone=share.file_count == 0>
                    {title}
                    {sealed.then(|| view! { <span class="chip sealed" class:locked=!keyed>{icons::lock()} "Encrypted"</span> })}
                    {share.has_password.then(|| view! { <span class="lock" title="Password protected">{icons::lock()}<span class="sr-only">" (password protected)"</span></span> })}
                </span>
                <a class="link-url mono" href=share.url.clone() target="_blank" rel="noopener">{share.url.clone()}</a>
                <span class="file-meta">
                    {(share.file_count > 1).then(|| format!("{} files · {} · ", share.file_count, human_size(share.total_size)))}
                    {downloads_text(&share)} " · " {expiry} " · " {created}
                </span>
                {(!keyed).then(|| view! { <span class="file-meta">{KEY_ELSEWHERE}</span> })}
            </div>
            <span class=chip_class>{state_label(status)}</span>
            <div class="file-actions">
                <Show when=move || status == ShareState::Live>
                    <Show when=move || keyed>
                        <CopyButton text=stored.get_value().url small=true/>
                    </Show>
                    <button class="button small danger-ghost" on:click=move |_| on_revoke.run(stored.get_value())>
                        "Revoke" <span class="sr-only">" link to " {link_title(&stored.get_value())}</span>
                    </button>
                </Show>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Share {
        Share {
            token: "t".into(),
            url: "https://x/s/t".into(),
            file_id: "f".into(),
            file_name: "a.txt".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-08T00:00:00Z".into(),
            max_downloads: Some(2),
            downloads: 1,
            has_password: false,
            revoked: false,
            file_count: 1,
            total_size: 1,
            encrypted: false,
        }
    }

    #[test]
    fn link_status_follows_revocation_expiry_and_use() {
        let now = parse_rfc3339("2026-01-02T00:00:00Z").unwrap_or_default();
        let mut s = share();
        assert_eq!(link_state(&s, now), ShareState::Live);
        s.downloads = 2;
        assert_eq!(link_state(&s, now), ShareState::Exhausted);
        assert_eq!(downloads_text(&s), "2 of 2 downloads");
        let later = parse_rfc3339("2026-01-09T00:00:00Z").unwrap_or_default();
        assert_eq!(link_state(&s, later), ShareState::Expired);
        s.revoked = true;
        assert_eq!(link_state(&s, now), ShareState::Revoked);
        s.max_downloads = None;
        s.downloads = 1;
        assert_eq!(downloads_text(&s), "1 download");
    }

    #[test]
    fn a_link_of_many_files_names_the_first_and_counts_the_rest() {
        let mut s = share();
        assert_eq!(link_title(&s), "a.txt");
        s.file_name = "holiday.jpg".into();
        s.file_count = 12;
        assert_eq!(link_title(&s), "holiday.jpg and 11 more");
        s.file_count = 0;
        assert_eq!(link_title(&s), "All files deleted");
    }

    #[test]
    fn an_encrypted_link_carries_its_key_only_where_the_ring_has_it() {
        use crate::crypto::link::TransferKey;
        let mut plain = share();
        assert!(sealed_link(&mut plain, &KeyRing::default(), None));
        assert_eq!(plain, share());

        let mut sealed = share();
        sealed.encrypted = true;
        sealed.file_name = "encrypted".into();
        let mut elsewhere = sealed.clone();
        assert!(!sealed_link(&mut elsewhere, &KeyRing::default(), None));
        assert_eq!(elsewhere.url, "https://x/s/t");
        assert_eq!(elsewhere.file_name, UNKNOWN_NAME);

        let key = TransferKey::from_bytes([7; 32]);
        let mut ring = KeyRing::default();
        ring.remember(&sealed.file_id, &key);
        assert!(sealed_link(&mut sealed, &ring, Some("holiday.jpg")));
        assert_eq!(sealed.url, key.link("https://x/s/t"));
        assert!(sealed.url.starts_with("https://x/s/t#k="));
        assert_eq!(sealed.file_name, "holiday.jpg");
    }
}
