//! The bounded queue: at most `bound` requests admitted at once (waiting or running), at
//! most `jobs` of them running on the executors; past the bound a request is refused with
//! 429 and a `Retry-After` estimated from the queue and recent latency, never queued
//! without end. Work runs on tokio's blocking threads: the executors block.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::api_error::ApiError;

/// Admission to the executors.
pub struct Admission {
    bound: usize,
    jobs: usize,
    admitted: AtomicUsize,
    running: Arc<Semaphore>,
}

/// One admitted request; dropping it frees its place.
pub struct Ticket<'a> {
    admission: &'a Admission,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.admission.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub fn new(bound: usize, jobs: usize) -> Admission {
        Admission {
            bound: bound.max(1),
            jobs: jobs.max(1),
            admitted: AtomicUsize::new(0),
            running: Arc::new(Semaphore::new(jobs.max(1))),
        }
    }

    /// A place in the queue, or 429 when it is full (`mean_seconds`: recent mean latency,
    /// for `Retry-After`).
    pub fn admit(&self, mean_seconds: f64) -> Result<Ticket<'_>, ApiError> {
        let before = self.admitted.fetch_add(1, Ordering::SeqCst);
        if before >= self.bound {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            let rounds = (before as f64 / self.jobs as f64).ceil();
            let seconds = (rounds * mean_seconds).ceil().max(1.0) as u64;
            return Err(ApiError::busy(self.bound, seconds));
        }
        Ok(Ticket { admission: self })
    }

    /// Runs `work` on a blocking thread once one of the `jobs` places is free.
    pub async fn run<T: Send + 'static>(
        &self,
        _ticket: &Ticket<'_>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit =
            (self.running.clone().acquire_owned().await).map_err(|_| ApiError::shutting_down())?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await;
        result.map_err(|e| ApiError::internal(format!("the request's work failed: {e}")))
    }

    /// Requests admitted and not running: waiting for a place.
    pub fn waiting(&self) -> usize {
        let running = self.running();
        self.admitted.load(Ordering::SeqCst).saturating_sub(running)
    }

    /// Requests running now.
    pub fn running(&self) -> usize {
        self.jobs - self.running.available_permits()
    }

    pub fn bound(&self) -> usize {
        self.bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_bound_requests_are_refused_with_a_retry_time() {
        let admission = Admission::new(2, 1);
        let first = admission.admit(0.5).unwrap();
        let _second = admission.admit(0.5).unwrap();
        let refused = admission.admit(0.5).err().unwrap();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after, Some(1));
        drop(first);
        assert!(admission.admit(0.5).is_ok());
    }
}
