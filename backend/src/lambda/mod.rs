//! What the two Lambda functions share: JSON logs for CloudWatch, and the event handling of
//! `ferry-events` (also used by `ferry serve`'s SQS poller in AWS mode).

pub mod events;

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
