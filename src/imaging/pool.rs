//! A bounded pool for blocking image work: `workers` jobs at once, at most `queue`
//! waiting; past that a job is refused at once (503) instead of piling up memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("server is busy, try again shortly")]
    Overloaded,
    #[error("image worker failed")]
    WorkerPanicked,
}

#[derive(Debug)]
pub struct Pool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Counts a job as waiting for as long as it exists, even if its request is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("ferrotype_pool_queued").decrement(1.0);
    }
}

impl Pool {
    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: queue,
        }
    }

    /// Jobs waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Runs `job` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = {
            let _queue = crate::telemetry::Stage::start("queue");
            self.permit().await?
        };
        let busy = metrics::gauge!("ferrotype_pool_busy");
        busy.increment(1.0);
        // The permit moves into the job: if the request is abandoned (timeout, client gone)
        // the job still counts against the pool until libvips is done with it.
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            busy.decrement(1.0);
            out
        })
        .await
        .map_err(|_| Error::WorkerPanicked)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, Error> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Overloaded);
        }
        metrics::gauge!("ferrotype_pool_queued").increment(1.0);
        let _waiting = Waiting(&self.waiting);
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Overloaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_past_the_queue() {
        let pool = Arc::new(Pool::new(1, 1));
        let slow = |p: Arc<Pool>| async move {
            p.run(|| std::thread::sleep(Duration::from_millis(300)))
                .await
        };
        let a = tokio::spawn(slow(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b = tokio::spawn(slow(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.waiting(), 1);
        assert_eq!(pool.run(|| ()).await, Err(Error::Overloaded));
        assert_eq!(a.await.unwrap(), Ok(()));
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
