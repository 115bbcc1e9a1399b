//! `/callback`: the hosted UI sends the browser back here with `code` and `state`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::auth::flow::Auth;
use crate::components::icons;
use crate::use_title;

#[component]
pub fn Callback() -> impl IntoView {
    use_title(|| "Signing in".to_owned());
    let auth = expect_context::<Auth>();
    let navigate = use_navigate();
    let query = use_query_map().get_untracked();
    let failure = RwSignal::new(None::<String>);

    match (query.get("code"), query.get("state")) {
        (Some(code), Some(state)) => spawn_local(async move {
            match auth.complete_sign_in(&code, &state).await {
                // A page of the other entry (`/requests`) is a page load of its own.
                Ok(return_to) if crate::Entry::of(&return_to) != crate::Entry::Main => {
                    let _ = window().location().replace(&return_to);
                }
                Ok(return_to) => navigate(
                    &return_to,
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                ),
                Err(message) => failure.set(Some(message)),
            }
        }),
        _ => {
            let reason = query
                .get("error_description")
                .or_else(|| query.get("error"))
                .unwrap_or_else(|| "The sign-in page did not send an answer.".to_owned());
            failure.set(Some(reason));
        }
    }

    view! {
        <div class="page narrow">
            <Show
                when=move || failure.with(Option::is_some)
                fallback=|| view! {
                    <section class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <h1>"Signing you in…"</h1>
                    </section>
                }
            >
                <section class="state-card" role="alert">
                    {icons::warning()}
                    <h1>"Sign-in did not complete"</h1>
                    <p>{move || failure.get()}</p>
                    <button class="button primary" on:click=move |_| auth.sign_in("/files")>"Try again"</button>
                </section>
            </Show>
        </div>
    }
}
