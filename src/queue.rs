//! Admission with a bounded wait: `slots` holders at once and at most `max_waiting`
//! callers waiting for one; past that a caller is refused at once (503) instead of piling
//! up memory and time. The image pool and the browser's tab slots both take their turns
//! here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("server is busy, try again shortly")]
pub struct Overloaded;

#[derive(Debug)]
pub struct BoundedQueue {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// The gauge of callers waiting now.
    gauge: &'static str,
}

/// Counts a caller as waiting for as long as it waits, even if its request is dropped.
struct Waiting<'a>(&'a BoundedQueue);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(self.0.gauge).decrement(1.0);
    }
}

impl BoundedQueue {
    pub fn new(slots: usize, max_waiting: usize, gauge: &'static str) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(slots.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            gauge,
        }
    }

    /// Callers waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// A slot, held until the permit is dropped: at once when one is free, after a wait
    /// when fewer than `max_waiting` are already waiting, else `Overloaded`.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Overloaded);
        }
        metrics::gauge!(self.gauge).increment(1.0);
        let _waiting = Waiting(self);
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Overloaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_past_the_queue() {
        let queue = Arc::new(BoundedQueue::new(1, 1, "test_queued"));
        let held = queue.enter().await.unwrap();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.enter().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(queue.waiting(), 1);
        assert_eq!(queue.enter().await.map(drop), Err(Overloaded));
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(queue.waiting(), 0);
        assert!(queue.enter().await.is_ok());
    }
}
