//! The table's stream as live updates: a file record that settled, a share whose count rose or
//! that DynamoDB's TTL removed. Reading changes from the stream (rather than from the API) keeps
//! the API function free of any permission to post to connections, and catches every writer.

use aws_lambda_events::dynamodb::EventRecord as StreamRecord;
use serde_json::Value;

use super::events_function::removed_by_ttl;
use crate::adapters::aws::stream::{file_from_image, share_from_image};
use crate::live::{LiveNotifier, file_events, share_events};

/// Sends the live updates `record` means, if any; failures are logged (live updates are
/// best-effort and a retried batch must not repeat its clean-up for them).
pub async fn notify(live: &LiveNotifier, record: &StreamRecord) {
    let image = |image| serde_json::to_value(image).unwrap_or(Value::Null);
    let (old, new) = (
        image(&record.change.old_image),
        image(&record.change.new_image),
    );
    let files = (file_from_image(&old), file_from_image(&new));
    if let (Ok(before), Ok(after)) = &files
        && let Some(owner) = after.as_ref().or(before.as_ref()).map(|f| f.owner.clone())
    {
        let events = file_events(before.as_ref(), after.as_ref());
        live.notify_logged(&owner, &events).await;
        return;
    }
    match (share_from_image(&old), share_from_image(&new)) {
        (Ok(before), Ok(after)) => {
            let Some(owner) = after.as_ref().or(before.as_ref()).map(|s| s.owner.clone()) else {
                return;
            };
            let events = share_events(before.as_ref(), after.as_ref(), removed_by_ttl(record));
            live.notify_logged(&owner, &events).await;
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "stream image not read; no live update");
        }
    }
}
