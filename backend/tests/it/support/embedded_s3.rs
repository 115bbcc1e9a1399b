//! The embedded S3 endpoint, reached through the aws-sdk-s3 adapter, for tests that drive the
//! backend's pieces (the Router, the event handler) directly rather than the whole local stack.

use std::path::PathBuf;
use std::sync::Arc;

use ferry::adapters::local::s3_endpoint::{self, S3Endpoint, S3EndpointConfig};
use ferry::adapters::s3::{S3ObjectStore, local_client};

const ACCESS_KEY: &str = "AKTEST";
const SECRET_KEY: &str = "secret-test";

/// An endpoint serving the bucket `bucket` from `root`, and the object store over it. Nothing
/// is reported when objects are created: the tests call the handler themselves, so they control
/// when and how often it runs.
pub async fn start(root: PathBuf) -> (S3Endpoint, Arc<S3ObjectStore>) {
    let s3 = s3_endpoint::start(
        S3EndpointConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            root,
            bucket: "bucket".into(),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            allowed_origins: vec![],
            limits: Default::default(),
        },
        Arc::new(|_key| Box::pin(async {})),
    )
    .await
    .unwrap();
    let objects = Arc::new(S3ObjectStore::new(
        local_client(&s3.url(), ACCESS_KEY, SECRET_KEY, "us-east-1"),
        "bucket",
    ));
    (s3, objects)
}
