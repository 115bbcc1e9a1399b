//! Ferry's integration tests, as one test binary: the library and its SDKs are linked once, and
//! every module shares the helpers in [`support`]. Run one area with nextest's filters, e.g.
//! `cargo nextest run --workspace -E 'binary(it) & test(/^idp::/)'`.

mod support;

mod api;
mod aws_cognito;
mod aws_serve;
mod contract_metadata;
mod contract_objects;
mod events;
mod idp;
mod infra_template;
mod lambda_functions;
mod live;
mod local_stack;
mod multipart;
mod s3_clients;
mod s3_endpoint;
mod site;
