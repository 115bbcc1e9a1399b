//! Modal dialogs on the native `<dialog>` element: focus moves in and is trapped, Escape closes,
//! and focus returns where it was.

use leptos::html;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;

use super::icons;

#[component]
pub fn Modal(
    /// The dialog's heading, also its accessible name.
    #[prop(into)]
    title: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(optional)] wide: bool,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(dialog) = dialog.get()
            && !dialog.open()
        {
            let _ = dialog.show_modal();
        }
    });
    let label = title.clone();
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            class:wide=wide
            aria-label=label
            on:close=move |_| on_close.run(())
            on:click=move |ev| {
                // A click on the backdrop lands on the dialog element itself.
                if let Some(d) = dialog.get_untracked() {
                    let backdrop = ev.target().is_some_and(|t| JsValue::from(t) == JsValue::from(d.clone()));
                    if backdrop {
                        d.close();
                    }
                }
            }
        >
            <div class="modal-body">
                <header class="modal-header">
                    <h2>{title}</h2>
                    <button class="icon-button" type="button" aria-label="Close" on:click=move |_| on_close.run(())>
                        {icons::close()}
                    </button>
                </header>
                {children()}
            </div>
        </dialog>
    }
}

/// "Are you sure?" for actions that cannot be undone.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    /// The confirm button's label, e.g. "Delete".
    confirm: &'static str,
    #[prop(into)] busy: Signal<bool>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(into)] on_confirm: Callback<()>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <Modal title on_close>
            <p class="modal-text">{message}</p>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert">{move || error.get()}</p>
            </Show>
            <div class="modal-actions">
                <button class="button ghost" type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button
                    class="button danger"
                    type="button"
                    disabled=move || busy.get()
                    aria-busy=move || busy.get().to_string()
                    on:click=move |_| on_confirm.run(())
                >
                    {confirm}
                </button>
            </div>
        </Modal>
    }
}
