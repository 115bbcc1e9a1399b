//! Mounts the app once `/config.json` has been read (the HTML shows a splash until then).
use leptos::prelude::*;

fn main() {
    leptos::task::spawn_local(async {
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
