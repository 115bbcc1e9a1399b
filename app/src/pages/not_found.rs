//! Any path the app does not know.

use leptos::prelude::*;

use crate::components::icons;
use crate::use_title;

#[component]
pub fn NotFound() -> impl IntoView {
    use_title(|| "Page not found".to_owned());
    view! {
        <div class="page narrow">
            <section class="state-card">
                {icons::warning()}
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address. If someone sent you a link, check that it is complete."</p>
                // A page load: `/` is the landing page's own entry (both app entries show this).
                <a href="/" class="button primary" rel="external">"Go to the home page"</a>
            </section>
        </div>
    }
}
