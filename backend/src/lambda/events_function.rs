//! The `ferry-events` function: one handler for (a) SQS batches of S3 object-created
//! notifications and (b) DynamoDB stream records of removed file items, and of changed files and
//! shares, which become live updates to their owner's open pages ([`super::live_stream`]).
//!
//! Failures are reported per record (`batchItemFailures`), so one bad record is retried alone and
//! ends up in the dead-letter queue instead of holding up its batch. Every step is idempotent.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord as StreamRecord};
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::Value;

use crate::adapters::aws::DynamoMetadataStore;
use crate::adapters::aws::stream::file_from_image;
use crate::domain::FileRecord;
use crate::event_context::EventContext;
use crate::file_objects::remove_file_objects;
use crate::live::LiveNotifier;
use crate::ports::MetadataError;
use crate::upload_events::{Outcome, UploadEventError, object_created};

/// Gives back the quota of uploads that DynamoDB's TTL removed while still pending.
#[async_trait]
pub trait ExpiredUploads: Send + Sync {
    /// Idempotent; returns whether this call released anything.
    async fn release_expired_upload(&self, file: &FileRecord) -> Result<bool, MetadataError>;
}

#[async_trait]
impl ExpiredUploads for DynamoMetadataStore {
    async fn release_expired_upload(&self, file: &FileRecord) -> Result<bool, MetadataError> {
        DynamoMetadataStore::release_expired_upload(self, file).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventsFunctionError {
    #[error("not an event this function handles: {0}")]
    Unrecognised(String),
    #[error("malformed {what}: {error}")]
    Malformed {
        what: &'static str,
        error: serde_json::Error,
    },
    #[error(transparent)]
    Handling(#[from] UploadEventError),
}

impl From<MetadataError> for EventsFunctionError {
    fn from(err: MetadataError) -> Self {
        Self::Handling(err.into())
    }
}

/// The function's state, built once per Lambda instance.
#[derive(Clone)]
pub struct EventsFunction {
    pub ctx: EventContext,
    pub expired: Option<Arc<dyn ExpiredUploads>>,
    /// Where live updates go; `None` sends none.
    pub live: Option<LiveNotifier>,
}

/// An S3 key as notifications carry it: URL-encoded, with `+` for spaces.
pub fn decode_s3_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// S3 always sends `userIdentity` and `requestParameters` (the typed event requires them);
/// emulators such as moto leave them out. Neither is used here.
fn with_emulator_gaps_filled(mut value: Value) -> Value {
    if let Some(records) = value.get_mut("Records").and_then(Value::as_array_mut) {
        for record in records.iter_mut().filter_map(Value::as_object_mut) {
            for field in ["userIdentity", "requestParameters"] {
                record
                    .entry(field)
                    .or_insert_with(|| Value::Object(Default::default()));
            }
        }
    }
    value
}

/// Whether a stream record is DynamoDB's TTL deleting an item (rather than the API).
pub(super) fn removed_by_ttl(record: &StreamRecord) -> bool {
    record
        .user_identity
        .as_ref()
        .is_some_and(|who| who.type_ == "Service" && who.principal_id == "dynamodb.amazonaws.com")
}

fn failure(id: impl Into<String>) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id.into();
    failure
}

impl EventsFunction {
    pub fn new(ctx: EventContext, expired: Option<Arc<dyn ExpiredUploads>>) -> Self {
        Self {
            ctx,
            expired,
            live: None,
        }
    }

    /// Sends live updates of file and share changes through `live`.
    pub fn with_live(self, live: LiveNotifier) -> Self {
        Self {
            live: Some(live),
            ..self
        }
    }

    /// Any invocation: tells SQS batches from stream batches by their records' `eventSource`.
    pub async fn handle(&self, event: Value) -> Result<SqsBatchResponse, EventsFunctionError> {
        let source = event["Records"][0]["eventSource"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match source.as_str() {
            "aws:sqs" => {
                let batch: SqsEvent = serde_json::from_value(event).map_err(|error| {
                    EventsFunctionError::Malformed {
                        what: "SQS event",
                        error,
                    }
                })?;
                Ok(self.handle_sqs(batch).await)
            }
            "aws:dynamodb" => {
                let batch: StreamEvent = serde_json::from_value(event).map_err(|error| {
                    EventsFunctionError::Malformed {
                        what: "DynamoDB stream event",
                        error,
                    }
                })?;
                Ok(self.handle_stream(batch).await)
            }
            // An empty batch has nothing to fail.
            "" if event["Records"].as_array().is_some_and(Vec::is_empty) => {
                Ok(SqsBatchResponse::default())
            }
            other => Err(EventsFunctionError::Unrecognised(format!(
                "eventSource {other:?}"
            ))),
        }
    }

    pub async fn handle_sqs(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in batch.records {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.as_deref().unwrap_or_default();
            if let Err(err) = self.handle_s3_notification(body).await {
                tracing::error!(message_id = %id, error = %err, "S3 notification failed; SQS will retry it");
                response.batch_item_failures.push(failure(id));
            }
        }
        response
    }

    /// One SQS message body: an S3 event notification (or S3's test event, which is ignored).
    pub async fn handle_s3_notification(
        &self,
        body: &str,
    ) -> Result<Vec<Outcome>, EventsFunctionError> {
        let value: Value =
            serde_json::from_str(body).map_err(|error| EventsFunctionError::Malformed {
                what: "S3 notification",
                error,
            })?;
        if value["Event"] == "s3:TestEvent" {
            tracing::info!("S3 test event ignored");
            return Ok(Vec::new());
        }
        let event: S3Event =
            serde_json::from_value(with_emulator_gaps_filled(value)).map_err(|error| {
                EventsFunctionError::Malformed {
                    what: "S3 notification",
                    error,
                }
            })?;
        let mut outcomes = Vec::with_capacity(event.records.len());
        for record in event.records {
            let name = record.event_name.as_deref().unwrap_or_default();
            let Some(raw_key) = record.s3.object.key.as_deref() else {
                continue;
            };
            if !name.starts_with("ObjectCreated:") {
                tracing::debug!(event = name, "not an object-created event; ignored");
                continue;
            }
            let key = decode_s3_key(raw_key);
            let outcome = object_created(&self.ctx, &key).await?;
            tracing::info!(key, ?outcome, "object created");
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    pub async fn handle_stream(&self, batch: StreamEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in batch.records {
            if let Err(err) = self.handle_stream_record(&record).await {
                let id = record
                    .change
                    .sequence_number
                    .clone()
                    .unwrap_or_else(|| record.event_id.clone());
                tracing::error!(sequence = %id, error = %err, "stream record failed; it will be retried");
                response.batch_item_failures.push(failure(id));
            }
        }
        response
    }

    /// A removed item's clean-up, then (once that succeeded, so a retry does not repeat it) the
    /// live update the change means to its owner.
    async fn handle_stream_record(&self, record: &StreamRecord) -> Result<(), EventsFunctionError> {
        if record.event_name == "REMOVE" {
            self.handle_removed(record).await?;
        }
        if let Some(live) = &self.live {
            super::live_stream::notify(live, record).await;
        }
        Ok(())
    }

    /// A removed file item: its object and thumbnail go too; a pending upload removed by TTL
    /// also gives back its reserved quota (the API's own deletes already did).
    async fn handle_removed(&self, record: &StreamRecord) -> Result<(), EventsFunctionError> {
        let image = serde_json::to_value(&record.change.old_image).map_err(|error| {
            EventsFunctionError::Malformed {
                what: "stream image",
                error,
            }
        })?;
        let Some(file) = file_from_image(&image)? else {
            return Ok(());
        };
        // A pending multipart upload's parts go too (the lifecycle rule would, days later).
        remove_file_objects(self.ctx.objects.as_ref(), &file)
            .await
            .map_err(UploadEventError::from)?;
        let ttl = removed_by_ttl(record);
        let released = match (&self.expired, ttl && file.holds_quota()) {
            (Some(expired), true) => expired.release_expired_upload(&file).await?,
            _ => false,
        };
        if released {
            // An abandoned guest upload gives its place back to its request (once: only the
            // call that released the bytes gets here).
            self.ctx
                .meta
                .release_guest_files(std::slice::from_ref(&file))
                .await
                .map_err(UploadEventError::from)?;
        }
        tracing::info!(file = %file.id, by_ttl = ttl, released, "file removed; objects deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_keys_are_url_decoded_with_plus_as_space() {
        assert_eq!(decode_s3_key("files/u/a+b%2Bc%20d"), "files/u/a b+c d");
        assert_eq!(decode_s3_key("files/user-1/0190"), "files/user-1/0190");
    }
}
