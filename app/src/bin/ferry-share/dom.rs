//! A few DOM helpers on web-sys, and the icons the page shows (the app's `components::icons`,
//! as markup). Text that comes from the API only ever goes in through `text_content`.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Event};

const SMALL: &str = r#"<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d=""#;
const BIG: &str = r#"<svg class="icon big" viewBox="0 0 24 24" width="40" height="40" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">"#;

/// The icons of the page, drawn as the app draws them.
#[derive(Clone, Copy)]
pub enum Icon {
    Download,
    Lock,
    Warning,
    Clock,
}

impl Icon {
    /// Appends the icon's SVG to `parent` (constant markup only).
    pub fn add_to(self, parent: &Element) {
        let markup = match self {
            Icon::Download => format!(
                "{SMALL}M12 4v12m0 0-5-5m5 5 5-5M4 18v.5A1.5 1.5 0 0 0 5.5 20h13a1.5 1.5 0 0 0 1.5-1.5V18\"></path></svg>"
            ),
            Icon::Lock => format!("{SMALL}M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3\"></path></svg>"),
            Icon::Warning => {
                format!("{BIG}<path d=\"M12 3 2 20h20L12 3zM12 10v4M12 17h.01\"></path></svg>")
            }
            Icon::Clock => format!(
                "{BIG}<circle cx=\"12\" cy=\"12\" r=\"9\"></circle><path d=\"M12 7v5l3 2\"></path></svg>"
            ),
        };
        let _ = parent.insert_adjacent_html("beforeend", &markup);
    }
}

pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("a page has a document")
}

/// A new `<tag class="…">`.
pub fn el(tag: &str, class: &str) -> Element {
    let element = document()
        .create_element(tag)
        .expect_throw("a known tag name");
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element
}

/// A new `<tag class="…">text</tag>`.
pub fn text(tag: &str, class: &str, text: &str) -> Element {
    let element = el(tag, class);
    element.set_text_content(Some(text));
    element
}

/// Sets an attribute the page itself chose.
pub fn attr(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

pub fn add(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// Empties `element`.
pub fn clear(element: &Element) {
    element.set_text_content(None);
}

/// Runs `handler` on every `event` at `target`, for the life of the page.
pub fn on(target: &Element, event: &str, handler: impl FnMut(Event) + 'static) {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// Runs `tick` every `ms` milliseconds, for the life of the page.
pub fn every(ms: i32, tick: impl FnMut() + 'static) {
    let closure = Closure::<dyn FnMut()>::new(tick);
    if let Some(window) = web_sys::window() {
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            closure.as_ref().unchecked_ref(),
            ms,
        );
    }
    closure.forget();
}

/// `"{title} · Ferry"`, as the app titles its pages.
pub fn set_title(title: &str) {
    document().set_title(&format!("{title} · Ferry"));
}
