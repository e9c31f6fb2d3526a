//! Parallelism supplied by the host.
//!
//! The library never starts threads (it is sans-IO: the host owns threads, sockets and
//! time). Some work is large and splits into independent jobs: the key wraps of an LKH
//! rekey that excludes many members at once (RFC 9838 §3.2 and Appendix A.4: about 18
//! wraps per excluded member in a tree of a million, each a serial chain of AES
//! operations). A host with threads to spare hands the library an [`Executor`]; the
//! library splits such work into jobs and asks the executor to run them. Without one
//! (or with [`Sequential`]) everything runs on the calling thread, as before.
//!
//! The library does not trust the executor to be right: a job it was asked to run and
//! that did not run is an error ([`ExecutorError::JobNotRun`]), never a silent gap.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// Runs independent jobs, possibly on several threads.
pub trait Executor: Send + Sync {
    /// How many jobs can usefully run at the same time (1: one after another). The
    /// library splits work into at most this many jobs.
    fn parallelism(&self) -> usize;

    /// Calls `job(i)` exactly once for every `i` in `0..n`, in any order and on any
    /// threads, and returns when every call has returned.
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync));
}

/// Runs every job on the calling thread, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequential;

impl Executor for Sequential {
    fn parallelism(&self) -> usize {
        1
    }

    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        for i in 0..n {
            job(i);
        }
    }
}

/// An executor shared by the objects that use it (a key server and its groups).
/// [`Sequential`] by default.
#[derive(Clone)]
pub struct SharedExecutor(Arc<dyn Executor>);

impl SharedExecutor {
    /// Shares `executor`.
    pub fn new(executor: impl Executor + 'static) -> Self {
        SharedExecutor(Arc::new(executor))
    }

    /// The executor.
    pub fn get(&self) -> &dyn Executor {
        &*self.0
    }
}

impl Default for SharedExecutor {
    fn default() -> Self {
        SharedExecutor::new(Sequential)
    }
}

impl fmt::Debug for SharedExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedExecutor")
            .field("parallelism", &self.0.parallelism())
            .finish()
    }
}

/// What went wrong with an executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutorError {
    /// The executor returned without running job `index` of `jobs`.
    JobNotRun {
        /// The job that did not run.
        index: usize,
        /// How many jobs were handed over.
        jobs: usize,
    },
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::JobNotRun { index, jobs } => write!(
                f,
                "the host's executor returned without running job {index} of {jobs}"
            ),
        }
    }
}

impl std::error::Error for ExecutorError {}

/// Splits `items` into at most `executor.parallelism()` contiguous parts of nearly equal
/// length, runs `work` on each part through `executor`, and returns the results in the
/// order of the parts (so concatenating them keeps the order of `items`).
///
/// Work smaller than `min_per_job` items per job runs on the calling thread: handing it
/// to threads would cost more than it saves.
pub fn map_parts<T, R, F>(
    executor: &dyn Executor,
    items: &[T],
    min_per_job: usize,
    work: F,
) -> Result<Vec<R>, ExecutorError>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    let min_per_job = min_per_job.max(1);
    let jobs = executor.parallelism().min(items.len() / min_per_job).max(1);
    if jobs == 1 {
        return Ok(vec![work(items)]);
    }
    let per = items.len().div_ceil(jobs);
    let parts: Vec<&[T]> = items.chunks(per).collect();
    let slots: Vec<Mutex<Option<R>>> = parts.iter().map(|_| Mutex::new(None)).collect();
    executor.run(parts.len(), &|i| {
        if let (Some(part), Some(slot)) = (parts.get(i), slots.get(i)) {
            // A job that panics leaves its slot empty: reported as not run, whatever the
            // executor does with panics (a scoped thread would carry it into the caller
            // in the middle of a change).
            let Ok(r) = catch_unwind(AssertUnwindSafe(|| work(part))) else {
                return;
            };
            // The lock is never held across `work`, so it cannot be poisoned; take the
            // value either way.
            let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
            *guard = Some(r);
        }
    });
    let n = slots.len();
    slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            slot.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .ok_or(ExecutorError::JobNotRun { index, jobs: n })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs jobs on scoped threads, one per job.
    struct Threads(usize);

    impl Executor for Threads {
        fn parallelism(&self) -> usize {
            self.0
        }
        fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
            std::thread::scope(|s| {
                for i in 0..n {
                    s.spawn(move || job(i));
                }
            });
        }
    }

    /// Forgets the last job.
    struct Lazy;

    impl Executor for Lazy {
        fn parallelism(&self) -> usize {
            4
        }
        fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
            for i in 0..n.saturating_sub(1) {
                job(i);
            }
        }
    }

    #[test]
    fn parts_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..1000).collect();
        for exec in [&Sequential as &dyn Executor, &Threads(3), &Threads(8)] {
            let parts = map_parts(exec, &items, 10, |p| p.to_vec()).unwrap();
            assert!(parts.len() <= exec.parallelism());
            assert_eq!(parts.concat(), items);
        }
    }

    #[test]
    fn small_work_stays_on_the_calling_thread() {
        let items = [1u8; 15];
        let me = std::thread::current().id();
        let parts = map_parts(&Threads(4), &items, 8, |p| {
            (p.len(), std::thread::current().id())
        })
        .unwrap();
        assert_eq!(parts, vec![(15, me)]);
    }

    #[test]
    fn a_job_the_executor_skipped_is_an_error() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            map_parts(&Lazy, &items, 1, |p| p.len()),
            Err(ExecutorError::JobNotRun { index: 3, jobs: 4 })
        );
    }

    #[test]
    fn a_job_that_panics_is_an_error_not_an_unwind() {
        let items: Vec<u32> = (0..100).collect();
        let r = map_parts(&Threads(4), &items, 1, |p| {
            assert!(p[0] != 50, "a bug in one job");
            p.len()
        });
        assert_eq!(r, Err(ExecutorError::JobNotRun { index: 2, jobs: 4 }));
    }

    #[test]
    fn empty_work_runs_once_on_nothing() {
        let items: [u8; 0] = [];
        assert_eq!(
            map_parts(&Threads(4), &items, 1, |p| p.len()).unwrap(),
            vec![0]
        );
    }
}
