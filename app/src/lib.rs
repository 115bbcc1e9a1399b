//! Ferry's web app.
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    view! { <main><h1>"Ferry"</h1></main> }
}
