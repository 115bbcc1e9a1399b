//! Live updates in the browser: one WebSocket per signed-in tab to `SiteConfig::live_url`
//! (the access token offered as the `bearer.{token}` subprotocol), reconnecting with capped,
//! jittered backoff. Events update the files list and whoever subscribed (the links page), and
//! a download shows a short notice. While the socket is down the files page polls instead
//! ([`Live::poll_tick`]); after a reconnect its next tick refreshes the list once, for what was
//! missed: never more than one list request per tick.

use std::time::Duration;

use ferry_api::live::{LiveEvent, offered_protocols};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::api_client::Api;
use crate::auth::flow::Auth;
use crate::library::Library;

/// The first reconnect waits about this long; each failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// API Gateway closes a WebSocket idle for 10 minutes: say something before that.
const KEEP_ALIVE: Duration = Duration::from_secs(5 * 60);
/// How long a notice stays.
const NOTICE_FOR: Duration = Duration::from_secs(6);
/// While connected, pending files are still asked about every this many polling ticks, in case
/// an event came before the socket opened.
const SAFETY_POLL_TICKS: u32 = 8;

/// The wait before reconnect attempt `attempt` (0 = the first after a drop): doubling from
/// [`FIRST_BACKOFF`] to [`MAX_BACKOFF`], scaled by `jitter` in `[0, 1]` to between half and
/// all of it, so tabs that lost the server together do not return together.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let full = FIRST_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The socket URL for `live_url` (absolute `ws(s)://`, or a path on the page's origin) seen from
/// a page served over `page_protocol` (`"https:"`) at `host`.
pub fn socket_url(live_url: &str, page_protocol: &str, host: &str) -> String {
    if live_url.starts_with("ws://") || live_url.starts_with("wss://") {
        return live_url.to_owned();
    }
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{host}/{}", live_url.trim_start_matches('/'))
}

/// `<html data-live="open|closed">`: whether updates arrive live (styles and tests can tell).
fn mark_page(open: bool) {
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-live", if open { "open" } else { "closed" });
    }
}

/// A short message about something that happened elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: u64,
    pub text: String,
}

/// One open socket and the callbacks it holds.
struct Connection {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// `Copy` handle, one per tab.
#[derive(Clone, Copy)]
pub struct Live {
    /// Whether the socket is open now.
    pub connected: RwSignal<bool>,
    pub notices: RwSignal<Vec<Notice>>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    /// Failed attempts since the socket was last open.
    attempts: StoredValue<u32>,
    was_open: StoredValue<bool>,
    /// Bumped on sign-out, so pending reconnects of the old session give up.
    generation: StoredValue<u64>,
    listeners: StoredValue<Vec<(u64, Callback<LiveEvent>)>>,
    next_id: StoredValue<u64>,
    ticks: StoredValue<u32>,
    /// The socket reopened: events may have been missed.
    catch_up: StoredValue<bool>,
    auth: Auth,
    api: Api,
    library: Library,
}

impl Live {
    /// Connects whenever someone is signed in and the site has live updates.
    pub fn start(auth: Auth, api: Api, library: Library) -> Self {
        let live = Self {
            connected: RwSignal::new(false),
            notices: RwSignal::new(Vec::new()),
            connection: StoredValue::new_local(None),
            attempts: StoredValue::new(0),
            was_open: StoredValue::new(false),
            generation: StoredValue::new(0),
            listeners: StoredValue::new(Vec::new()),
            next_id: StoredValue::new(0),
            ticks: StoredValue::new(0),
            catch_up: StoredValue::new(false),
            auth,
            api,
            library,
        };
        Effect::new(move |_| {
            if auth.signed_in() {
                live.open();
            } else {
                live.close();
            }
        });
        let _ = set_interval_with_handle(move || live.keep_alive(), KEEP_ALIVE);
        live
    }

    /// One tick of the files page's polling: at most one list request. After a reconnect, the
    /// list is refreshed; otherwise pending files are asked about while the socket is down, and
    /// now and then while it is up.
    pub fn poll_tick(self) {
        let tick = self.ticks.get_value().wrapping_add(1);
        self.ticks.set_value(tick);
        if self.catch_up.get_value() {
            self.catch_up.set_value(false);
            spawn_local(self.library.reload(true));
        } else if self.library.has_pending()
            && (!self.connected.get_untracked() || tick.is_multiple_of(SAFETY_POLL_TICKS))
        {
            spawn_local(self.library.refresh_pending());
        }
    }

    /// Calls `on_event` with every event until the calling component is gone.
    pub fn subscribe(self, on_event: impl Fn(LiveEvent) + Send + Sync + 'static) {
        let id = self.fresh_id();
        let callback = Callback::new(on_event);
        self.listeners.update_value(|l| l.push((id, callback)));
        on_cleanup(move || {
            self.listeners
                .try_update_value(|l| l.retain(|(i, _)| *i != id));
        });
    }

    fn fresh_id(self) -> u64 {
        let id = self.next_id.get_value().wrapping_add(1);
        self.next_id.set_value(id);
        id
    }

    fn open(self) {
        if self.connection.with_value(Option::is_some) {
            return;
        }
        let Some(live_url) = self.auth.config().live_url else {
            return;
        };
        let generation = self.generation.get_value();
        spawn_local(async move {
            // A current token (refreshed if it expired); without one, sign-in takes over.
            let Ok(token) = self.auth.bearer().await else {
                return;
            };
            if generation != self.generation.get_value()
                || self.connection.with_value(Option::is_some)
            {
                return;
            }
            let location = window().location();
            let url = socket_url(
                &live_url,
                &location.protocol().unwrap_or_default(),
                &location.host().unwrap_or_default(),
            );
            let protocols = js_sys::Array::new();
            for protocol in offered_protocols(&token) {
                protocols.push(&protocol.into());
            }
            match WebSocket::new_with_str_sequence(&url, &protocols) {
                Ok(socket) => self.attach(socket, generation),
                Err(_) => self.retry_later(generation),
            }
        });
    }

