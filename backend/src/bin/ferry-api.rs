//! The `ferry-api` Lambda: the HTTP API behind API Gateway (HTTP API, JWT authorizer).
//!
//! Adapters are built once per Lambda instance, before the first request. The backend checks
//! every access token itself (signature, issuer, client, expiry), even behind the authorizer.

use ferry::adapters::aws::AwsAdapters;
use ferry::config::Limits;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ferry::lambda::init_json_logs();
    let aws = AwsAdapters::from_env().await?;
    let state = aws.app_state(Limits::from_env()?)?;
    lambda_http::run(ferry::router(state)).await
}
