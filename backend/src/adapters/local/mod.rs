//! The embedded services of the local stack: metadata store, S3-compatible endpoint and a
//! Cognito-compatible identity provider.

pub mod idp;
mod part_files;
mod part_ledger;
mod s3_checksums;
pub mod s3_credentials;
pub mod s3_endpoint;
mod s3_gate;
mod share_attempts;
pub mod store;
