//! What the two Lambda functions share: JSON logs for CloudWatch, the event handling of
//! `ferry-events` (also fed by [`sqs`], `ferry serve`'s poller in AWS mode), and the API's state
//! and event context built on the AWS adapters.

pub mod events_function;
pub mod live_function;
mod live_stream;
pub mod sqs;
mod wiring;

use tracing_subscriber::EnvFilter;

/// JSON log lines (one object per event, no ANSI colours, no timestamps: CloudWatch adds them),
/// filtered by `RUST_LOG` (default `info`).
pub fn init_json_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
