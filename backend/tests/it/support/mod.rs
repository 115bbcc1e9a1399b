//! What the integration tests share: the local stack driven over HTTP ([`local`]), the embedded
//! S3 endpoint behind the S3 adapter ([`embedded_s3`]), object storage that fails on command
//! ([`faulty`]), records written straight into a store ([`records`]) and the AWS emulators
//! ([`aws`]).

pub mod aws;
pub mod embedded_s3;
pub mod faulty;
pub mod local;
pub mod records;
