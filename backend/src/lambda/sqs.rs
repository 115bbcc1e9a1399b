//! The SQS poller of `ferry serve` in AWS mode: reads S3 object-created notifications from the
//! events queue and feeds them to the same handler as the `ferry-events` Lambda. A message is
//! deleted only once handled; failed ones reappear after the queue's visibility timeout.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;

use super::events_function::EventsFunction;

/// Long-poll wait per receive (SQS allows up to 20 s).
const WAIT: Duration = Duration::from_secs(10);

/// Receives one batch (waiting up to `wait`), handles it, and returns how many messages were
/// handled successfully.
pub async fn poll_once(
    sqs: &Client,
    queue_url: &str,
    handler: &EventsFunction,
    wait: Duration,
) -> anyhow::Result<usize> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("receiving from {queue_url}: {}", DisplayErrorContext(&e)))?;
    let mut handled = 0;
    for message in out.messages() {
        let body = message.body().unwrap_or_default();
        match handler.handle_s3_notification(body).await {
            Ok(_) => {
                if let Some(receipt) = message.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!("deleting a message: {}", DisplayErrorContext(&e))
                        })?;
                }
                handled += 1;
            }
            Err(err) => tracing::error!(
                message_id = message.message_id().unwrap_or_default(),
                error = %err,
                "S3 notification failed; it will be retried"
            ),
        }
    }
    Ok(handled)
}

/// Polls until the task is dropped; errors are logged and retried after a pause.
pub async fn poll_forever(sqs: Client, queue_url: String, handler: EventsFunction) {
    tracing::info!(queue = %queue_url, "polling for upload events");
    loop {
        if let Err(err) = poll_once(&sqs, &queue_url, &handler, WAIT).await {
            tracing::warn!(error = %err, "polling the events queue failed");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}
