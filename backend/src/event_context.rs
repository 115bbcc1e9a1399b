//! The ports and limits the upload use cases share: the object-created handler in [`crate::upload_events`]
//! and the thumbnail step in [`crate::thumbnail`] that it runs. Its own module so that neither of
//! the two has to import the other's context.

use std::sync::Arc;

use crate::config::Limits;
use crate::ports::{MetadataStore, ObjectStore};
use crate::work_gate::WorkGate;

/// The ports the event handlers need.
#[derive(Clone)]
pub struct EventContext {
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub limits: Arc<Limits>,
    /// Thumbnail decodes of this process take turns here ([`WorkGate::for_images`]).
    pub images: Arc<WorkGate>,
}
