//! Building blocks the pages are made of. They render; the rules live in plain modules.

pub mod batch_share;
pub mod dialog;
pub mod drop_zone;
pub mod encrypt_toggle;
pub mod file_browser;
pub mod file_list;
pub mod guest_files;
pub mod icons;
pub mod qr;
pub mod request_dialog;
pub mod share_dialog;
pub mod share_many;
pub mod upload_panel;

use std::time::Duration;

use leptos::prelude::*;

use crate::auth::flow::now_ms;

/// The current time, ticking twice a minute, so "5 minutes ago" stays true.
#[derive(Clone, Copy)]
pub struct Now(pub RwSignal<i64>);

impl Now {
    pub fn start() -> Self {
        let now = RwSignal::new(now_ms());
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(30))
        {
            on_cleanup(move || handle.clear());
        }
        Self(now)
    }

    pub fn get(&self) -> i64 {
        self.0.get()
    }
}
