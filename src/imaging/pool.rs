//! A bounded pool for blocking image work: `workers` threads of its own, at most `queue`
//! jobs waiting for one; past that a job is refused at once (503) instead of piling up
//! memory. Jobs are handed the [`Imaging`] they work with.
//!
//! A worker that finishes a job takes the next one from the queue itself, with no hop
//! through the async runtime in between: with `spawn_blocking` and a semaphore, each job
//! waited for two thread wake-ups after the previous one ended, and two workers kept two
//! cores only ~75% busy. A job whose requester has gone (timeout, client left) before a
//! worker took it is dropped unrun.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::Imaging;
use crate::queue::Overloaded;
use crate::telemetry::Stage;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("image worker failed")]
    WorkerPanicked,
}

type Job = Box<dyn FnOnce(&Imaging) + Send>;

pub struct Pool {
    jobs: Sender<Job>,
    load: Arc<Load>,
    max_waiting: usize,
}

/// Jobs admitted and not finished (running or waiting), and the workers they share.
struct Load {
    admitted: AtomicUsize,
    workers: usize,
}

impl Load {
    fn waiting(&self) -> usize {
        self.admitted
            .load(Ordering::Acquire)
            .saturating_sub(self.workers)
    }

    fn publish(&self) {
        metrics::gauge!("ferrotype_pool_queued").set(self.waiting() as f64);
    }
}

impl Pool {
    pub fn new(workers: usize, queue: usize, imaging: Imaging) -> Self {
        let workers = workers.max(1);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        let imaging = Arc::new(imaging);
        for n in 0..workers {
            let (inbox, imaging) = (inbox.clone(), imaging.clone());
            // A worker that cannot start leaves the others; none at all shows in /ready.
            let _ = std::thread::Builder::new()
                .name(format!("ferrotype-image-{n}"))
                .spawn(move || work(&inbox, &imaging));
        }
        Self {
            jobs,
            load: Arc::new(Load {
                admitted: AtomicUsize::new(0),
                workers,
            }),
            max_waiting: queue,
        }
    }

    /// Jobs waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.load.waiting()
    }

    /// Runs `job` on a worker thread once one is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Imaging) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let limit = self.load.workers + self.max_waiting;
        self.load
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .map_err(|_| Overloaded)?;
        let admitted = Admitted(self.load.clone());
        self.load.publish();
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = Stage::start("queue");
        let task: Job = Box::new(move |imaging: &Imaging| {
            drop(queued);
            let _admitted = admitted;
            if done.is_closed() {
                return;
            }
            let busy = metrics::gauge!("ferrotype_pool_busy");
            busy.increment(1.0);
            let out = catch_unwind(AssertUnwindSafe(|| job(imaging)));
            busy.decrement(1.0);
            let _ = done.send(out.map_err(|_| Error::WorkerPanicked));
        });
        self.jobs.send(task).map_err(|_| Error::WorkerPanicked)?;
        result.await.map_err(|_| Error::WorkerPanicked)?
    }
}

/// Counts a job against the pool's bound until it is finished or dropped unrun.
struct Admitted(Arc<Load>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
        self.0.publish();
    }
}

/// A worker's life: the next job, until the pool is gone.
fn work(inbox: &Mutex<Receiver<Job>>, imaging: &Imaging) {
    loop {
        let next = match inbox.lock() {
            Ok(inbox) => inbox.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(imaging),
            Err(_) => return,
        }
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

    fn pool(workers: usize) -> Pool {
        let limits = Limits {
            max_source_pixels: 1,
            max_frames: 1,
        };
        Pool::new(workers, 8, Imaging::new(limits, 1))
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_worker_carries_on() {
        let pool = pool(1);
        let panicked = pool.run(|_| -> u8 { panic!("a bug in a job") }).await;
        assert_eq!(panicked, Err(Error::WorkerPanicked));
        assert_eq!(pool.run(|_| 3).await, Ok(3));
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn a_job_whose_requester_left_is_not_run() {
        let pool = Arc::new(pool(1));
        let ran = Arc::new(AtomicUsize::new(0));
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(|_| std::thread::sleep(Duration::from_millis(200)))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let counted = ran.clone();
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            pool.run(move |_| counted.fetch_add(1, Ordering::SeqCst)),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "still waiting when its requester gave up"
        );
        assert_eq!(busy.await.unwrap(), Ok(()));
        assert_eq!(pool.run(|_| ()).await, Ok(()));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(pool.waiting(), 0);
    }
}
