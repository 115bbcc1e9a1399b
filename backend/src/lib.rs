//! Ferry's backend: the HTTP API (one axum [`Router`] for Lambda and the local server), the
//! handling of uploaded objects, and the adapters behind the [`ports`].

pub mod adapters;
pub mod auth;
pub mod aws_serve;
pub mod config;
pub mod domain;
pub mod error;
pub mod event_context;
pub mod file_objects;
pub mod lambda;
pub mod live;
pub mod live_ports;
pub mod local;
pub mod local_live;
pub mod ports;
pub mod rate_limit;
pub mod routes;
pub mod serve_loop;
pub mod site;
pub mod site_server;
mod state;
pub mod thumbnail;
pub mod upload_events;
pub mod work_gate;

pub use state::AppState;

use axum::Router;

/// The whole HTTP API under `/api`, ready for `lambda_http::run` or `axum::serve`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api", routes::router())
        .with_state(state)
}
