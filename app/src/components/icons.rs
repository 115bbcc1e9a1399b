//! Small inline SVG icons (stroke follows `currentColor`, decorative: hidden from readers).

use leptos::prelude::*;

fn icon(path: &'static str) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor"
            stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <path d=path></path>
        </svg>
    }
}

pub fn logo() -> impl IntoView {
    view! {
        <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <rect width="32" height="32" rx="9" fill="var(--accent)"></rect>
            <path d="M7 19.5c3 2.6 6 2.6 9 0s6-2.6 9 0M9 15l7-7 7 7M16 8v10" fill="none"
                stroke="var(--on-accent)" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"></path>
        </svg>
    }
}

pub fn upload() -> impl IntoView {
    icon("M12 16V4m0 0-5 5m5-5 5 5M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2")
}

pub fn download() -> impl IntoView {
    icon("M12 4v12m0 0-5-5m5 5 5-5M4 18v.5A1.5 1.5 0 0 0 5.5 20h13a1.5 1.5 0 0 0 1.5-1.5V18")
}

pub fn share() -> impl IntoView {
    icon(
        "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
    )
}

pub fn trash() -> impl IntoView {
    icon("M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3")
}

pub fn copy() -> impl IntoView {
    icon("M9 9h10v11H9zM5 15H4V4h11v1")
}

pub fn check() -> impl IntoView {
    icon("M5 12.5 10 17 19 7")
}

pub fn close() -> impl IntoView {
    icon("M6 6l12 12M18 6 6 18")
}

pub fn retry() -> impl IntoView {
    icon("M4 12a8 8 0 0 1 14-5.3L20 9M20 4v5h-5M20 12a8 8 0 0 1-14 5.3L4 15M4 20v-5h5")
}

pub fn lock() -> impl IntoView {
    icon("M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3")
}

pub fn warning() -> impl IntoView {
    view! {
        <svg class="icon big" viewBox="0 0 24 24" width="40" height="40" fill="none" stroke="currentColor"
            stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <path d="M12 3 2 20h20L12 3zM12 10v4M12 17h.01"></path>
        </svg>
    }
}

pub fn clock() -> impl IntoView {
    view! {
        <svg class="icon big" viewBox="0 0 24 24" width="40" height="40" fill="none" stroke="currentColor"
            stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <circle cx="12" cy="12" r="9"></circle>
            <path d="M12 7v5l3 2"></path>
        </svg>
    }
}

pub fn empty_box() -> impl IntoView {
    view! {
        <svg class="icon big" viewBox="0 0 48 48" width="56" height="56" fill="none" stroke="currentColor"
            stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
            <path d="M6 16 24 7l18 9-18 9zM6 16v17l18 9 18-9V16M24 25v17"></path>
        </svg>
    }
}

pub fn folder() -> impl IntoView {
    icon("M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z")
}

/// Points right; turned down (in CSS) when its folder is open.
pub fn chevron() -> impl IntoView {
    icon("m9 6 6 6-6 6")
}
