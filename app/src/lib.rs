//! Ferry's web app: the shell, the routes, and the context every page shares.
//!
//! Logic that can be plain Rust is ([`upload`], [`auth`], [`format`]) and is unit-tested
//! natively; components only render it and call the upload engine ([`upload::Uploader`]).

pub mod api_client;
pub mod auth;
pub mod base64;
pub mod checksum;
pub mod components;
pub mod config;
pub mod crypto;
pub mod dropped;
pub mod file_tree;
pub mod format;
pub mod library;
pub mod live;
pub mod live_event;
pub mod pages;
pub mod public_share;
pub mod public_transfer;
pub mod request_api;
pub mod request_form;
pub mod selection;
pub mod shell;
pub mod transfer;
pub mod upload;
pub mod url_encoding;
pub mod zip;

use ferry_api::SiteConfig;
use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::api_client::Api;
use crate::auth::flow::{Auth, current_path};
use crate::components::Now;
use crate::components::icons;
use crate::library::Library;
use crate::live::{Live, LiveNotices};
use crate::upload::Uploader;

/// Sets the document title while the calling page is shown.
pub fn use_title(title: impl Fn() -> String + Send + Sync + 'static) {
    Effect::new(move |_| {
        let title = title();
        let text = if title.is_empty() {
            "Ferry".to_owned()
        } else {
            format!("{title} · Ferry")
        };
        document().set_title(&text);
    });
}

/// The app once `/config.json` is known.
#[component]
pub fn App(config: SiteConfig) -> impl IntoView {
    let auth = Auth::new(config);
    let api = Api::new(auth);
    let library = Library::new(api);
    provide_context(auth);
    provide_context(api);
    provide_context(library);
    provide_context(Uploader::new(api, auth, library));
    provide_context(Live::start(auth, api, library));
    provide_context(Now::start());

    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main id="main" tabindex="-1">
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::landing::Landing/>
                    <Route path=path!("/files") view=|| view! { <RequireAuth><pages::files::FilesPage/></RequireAuth> }/>
                    <Route path=path!("/links") view=|| view! { <RequireAuth><pages::links::LinksPage/></RequireAuth> }/>
                    <Route path=path!("/requests") view=|| view! { <RequireAuth><pages::requests::RequestsPage/></RequireAuth> }/>
                    <Route path=path!("/r/:token") view=pages::guest_request::GuestRequestPage/>
                    <Route path=path!("/callback") view=pages::callback::Callback/>
                </Routes>
            </main>
            <LiveNotices/>
            <footer class="site-footer">
                <p>"Files travel straight to storage, encrypted at rest. Links expire on their own."</p>
            </footer>
        </Router>
    }
}

/// Shown instead of the app when it cannot start (no configuration).
#[component]
pub fn StartupError(message: String) -> impl IntoView {
    view! {
        <main id="main" class="page narrow">
            <section class="state-card" role="alert">
                {icons::warning()}
                <h1>"Ferry is not available right now"</h1>
                <p>{message}</p>
                <button class="button primary" on:click=|_| { let _ = window().location().reload(); }>
                    "Try again"
                </button>
            </section>
        </main>
    }
}

#[component]
fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                {icons::logo()}
                <span>"Ferry"</span>
            </A>
            <Show when=move || auth.signed_in()>
                <nav class="site-nav" aria-label="Main">
                    <A href="/files">"Files"</A>
                    <A href="/links">"My links"</A>
                    <A href="/requests">"Requests"</A>
                </nav>
            </Show>
            <div class="account">
                <Show
                    when=move || auth.signed_in()
                    fallback=move || view! {
                        <button class="button primary small" on:click=move |_| auth.sign_in("/files")>
                            "Sign in"
                        </button>
                    }
                >
                    <span class="account-email" title="Signed in as">{move || auth.email()}</span>
                    <button class="button ghost small" on:click=move |_| auth.sign_out()>"Sign out"</button>
                </Show>
            </div>
        </header>
    }
}

/// Private pages: without a session, go to sign-in and come back here afterwards.
#[component]
fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = expect_context::<Auth>();
    Effect::new(move |_| {
        if !auth.signed_in() {
            auth.sign_in(&current_path());
        }
    });
    view! {
        <Show
            when=move || auth.signed_in()
            fallback=|| view! {
                <div class="page narrow">
                    <div class="state-card" role="status">
                        <span class="spinner" aria-hidden="true"></span>
                        <p>"Taking you to sign in…"</p>
                    </div>
                </div>
            }
        >
            {children()}
        </Show>
    }
}

// The browser tests run in headless Chromium (`cargo xtask test`), not in Node.js.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
