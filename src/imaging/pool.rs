//! A bounded pool for blocking image work: `workers` jobs at once, at most `queue`
//! waiting (`crate::queue`); past that a job is refused at once (503) instead of piling up
//! memory. Jobs are handed the [`Imaging`] they work with.

use std::sync::Arc;

use super::Imaging;
use crate::queue::{BoundedQueue, Overloaded};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("image worker failed")]
    WorkerPanicked,
}

pub struct Pool {
    queue: BoundedQueue,
    imaging: Arc<Imaging>,
}

impl Pool {
    pub fn new(workers: usize, queue: usize, imaging: Imaging) -> Self {
        Self {
            queue: BoundedQueue::new(workers, queue, "ferrotype_pool_queued"),
            imaging: Arc::new(imaging),
        }
    }

    /// Jobs waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.queue.waiting()
    }

    /// Runs `job` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Imaging) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = {
            let _queue = crate::telemetry::Stage::start("queue");
            self.queue.enter().await?
        };
        let busy = metrics::gauge!("ferrotype_pool_busy");
        busy.increment(1.0);
        // The permit moves into the job: if the request is abandoned (timeout, client gone)
        // the job still counts against the pool until libvips is done with it.
        let imaging = self.imaging.clone();
        tokio::task::spawn_blocking(move || {
            let out = job(&imaging);
            drop(permit);
            busy.decrement(1.0);
            out
        })
        .await
        .map_err(|_| Error::WorkerPanicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::Limits;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_past_the_queue() {
        let limits = Limits {
            max_source_pixels: 1,
            max_frames: 1,
        };
        let pool = Arc::new(Pool::new(1, 1, Imaging::new(limits, 1)));
        let slow = |p: Arc<Pool>| async move {
            p.run(|_| std::thread::sleep(Duration::from_millis(300)))
                .await
        };
        let a = tokio::spawn(slow(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b = tokio::spawn(slow(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.waiting(), 1);
        assert_eq!(pool.run(|_| ()).await, Err(Error::Overloaded(Overloaded)));
        assert_eq!(a.await.unwrap(), Ok(()));
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.run(|_| 7).await, Ok(7));
    }
}
