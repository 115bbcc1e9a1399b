//! Adapters behind the ports: AWS services, and the embedded stand-ins of the local stack.

pub mod aws;
pub mod jwks;
pub mod local;
pub mod s3;
