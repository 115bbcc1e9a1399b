//! The AWS adapters: DynamoDB for metadata (S3 lives in [`super::s3`], Cognito tokens are checked
//! by [`super::jwks`]), plus provisioning and the SQS poller used when `ferry serve` runs against
//! AWS or an emulator.

pub mod dynamodb;
mod items;

pub use dynamodb::{DynamoMetadataStore, create_table};
