//! Mounts the app once `/config.json` has been read (the HTML shows a splash until then).
use leptos::prelude::*;

fn main() {
    // Debug builds explain panics in the console; release builds stay small.
    #[cfg(debug_assertions)]
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    // Leptos's executor starts with the first mount, so this first task uses wasm-bindgen's.
    wasm_bindgen_futures::spawn_local(async {
        let config = ferry_app::config::load().await;
        if let Some(splash) = document().get_element_by_id("splash") {
            splash.remove();
        }
        match config {
            Ok(config) => mount_to_body(move || view! { <ferry_app::App config/> }),
            Err(message) => mount_to_body(move || view! { <ferry_app::StartupError message/> }),
        }
    });
}
