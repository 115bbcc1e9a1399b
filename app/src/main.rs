//! Mounts the app.
fn main() {
    leptos::mount::mount_to_body(ferry_app::App);
}
