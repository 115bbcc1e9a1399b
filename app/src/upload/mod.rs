//! The upload engine: everything between a dropped file and its bytes in object storage.
//! Components only render it and call [`Uploader`].
//!
//! - [`queue`]: which files wait, send, pause, fail or finish ([`UploadQueue`]), with
//!   [`Transfer`] (bytes, pace, time left) and [`UploadError`] (what went wrong, in words).
//! - [`schedule`]: one multipart upload's parts: which to hash, ask a URL for, send, retry.
//! - [`resume`]: what this browser remembers of unfinished multipart uploads.
//! - [`intake`]: files coming in with their folder paths, clutter left out, and the batch one
//!   link can cover (`batch`).
//! - the runner, [`Uploader`]: one checked `PUT` (`single`), a multipart upload opened
//!   (`opening`, fresh or resumed) and driven (`drive`) through a `session`, with the decisions
//!   that need no browser in `decisions`. The bytes go through [`crate::transfer`], or, sealed,
//!   from the sealing worker that holds them (`sending`).
//!
//! The part layout itself is the API's ([`ferry_api::parts`]), shared with the backend.

mod batch;
mod decisions;
mod drive;
mod encryption;
mod error;
pub mod intake;
mod opening;
mod progress;
pub mod queue;
pub mod resume;
mod runner;
pub mod schedule;
mod sending;
mod session;
mod single;
mod target;
mod vec_map;

pub use batch::LinkFiles;
pub use error::{ErrorKind, UploadError};
pub use intake::Incoming;
pub use progress::Transfer;
pub use queue::{Attempt, MAX_ACTIVE, Phase, Upload, UploadId, UploadQueue};
pub use runner::Uploader;
pub use target::{Landed, Target};
