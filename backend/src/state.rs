//! What every request handler can reach: the adapters behind the ports, limits and the clock.

use std::sync::Arc;

use crate::config::Limits;
use crate::event_context::EventContext;
use crate::live::LiveNotifier;
use crate::ports::{Clock, MetadataStore, ObjectStore, TokenVerifier};
use crate::rate_limit::GuestLimiter;
use crate::work_gate::WorkGate;

/// Cheap to clone: everything is behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub tokens: Arc<dyn TokenVerifier>,
    pub clock: Arc<dyn Clock>,
    pub limits: Arc<Limits>,
    /// Origin of the site, for share links: `{public_base_url}/s/{token}`.
    pub public_base_url: Arc<str>,
    /// Bounds concurrent password hashing (share passwords here; the local identity provider
    /// shares the same gate in `ferry serve`). Replace it after [`AppState::new`] for another
    /// bound (tests use a tiny one).
    pub password_work: Arc<WorkGate>,
    /// Bounds concurrent thumbnail decoding when a request settles an upload itself; the local
    /// stack shares it with its object-created events.
    pub image_work: Arc<WorkGate>,
    /// Per-request and per-client bound on the guest routes of file requests.
    pub guest_limits: Arc<GuestLimiter>,
    /// Live updates sent by requests themselves (the local server; in AWS the table's stream
    /// drives them, so the API needs no right to post to connections). `None`: none sent.
    pub live: Option<Arc<LiveNotifier>>,
}

impl AppState {
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        meta: Arc<dyn MetadataStore>,
        tokens: Arc<dyn TokenVerifier>,
        clock: Arc<dyn Clock>,
        limits: Limits,
        public_base_url: &str,
    ) -> Self {
        Self {
            objects,
            meta,
            tokens,
            clock,
            limits: Arc::new(limits),
            public_base_url: public_base_url.trim_end_matches('/').into(),
            password_work: Arc::new(WorkGate::for_passwords()),
            image_work: Arc::new(WorkGate::for_images()),
            guest_limits: Arc::new(GuestLimiter::default()),
            live: None,
        }
    }

    /// What the object-created handler needs, for requests that settle an upload whose event
    /// was lost or is late.
    pub fn event_context(&self) -> EventContext {
        EventContext {
            objects: Arc::clone(&self.objects),
            meta: Arc::clone(&self.meta),
            limits: Arc::clone(&self.limits),
            images: Arc::clone(&self.image_work),
        }
    }
}
