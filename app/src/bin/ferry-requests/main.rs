//! The file requests' entry (`requests.html`): the owner's `/requests` and the guests' page
//! `/r/{token}`, a wasm of their own so the main entry (`/files`) does not carry them.
use leptos::prelude::*;

fn main() {
    ferry_app::boot(|config| view! { <ferry_app::RequestsApp config/> });
}
