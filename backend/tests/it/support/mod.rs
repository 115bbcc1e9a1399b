//! What the integration tests share: the local stack driven over HTTP ([`local`]), the embedded
//! S3 endpoint behind the S3 adapter ([`embedded_s3`]), object storage that fails on command
//! ([`faulty`]) and the AWS emulators ([`aws`]).

pub mod aws;
pub mod embedded_s3;
pub mod faulty;
pub mod local;
