//! The API's state and the event handler's context on the AWS adapters: wiring, kept here rather
//! than in `adapters::aws` so that the adapters know nothing of the layers that use them.

use std::sync::Arc;

use crate::adapters::aws::AwsAdapters;
use crate::adapters::aws::live::{DynamoConnections, ManagementApiPush};
use crate::config::Limits;
use crate::event_context::EventContext;
use crate::live::LiveNotifier;
use crate::ports::SystemClock;
use crate::state::AppState;
use crate::work_gate::WorkGate;

impl AwsAdapters {
    /// What the upload-event handler needs.
    pub fn event_context(&self, limits: Arc<Limits>) -> EventContext {
        EventContext {
            objects: self.objects.clone(),
            meta: self.meta.clone(),
            limits,
            images: Arc::new(WorkGate::for_images()),
        }
    }

    /// The API's state on these adapters (needs the Cognito settings and the public base URL).
    pub fn app_state(&self, limits: Limits) -> anyhow::Result<AppState> {
        let base = self
            .settings
            .public_base_url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("FERRY_PUBLIC_BASE_URL must be set"))?;
        Ok(AppState::new(
            self.objects.clone(),
            self.meta.clone(),
            Arc::new(self.token_verifier()?),
            Arc::new(SystemClock),
            limits,
            &base,
        ))
    }

    /// The live connections' records, in the metadata table.
    pub fn live_connections(&self) -> DynamoConnections {
        DynamoConnections::new(self.dynamodb.clone(), self.settings.table.clone())
    }

    /// Live updates through the WebSocket API at `FERRY_LIVE_ENDPOINT`; `None` when unset.
    pub fn live_notifier(&self) -> Option<LiveNotifier> {
        let endpoint = self.settings.live_endpoint.as_deref()?;
        Some(LiveNotifier::new(
            Arc::new(self.live_connections()),
            Arc::new(ManagementApiPush::new(&self.sdk, endpoint)),
        ))
    }
}
