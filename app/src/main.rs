//! The app's main entry (`index.html`): `/files`, `/links` and the sign-in callback.
use leptos::prelude::*;

fn main() {
    ferry_app::boot(|config| view! { <ferry_app::App config/> });
}
