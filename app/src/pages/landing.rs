//! `/`: what Ferry is, and the way in, when the app navigates there itself (the brand link). A
//! first visit to `/` gets `landing.html` instead, the same page as its own small entry
//! (`src/bin/ferry-landing`), so keep the two texts alike.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::flow::Auth;
use crate::components::icons;
use crate::use_title;

#[component]
pub fn Landing() -> impl IntoView {
    use_title(String::new);
    let auth = expect_context::<Auth>();
    view! {
        <div class="page landing">
            <section class="hero">
                <h1>"Send big files. Keep control of the link."</h1>
                <p class="lead">
                    "Drop a file, get a link that expires on its own — with a download limit and a "
                    "password when you want them. Files go straight to storage, never through a middleman."
                </p>
                <div class="hero-actions">
                    <Show
                        when=move || auth.signed_in()
                        fallback=move || view! {
                            <button class="button primary large" on:click=move |_| auth.sign_in("/files")>
                                "Start sharing"
                            </button>
                            <p class="muted">"Free account · sign up takes a minute"</p>
                        }
                    >
                        <A href="/files" attr:class="button primary large">"Go to your files"</A>
                    </Show>
                </div>
            </section>
            <ul class="features" aria-label="Why Ferry">
                <li class="feature">
                    <span class="feature-icon">{icons::upload()}</span>
                    <h2>"Straight to storage"</h2>
                    <p>"Uploads go directly to encrypted storage with live progress, several at a time."</p>
                </li>
                <li class="feature">
                    <span class="feature-icon">{icons::share()}</span>
                    <h2>"Links that expire"</h2>
                    <p>"Pick an hour, a day, a week or a month. Revoke any link whenever you like."</p>
                </li>
                <li class="feature">
                    <span class="feature-icon">{icons::lock()}</span>
                    <h2>"Limits and passwords"</h2>
                    <p>"Allow one download or a hundred, and add a password for anything sensitive."</p>
                </li>
            </ul>
        </div>
    }
}
