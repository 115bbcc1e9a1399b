//! The `ferry-live` Lambda: `$connect`, `$disconnect` and `$default` of the WebSocket API (see
//! [`ferry::lambda::live_function`]).

use std::sync::Arc;

use ferry::adapters::aws::AwsAdapters;
use ferry::lambda::live_function::LiveFunction;
use ferry::ports::SystemClock;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    ferry::lambda::init_json_logs();
    let aws = AwsAdapters::from_env().await?;
    let function = LiveFunction {
        tokens: Arc::new(aws.token_verifier()?),
        connections: Arc::new(aws.live_connections()),
        clock: Arc::new(SystemClock),
    };
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        function.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
