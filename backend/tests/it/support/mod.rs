//! What the integration tests share: the local stack driven over HTTP ([`local`]), the embedded
//! S3 endpoint behind the S3 adapter ([`embedded_s3`]) and the AWS emulators ([`aws`]).

pub mod aws;
pub mod embedded_s3;
pub mod local;
