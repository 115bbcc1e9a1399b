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
pub mod leave_guard;
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

/// The contexts every page of both entries shares; the live socket starts here too.
fn provide_shell(config: SiteConfig) -> (Auth, Api, Library) {
    let auth = Auth::new(config);
    let api = Api::new(auth);
    let library = Library::new(api);
    provide_context(auth);
    provide_context(api);
    provide_context(library);
    provide_context(Live::start(auth, api, library));
    provide_context(Now::start());
    (auth, api, library)
}

/// The app once `/config.json` is known: the main entry (`index.html`), the pages a signed-in
/// person spends their time on. File requests are the other entry ([`RequestsApp`]).
#[component]
pub fn App(config: SiteConfig) -> impl IntoView {
    let (auth, api, library) = provide_shell(config);
    let uploader = Uploader::new(api, auth, library);
    provide_context(uploader);
    leave_guard::guard_uploads(uploader.queue);
    view! {
        <Frame entry=Entry::Main>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/") view=pages::landing::Landing/>
                <Route path=path!("/files") view=|| view! { <RequireAuth><pages::files::FilesPage/></RequireAuth> }/>
                <Route path=path!("/links") view=|| view! { <RequireAuth><pages::links::LinksPage/></RequireAuth> }/>
                <Route path=path!("/callback") view=pages::callback::Callback/>
            </Routes>
        </Frame>
    }
}

/// The file requests' entry (`requests.html`): the owner's `/requests` and the guests' page
/// `/r/{token}`, kept out of the main entry's wasm so `/files` loads less.
#[component]
pub fn RequestsApp(config: SiteConfig) -> impl IntoView {
    provide_shell(config);
    view! {
        <Frame entry=Entry::Requests>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/requests") view=|| view! { <RequireAuth><pages::requests::RequestsPage/></RequireAuth> }/>
                <Route path=path!("/r/:token") view=pages::guest_request::GuestRequestPage/>
            </Routes>
        </Frame>
    }
}

/// The app's two wasm entries; each route belongs to one, and a link to the other entry's route
/// is an ordinary page load (the server picks the entry as `backend/src/site.rs::entry_page`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    /// `index.html`: `/files`, `/links`, `/callback`, …
    Main,
    /// `requests.html`: `/requests` and `/r/{token}`.
    Requests,
}

impl Entry {
    /// The entry that serves client route `path`.
    pub fn of(path: &str) -> Self {
        if path == "/requests" || path.starts_with("/requests/") || path.starts_with("/r/") {
            Self::Requests
        } else {
            Self::Main
        }
    }
}

/// What both entries draw around their routes.
#[component]
fn Frame(entry: Entry, children: Children) -> impl IntoView {
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header entry/>
            <main id="main" tabindex="-1">{children()}</main>
            <LiveNotices/>
            <footer class="site-footer">
                <p>"Files travel straight to storage, encrypted at rest. Links expire on their own."</p>
            </footer>
        </Router>
    }
}

/// A link to one of the app's pages: the router's own within `entry`, a page load otherwise.
#[component]
fn PageLink(entry: Entry, href: &'static str, children: Children) -> impl IntoView {
    if Entry::of(href) == entry {
        view! { <A href=href>{children()}</A> }.into_any()
    } else {
        view! { <a href=href rel="external">{children()}</a> }.into_any()
    }
}

/// Starts an entry: reads `/config.json` (the HTML shows a splash until then), removes the
/// splash and mounts `app`, or [`StartupError`] without a configuration.
pub fn boot<V: IntoView + 'static>(app: impl FnOnce(SiteConfig) -> V + 'static) {
    // Debug builds explain panics in the console; release builds stay small.
    #[cfg(debug_assertions)]
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    // Leptos's executor starts with the first mount, so this first task uses wasm-bindgen's.
    wasm_bindgen_futures::spawn_local(async {
        let config = config::load().await;
        if let Some(splash) = document().get_element_by_id("splash") {
            splash.remove();
        }
        match config {
            Ok(config) => mount_to_body(move || app(config)),
            Err(message) => mount_to_body(move || view! { <StartupError message/> }),
        }
    });
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
fn Header(entry: Entry) -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <header class="site-header">
            {if entry == Entry::Main {
                view! { <A href="/" attr:class="brand">{icons::logo()}<span>"Ferry"</span></A> }.into_any()
            } else {
                // `/` is the landing page's own entry, which sends a signed-in visitor to /files.
                view! { <a href="/" class="brand" rel="external">{icons::logo()}<span>"Ferry"</span></a> }.into_any()
            }}
            <Show when=move || auth.signed_in()>
                <nav class="site-nav" aria-label="Main">
                    <PageLink entry href="/files">"Files"</PageLink>
                    <PageLink entry href="/links">"My links"</PageLink>
                    <PageLink entry href="/requests">"Requests"</PageLink>
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

#[cfg(test)]
mod tests {
    use super::Entry;

    /// The same split as the server's (`backend/src/site.rs::entry_page`, CloudFront's routing
    /// function): a link within an entry stays in its router, any other is a page load.
    #[test]
    fn routes_belong_to_the_entry_the_server_gives_them() {
        for path in ["/requests", "/requests/", "/r/AAAAAAAAAAAAAAAAAAAAAA"] {
            assert_eq!(Entry::of(path), Entry::Requests, "{path}");
        }
        for path in ["/", "/files", "/links", "/callback", "/requestsx", "/rx/y"] {
            assert_eq!(Entry::of(path), Entry::Main, "{path}");
        }
    }
}
