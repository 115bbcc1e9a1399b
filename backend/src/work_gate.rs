//! Bounds on expensive CPU work that anyone can trigger: password hashing (argon2id needs about
//! 9 MiB and tens of milliseconds per call, see `domain::argon`) and image decoding.
//!
//! A [`WorkGate`] lets a few jobs run at once and a bounded number wait for a slot; past that it
//! answers [`Busy`] at once, so a flood of requests costs a refusal each instead of memory and
//! CPU. Callers turn `Busy` into `503 Service Unavailable` with `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The gate is full: too many jobs are running and waiting. Try again in a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too much work in progress; try again in a moment")]
pub struct Busy;

/// Why a job run through [`WorkGate::run_blocking`] produced no result.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The job panicked or was cancelled.
    #[error("background job failed: {0}")]
    Failed(String),
}

/// Runs at most `concurrent` jobs at once, with at most `max_waiting` more waiting in line.
#[derive(Debug)]
pub struct WorkGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// A running job's slot; the next waiter goes when it is dropped.
#[derive(Debug)]
pub struct WorkPermit(#[allow(dead_code)] OwnedSemaphorePermit);

/// Takes a place in the waiting line and gives it back however the wait ends (cancelled too).
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WorkGate {
    pub fn new(concurrent: usize, max_waiting: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Password hashing for one process: as many hashes at once as there are cores (each
    /// holds 9 MiB), and a short line behind them.
    pub fn for_passwords() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cores, 4 * cores)
    }

    /// Image decoding for thumbnails: two decodes at once (each may claim up to 160 MiB of
    /// pixels), and an unbounded line: a thumbnail can wait, and a waiting job holds no image.
    pub fn for_images() -> Self {
        Self::new(2, usize::MAX)
    }

    /// A slot to run one job: at once when one is free, after waiting when the line is short,
    /// or [`Busy`] when the line is full.
    pub async fn enter(&self) -> Result<WorkPermit, Busy> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(WorkPermit(permit));
        }
        let place = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _in_line = InLine(&self.waiting);
        if place >= self.max_waiting {
            return Err(Busy);
        }
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map(WorkPermit)
            // The semaphore is never closed; treat it as full if it ever were.
            .map_err(|_| Busy)
    }

    /// Runs `job` on the blocking pool once a slot is free (see [`WorkGate::enter`]).
    pub async fn run_blocking<T, F>(&self, job: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.enter().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| GateError::Failed(e.to_string()))
    }

    /// Jobs that could start now without waiting.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_beyond_the_slots_and_the_line_are_refused() {
        let gate = Arc::new(WorkGate::new(1, 1));
        let running = gate.enter().await.unwrap();
        // One may wait…
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.enter().await.map(drop) })
        };
        while gate.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // …the next is turned away at once.
        assert_eq!(gate.enter().await.map(drop), Err(Busy));
        drop(running);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(gate.available(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_wait_gives_its_place_back() {
        let gate = WorkGate::new(1, 1);
        let running = gate.enter().await.unwrap();
        {
            let wait = gate.enter();
            tokio::pin!(wait);
            // Poll once so it takes its place in line, then drop it.
            assert!(futures::poll!(wait.as_mut()).is_pending());
        }
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
        drop(running);
        assert!(gate.enter().await.is_ok());
    }

    #[tokio::test]
    async fn blocking_jobs_run_and_return_their_result() {
        let gate = WorkGate::new(2, 0);
        let out = gate.run_blocking(|| 6 * 7).await.unwrap();
        assert_eq!(out, 42);
        assert_eq!(gate.available(), 2);
    }
}
