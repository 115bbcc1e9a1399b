//! The `ferry-events` Lambda: SQS batches of S3 object-created notifications, and DynamoDB
//! stream records of removed files and of changes that become live updates (see [`ferry::lambda::events_function`]).

use std::sync::Arc;

use ferry::adapters::aws::AwsAdapters;
use ferry::config::Limits;
use ferry::lambda::events_function::EventsFunction;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    ferry::lambda::init_json_logs();
    let aws = AwsAdapters::from_env().await?;
    let ctx = aws.event_context(Arc::new(Limits::from_env()?));
    let mut function = EventsFunction::new(ctx, Some(aws.meta.clone()));
    if let Some(live) = aws.live_notifier() {
        function = function.with_live(live);
    }
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        function.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
