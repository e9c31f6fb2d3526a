//! The host side of `gikev2::executor::Executor` for the benches: each job on a scoped
//! thread of its own, job 0 on the calling thread (what a daemon with a worker pool would
//! do with its threads; the library itself starts none).

use gikev2::executor::Executor;

/// Up to `.0` jobs at once.
pub struct ScopedThreads(pub usize);

impl ScopedThreads {
    /// One thread per core.
    pub fn per_core() -> Self {
        ScopedThreads(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl Executor for ScopedThreads {
    fn parallelism(&self) -> usize {
        self.0
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in 1..n {
                s.spawn(move || job(i));
            }
            if n > 0 {
                job(0);
            }
        });
    }
}
