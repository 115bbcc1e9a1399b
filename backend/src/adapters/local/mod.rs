//! The embedded services of the local stack: metadata store, S3-compatible endpoint and a
//! Cognito-compatible identity provider.

pub mod idp;
pub mod live;
pub mod s3_credentials;
pub mod s3_endpoint;
mod share_attempts;
pub mod store;
