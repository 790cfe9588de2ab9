//! A bounded pool for blocking image work: `workers` jobs at once, at most `queue`
//! waiting (`crate::queue`); past that a job is refused at once (503) instead of piling up
//! memory.

use crate::queue::{BoundedQueue, Overloaded};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("image worker failed")]
    WorkerPanicked,
}

#[derive(Debug)]
pub struct Pool {
    queue: BoundedQueue,
}

impl Pool {
    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            queue: BoundedQueue::new(workers, queue, "ferrotype_pool_queued"),
        }
    }

    /// Jobs waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.queue.waiting()
    }

    /// Runs `job` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = {
            let _queue = crate::telemetry::Stage::start("queue");
            self.queue.enter().await?
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
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
        assert_eq!(pool.run(|| ()).await, Err(Error::Overloaded(Overloaded)));
        assert_eq!(a.await.unwrap(), Ok(()));
        assert_eq!(b.await.unwrap(), Ok(()));
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
