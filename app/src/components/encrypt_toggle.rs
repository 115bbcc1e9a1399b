//! "Encrypt end to end" beside the drop zone: whether the next drop or pick is sealed in this
//! browser (one key per drop, carried only in the link). A plain checkbox, so the keyboard and
//! screen readers work it as any other; this device remembers the choice.

use leptos::prelude::*;

use crate::upload::Uploader;

#[component]
pub fn EncryptToggle() -> impl IntoView {
    let uploader = expect_context::<Uploader>();
    view! {
        <div class="encrypt-toggle">
            <label class="check">
                <input
                    type="checkbox"
                    aria-describedby="encrypt-hint"
                    prop:checked=move || uploader.encrypt.get()
                    on:change=move |ev| uploader.set_encrypt(event_target_checked(&ev))
                />
                <span>"Encrypt end to end"</span>
            </label>
            <p id="encrypt-hint" class="muted">
                {move || if uploader.encrypt.get() {
                    "Names and contents are encrypted in this browser before upload; only people \
                     with the link (it carries the key) can open them."
                } else {
                    "Off: Ferry stores the files as they are and can make previews of them."
                }}
            </p>
        </div>
    }
}