    fn attach(self, socket: WebSocket, generation: u64) {
        let on_open = Closure::<dyn FnMut()>::new(move || {
            self.attempts.set_value(0);
            self.connected.set(true);
            mark_page(true);
            if self.was_open.get_value() {
                // Events sent while the socket was down are lost: catch up (on the next tick).
                self.catch_up.set_value(true);
            }
            self.was_open.set_value(true);
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            // A newer server may send more kinds of events: what this build lacks is skipped.
            if let Some(event) = crate::live_event::parse(&text) {
                self.dispatch(event);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            self.connected.set(false);
            mark_page(false);
            // Not dropped here: this callback belongs to it. Dropped once the callback returned.
            let closed = self.connection.try_update_value(Option::take).flatten();
            set_timeout(move || drop(closed), Duration::ZERO);
            self.retry_later(generation);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.connection.set_value(Some(Connection {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        }));
    }

    fn retry_later(self, generation: u64) {
        let attempt = self.attempts.get_value();
        self.attempts.set_value(attempt.saturating_add(1));
        let wait = backoff(attempt, js_sys::Math::random());
        set_timeout(
            move || {
                if generation == self.generation.get_value() && untrack(|| self.auth.signed_in()) {
                    self.open();
                }
            },
            wait,
        );
    }

    fn close(self) {
        self.generation
            .set_value(self.generation.get_value().wrapping_add(1));
        self.connection.set_value(None);
        self.attempts.set_value(0);
        self.was_open.set_value(false);
        self.connected.set(false);
    }

    fn keep_alive(self) {
        self.connection.with_value(|c| {
            if let Some(c) = c
                .as_ref()
                .filter(|c| c.socket.ready_state() == WebSocket::OPEN)
            {
                let _ = c.socket.send_with_str(r#"{"type":"ping"}"#);
            }
        });
    }

    fn dispatch(self, event: LiveEvent) {
        match &event {
            LiveEvent::FileReady { file_id }
            | LiveEvent::FileFailed { file_id }
            | LiveEvent::GuestFileArrived { file_id, .. } => {
                let (api, library, id) = (self.api, self.library, file_id.clone());
                spawn_local(async move {
                    match api.get_file(&id).await {
                        Ok(file) => {
                            self.tell_arrival(&file);
                            library.upsert(file);
                        }
                        Err(err) if err.status == 404 => library.remove(&id),
                        Err(_) => {}
                    }
                });
            }
            LiveEvent::ShareDownloaded { file_id, .. } => self.tell_downloaded(file_id.clone()),
            LiveEvent::ShareEnded { .. } => {}
        }
        for (_, listener) in self.listeners.get_value() {
            listener.run(event.clone());
        }
    }

    /// A guest's file that just became ready is worth a word (once: not when already known
    /// as ready).
    fn tell_arrival(self, file: &ferry_api::File) {
        let Some(from) = &file.request else { return };
        let known_ready = self.library.files.with_untracked(|files| {
            files
                .iter()
                .any(|f| f.id == file.id && f.status == ferry_api::FileStatus::Ready)
        });
        if file.status == ferry_api::FileStatus::Ready && !known_ready {
            self.notify(format!("{} arrived through “{}”", file.name, from.title));
        }
    }

    fn tell_downloaded(self, file_id: String) {
        let known = self.library.files.with_untracked(|files| {
            files
                .iter()
                .find(|f| f.id == file_id)
                .map(|f| f.name.clone())
        });
        spawn_local(async move {
            let name = match known {
                Some(name) => Some(name),
                None => self.api.get_file(&file_id).await.ok().map(|f| f.name),
            };
            self.notify(match name {
                Some(name) => format!("{name} was downloaded"),
                None => "A shared file was downloaded".to_owned(),
            });
        });
    }

    /// Shows `text` for a few seconds.
    pub fn notify(self, text: String) {
        let id = self.fresh_id();
        self.notices.update(|n| n.push(Notice { id, text }));
        set_timeout(
            move || {
                self.notices
                    .try_update(|n| n.retain(|notice| notice.id != id));
            },
            NOTICE_FOR,
        );
    }
}

/// The notices, read out politely by screen readers.
#[component]
pub fn LiveNotices() -> impl IntoView {
    let live = expect_context::<Live>();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || live.notices.get() key=|n| n.id let:notice>
                <p class="toast">{notice.text}</p>
            </For>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_jitters_within_half() {
        assert_eq!(backoff(0, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(5, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(40, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(40, 0.0), MAX_BACKOFF / 2);
        assert_eq!(backoff(2, 7.0), backoff(2, 1.0), "jitter is clamped");
    }

    #[test]
    fn socket_urls_follow_the_pages_scheme_unless_absolute() {
        assert_eq!(
            socket_url("/live", "http:", "127.0.0.1:8080"),
            "ws://127.0.0.1:8080/live"
        );
        assert_eq!(
            socket_url("/live", "https:", "ferry.example.com"),
            "wss://ferry.example.com/live"
        );
        assert_eq!(
            socket_url(
                "wss://abc.execute-api.eu-west-1.amazonaws.com/live",
                "https:",
                "x"
            ),
            "wss://abc.execute-api.eu-west-1.amazonaws.com/live"
        );
    }
}
