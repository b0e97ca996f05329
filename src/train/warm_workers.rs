//! Keeps the pool's other threads looking for work while a training loop runs.
//!
//! A training step hands its threads many short parallel pieces (the blocks of each matrix
//! product, the chunks of the optimizer's update) with serial work between them. A rayon
//! thread that finds nothing to do yields 32 times and then sleeps, and waking it costs the
//! step a system call and a wait; on two cores of an AVX-512 processor the 784-128-10 MLP
//! (batch 32) spent a quarter of its samples in the kernel's scheduler. While a
//! [`WarmWorkers`] lives, each other thread of the pool instead runs one job that keeps taking
//! work through [`rayon::yield_now`] and spins between pieces, as OpenMP's threads do. It
//! stops when the guard drops, or after [`IDLE`] without work (a slow callback, a pause), and
//! [`WarmWorkers::keep_warm`] starts it again at the next step.
//!
//! Which thread computes which block does not change: the blocks are cut by shape alone, so
//! results stay bit for bit the same.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a warm thread spins without finding work before it lets rayon put it to sleep.
pub const IDLE: Duration = Duration::from_millis(2);

/// While alive, the pool's other threads poll for work instead of sleeping.
pub struct WarmWorkers {
    shared: Arc<Shared>,
    /// False where the pool has more threads than the processor has cores: a spinning thread
    /// would then take a core from one with work.
    enabled: bool,
}

struct Shared {
    stop: AtomicBool,
    /// Spinning jobs started and not yet finished.
    spinning: AtomicUsize,
}

impl WarmWorkers {
    /// A guard for the calling thread's pool; the threads start at the first `keep_warm`.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        WarmWorkers {
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                spinning: AtomicUsize::new(0),
            }),
            enabled: rayon::current_num_threads() <= cores,
        }
    }

    /// Starts the pool's other threads spinning unless they already are. Does nothing on a
    /// thread outside a rayon pool (there the caller itself sleeps while the pool works), in
    /// a pool of one thread, or in one with more threads than cores. Cheap enough to call
    /// every step: one atomic load.
    pub fn keep_warm(&self) {
        if !self.enabled || self.shared.spinning.load(Ordering::Acquire) > 0 {
            return;
        }
        let Some(caller) = rayon::current_thread_index() else {
            return;
        };
        let others = rayon::current_num_threads() - 1;
        if others == 0 {
            return;
        }
        self.shared.spinning.store(others, Ordering::Release);
        let shared = Arc::clone(&self.shared);
        rayon::spawn_broadcast(move |context| {
            if context.index() != caller {
                spin(&shared);
                shared.spinning.fetch_sub(1, Ordering::AcqRel);
            }
        });
    }
}

impl Default for WarmWorkers {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for WarmWorkers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

/// Runs the pool's pending work as it comes, until told to stop or idle for [`IDLE`].
fn spin(shared: &Shared) {
    let mut last_work = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            last_work = Instant::now();
        } else if last_work.elapsed() > IDLE {
            return;
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    #[test]
    fn parallel_work_runs_while_the_other_threads_spin_and_they_stop_after() {
        let threads = cores().min(3);
        pool(threads).install(|| {
            let warm = WarmWorkers::new();
            warm.keep_warm();
            assert_eq!(warm.shared.spinning.load(Ordering::Acquire), threads - 1);
            for step in 0..200u64 {
                warm.keep_warm();
                let total: u64 = (0..10_000u64).into_par_iter().map(|i| i * step).sum();
                assert_eq!(total, step * 10_000 * 9_999 / 2);
            }
            let shared = Arc::clone(&warm.shared);
            drop(warm);
            let start = Instant::now();
            while shared.spinning.load(Ordering::Acquire) > 0 {
                assert!(start.elapsed() < Duration::from_secs(10), "still spinning");
                std::thread::sleep(Duration::from_millis(1));
            }
        });
    }

    #[test]
    fn idle_threads_stop_by_themselves_and_start_again() {
        if cores() < 2 {
            return; // nothing spins on one core
        }
        pool(2).install(|| {
            let warm = WarmWorkers::new();
            warm.keep_warm();
            let start = Instant::now();
            while warm.shared.spinning.load(Ordering::Acquire) > 0 {
                assert!(start.elapsed() < Duration::from_secs(10), "never went idle");
                std::thread::sleep(IDLE);
            }
            warm.keep_warm();
            assert_eq!(warm.shared.spinning.load(Ordering::Acquire), 1);
        });
    }

    #[test]
    fn outside_a_pool_alone_or_with_more_threads_than_cores_it_does_nothing() {
        let warm = WarmWorkers::new();
        warm.keep_warm();
        assert_eq!(warm.shared.spinning.load(Ordering::Acquire), 0);
        for threads in [1, cores() + 1] {
            pool(threads).install(|| {
                let warm = WarmWorkers::new();
                warm.keep_warm();
                assert_eq!(warm.shared.spinning.load(Ordering::Acquire), 0);
            });
        }
    }
}
